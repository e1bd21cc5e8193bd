//! `cargo xtask failover` and `cargo xtask failback`: the hot-standby runbook (infra/RUNBOOK.md) as
//! a command. The steps are a plan built as data by [`unishop_ops::failover`] (Aurora moves first,
//! the write path follows, so every call keeps working in between); this module turns the flags
//! into its inputs and runs it with the AWS CLI, or prints every call in order (`--dry-run`), or
//! flips the local two-region stack's flag (`--local`).

use std::time::Duration;

use unishop_ops::failover::{self as plans, Inputs};
use unishop_ops::Plan;

use crate::aws::run_plan;

/// How the Aurora writer moves.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Both regions healthy: Aurora switchover, no data loss (maintenance, drills, failback).
    Planned,
    /// The source region is failing: Aurora failover with --allow-data-loss (the last seconds of
    /// writes not yet replicated may be lost).
    Unplanned,
    /// The managed failover cannot run: detach the target's cluster from the global database (a
    /// standalone writer), then move the write path; the global database is rebuilt afterwards.
    Detach,
}

impl From<Mode> for plans::Mode {
    fn from(mode: Mode) -> plans::Mode {
        match mode {
            Mode::Planned => plans::Mode::Planned,
            Mode::Unplanned => plans::Mode::Unplanned,
            Mode::Detach => plans::Mode::Detach,
        }
    }
}

#[derive(clap::Args, Debug, Clone)]
pub struct FailoverArgs {
    /// Region that takes over. failover: default the standby region; failback: always the primary.
    #[arg(long)]
    pub to: Option<String>,
    /// planned = switchover without data loss; unplanned = failover with --allow-data-loss;
    /// detach = take the target out of the global database (when the managed failover cannot run).
    #[arg(long, value_enum, default_value = "planned")]
    pub mode: Mode,
    /// Print every AWS CLI call that would be made, make none.
    #[arg(long)]
    pub dry_run: bool,
    /// The primary region.
    #[arg(long, env = "UNISHOP_PRIMARY_REGION", default_value = "us-east-1")]
    pub primary_region: String,
    /// The hot standby region.
    #[arg(long, env = "UNISHOP_STANDBY_REGION", default_value = "us-west-1")]
    pub standby_region: String,
    /// Aurora global database identifier (global stack output GlobalClusterIdentifier).
    #[arg(
        long,
        env = "UNISHOP_GLOBAL_CLUSTER_ID",
        default_value = "unishop-global"
    )]
    pub global_cluster_id: String,
    /// ARN of the write-path KeyValueStore (edge stack output KeyValueStoreArn); looked up in the edge stack when absent.
    #[arg(long, env = "UNISHOP_KVS_ARN")]
    pub kvs_arn: Option<String>,
    /// Name of the edge stack (in us-east-1), used to find the KeyValueStore when --kvs-arn is absent.
    #[arg(long, env = "UNISHOP_EDGE_STACK", default_value = "unishop-edge")]
    pub edge_stack: String,
    /// KeyValueStore key the write-path function reads.
    #[arg(long, env = "UNISHOP_KVS_KEY", default_value = "active_region")]
    pub kvs_key: String,
    /// Carts global table (global stack output CartsTableName).
    #[arg(long, env = "UNISHOP_CARTS_TABLE", default_value = "unishop-carts")]
    pub carts_table: String,
    /// Orders global table (global stack output OrdersTableName).
    #[arg(long, env = "UNISHOP_ORDERS_TABLE", default_value = "unishop-orders")]
    pub orders_table: String,
    /// Region of the edge stack and of the KeyValueStore API.
    #[arg(long, env = "UNISHOP_EDGE_REGION", default_value = "us-east-1")]
    pub edge_region: String,
    /// Give up waiting for the Aurora writer after this many seconds.
    #[arg(long, default_value_t = 1200)]
    pub timeout_secs: u64,
    /// Flip the active-region flag of the local two-region stack (`cargo xtask dev --two-regions`)
    /// instead of AWS.
    #[arg(long)]
    pub local: bool,
}

/// Move writes (and the Aurora writer) to `--to` (default: the standby region).
pub fn failover(args: &FailoverArgs) -> Result<(), String> {
    let target = args
        .to
        .clone()
        .unwrap_or_else(|| args.standby_region.clone());
    if args.local {
        return local(&target);
    }
    execute(&plan(args, &target)?, args.dry_run)
}

