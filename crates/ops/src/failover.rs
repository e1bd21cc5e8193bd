//! The failover and failback plans (infra/RUNBOOK.md): which region takes writes, and Aurora's
//! writer with it.
//!
//! The order keeps every call working in between. Both Aurora members have write forwarding on
//! and both APIs use their cluster's reader endpoint, so an API forwards its writes to whichever
//! cluster is the writer. So the database moves first and the write path follows:
//! - planned: the DynamoDB replicas ACTIVE, the global cluster `available`, then the switchover
//!   (Aurora waits for the target to catch up: no data loss), wait until the target is the writer,
//!   and only then the KeyValueStore flag. Until the flag moves, writes go to the source region's
//!   API, which forwards them to the new writer once the switchover is done.
//! - unplanned: promote the target (`failover-global-cluster --allow-data-loss`), wait until it is
//!   the writer, then move the flag: moving it first would send writes to an API whose cluster is
//!   still a secondary forwarding to a failed writer.
//! - detach (the managed failover cannot run): take the target cluster out of the global database
//!   (it becomes a standalone writer), wait until it is available, then move the flag.
//!
//! Every RDS and DynamoDB call goes to the target region, so an unplanned failover never waits on
//! the failed one; only the KeyValueStore (a global API) and, without `--kvs-arn`, the edge stack
//! lookup go to `edge_region`.

use std::time::Duration;

use crate::plan::{Call, Check, Otherwise, Plan, Step, Value};

/// How the Aurora writer moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Both regions healthy: Aurora switchover, no data loss (maintenance, drills, failback).
    Planned,
    /// The source region is failing: Aurora failover with `--allow-data-loss` (the last writes not
    /// yet replicated may be lost).
    Unplanned,
    /// The managed failover cannot run: the target cluster leaves the global database and becomes
    /// a standalone writer; the global database is rebuilt afterwards (infra/RUNBOOK.md).
    Detach,
}

impl Mode {
    /// The name the command line uses.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Planned => "planned",
            Mode::Unplanned => "unplanned",
            Mode::Detach => "detach",
        }
    }
}

/// What a failover or failback plan is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inputs {
    /// How the Aurora writer moves.
    pub mode: Mode,
    /// The region that takes writes.
    pub target: String,
    /// The primary region (failing back means the target is this one).
    pub primary_region: String,
    /// The hot standby region.
    pub standby_region: String,
    /// Aurora global database identifier.
    pub global_cluster_id: String,
    /// The write-path KeyValueStore's ARN, when known; else it is read from the edge stack.
    pub kvs_arn: Option<String>,
    /// The edge stack's name (its output `KeyValueStoreArn`).
    pub edge_stack: String,
    /// Region of the edge stack and of the KeyValueStore API calls.
    pub edge_region: String,
    /// The KeyValueStore key the write-path function reads.
    pub kvs_key: String,
    /// The DynamoDB global tables (carts, orders).
    pub tables: Vec<String>,
    /// How often the Aurora state is polled.
    pub poll_every: Duration,
    /// How long to wait for the Aurora writer.
    pub timeout: Duration,
}

/// Inputs that cannot make a plan.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    /// The target is neither region of the pair.
    #[error("--to {target}: must be {primary} or {standby}")]
    TargetOutsidePair {
        target: String,
        primary: String,
        standby: String,
    },
    /// Primary and standby are the same region.
    #[error("the primary and standby regions are both {0}")]
    SameRegions(String),
}

/// Output names the plan passes along.
pub mod outputs {
    /// The write-path KeyValueStore's ARN.
    pub const KVS_ARN: &str = "kvs_arn";
    /// The KeyValueStore's ETag, for the conditional put.
    pub const KVS_ETAG: &str = "kvs_etag";
    /// The target region's Aurora cluster ARN.
    pub const TARGET_CLUSTER_ARN: &str = "target_cluster_arn";
    /// The global database's writer cluster ARN before the move.
    pub const WRITER_BEFORE: &str = "writer_cluster_arn";
}

