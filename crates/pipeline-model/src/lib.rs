//! The contract between Dev (`app`) and Ops (`infra`): every name and format both sides share,
//! defined once. No I/O, no AWS SDK.