/// Move writes (and the Aurora writer) back to the primary region.
pub fn failback(args: &FailoverArgs) -> Result<(), String> {
    if let Some(to) = &args.to {
        if to != &args.primary_region {
            return Err(format!(
                "failback always returns to the primary region {}; use `failover --to {to}` instead",
                args.primary_region
            ));
        }
    }
    if args.local {
        return local(&args.primary_region);
    }
    execute(&plan(args, &args.primary_region)?, args.dry_run)
}

/// The plan for these flags and `target`.
fn plan(args: &FailoverArgs, target: &str) -> Result<Plan, String> {
    plans::plan(&Inputs {
        mode: args.mode.into(),
        target: target.to_string(),
        primary_region: args.primary_region.clone(),
        standby_region: args.standby_region.clone(),
        global_cluster_id: args.global_cluster_id.clone(),
        kvs_arn: args.kvs_arn.clone(),
        edge_stack: args.edge_stack.clone(),
        edge_region: args.edge_region.clone(),
        kvs_key: args.kvs_key.clone(),
        tables: vec![args.carts_table.clone(), args.orders_table.clone()],
        poll_every: Duration::from_secs(10),
        timeout: Duration::from_secs(args.timeout_secs),
    })
    .map_err(|e| e.to_string())
}

/// Prints the plan (dry run) or runs it with the AWS CLI.
fn execute(plan: &Plan, dry_run: bool) -> Result<(), String> {
    run_plan(plan, dry_run).map(|_| ())
}

/// Writes on the local two-region stack's `/api` go to `region` from now on.
fn local(region: &str) -> Result<(), String> {
    let folder = crate::dev::two_regions_folder();
    let flag = unishop_stack::regions::ActiveRegion::in_folder(&folder);
    let before = flag.get();
    flag.set(region)?;
    println!("local stack: writes on /api go to {region} (were {before})");
    Ok(())
}

// ------------------------------------------------------------------------------------------------
// test (called by `cargo xtask test`)

fn test_args(mode: Mode) -> FailoverArgs {
    FailoverArgs {
        to: Some("us-west-1".into()),
        mode,
        dry_run: true,
        primary_region: "us-east-1".into(),
        standby_region: "us-west-1".into(),
        global_cluster_id: "unishop-global".into(),
        kvs_arn: None,
        edge_stack: "unishop-edge".into(),
        edge_region: "us-east-1".into(),
        kvs_key: "active_region".into(),
        carts_table: "unishop-carts".into(),
        orders_table: "unishop-orders".into(),
        timeout_secs: 60,
        local: false,
    }
}

fn dry_run_text(args: &FailoverArgs, target: &str) -> Result<String, String> {
    Ok(plan(args, target)?.dry_run().join("\n"))
}

fn expect(plan: &str, what: &str, needle: &str) -> Result<(), String> {
    if plan.contains(needle) {
        println!("  ok  {what}");
        Ok(())
    } else {
        Err(format!(
            "failover dry run: {what}: `{needle}` not in the plan:\n{plan}"
        ))
    }
}

fn expect_not(plan: &str, what: &str, needle: &str) -> Result<(), String> {
    if plan.contains(needle) {
        Err(format!(
            "failover dry run: {what}: `{needle}` must not be in the plan:\n{plan}"
        ))
    } else {
        println!("  ok  {what}");
        Ok(())
    }
}

/// `first` comes before `then` in the printed plan.
fn expect_order(plan: &str, what: &str, first: &str, then: &str) -> Result<(), String> {
    match (plan.find(first), plan.find(then)) {
        (Some(a), Some(b)) if a < b => {
            println!("  ok  {what}");
            Ok(())
        }
        _ => Err(format!(
            "failover dry run: {what}: `{first}` must come before `{then}`:\n{plan}"
        )),
    }
}

