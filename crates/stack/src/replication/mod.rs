//! Stand-ins for AWS's cross-region replication in the local stack (`--store mysql-dynamodb`).
//!
//! - [`aurora`]: the Aurora MySQL global database, two MariaDB servers with GTID replication
//!   between them, the controls (switchover, promotion, loss and rejoin of a region) and the
//!   measured replication lag.
//! - [`forwarding`]: the write-forwarding endpoint of each region, a MySQL-protocol proxy the
//!   region's API connects to.
//! - [`link`]: the inter-region latency replication pays.
//! - [`wire`]: the part of the MySQL protocol the proxy speaks.

pub mod aurora;
pub mod forwarding;
pub mod link;
pub mod wire;
