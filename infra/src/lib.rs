//! Ops's side of berth: the environment (pipeline stack and service stack) as typed CloudFormation.