/// Checks the printed plan of `failover --dry-run` in every mode and of `failback --dry-run`.
pub fn test_failover_dry_run() -> Result<(), String> {
    let planned = dry_run_text(&test_args(Mode::Planned), "us-west-1")?;
    let unplanned = dry_run_text(&test_args(Mode::Unplanned), "us-west-1")?;
    let detach = dry_run_text(&test_args(Mode::Detach), "us-west-1")?;
    let mut back_args = test_args(Mode::Planned);
    back_args.kvs_arn = Some("arn:aws:cloudfront::123456789012:key-value-store/abc".into());
    let back = dry_run_text(&back_args, "us-east-1")?;
    println!("checking the plans:");
    for (name, plan, aurora) in [
        ("planned", &planned, "aws rds switchover-global-cluster"),
        ("unplanned", &unplanned, "aws rds failover-global-cluster"),
        ("detach", &detach, "aws rds remove-from-global-cluster"),
        ("failback", &back, "aws rds switchover-global-cluster"),
    ] {
        expect_order(
            plan,
            &format!("{name}: Aurora moves before the write path"),
            aurora,
            "aws cloudfront-keyvaluestore put-key",
        )?;
        expect_order(
            plan,
            &format!("{name}: the new writer is awaited before the write path"),
            "repeated every 10 s until",
            "aws cloudfront-keyvaluestore put-key",
        )?;
        expect(
            plan,
            &format!("{name}: reads the flag back"),
            "aws cloudfront-keyvaluestore get-key",
        )?;
        expect(
            plan,
            &format!("{name}: checks carts replicas"),
            "aws dynamodb describe-table --table-name unishop-carts",
        )?;
        expect(
            plan,
            &format!("{name}: checks orders replicas"),
            "--table-name unishop-orders",
        )?;
        expect(plan, &format!("{name}: nothing is run"), "none made")?;
    }
    for (name, plan) in [("planned", &planned), ("unplanned", &unplanned)] {
        expect(
            plan,
            &format!("{name}: KVS ARN from the edge stack"),
            "aws cloudformation describe-stacks --stack-name unishop-edge",
        )?;
        expect(
            plan,
            &format!("{name}: flips the write flag with the store's ETag"),
            "aws cloudfront-keyvaluestore put-key --kvs-arn '<kvs_arn>' --key active_region --value us-west-1 --if-match '<kvs_etag>' --region us-east-1",
        )?;
        expect(
            plan,
            &format!("{name}: five steps"),
            "[5/5] confirm the DynamoDB global tables in us-west-1",
        )?;
    }
    expect(&planned, "planned: switchover to the found us-west-1 member", "aws rds switchover-global-cluster --global-cluster-identifier unishop-global --target-db-cluster-identifier '<target_cluster_arn>' --region us-west-1")?;
    expect_order(
        &planned,
        "planned: the replicas are checked before the switchover",
        "aws dynamodb describe-table",
        "aws rds switchover-global-cluster",
    )?;
    expect_not(
        &planned,
        "planned: never allows data loss",
        "--allow-data-loss",
    )?;
    expect_not(
        &planned,
        "planned: no failover-global-cluster",
        "failover-global-cluster",
    )?;
    expect(&unplanned, "unplanned: failover with --allow-data-loss in us-west-1", "aws rds failover-global-cluster --global-cluster-identifier unishop-global --target-db-cluster-identifier '<target_cluster_arn>' --allow-data-loss --region us-west-1")?;
    expect_not(
        &unplanned,
        "unplanned: no switchover",
        "switchover-global-cluster",
    )?;
    let regional_calls_to_source = unplanned
        .lines()
        .filter(|l| l.contains("$ aws rds") || l.contains("$ aws dynamodb"))
        .filter(|l| l.ends_with("--region us-east-1"))
        .count();
    if regional_calls_to_source != 0 {
        return Err(format!("failover dry run: unplanned mode calls RDS/DynamoDB in the failed region:\n{unplanned}"));
    }
    println!("  ok  unplanned: every RDS and DynamoDB call goes to us-west-1");
    expect(
        &back,
        "failback: flag back to us-east-1",
        "--key active_region --value us-east-1",
    )?;
    expect(&back, "failback: switchover in us-east-1", "aws rds switchover-global-cluster --global-cluster-identifier unishop-global --target-db-cluster-identifier '<target_cluster_arn>' --region us-east-1")?;
    expect_not(
        &back,
        "failback: --kvs-arn skips the stack lookup",
        "describe-stacks",
    )?;
    if plan(&test_args(Mode::Planned), "eu-west-1").is_ok() {
        return Err("failover to a region outside the pair must be refused".into());
    }
    println!("  ok  a target outside us-east-1/us-west-1 is refused");
    println!("failover dry run: planned, unplanned, detach and failback plans checked");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dry_run_plans_are_right() {
        test_failover_dry_run().expect("dry-run plans");
    }

    #[test]
    fn failback_refuses_other_target() {
        let mut args = test_args(Mode::Planned);
        args.to = Some("us-west-1".into());
        assert!(failback(&args).is_err());
    }
}
