//! The teardown plan: everything deploy made, in the order AWS allows, leaving nothing that makes
//! the next deploy with the same names fail.
//!
//! Order: the names that only stacks know (site buckets, Aurora clusters) are read first; the edge
//! stack (nothing else depends on it); Aurora's members leave the global database, standby first
//! (a primary cannot leave while it has secondaries); the regional stacks, standby first; the
//! retained, versioned site buckets emptied (every version and delete marker) and deleted; the
//! artifact buckets; the global stack, then what it retains: the global cluster, the global tables
//! (the standby replica first) and the secrets, deleted without a recovery window so their names
//! can be used again at once. Deletion protection (Aurora clusters, global cluster, tables) is
//! lifted only with `lift_deletion_protection`; without it the plan stops at the first protected
//! resource, before deleting anything of its kind.
//!
//! A re-run after an interruption goes on where it stopped: deleting what is gone already counts
//! as done.

use crate::plan::{Call, Check, Plan, Step, Value};
use crate::shop::{Shop, ACCOUNT};

/// What a teardown plan is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inputs {
    /// Regions and names.
    pub shop: Shop,
    /// The global tables (the global stack's parameters).
    pub tables: Vec<String>,
    /// The Aurora global database identifier.
    pub global_cluster_id: String,
    /// The secrets' names (`<prefix>/database`, `<prefix>/token-key`, `<prefix>/origin-secret`).
    pub secrets: Vec<String>,
    /// Lift deletion protection where it is on; otherwise stop there.
    pub lift_deletion_protection: bool,
}

impl Default for Inputs {
    fn default() -> Inputs {
        Inputs {
            shop: Shop::default(),
            tables: vec!["unishop-carts".into(), "unishop-orders".into()],
            global_cluster_id: "unishop-global".into(),
            secrets: vec![
                "unishop/database".into(),
                "unishop/token-key".into(),
                "unishop/origin-secret".into(),
            ],
            lift_deletion_protection: false,
        }
    }
}

const PROTECTED: &str =
    "deletion protection is on: re-run with --lift-deletion-protection to lift \
                         it (the stacks deleted so far stay deleted)";

fn delete_stack(region: &str, stack: &str) -> [Call; 2] {
    [
        Call::new(
            region,
            "cloudformation",
            "delete-stack",
            &["--stack-name", stack],
        ),
        Call::new(
            region,
            "cloudformation",
            "wait",
            &["stack-delete-complete", "--stack-name", stack],
        ),
    ]
}

/// `call` must show no deletion protection (`query` is `False`), or find the resource gone.
fn must_be_false(call: Call, name: &str, query: &str) -> Call {
    call.produces(name, query)
        .check(Check::EqualsOrEmpty(Value::text("False")))
        .already_done_when("NotFound")
}

/// Empties the retained, versioned bucket named by the regional output `key` in `region` (every
/// version and delete marker, 1000 a run) and deletes it.
fn empty_and_delete(region: &str, key: &str, kind: &str) -> [Call; 3] {
    let bucket = Value::output(Shop::regional_output(region, key));
    let versions = format!("{region}_{kind}_versions");
    [
        Call::new(region, "s3api", "list-object-versions", &["--max-items", "1000"])
            .arg("--bucket", bucket.clone())
            .produces_json(
                &versions,
                "{Objects: [Versions, DeleteMarkers][][].{Key: Key, VersionId: VersionId}, Quiet: `true`}",
            )
            .warn_on_error(),
        Call::new(region, "s3api", "delete-objects", &[])
            .arg("--bucket", bucket.clone())
            .arg("--delete", Value::output(&versions))
            // An empty bucket's list is an empty document, which S3 refuses.
            .already_done_when("MalformedXML")
            .warn_on_error(),
        Call::new(region, "s3api", "delete-bucket", &[])
            .arg("--bucket", bucket)
            .already_done_when("NoSuchBucket")
            .warn_on_error(),
    ]
}

