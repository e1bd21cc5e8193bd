//! `cargo xtask failover` and `cargo xtask failback`: the hot-standby runbook (infra/RUNBOOK.md) as
//! a command. Steps, each printed with its result and the time it took:
//! 1. find the write-path KeyValueStore (flag/env, or the edge stack's output);
//! 2. check the DynamoDB global table replicas (planned: all must be ACTIVE);
//! 3. flip the KeyValueStore key `active_region` to the target region (writes move at once);
//! 4. Aurora global database: switchover (planned, no data loss) or failover with
//!    `--allow-data-loss` (unplanned), then wait until the target cluster is the writer;
//! 5. confirm the DynamoDB replicas again.
//!
//! `--dry-run` prints every AWS CLI call, in order, without running any.

use std::time::{Duration, Instant};

use crate::aws::Aws;
use crate::process::{command_line, run_stdout};

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Both regions healthy: Aurora switchover, no data loss (maintenance, drills, failback).
    Planned,
    /// The source region is failing: Aurora failover with --allow-data-loss (the last seconds of
    /// writes not yet replicated may be lost).
    Unplanned,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Planned => "planned",
            Mode::Unplanned => "unplanned",
        }
    }
}

#[derive(clap::Args, Debug, Clone)]
pub struct FailoverArgs {
    /// Region that takes over. failover: default the standby region; failback: always the primary.
    #[arg(long)]
    pub to: Option<String>,
    /// planned = switchover without data loss; unplanned = failover with --allow-data-loss.
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
    let mut runner = Runner::new(args.dry_run, Aws::default());
    run_failover(args, &target, &mut runner)
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
    let mut runner = Runner::new(args.dry_run, Aws::default());
    run_failover(args, &args.primary_region.clone(), &mut runner)
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

/// Runs AWS CLI calls (or, in a dry run, prints them) and records every printed line.
struct Runner {
    dry_run: bool,
    aws: Aws,
    log: Vec<String>,
    calls: usize,
}

impl Runner {
    fn new(dry_run: bool, aws: Aws) -> Runner {
        Runner {
            dry_run,
            aws,
            log: Vec::new(),
            calls: 0,
        }
    }

    fn say(&mut self, line: impl Into<String>) {
        let line = line.into();
        println!("{line}");
        self.log.push(line);
    }

    /// Runs `aws <args> --region <region>`; in a dry run prints it and returns `placeholder`.
    fn aws(&mut self, region: &str, args: &[&str], placeholder: &str) -> Result<String, String> {
        let mut cmd = self.aws.command(region, args);
        self.calls += 1;
        let line = command_line(&cmd);
        if self.dry_run {
            self.say(format!("    $ {line}"));
            return Ok(placeholder.to_string());
        }
        self.say(format!("    $ {line}"));
        run_stdout(&mut cmd).map(|s| s.trim().to_string())
    }

