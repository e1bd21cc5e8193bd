//! `cargo xtask status`: both regions at a glance (who takes writes, Aurora's writer and lag,
//! the DynamoDB replicas and their replication latency, each API's `/health` directly and through
//! CloudFront, the alarms in ALARM), a read-only plan built by [`unishop_ops::status`] that
//! reports a region it cannot reach and goes on.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use unishop_ops::status::{self as plans, Inputs};
use unishop_ops::Plan;

use crate::aws::{expect_in_order, run_plan, ShopArgs};

/// `cargo xtask status` flags.
#[derive(clap::Args, Debug, Clone)]
pub struct StatusArgs {
    #[command(flatten)]
    pub shop: ShopArgs,
    /// Metrics window: the last this many minutes.
    #[arg(long, default_value_t = 10)]
    pub minutes: u64,
}

/// `seconds` since the epoch as ISO 8601 UTC (`2026-12-06T03:10:00Z`).
fn iso8601(seconds: u64) -> String {
    let days = seconds / 86_400;
    let rest = seconds % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3_600,
        rest % 3_600 / 60,
        rest % 60
    )
}

fn plan(args: &StatusArgs, now: SystemTime) -> Result<Plan, String> {
    let end = now
        .duration_since(UNIX_EPOCH)
        .map_err(|e| format!("the clock is before 1970: {e}"))?;
    let start = end.saturating_sub(Duration::from_secs(args.minutes * 60));
    Ok(plans::plan(&Inputs {
        shop: args.shop.shop(),
        window_start: iso8601(start.as_secs()),
        window_end: iso8601(end.as_secs()),
    }))
}

/// Prints the status of both regions.
pub fn status(args: &StatusArgs) -> Result<(), String> {
    run_plan(&plan(args, SystemTime::now())?, args.shop.dry_run).map(|_| ())
}

/// Checks the printed plan of `status --dry-run` (called by `cargo xtask test`).
pub fn test_dry_run() -> Result<(), String> {
    let args = StatusArgs {
        shop: ShopArgs::dry_run_defaults(),
        minutes: 10,
    };
    let now = UNIX_EPOCH + Duration::from_secs(1_796_526_600);
    expect_in_order(
        "status",
        &plan(&args, now)?,
        &[
            "aws cloudfront-keyvaluestore get-key --kvs-arn '<edge:KeyValueStoreArn>' --key active_region",
            "aws rds describe-global-clusters --global-cluster-identifier '<global:GlobalClusterIdentifier>'",
            "--metric-name AuroraGlobalDBReplicationLag",
            "--start-time 2026-12-06T03:00:00Z --end-time 2026-12-06T03:10:00Z",
            "aws dynamodb describe-table --table-name '<global:CartsTableName>'",
            "--metric-name ReplicationLatency",
            "'<us-east-1:ApiEndpoint>/health'",
            "'<us-west-1:ApiEndpoint>/health'",
            "'https://<edge:DistributionDomainName>/api/health'",
            "'https://<edge:DistributionDomainName>/api-standby/health'",
            "aws cloudwatch describe-alarms --state-value ALARM",
            "none made",
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dry_run_is_checked() {
        test_dry_run().expect("status dry run");
    }

    #[test]
    fn formats_utc_timestamps() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso8601(1_796_527_200), "2026-12-06T03:20:00Z");
    }
}
