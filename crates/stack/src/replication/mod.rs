//! Stand-ins for AWS's cross-region replication in the local stack (`--store mysql-dynamodb`).
//!
//! - [`global_tables`]: DynamoDB global tables (carts and orders) between the regions'
//!   moto_servers, last writer wins, with the measured lag.
//! - [`aurora`]: the Aurora MySQL global database, two MariaDB servers with GTID replication
//!   between them, the controls (switchover, promotion, loss and rejoin of a region) and the
//!   measured replication lag.
//! - [`forwarding`]: the write-forwarding endpoint of each region, a MySQL-protocol proxy the
//!   region's API connects to.
//! - [`link`]: the inter-region latency replication pays.
//! - [`wire`]: the part of the MySQL protocol the proxy speaks.

pub mod aurora;
pub mod forwarding;
pub mod global_tables;
pub mod link;
pub mod wire;
