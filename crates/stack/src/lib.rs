//! Unishop's local two-region stack, as test infrastructure: what `cargo xtask dev --two-regions`,
//! `cargo xtask drill`, the browser specs (through the `unishop-stack` binary) and the API's tests
//! run on.
//!
//! - [`regions`]: two API processes, us-east-1 and us-west-1, on their stores, behind the local edge
//!   (CloudFront and the site buckets in one server), with kill, restart, freeze and thaw per
//!   region, the loss of a whole region and its return, and the active-region flag.
//! - [`drill`]: scripted shoppers through the failover policy while the primary fails.
//! - [`stores`]: the store servers the stack and `cargo xtask bench api` run the API on, through
//!   the one set of launchers, [`mariadb`] and [`moto`] (which the API's tests use too).
//! - [`replication`]: the regions' stores replicated as AWS replicates them: DynamoDB global
//!   tables between two moto_servers ([`replication::global_tables`]), the Aurora global database
//!   stand-in (two MariaDB servers replicating, with switchover, promotion, loss and rejoin) and
//!   its write-forwarding proxy.
//! - [`process`]: running commands and servers (also xtask's), and the workspace's folders.
//! - [`site`]: what the site's files are served as, by the edge and by a release's buckets.
//!
//! The API runs as its binary (`unishop-api`, built by [`regions::Build::build`]); this crate does
//! not link it.

pub mod drill;
pub mod mariadb;
pub mod moto;
pub mod process;
pub mod regions;
pub mod replication;
pub mod site;
pub mod stores;