/// The plan that moves writes and the Aurora writer to `inputs.target`.
pub fn plan(inputs: &Inputs) -> Result<Plan, PlanError> {
    if inputs.primary_region == inputs.standby_region {
        return Err(PlanError::SameRegions(inputs.primary_region.clone()));
    }
    let source = if inputs.target == inputs.standby_region {
        inputs.primary_region.clone()
    } else if inputs.target == inputs.primary_region {
        inputs.standby_region.clone()
    } else {
        return Err(PlanError::TargetOutsidePair {
            target: inputs.target.clone(),
            primary: inputs.primary_region.clone(),
            standby: inputs.standby_region.clone(),
        });
    };
    let target = inputs.target.as_str();
    let direction = if target == inputs.primary_region {
        "failback"
    } else {
        "failover"
    };
    let strict = inputs.mode == Mode::Planned;

    let mut given = Vec::new();
    let mut steps = Vec::new();
    match &inputs.kvs_arn {
        Some(arn) => given.push((outputs::KVS_ARN.to_string(), arn.clone())),
        None => steps.push(Step::new(
            "find the write-path KeyValueStore (edge stack output KeyValueStoreArn)",
            vec![Call::new(
                &inputs.edge_region,
                "cloudformation",
                "describe-stacks",
                &["--stack-name", &inputs.edge_stack],
            )
            .produces(
                outputs::KVS_ARN,
                "Stacks[0].Outputs[?OutputKey=='KeyValueStoreArn'].OutputValue | [0]",
            )],
            "nothing has changed; if the edge region is unreachable, pass --kvs-arn (or set \
             UNISHOP_KVS_ARN) and re-run",
        )),
    }
    steps.push(Step::new(
        format!("check the DynamoDB global tables in {target}"),
        table_checks(inputs, target, &source, strict),
        "nothing has changed; in planned mode every replica must be ACTIVE (wait, or use \
         --mode unplanned if the source region is failing)",
    ));
    steps.push(aurora_step(inputs, target));
    steps.push(write_path_step(inputs, target));
    steps.push(Step::new(
        format!("confirm the DynamoDB global tables in {target}"),
        table_checks(inputs, target, &source, strict),
        format!("writes and the Aurora writer are in {target}; only this check remains"),
    ));

    let mut afterwards = vec![format!(
        "Writes and the Aurora writer are in {target}; catalogue reads stay on the origin group."
    )];
    match inputs.mode {
        Mode::Planned => {}
        Mode::Unplanned => afterwards.push(format!(
            "Next: when {source} recovers, Aurora rejoins it as a secondary; check the replication \
             lag, then `cargo xtask failback --mode planned` (infra/RUNBOOK.md)."
        )),
        Mode::Detach => afterwards.push(format!(
            "Next: {target}'s cluster is standalone; the global database {} must be rebuilt with it \
             as the primary before {source} can take writes again (infra/RUNBOOK.md, \"When the \
             managed failover cannot run\").",
            inputs.global_cluster_id
        )),
    }
    Ok(Plan {
        title: format!(
            "{direction} {source} -> {target} ({} mode)",
            inputs.mode.name()
        ),
        given,
        steps,
        afterwards,
    })
}

/// `describe-table` of each global table in `target`: ACTIVE there, and its replica in `source`.
fn table_checks(inputs: &Inputs, target: &str, source: &str, strict: bool) -> Vec<Call> {
    let mut calls = Vec::new();
    for table in &inputs.tables {
        calls.push(
            Call::new(
                target,
                "dynamodb",
                "describe-table",
                &["--table-name", table],
            )
            .produces(&format!("{table}_status"), "Table.TableStatus")
            .check(Check::Equals {
                expected: Value::text("ACTIVE"),
                otherwise: Otherwise::Fail,
            }),
        );
        calls.push(
            Call::new(
                target,
                "dynamodb",
                "describe-table",
                &["--table-name", table],
            )
            .produces(
                &format!("{table}_replica_in_{source}"),
                &format!("Table.Replicas[?RegionName=='{source}'].ReplicaStatus | [0]"),
            )
            .check(Check::Equals {
                expected: Value::text("ACTIVE"),
                otherwise: if strict {
                    Otherwise::Fail
                } else {
                    Otherwise::Warn
                },
            }),
        );
    }
    calls
}