/// The teardown plan.
pub fn plan(inputs: &Inputs) -> Plan {
    let shop = &inputs.shop;
    let primary = shop.primary_region.as_str();
    let standby = shop.standby_region.as_str();
    let lift = inputs.lift_deletion_protection;
    let mut steps = Vec::new();

    let mut read = vec![shop.read_account()];
    for region in shop.regions() {
        for key in [
            "SiteBucketName",
            "CanaryBucketName",
            "DatabaseClusterIdentifier",
            "DatabaseClusterArn",
        ] {
            read.push(shop.read_regional(region, key).warn_on_error());
        }
    }
    steps.push(Step::new(
        "read the names only the regional stacks know (a stack already gone is reported)",
        read,
        "nothing has been deleted",
    ));

    steps.push(Step::new(
        format!(
            "edge stack {} (CloudFront takes about 15 minutes)",
            shop.edge_stack
        ),
        delete_stack(primary, &shop.edge_stack).into(),
        "re-run `cargo xtask teardown`; the stack's events say what blocked it",
    ));

    let mut aurora = Vec::new();
    for region in [standby, primary] {
        let cluster = Value::output(Shop::regional_output(region, "DatabaseClusterIdentifier"));
        let describe = Call::new(region, "rds", "describe-db-clusters", &[])
            .arg("--db-cluster-identifier", cluster.clone());
        if lift {
            aurora.push(
                Call::new(region, "rds", "modify-db-cluster", &[])
                    .arg("--db-cluster-identifier", cluster)
                    .flag("--no-deletion-protection")
                    .flag("--apply-immediately")
                    .warn_on_error(),
            );
        } else {
            aurora.push(must_be_false(
                describe,
                &format!("{region}_cluster_protected"),
                "DBClusters[0].DeletionProtection",
            ));
        }
    }
    for region in [standby, primary] {
        aurora.push(
            Call::new(region, "rds", "remove-from-global-cluster", &[])
                .arg(
                    "--global-cluster-identifier",
                    Value::text(&inputs.global_cluster_id),
                )
                .arg(
                    "--db-cluster-identifier",
                    Value::output(Shop::regional_output(region, "DatabaseClusterArn")),
                )
                .warn_on_error(),
        );
    }
    steps.push(Step::new(
        "Aurora: deletion protection, then each cluster leaves the global database (standby first)",
        aurora,
        PROTECTED,
    ));

    let mut regional = Vec::new();
    for region in [standby, primary] {
        regional.extend(delete_stack(region, &shop.regional_stack));
    }
    steps.push(Step::new(
        format!(
            "regional stacks {} ({standby}, then {primary}; Aurora keeps a final snapshot)",
            shop.regional_stack
        ),
        regional,
        "re-run `cargo xtask teardown`; Lambda's network interfaces can hold a VPC for some minutes",
    ));

    let mut buckets = Vec::new();
    for region in shop.regions() {
        for (key, kind) in [("SiteBucketName", "site"), ("CanaryBucketName", "canary")] {
            buckets.extend(empty_and_delete(region, key, kind));
        }
        buckets.push(
            Call::new(region, "s3", "rb", &["--force"])
                .arg_value(Value::template(format!(
                    "s3://{}",
                    shop.artifact_bucket_template(region)
                )))
                .already_done_when("NoSuchBucket"),
        );
    }
    steps.push(Step::new(
        "the retained site and canary buckets (every version and delete marker) and the artifact buckets",
        buckets,
        "a bucket with more than 1000 versions needs more rounds: re-run `cargo xtask teardown`",
    ));

    let mut global: Vec<Call> = delete_stack(primary, &shop.global_stack).into();
    let global_id = Value::text(&inputs.global_cluster_id);
    if lift {
        global.push(
            Call::new(primary, "rds", "modify-global-cluster", &[])
                .arg("--global-cluster-identifier", global_id.clone())
                .flag("--no-deletion-protection")
                .already_done_when("GlobalClusterNotFoundFault"),
        );
    } else {
        global.push(must_be_false(
            Call::new(primary, "rds", "describe-global-clusters", &[])
                .arg("--global-cluster-identifier", global_id.clone()),
            "global_cluster_protected",
            "GlobalClusters[0].DeletionProtection",
        ));
    }
    global.push(
        Call::new(primary, "rds", "delete-global-cluster", &[])
            .arg("--global-cluster-identifier", global_id)
            .already_done_when("GlobalClusterNotFoundFault"),
    );
    for table in &inputs.tables {
        for region in shop.regions() {
            let update = Call::new(region, "dynamodb", "update-table", &["--table-name", table]);
            if lift {
                global.push(
                    update
                        .flag("--no-deletion-protection-enabled")
                        .already_done_when("ResourceNotFoundException"),
                );
            } else {
                global.push(must_be_false(
                    Call::new(
                        region,
                        "dynamodb",
                        "describe-table",
                        &["--table-name", table],
                    ),
                    &format!("{table}_protected_{region}"),
                    "Table.DeletionProtectionEnabled",
                ));
            }
        }
        global.push(
            Call::new(
                primary,
                "dynamodb",
                "update-table",
                &["--table-name", table, "--replica-updates"],
            )
            .arg_value(Value::text(format!("Delete={{RegionName={standby}}}")))
            .warn_on_error(),
        );
        global.push(
            Call::new(
                primary,
                "dynamodb",
                "wait",
                &["table-exists", "--table-name", table],
            )
            .warn_on_error(),
        );
        global.push(
            Call::new(
                primary,
                "dynamodb",
                "delete-table",
                &["--table-name", table],
            )
            .already_done_when("ResourceNotFoundException"),
        );
    }
    for secret in &inputs.secrets {
        global.push(
            Call::new(
                primary,
                "secretsmanager",
                "remove-regions-from-replication",
                &["--secret-id", secret, "--remove-replica-regions", standby],
            )
            .warn_on_error(),
        );
        global.push(
            Call::new(
                primary,
                "secretsmanager",
                "delete-secret",
                &["--secret-id", secret, "--force-delete-without-recovery"],
            )
            .already_done_when("ResourceNotFoundException"),
        );
    }
    steps.push(Step::new(
        format!(
            "global stack {}, then what it retains: the global cluster, the tables, the secrets (no recovery window)",
            shop.global_stack
        ),
        global,
        PROTECTED,
    ));

    Plan {
        title: format!(
            "tear the shop down in {primary} and {standby}{}",
            if lift {
                ", lifting deletion protection"
            } else {
                ""
            }
        ),
        given: Vec::new(),
        steps,
        afterwards: vec![format!(
            "Left on purpose: the Aurora final snapshots (rds describe-db-cluster-snapshots \
             --snapshot-type manual) and CloudWatch Logs of other functions; delete them when no \
             longer wanted. The account id was read as <{ACCOUNT}>."
        )],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position(plan: &Plan, needle: &str) -> usize {
        plan.position(needle)
            .unwrap_or_else(|| panic!("{needle} not in {:#?}", plan.rendered_calls()))
    }

    #[test]
    fn deletes_in_the_order_aws_allows() {
        let plan = plan(&Inputs::default());
        assert!(plan.unmet_needs().is_empty(), "{:?}", plan.unmet_needs());
        let read = position(&plan, "describe-stacks --stack-name unishop-regional");
        let edge = position(&plan, "delete-stack --stack-name unishop-edge");
        let leave_standby = position(&plan, "remove-from-global-cluster");
        let standby_stack = position(
            &plan,
            "delete-stack --stack-name unishop-regional --region us-west-1",
        );
        let primary_stack = position(
            &plan,
            "delete-stack --stack-name unishop-regional --region us-east-1",
        );
        let empty = position(&plan, "delete-objects");
        let global = position(&plan, "delete-stack --stack-name unishop-global");
        let cluster = position(&plan, "delete-global-cluster");
        let table = position(&plan, "delete-table --table-name unishop-carts");
        let secret = position(&plan, "delete-secret --secret-id unishop/database");
        assert!(read < edge && edge < leave_standby && leave_standby < standby_stack);
        assert!(standby_stack < primary_stack && primary_stack < empty && empty < global);
        assert!(global < cluster && cluster < table && table < secret);
        let calls = plan.rendered_calls();
        assert!(
            calls[leave_standby].ends_with("--region us-west-1"),
            "standby leaves first"
        );
        assert!(calls[secret].contains("--force-delete-without-recovery"));
        let replica = position(&plan, "--replica-updates 'Delete={RegionName=us-west-1}'");
        assert!(replica < table);
    }

    #[test]
    fn protection_is_lifted_only_when_asked() {
        let kept = plan(&Inputs::default());
        let lifted = plan(&Inputs {
            lift_deletion_protection: true,
            ..Inputs::default()
        });
        for needle in [
            "--no-deletion-protection",
            "--no-deletion-protection-enabled",
        ] {
            assert!(kept.position(needle).is_none(), "{needle}");
            assert!(lifted.position(needle).is_some(), "{needle}");
        }
        // Without lifting, each protected kind is checked before its deletion.
        let check = position(&kept, "describe-db-clusters");
        assert!(check < position(&kept, "delete-stack --stack-name unishop-regional"));
        let check = position(&kept, "describe-global-clusters");
        assert!(check < position(&kept, "delete-global-cluster"));
        let check = position(&kept, "describe-table --table-name unishop-carts");
        assert!(check < position(&kept, "delete-table --table-name unishop-carts"));
        // With lifting, Aurora's protection goes before the clusters' stacks are deleted.
        let lift = position(&lifted, "modify-db-cluster");
        assert!(lift < position(&lifted, "delete-stack --stack-name unishop-regional"));
    }

    #[test]
    fn versioned_buckets_are_emptied_with_their_own_listing() {
        let plan = plan(&Inputs::default());
        let delete = plan
            .calls()
            .find(|call| call.operation == "delete-objects" && call.region == "us-west-1")
            .expect("delete-objects");
        assert_eq!(
            delete.needs().into_iter().collect::<Vec<_>>(),
            ["us-west-1:SiteBucketName", "us-west-1_site_versions"]
        );
        let list = plan
            .calls()
            .find(|call| call.operation == "list-object-versions")
            .expect("list");
        assert!(list.render().contains("--output json"));
    }
}
