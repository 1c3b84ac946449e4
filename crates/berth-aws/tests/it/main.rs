//! berth-aws's integration tests, in one binary: each links the AWS SDK, and one link instead of eight
//! saves CI minutes. One module per area.

mod cli;
mod faults;
mod localstack;
mod mocked;
mod moto;
mod operate;
mod secrets;
mod template;
