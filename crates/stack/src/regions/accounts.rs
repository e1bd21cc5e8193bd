//! The region controls of the accounts' store in the two-region stack: the Aurora global database
//! stand-in ([`AuroraGlobalDatabase`]) run from the stack's synchronous code (the drill, the
//! browser specs' driver) on the stack's runtime.

use std::time::Duration;

use tokio::runtime::Runtime;

use super::TwoRegions;
use crate::replication::aurora::{AuroraGlobalDatabase, Discarded, LagSample};

impl TwoRegions {
    /// The accounts' global database, when the stack runs on [`crate::stores::StoreKind::MysqlDynamodb`].
    pub fn accounts(&mut self) -> Option<Accounts<'_>> {
        let database = self.stores.as_mut()?.aurora()?;
        Some(Accounts {
            database,
            runtime: &self.runtime,
        })
    }
}

/// A line of `unishop-stack regions`' input for the accounts' global database:
/// `accounts switchover|promote|lose|rejoin REGION`, each printing what it did (how long writes
/// were refused, what a rejoin discarded, the writer) before its answer. `None` for other lines.
pub fn command(stack: &mut TwoRegions, line: &str) -> Option<Result<(), String>> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let (action, region) = match words.as_slice() {
        ["accounts", action, region] => (*action, *region),
        ["accounts", ..] => {
            return Some(Err(
                "accounts needs switchover|promote|lose|rejoin and a region".to_owned(),
            ))
        }
        _ => return None,
    };
    let Some(mut accounts) = stack.accounts() else {
        return Some(Err(
            "the accounts' global database runs with --store mysql-dynamodb".to_owned(),
        ));
    };
    let result = match action {
        "switchover" => accounts.switchover(region).map(|refused| {
            println!("accounts: writes refused for {} ms", refused.as_millis());
        }),
        "promote" => accounts.promote(region),
        "lose" => accounts.lose(region),
        "rejoin" => accounts.rejoin(region).map(|discarded| {
            println!(
                "accounts: {region} rejoined, {} transactions and {} accounts discarded",
                discarded.transactions,
                discarded.users.len()
            );
        }),
        other => Err(format!(
            "unknown accounts command {other}: switchover, promote, lose or rejoin"
        )),
    };
    if result.is_ok() {
        println!("accounts: the writer is {}", accounts.current_writer());
    }
    Some(result)
}

/// [`AuroraGlobalDatabase`]'s controls, each run to its end.
pub struct Accounts<'a> {
    database: &'a mut AuroraGlobalDatabase,
    runtime: &'a Runtime,
}

impl Accounts<'_> {
    /// The region whose server takes writes.
    pub fn current_writer(&self) -> &'static str {
        self.database.current_writer()
    }

    /// Planned switchover (failover or failback once `target` has caught up); answers how long
    /// writes were refused.
    pub fn switchover(&mut self, target: &str) -> Result<Duration, String> {
        self.runtime.block_on(self.database.switchover(target))
    }

    /// Unplanned failover to `target` ("allow data loss").
    pub fn promote(&mut self, target: &str) -> Result<(), String> {
        self.runtime.block_on(self.database.promote(target))
    }

    /// The region's server lost (with its region, when the drill loses one whole).
    pub fn lose(&mut self, region: &str) -> Result<(), String> {
        self.runtime.block_on(self.database.lose(region))
    }

    /// The region's server back as the replica of the current writer (or as the writer, if it
    /// still is one); answers what it had that the writer lacks, thrown away.
    pub fn rejoin(&mut self, region: &str) -> Result<Discarded, String> {
        self.runtime.block_on(self.database.rejoin(region))
    }

    /// Waits until `region` has applied everything the writer has committed.
    pub fn wait_caught_up(&self, region: &str) -> Result<(), String> {
        self.runtime
            .block_on(self.database.wait_caught_up_region(region))
    }

    /// The measured replication lag, oldest sample first.
    pub fn lag_samples(&self) -> Vec<LagSample> {
        self.database.lag_samples()
    }

    /// The 99th percentile of the measured lag, in milliseconds.
    pub fn lag_p99_ms(&self) -> f64 {
        self.database.lag_p99_ms()
    }
}