    /// Runs one step: prints its title, then its result and duration.
    fn step<T>(
        &mut self,
        n: usize,
        total: usize,
        title: &str,
        body: impl FnOnce(&mut Runner) -> Result<(T, String), String>,
    ) -> Result<T, String> {
        self.say(format!("[{n}/{total}] {title}"));
        let started = Instant::now();
        let result = body(self);
        let secs = started.elapsed().as_secs_f64();
        match result {
            Ok((value, summary)) => {
                self.say(format!("    -> {summary} ({secs:.1} s)"));
                Ok(value)
            }
            Err(e) => {
                self.say(format!("    -> FAILED after {secs:.1} s"));
                Err(format!("step {n}/{total} ({title}) failed: {e}"))
            }
        }
    }
}

const STEPS: usize = 5;

fn run_failover(args: &FailoverArgs, target: &str, runner: &mut Runner) -> Result<(), String> {
    let regions = [args.primary_region.as_str(), args.standby_region.as_str()];
    if !regions.contains(&target) {
        return Err(format!(
            "--to {target}: must be {} or {}",
            args.primary_region, args.standby_region
        ));
    }
    let source = if target == args.primary_region {
        args.standby_region.clone()
    } else {
        args.primary_region.clone()
    };
    let started = Instant::now();
    runner.say(format!(
        "{}{} {} -> {target} ({} mode){}",
        if runner.dry_run { "(dry run) " } else { "" },
        if target == args.primary_region {
            "failback"
        } else {
            "failover"
        },
        source,
        args.mode.name(),
        if runner.dry_run {
            ": these are the AWS CLI calls it would make, in order"
        } else {
            ""
        }
    ));

    // 1. the KeyValueStore
    let kvs_arn = runner.step(1, STEPS, "find the write-path KeyValueStore", |r| {
        let (arn, from) = match &args.kvs_arn {
            Some(arn) => (arn.clone(), "from --kvs-arn / UNISHOP_KVS_ARN".to_string()),
            None => {
                let query = "Stacks[0].Outputs[?OutputKey=='KeyValueStoreArn'].OutputValue";
                let placeholder = format!("<KeyValueStoreArn of stack {}>", args.edge_stack);
                let arn = r
                    .aws(
                    "us-east-1",
                    &[
                        "cloudformation",
                        "describe-stacks",
                        "--stack-name",
                        &args.edge_stack,
                        "--query",
                        query,
                        "--output",
                        "text",
                    ],
                    &placeholder,
                )
                .map_err(|e| {
                    format!("{e}\n(if us-east-1 is unreachable, pass --kvs-arn or set UNISHOP_KVS_ARN)")
                })?;
                (arn, format!("output KeyValueStoreArn of stack {}", args.edge_stack))
            }
        };
        if arn.is_empty() || arn == "None" {
            return Err(format!(
                "stack {} has no KeyValueStoreArn output; pass --kvs-arn",
                args.edge_stack
            ));
        }
        let summary = format!("{arn} ({from})");
        Ok((arn, summary))
    })?;

    // 2. DynamoDB before
    let strict = args.mode == Mode::Planned;
    runner.step(2, STEPS, "check DynamoDB global table replicas", |r| {
        check_tables(r, args, target, &source, strict).map(|s| ((), s))
    })?;

    // 3. flip the write path
    runner.step(
        3,
        STEPS,
        &format!(
            "point the write path at {target} (KeyValueStore {} = {target})",
            args.kvs_key
        ),
        |r| {
            // The KeyValueStore API is global; the CLI still wants a region.
            let etag = r.aws(
                "us-east-1",
                &[
                    "cloudfront-keyvaluestore",
                    "describe-key-value-store",
                    "--kvs-arn",
                    &kvs_arn,
                    "--query",
                    "ETag",
                    "--output",
                    "text",
                ],
                "<ETag from describe-key-value-store>",
            )?;
            r.aws(
                "us-east-1",
                &[
                    "cloudfront-keyvaluestore",
                    "put-key",
                    "--kvs-arn",
                    &kvs_arn,
                    "--key",
                    &args.kvs_key,
                    "--value",
                    target,
                    "--if-match",
                    &etag,
                ],
                "",
            )?;
            let value = r.aws(
                "us-east-1",
                &[
                    "cloudfront-keyvaluestore",
                    "get-key",
                    "--kvs-arn",
                    &kvs_arn,
                    "--key",
                    &args.kvs_key,
                    "--query",
                    "Value",
                    "--output",
                    "text",
                ],
                target,
            )?;
            if value != target {
                return Err(format!(
                    "read back {} = {value:?}, expected {target}",
                    args.kvs_key
                ));
            }
            Ok((
                (),
                format!(
                    "{} = {target}; edge locations pick it up within seconds",
                    args.kvs_key
                ),
            ))
        },
    )?;

    // 4. Aurora
    let title = match args.mode {
        Mode::Planned => format!("Aurora global switchover to {target} (no data loss)"),
        Mode::Unplanned => format!("Aurora global failover to {target} with --allow-data-loss"),
    };
    runner.step(4, STEPS, &title, |r| {
        aurora(r, args, target).map(|s| ((), s))
    })?;

    // 5. DynamoDB after
    runner.step(5, STEPS, "confirm DynamoDB global table replicas", |r| {
        check_tables(r, args, target, &source, strict).map(|s| ((), s))
    })?;

    runner.say(format!(
        "{} in {:.1} s ({} AWS CLI calls{}). Writes and the Aurora writer are in {target}.",
        if runner.dry_run {
            "dry run done"
        } else {
            "done"
        },
        started.elapsed().as_secs_f64(),
        runner.calls,
        if runner.dry_run { ", none made" } else { "" }
    ));
    if args.mode == Mode::Unplanned {
        runner.say(format!(
            "Next: when {source} recovers, Aurora rejoins it as a secondary; check replication lag, then \
             `cargo xtask failback --mode planned` (see infra/RUNBOOK.md)."
        ));
    }
    Ok(())
}

fn check_tables(
    r: &mut Runner,
    args: &FailoverArgs,
    target: &str,
    source: &str,
    strict: bool,
) -> Result<String, String> {
    let mut summary = Vec::new();
    for table in [&args.carts_table, &args.orders_table] {
        let placeholder = format!("ACTIVE\n{source}\tACTIVE\n{target}\tACTIVE");
        let out = r.aws(
            target,
            &[
                "dynamodb",
                "describe-table",
                "--table-name",
                table,
                "--query",
                "Table.[TableStatus, Replicas[].[RegionName,ReplicaStatus]]",
                "--output",
                "text",
            ],
            &placeholder,
        )?;
        let (status, replicas) = parse_table_status(&out);
        if status != "ACTIVE" {
            return Err(format!("table {table} in {target} is {status}, not ACTIVE"));
        }
        let unhealthy: Vec<String> = replicas
            .iter()
            .filter(|(_, s)| s != "ACTIVE")
            .map(|(region, s)| format!("{region} {s}"))
            .collect();
        let has_source = replicas.iter().any(|(region, _)| region == source);
        if !has_source {
            let msg = format!("table {table} has no replica in {source}");
            if strict {
                return Err(msg);
            }
            r.say(format!("    warning: {msg}"));
        }
        if !unhealthy.is_empty() {
            let msg = format!(
                "table {table} replicas not ACTIVE: {}",
                unhealthy.join(", ")
            );
            if strict {
                return Err(msg);
            }
            r.say(format!(
                "    warning: {msg} (expected while {source} is down)"
            ));
        }
        summary.push(format!("{table} ACTIVE in {target}"));
    }
    Ok(summary.join(", "))
}

/// Parses `TableStatus` then `region<TAB>status` rows.
fn parse_table_status(text: &str) -> (String, Vec<(String, String)>) {
    let mut lines = text.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or("UNKNOWN")
        .to_string();
    let replicas = lines
        .filter_map(|l| {
            let (region, status) = l.trim().split_once('\t')?;
            Some((region.to_string(), status.to_string()))
        })
        .collect();
    (status, replicas)
}

/// Members of the global cluster: (cluster ARN, is writer).
fn parse_members(text: &str) -> Vec<(String, bool)> {
    text.lines()
        .filter_map(|l| {
            let (arn, writer) = l.trim().split_once('\t')?;
            Some((arn.to_string(), writer.eq_ignore_ascii_case("true")))
        })
        .collect()
}

fn aurora(r: &mut Runner, args: &FailoverArgs, target: &str) -> Result<String, String> {
    let members_query = "GlobalClusters[0].GlobalClusterMembers[].[DBClusterArn,IsWriter]";
    let placeholder = format!(
        "arn:aws:rds:{}:<account>:cluster:<primary cluster>\tTrue\narn:aws:rds:{}:<account>:cluster:<standby cluster>\tFalse",
        args.primary_region, args.standby_region
    );
    let placeholder = if target == args.primary_region {
        placeholder
            .replace("True", "X")
            .replace("False", "True")
            .replace('X', "False")
    } else {
        placeholder
    };
    let members = r.aws(
        target,
        &[
            "rds",
            "describe-global-clusters",
            "--global-cluster-identifier",
            &args.global_cluster_id,
            "--query",
            members_query,
            "--output",
            "text",
        ],
        &placeholder,
    )?;
    let members = parse_members(&members);
    let marker = format!(":rds:{target}:");
    let (target_arn, is_writer) = members
        .iter()
        .find(|(arn, _)| arn.contains(&marker))
        .cloned()
        .ok_or_else(|| {
            format!(
                "global cluster {} has no member in {target} (members: {:?})",
                args.global_cluster_id, members
            )
        })?;
    if is_writer && !r.dry_run {
        return Ok(format!("{target_arn} is already the writer; nothing to do"));
    }
    let started = Instant::now();
    match args.mode {
        Mode::Planned => r.aws(
            target,
            &[
                "rds",
                "switchover-global-cluster",
                "--global-cluster-identifier",
                &args.global_cluster_id,
                "--target-db-cluster-identifier",
                &target_arn,
                "--query",
                "GlobalCluster.Status",
                "--output",
                "text",
            ],
            "switching-over",
        )?,
        Mode::Unplanned => r.aws(
            target,
            &[
                "rds",
                "failover-global-cluster",
                "--global-cluster-identifier",
                &args.global_cluster_id,
                "--target-db-cluster-identifier",
                &target_arn,
                "--allow-data-loss",
                "--query",
                "GlobalCluster.Status",
                "--output",
                "text",
            ],
            "failing-over",
        )?,
    };
    // Wait for the target to be the writer and the global cluster to settle.
    let wait_query =
        "GlobalClusters[0].[Status, GlobalClusterMembers[?IsWriter].DBClusterArn | [0]]";
    let wait_args = [
        "rds",
        "describe-global-clusters",
        "--global-cluster-identifier",
        args.global_cluster_id.as_str(),
        "--query",
        wait_query,
        "--output",
        "text",
    ];
    if r.dry_run {
        r.say("    (repeated every 10 s until Status is available and the writer is the target:)");
        r.aws(target, &wait_args, "")?;
        return Ok(format!("{target_arn} would become the writer"));
    }
    let deadline = started + Duration::from_secs(args.timeout_secs);
    loop {
        let mut cmd = r.aws.command(target, &wait_args);
        let out = run_stdout(&mut cmd)?;
        let mut fields = out.split_whitespace();
        let (status, writer) = (fields.next().unwrap_or(""), fields.next().unwrap_or(""));
        if status == "available" && writer == target_arn {
            return Ok(format!(
                "{target_arn} is the writer after {:.0} s",
                started.elapsed().as_secs_f64()
            ));
        }
        if Instant::now() > deadline {
            return Err(format!(
                "after {} s the global cluster is {status:?} with writer {writer:?}; check the RDS console, \
                 then re-run (the KeyValueStore already points at {target})",
                args.timeout_secs
            ));
        }
        println!(
            "    ... {status}, writer {writer} ({:.0} s)",
            started.elapsed().as_secs_f64()
        );
        std::thread::sleep(Duration::from_secs(10));
    }
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
        kvs_key: "active_region".into(),
        carts_table: "unishop-carts".into(),
        orders_table: "unishop-orders".into(),
        timeout_secs: 60,
        local: false,
    }
}

