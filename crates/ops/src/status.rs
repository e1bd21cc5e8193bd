//! The status plan: both regions at a glance, read-only. Which region takes writes (the
//! KeyValueStore flag), Aurora's writer, status and replication lag in each region, the DynamoDB
//! replicas and their replication latency in each direction, each API's `/health` directly and
//! through CloudFront, and the alarms in ALARM in each region.
//!
//! Every call only reports its error and the report goes on ([`Call::warn_on_error`]): status is
//! what an operator runs while a region is down.

use crate::plan::{Call, Check, Otherwise, Plan, Step, Value};
use crate::shop::Shop;

/// What a status plan is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inputs {
    /// Regions and names.
    pub shop: Shop,
    /// Start of the metrics window (ISO 8601, UTC), a few minutes ago.
    pub window_start: String,
    /// End of the metrics window (ISO 8601, UTC), now.
    pub window_end: String,
}

fn health(url: Value, name: &str) -> Call {
    Call::local(
        "curl",
        &[
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "5",
        ],
    )
    .arg_value(url)
    .produces(name, "")
    .check(Check::Equals {
        expected: Value::text("200"),
        otherwise: Otherwise::Warn,
    })
    .warn_on_error()
}

/// The largest value of `metric` over the window, in `region`.
fn metric_maximum(
    inputs: &Inputs,
    region: &str,
    namespace: &str,
    metric: &str,
    dimensions: Vec<Value>,
    name: &str,
) -> Call {
    let mut call = Call::new(
        region,
        "cloudwatch",
        "get-metric-statistics",
        &[
            "--namespace",
            namespace,
            "--metric-name",
            metric,
            "--dimensions",
        ],
    );
    // One argument per dimension: the CLI's shorthand list.
    call.args.extend(dimensions);
    call.arg("--start-time", Value::text(&inputs.window_start))
        .arg("--end-time", Value::text(&inputs.window_end))
        .arg("--period", Value::text("60"))
        .arg("--statistics", Value::text("Maximum"))
        .produces(name, "max(Datapoints[].Maximum)")
        .warn_on_error()
}