fn describe_global(inputs: &Inputs, target: &str) -> Call {
    Call::new(
        target,
        "rds",
        "describe-global-clusters",
        &["--global-cluster-identifier", &inputs.global_cluster_id],
    )
}

/// Aurora: find the target cluster, move the writer there, wait until it is.
fn aurora_step(inputs: &Inputs, target: &str) -> Step {
    let poll = |expected: Value| Check::WaitUntilEquals {
        expected,
        every: inputs.poll_every,
        timeout: inputs.timeout,
    };
    let mut calls = vec![
        describe_global(inputs, target).produces(
            outputs::TARGET_CLUSTER_ARN,
            &format!(
                "GlobalClusters[0].GlobalClusterMembers[?contains(DBClusterArn, ':rds:{target}:')].DBClusterArn | [0]"
            ),
        ),
        describe_global(inputs, target)
            .produces(
                outputs::WRITER_BEFORE,
                "GlobalClusters[0].GlobalClusterMembers[?IsWriter].DBClusterArn | [0]",
            )
            .check(Check::SkipRestOfStepIfEquals(Value::output(
                outputs::TARGET_CLUSTER_ARN,
            ))),
    ];
    let title;
    match inputs.mode {
        Mode::Planned => {
            title = format!(
                "Aurora global switchover to {target} (waits for it to catch up; no data loss)"
            );
            calls.push(
                describe_global(inputs, target)
                    .produces("global_status_before", "GlobalClusters[0].Status")
                    .check(Check::Equals {
                        expected: Value::text("available"),
                        otherwise: Otherwise::Fail,
                    }),
            );
            calls.push(
                Call::new(
                    target,
                    "rds",
                    "switchover-global-cluster",
                    &["--global-cluster-identifier", &inputs.global_cluster_id],
                )
                .arg(
                    "--target-db-cluster-identifier",
                    Value::output(outputs::TARGET_CLUSTER_ARN),
                ),
            );
        }
        Mode::Unplanned => {
            title = format!("Aurora global failover to {target} with --allow-data-loss");
            calls.push(
                Call::new(
                    target,
                    "rds",
                    "failover-global-cluster",
                    &["--global-cluster-identifier", &inputs.global_cluster_id],
                )
                .arg(
                    "--target-db-cluster-identifier",
                    Value::output(outputs::TARGET_CLUSTER_ARN),
                )
                .flag("--allow-data-loss"),
            );
        }
        Mode::Detach => {
            title = format!(
                "detach {target}'s Aurora cluster from the global database (it becomes a standalone writer)"
            );
            calls.push(
                Call::new(
                    target,
                    "rds",
                    "remove-from-global-cluster",
                    &["--global-cluster-identifier", &inputs.global_cluster_id],
                )
                .arg(
                    "--db-cluster-identifier",
                    Value::output(outputs::TARGET_CLUSTER_ARN),
                ),
            );
            let describe_target = Call::new(target, "rds", "describe-db-clusters", &[]).arg(
                "--db-cluster-identifier",
                Value::output(outputs::TARGET_CLUSTER_ARN),
            );
            calls.push(
                describe_target
                    .clone()
                    .produces(
                        "target_cluster_writers",
                        "length(DBClusters[0].DBClusterMembers[?IsClusterWriter])",
                    )
                    .check(poll(Value::text("1"))),
            );
            calls.push(
                describe_target
                    .produces("target_cluster_status", "DBClusters[0].Status")
                    .check(poll(Value::text("available"))),
            );
            return Step::new(
                title,
                calls,
                "the write path still points at the source region; if the cluster has left the \
                 global database already, wait until it is available with a writer instance \
                 (describe-db-clusters), then move the flag: `cargo xtask failover --mode unplanned` \
                 cannot, as the cluster is no longer a member (infra/RUNBOOK.md)",
            );
        }
    }
    calls.push(
        describe_global(inputs, target)
            .produces(
                "writer_cluster_arn_after",
                "GlobalClusters[0].GlobalClusterMembers[?IsWriter].DBClusterArn | [0]",
            )
            .check(poll(Value::output(outputs::TARGET_CLUSTER_ARN))),
    );
    calls.push(
        describe_global(inputs, target)
            .produces("global_status_after", "GlobalClusters[0].Status")
            .check(poll(Value::text("available"))),
    );
    Step::new(
        title,
        calls,
        "the write path still points at the source region (its API forwards writes to whichever \
         cluster is the writer); check the RDS console, then re-run: a target that is already the \
         writer is not moved again",
    )
}