fn dry_run_plan(args: &FailoverArgs, target: &str) -> Result<String, String> {
    let mut runner = Runner::new(true, Aws::default());
    run_failover(args, target, &mut runner)?;
    Ok(runner.log.join("\n"))
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

/// Checks the printed plan of `failover --dry-run` in both modes and of `failback --dry-run`.
pub fn test_failover_dry_run() -> Result<(), String> {
    let planned = dry_run_plan(&test_args(Mode::Planned), "us-west-1")?;
    let unplanned = dry_run_plan(&test_args(Mode::Unplanned), "us-west-1")?;
    let mut back_args = test_args(Mode::Planned);
    back_args.kvs_arn = Some("arn:aws:cloudfront::123456789012:key-value-store/abc".into());
    let back = dry_run_plan(&back_args, "us-east-1")?;
    println!("checking the plans:");
    for (name, plan) in [("planned", &planned), ("unplanned", &unplanned)] {
        expect(
            plan,
            &format!("{name}: KVS ARN from the edge stack"),
            "aws cloudformation describe-stacks --stack-name unishop-edge",
        )?;
        expect(plan, &format!("{name}: flips the write flag with the store's ETag"), "aws cloudfront-keyvaluestore put-key --kvs-arn '<KeyValueStoreArn of stack unishop-edge>' --key active_region --value us-west-1 --if-match '<ETag from describe-key-value-store>'")?;
        expect(
            plan,
            &format!("{name}: reads the flag back"),
            "aws cloudfront-keyvaluestore get-key",
        )?;
        expect(
            plan,
            &format!("{name}: finds the target cluster"),
            "aws rds describe-global-clusters --global-cluster-identifier unishop-global",
        )?;
        expect(
            plan,
            &format!("{name}: checks carts replicas in us-west-1"),
            "aws dynamodb describe-table --table-name unishop-carts",
        )?;
        expect(
            plan,
            &format!("{name}: checks orders replicas"),
            "--table-name unishop-orders",
        )?;
        expect(
            plan,
            &format!("{name}: five steps with timings"),
            "[5/5] confirm DynamoDB global table replicas",
        )?;
        expect(plan, &format!("{name}: nothing is run"), "none made")?;
    }
    expect(&planned, "planned: switchover", "aws rds switchover-global-cluster --global-cluster-identifier unishop-global --target-db-cluster-identifier 'arn:aws:rds:us-west-1:<account>:cluster:<standby cluster>'")?;
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
    expect(&unplanned, "unplanned: failover with --allow-data-loss in us-west-1", "aws rds failover-global-cluster --global-cluster-identifier unishop-global --target-db-cluster-identifier 'arn:aws:rds:us-west-1:<account>:cluster:<standby cluster>' --allow-data-loss --query GlobalCluster.Status --output text --region us-west-1")?;
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
    expect(&back, "failback: switchover to the us-east-1 cluster", "--target-db-cluster-identifier 'arn:aws:rds:us-east-1:<account>:cluster:<primary cluster>'")?;
    expect_not(
        &back,
        "failback: --kvs-arn skips the stack lookup",
        "describe-stacks",
    )?;
    let bad = run_failover(
        &test_args(Mode::Planned),
        "eu-west-1",
        &mut Runner::new(true, Aws::default()),
    );
    if bad.is_ok() {
        return Err("failover to a region outside the pair must be refused".into());
    }
    println!("  ok  a target outside us-east-1/us-west-1 is refused");
    println!("failover dry run: planned, unplanned and failback plans checked");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_table_status_and_replicas() {
        let (status, replicas) =
            parse_table_status("ACTIVE\nus-east-1\tACTIVE\nus-west-1\tUPDATING\n");
        assert_eq!(status, "ACTIVE");
        assert_eq!(
            replicas,
            vec![
                ("us-east-1".to_string(), "ACTIVE".to_string()),
                ("us-west-1".to_string(), "UPDATING".to_string())
            ]
        );
        assert_eq!(
            parse_table_status("ACTIVE\tNone\n"),
            ("ACTIVE".to_string(), vec![])
        );
    }

    #[test]
    fn parses_members() {
        let m = parse_members(
            "arn:aws:rds:us-east-1:1:cluster:a\tTrue\narn:aws:rds:us-west-1:1:cluster:b\tFalse\n",
        );
        assert_eq!(m.len(), 2);
        assert!(m[0].1 && !m[1].1);
    }

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