/// The status plan.
pub fn plan(inputs: &Inputs) -> Plan {
    let shop = &inputs.shop;
    let primary = shop.primary_region.as_str();
    let warn = |call: Call| call.warn_on_error();
    let mut steps = Vec::new();

    let kvs = Shop::edge_output("KeyValueStoreArn");
    steps.push(Step::new(
        format!(
            "who takes writes (KeyValueStore {}; empty means {primary})",
            shop.kvs_key
        ),
        vec![
            warn(shop.read_edge("KeyValueStoreArn")),
            Call::new(primary, "cloudfront-keyvaluestore", "get-key", &[])
                .arg("--kvs-arn", Value::output(&kvs))
                .arg("--key", Value::text(&shop.kvs_key))
                .produces("active_region", "Value")
                .warn_on_error(),
        ],
        "",
    ));

    let mut aurora = vec![warn(shop.read_global("GlobalClusterIdentifier"))];
    let global_id = Value::output(Shop::global_output("GlobalClusterIdentifier"));
    for region in shop.regions() {
        // Asked in each region: the answer comes from whichever region still answers.
        aurora.push(
            Call::new(region, "rds", "describe-global-clusters", &[])
                .arg("--global-cluster-identifier", global_id.clone())
                .produces(
                    &format!("aurora_writer_seen_from_{region}"),
                    "GlobalClusters[0].GlobalClusterMembers[?IsWriter].DBClusterArn | [0]",
                )
                .warn_on_error(),
        );
        aurora.push(
            Call::new(region, "rds", "describe-global-clusters", &[])
                .arg("--global-cluster-identifier", global_id.clone())
                .produces(
                    &format!("aurora_status_seen_from_{region}"),
                    "GlobalClusters[0].Status",
                )
                .warn_on_error(),
        );
        aurora.push(warn(
            shop.read_regional(region, "DatabaseClusterIdentifier"),
        ));
        aurora.push(metric_maximum(
            inputs,
            region,
            "AWS/RDS",
            "AuroraGlobalDBReplicationLag",
            vec![Value::template(format!(
                "Name=DBClusterIdentifier,Value={{{}}}",
                Shop::regional_output(region, "DatabaseClusterIdentifier")
            ))],
            &format!("aurora_lag_ms_max_{region}"),
        ));
    }
    steps.push(Step::new(
        "Aurora: the writer, the global cluster's status, the replication lag (ms, the secondary's)",
        aurora,
        "",
    ));

    let mut dynamodb = Vec::new();
    for key in ["CartsTableName", "OrdersTableName"] {
        dynamodb.push(warn(shop.read_global(key)));
        let table = Shop::global_output(key);
        for region in shop.regions() {
            dynamodb.push(
                Call::new(region, "dynamodb", "describe-table", &[])
                    .arg("--table-name", Value::output(&table))
                    .produces(
                        &format!("{key}_replicas_seen_from_{region}"),
                        "Table.Replicas[].[RegionName, ReplicaStatus]",
                    )
                    .warn_on_error(),
            );
        }
        for (from, to) in [
            (shop.primary_region.as_str(), shop.standby_region.as_str()),
            (shop.standby_region.as_str(), shop.primary_region.as_str()),
        ] {
            dynamodb.push(metric_maximum(
                inputs,
                from,
                "AWS/DynamoDB",
                "ReplicationLatency",
                vec![
                    Value::template(format!("Name=TableName,Value={{{table}}}")),
                    Value::text(format!("Name=ReceivingRegion,Value={to}")),
                ],
                &format!("{key}_replication_ms_max_{from}_to_{to}"),
            ));
        }
    }
    steps.push(Step::new(
        "DynamoDB: the replicas and their replication latency (ms) in each direction",
        dynamodb,
        "",
    ));

    let mut apis = Vec::new();
    for region in shop.regions() {
        apis.push(warn(shop.read_regional(region, "ApiEndpoint")));
        apis.push(health(
            Value::template(format!(
                "{{{}}}/health",
                Shop::regional_output(region, "ApiEndpoint")
            )),
            &format!("health_direct_{region}"),
        ));
    }
    apis.push(warn(shop.read_edge("DistributionDomainName")));
    let domain = Shop::edge_output("DistributionDomainName");
    for path in ["/api/health", "/api-standby/health"] {
        apis.push(health(
            Value::template(format!("https://{{{domain}}}{path}")),
            &format!("health_cloudfront{}", path.replace('/', "_")),
        ));
    }
    steps.push(Step::new(
        "each API's /health, directly and through CloudFront (HTTP status)",
        apis,
        "",
    ));

    let alarms = shop
        .regions()
        .iter()
        .map(|region| {
            Call::new(
                region,
                "cloudwatch",
                "describe-alarms",
                &["--state-value", "ALARM"],
            )
            .produces(
                &format!("alarms_in_alarm_{region}"),
                "join(', ', MetricAlarms[].AlarmName)",
            )
            .warn_on_error()
        })
        .collect();
    steps.push(Step::new("alarms in ALARM, in each region", alarms, ""));

    Plan {
        title: format!(
            "status of the shop in {primary} and {}",
            shop.standby_region
        ),
        given: Vec::new(),
        steps,
        afterwards: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs() -> Inputs {
        Inputs {
            shop: Shop::default(),
            window_start: "2026-12-06T03:00:00Z".into(),
            window_end: "2026-12-06T03:10:00Z".into(),
        }
    }

    #[test]
    fn status_reads_everything_and_changes_nothing() {
        let plan = plan(&inputs());
        assert!(plan.unmet_needs().is_empty(), "{:?}", plan.unmet_needs());
        let changing = [
            "put-",
            "deploy",
            "delete",
            "update",
            "modify",
            "create",
            "switchover",
            "failover",
        ];
        for call in plan.calls() {
            assert!(
                !changing.iter().any(|verb| call.operation.contains(verb)),
                "{}",
                call.render()
            );
            assert_eq!(call.on_error, Otherwise::Warn, "{}", call.render());
        }
    }

    #[test]
    fn status_asks_both_regions_and_both_directions() {
        let plan = plan(&inputs());
        let calls = plan.rendered_calls();
        for region in ["us-east-1", "us-west-1"] {
            assert!(calls
                .iter()
                .any(|c| c.contains("describe-global-clusters") && c.ends_with(region)));
            assert!(calls
                .iter()
                .any(|c| c.contains("describe-alarms --state-value ALARM") && c.ends_with(region)));
            assert!(calls
                .iter()
                .any(|c| c.contains(&format!("'<{region}:ApiEndpoint>/health'"))));
        }
        assert!(calls.iter().any(|c| c.contains(
            "'Name=TableName,Value=<global:CartsTableName>' Name=ReceivingRegion,Value=us-west-1"
        ) && c.ends_with("us-east-1")));
        assert!(calls
            .iter()
            .any(|c| c.contains("ReceivingRegion,Value=us-east-1") && c.ends_with("us-west-1")));
        assert!(calls
            .iter()
            .any(|c| c.contains("https://<edge:DistributionDomainName>/api-standby/health")));
        assert!(calls.iter().any(
            |c| c.contains("--start-time 2026-12-06T03:00:00Z --end-time 2026-12-06T03:10:00Z")
        ));
    }
}