/// The KeyValueStore flag: read the ETag, put the target with it, read it back.
fn write_path_step(inputs: &Inputs, target: &str) -> Step {
    let kvs = Value::output(outputs::KVS_ARN);
    let region = inputs.edge_region.as_str();
    Step::new(
        format!(
            "point the write path at {target} (KeyValueStore {} = {target})",
            inputs.kvs_key
        ),
        vec![
            Call::new(
                region,
                "cloudfront-keyvaluestore",
                "describe-key-value-store",
                &[],
            )
            .arg("--kvs-arn", kvs.clone())
            .produces(outputs::KVS_ETAG, "ETag"),
            Call::new(region, "cloudfront-keyvaluestore", "put-key", &[])
                .arg("--kvs-arn", kvs.clone())
                .arg("--key", Value::text(&inputs.kvs_key))
                .arg("--value", Value::text(target))
                .arg("--if-match", Value::output(outputs::KVS_ETAG)),
            Call::new(region, "cloudfront-keyvaluestore", "get-key", &[])
                .arg("--kvs-arn", kvs)
                .arg("--key", Value::text(&inputs.kvs_key))
                .produces("active_region", "Value")
                .check(Check::Equals {
                    expected: Value::text(target),
                    otherwise: Otherwise::Fail,
                }),
        ],
        format!(
            "the Aurora writer is in {target} already; writes still reach it through the other \
             region's write forwarding; re-run to move the flag (edge locations pick it up within \
             seconds)"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(mode: Mode, target: &str) -> Inputs {
        Inputs {
            mode,
            target: target.into(),
            primary_region: "us-east-1".into(),
            standby_region: "us-west-1".into(),
            global_cluster_id: "unishop-global".into(),
            kvs_arn: None,
            edge_stack: "unishop-edge".into(),
            edge_region: "us-east-1".into(),
            kvs_key: "active_region".into(),
            tables: vec!["unishop-carts".into(), "unishop-orders".into()],
            poll_every: Duration::from_secs(10),
            timeout: Duration::from_secs(1200),
        }
    }

    fn position(plan: &Plan, needle: &str) -> usize {
        plan.position(needle)
            .unwrap_or_else(|| panic!("{needle} not in {:#?}", plan.rendered_calls()))
    }

    #[test]
    fn every_direction_moves_aurora_before_the_write_path() {
        for mode in [Mode::Planned, Mode::Unplanned, Mode::Detach] {
            for target in ["us-west-1", "us-east-1"] {
                let plan = plan(&inputs(mode, target)).expect("plan");
                let aurora = match mode {
                    Mode::Planned => "switchover-global-cluster",
                    Mode::Unplanned => "failover-global-cluster",
                    Mode::Detach => "remove-from-global-cluster",
                };
                let moved = position(&plan, aurora);
                let put = position(&plan, "put-key");
                assert!(moved < put, "{mode:?} to {target}: {aurora} after put-key");
                // The writer is confirmed before the flag moves.
                let confirmed = plan
                    .calls()
                    .position(|call| matches!(call.check, Check::WaitUntilEquals { .. }))
                    .expect("a wait");
                assert!(moved < confirmed && confirmed < put, "{mode:?} to {target}");
                assert!(plan.unmet_needs().is_empty(), "{:?}", plan.unmet_needs());
            }
        }
    }

    #[test]
    fn planned_switches_over_without_data_loss_after_checking_the_replicas() {
        let plan = plan(&inputs(Mode::Planned, "us-west-1")).expect("plan");
        let calls = plan.rendered_calls();
        assert!(calls.iter().all(|c| !c.contains("--allow-data-loss")));
        assert!(calls.iter().all(|c| !c.contains("failover-global-cluster")));
        assert!(position(&plan, "describe-table") < position(&plan, "switchover-global-cluster"));
        assert!(
            position(&plan, "'GlobalClusters[0].Status'")
                < position(&plan, "switchover-global-cluster")
        );
        assert_eq!(
            calls[position(&plan, "switchover-global-cluster")],
            "aws rds switchover-global-cluster --global-cluster-identifier unishop-global \
             --target-db-cluster-identifier '<target_cluster_arn>' --region us-west-1"
        );
        // A replica not ACTIVE stops a planned move.
        let strict = plan
            .calls()
            .filter(|call| call.operation == "describe-table")
            .all(|call| {
                matches!(
                    call.check,
                    Check::Equals {
                        otherwise: Otherwise::Fail,
                        ..
                    }
                )
            });
        assert!(strict);
    }

    #[test]
    fn unplanned_promotes_in_the_target_and_only_warns_about_the_failed_region() {
        let plan = plan(&inputs(Mode::Unplanned, "us-west-1")).expect("plan");
        let promote = &plan.rendered_calls()[position(&plan, "failover-global-cluster")];
        assert_eq!(
            promote,
            "aws rds failover-global-cluster --global-cluster-identifier unishop-global \
             --target-db-cluster-identifier '<target_cluster_arn>' --allow-data-loss --region us-west-1"
        );
        for call in plan.calls() {
            if call.service == "rds" || call.service == "dynamodb" {
                assert_eq!(call.region, "us-west-1", "{}", call.render());
            }
        }
        let warns = plan
            .calls()
            .filter(|call| {
                matches!(
                    call.check,
                    Check::Equals {
                        otherwise: Otherwise::Warn,
                        ..
                    }
                )
            })
            .count();
        assert_eq!(
            warns, 4,
            "the us-east-1 replica of each table, before and after"
        );
    }

    #[test]
    fn outputs_flow_from_lookup_to_use() {
        let plan = plan(&inputs(Mode::Planned, "us-east-1")).expect("plan");
        let put = plan
            .calls()
            .find(|call| call.operation == "put-key")
            .expect("put-key");
        assert_eq!(
            put.needs().into_iter().collect::<Vec<_>>(),
            [outputs::KVS_ARN, outputs::KVS_ETAG]
        );
        let first = plan.calls().next().expect("a call");
        assert_eq!(first.operation, "describe-stacks");
        assert_eq!(
            first.produces.as_ref().map(|o| o.name.as_str()),
            Some(outputs::KVS_ARN)
        );
        assert!(plan.title.starts_with("failback us-west-1 -> us-east-1"));
    }

    #[test]
    fn a_known_kvs_arn_skips_the_edge_stack() {
        let mut given = inputs(Mode::Planned, "us-east-1");
        given.kvs_arn = Some("arn:aws:cloudfront::1:key-value-store/k".into());
        let plan = plan(&given).expect("plan");
        assert!(plan.calls().all(|call| call.operation != "describe-stacks"));
        assert!(plan.unmet_needs().is_empty());
    }

    #[test]
    fn a_target_outside_the_pair_is_refused() {
        assert!(matches!(
            plan(&inputs(Mode::Planned, "eu-west-1")),
            Err(PlanError::TargetOutsidePair { .. })
        ));
        let mut same = inputs(Mode::Planned, "us-east-1");
        same.standby_region = "us-east-1".into();
        assert_eq!(plan(&same), Err(PlanError::SameRegions("us-east-1".into())));
    }
}
