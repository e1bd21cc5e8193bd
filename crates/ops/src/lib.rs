//! Operator plans as data. A [`Plan`] is an ordered list of [`Step`]s, each a list of [`Call`]s
//! (region, service, operation, arguments, the output it produces and the check on it), built by
//! pure functions from the operator's inputs ([`failover`], [`deploy`], [`status`], [`teardown`]). The same plan is printed by a dry run
//! ([`Plan::dry_run`]) and run by [`run`] through an [`Executor`]: xtask's runs the AWS CLI; a local
//! executor (the two-region stack) only changes where the calls go.

pub mod deploy;
pub mod failover;
mod plan;
mod runner;
pub mod shop;
pub mod status;
pub mod teardown;

pub use plan::{Call, Check, Otherwise, Output, Plan, Step, Tool, Value};
pub use runner::{run, Executor, Outputs, RunError, UNAVAILABLE};
