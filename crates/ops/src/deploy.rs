//! The deploy plan: the shop stood up in both regions by one command, outputs flowing from stack
//! to stack in code (infra/README.md, "Deploy").
//!
//! Order: the global data stack; the API's zip, built once and uploaded to an artifact bucket in
//! each region under a key named by the MD5 of its contents (the same build, the same key: no
//! stack change); the
//! primary regional stack (its cluster creates the global database's writer), then the standby's
//! (its cluster joins as a secondary); the schema, migrated by the migrate function (the same
//! zip, inside the primary's VPC); the edge stack, fed the regional stacks' outputs; the second
//! pass of both regional stacks with the distribution's id (their buckets' policies) and what each
//! region's canary watches (the other region's API, the site through CloudFront); the first
//! release; a health check of both APIs through CloudFront.
//!
//! Every step can be re-run: `cloudformation deploy --no-fail-on-empty-changeset` changes nothing
//! when nothing changed, and parameters it is not given keep their previous values (so the first
//! pass of a re-run does not undo the second pass's `DistributionId`); an existing artifact bucket
//! counts as created; a release uploads only what changed. The write-path flag is never touched:
//! an empty KeyValueStore means the primary, and a re-run after a failover must not move writes.

use std::time::Duration;

use crate::plan::{Call, Check, Otherwise, Plan, Step, Value};
use crate::shop::Shop;

/// What a deploy plan is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inputs {
    /// Regions and names.
    pub shop: Shop,
    /// Folder of the templates, relative to where the plan runs (the repository root).
    pub templates: String,
    /// VPC CIDR of the primary region.
    pub primary_vpc_cidr: String,
    /// VPC CIDR of the standby region.
    pub standby_vpc_cidr: String,
    /// E-mail subscribed to both regions' alarm topics, if any.
    pub alarm_email: Option<String>,
    /// Reserved concurrency of the standby's API function (0 = unreserved).
    pub standby_reserved_concurrency: u32,
    /// How long to wait for the site to answer through CloudFront.
    pub health_timeout: Duration,
}

impl Default for Inputs {
    fn default() -> Inputs {
        Inputs {
            shop: Shop::default(),
            templates: "infra/templates".into(),
            primary_vpc_cidr: "10.10.0.0/16".into(),
            standby_vpc_cidr: "10.20.0.0/16".into(),
            alarm_email: None,
            standby_reserved_concurrency: 0,
            health_timeout: Duration::from_secs(900),
        }
    }
}

/// Output names the deploy plan passes along beyond stack outputs.
pub mod outputs {
    /// Path of the API's Lambda zip.
    pub const API_ZIP: &str = "api_zip";
    /// MD5 of the zip's contents, naming its key in the artifact buckets.
    pub const API_MD5: &str = "api_md5";
}

/// Prints the MD5 of a zip's contents (each entry's name and bytes, in name order), not of the zip
/// file, whose entries carry timestamps that change with every packaging (the CA bundle is copied
/// anew each time) though nothing else did. Python is there wherever the AWS CLI is (PyPI).
const ZIP_CONTENT_MD5: &str = "import hashlib, sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); h = hashlib.md5(); \
[h.update(i.filename.encode() + b'\\0' + z.read(i)) for i in sorted(z.infolist(), key=lambda i: i.filename)]; \
print(h.hexdigest())";

/// The global stack's outputs the regional stacks take, with the parameter of the same name.
const GLOBAL_OUTPUTS: [&str; 7] = [
    "CartsTableName",
    "OrdersTableName",
    "GlobalClusterIdentifier",
    "DatabaseEngineVersion",
    "DatabaseSecretArn",
    "TokenKeySecretArn",
    "OriginSecretArn",
];

/// The regional stacks' outputs the edge stack takes (origins, and the dashboard's names).
const REGIONAL_OUTPUTS_FOR_EDGE: [&str; 4] = [
    "SiteBucketRegionalDomainName",
    "ApiDomainName",
    "ApiFunctionName",
    "DatabaseClusterIdentifier",
];

const RESUME: &str = "fix the cause, then re-run `cargo xtask deploy`: the steps before this one \
                      change nothing when nothing changed";

fn deploy_stack(region: &str, stack: &str, template: &str, iam: bool) -> Call {
    let mut call = Call::new(
        region,
        "cloudformation",
        "deploy",
        &[
            "--stack-name",
            stack,
            "--template-file",
            template,
            "--no-fail-on-empty-changeset",
        ],
    );
    if iam {
        call = call.arg("--capabilities", Value::text("CAPABILITY_IAM"));
    }
    call
}

/// The zip's key in the artifact buckets, as a template (`{api_md5}` in it).
fn artifact_key() -> String {
    format!("api/unishop-api-{{{}}}.zip", outputs::API_MD5)
}

/// The first pass of the regional stack in `region`.
fn regional_stack(inputs: &Inputs, region: &str, primary: bool) -> Call {
    let shop = &inputs.shop;
    let mut call = deploy_stack(
        region,
        &shop.regional_stack,
        &format!("{}/regional.yaml", inputs.templates),
        true,
    )
    .arg(
        "--parameter-overrides",
        Value::text(format!("IsPrimary={}", if primary { "yes" } else { "no" })),
    );
    let cidr = if primary {
        &inputs.primary_vpc_cidr
    } else {
        &inputs.standby_vpc_cidr
    };
    call.args.push(Value::text(format!("VpcCidr={cidr}")));
    call.args.push(Value::template(format!(
        "ArtifactBucket={}",
        shop.artifact_bucket_template(region)
    )));
    call.args
        .push(Value::template(format!("ArtifactKey={}", artifact_key())));
    for key in GLOBAL_OUTPUTS {
        call.args.push(Value::template(format!(
            "{key}={{{}}}",
            Shop::global_output(key)
        )));
    }
    if let Some(email) = &inputs.alarm_email {
        call.args.push(Value::text(format!("AlarmEmail={email}")));
    }
    if !primary {
        call.args.push(Value::text(format!(
            "ApiReservedConcurrency={}",
            inputs.standby_reserved_concurrency
        )));
    }
    call
}

/// The deploy plan.
pub fn plan(inputs: &Inputs) -> Plan {
    let shop = &inputs.shop;
    let primary = shop.primary_region.as_str();
    let standby = shop.standby_region.as_str();
    let mut steps = Vec::new();

    let mut global = vec![
        shop.read_account(),
        deploy_stack(
            primary,
            &shop.global_stack,
            &format!("{}/global.yaml", inputs.templates),
            false,
        ),
    ];
    global.extend(GLOBAL_OUTPUTS.iter().map(|key| shop.read_global(key)));
    steps.push(Step::new(
        format!("global data stack {} ({primary})", shop.global_stack),
        global,
        RESUME,
    ));

    let mut package = vec![
        Call::local("cargo", &["xtask", "package-lambda"]).produces(outputs::API_ZIP, ""),
        Call::local("python3", &["-c", ZIP_CONTENT_MD5])
            .arg_value(Value::output(outputs::API_ZIP))
            .produces(outputs::API_MD5, ""),
    ];
    for region in shop.regions() {
        let mut create = Call::new(region, "s3api", "create-bucket", &[])
            .arg("--bucket", shop.artifact_bucket(region))
            .already_done_when("BucketAlreadyOwnedByYou");
        if region != "us-east-1" {
            create = create.arg(
                "--create-bucket-configuration",
                Value::text(format!("LocationConstraint={region}")),
            );
        }
        package.push(create);
        package.push(
            Call::new(region, "s3", "cp", &[])
                .arg_value(Value::output(outputs::API_ZIP))
                .arg_value(Value::template(format!(
                    "s3://{}/{}",
                    shop.artifact_bucket_template(region),
                    artifact_key()
                ))),
        );
    }
    steps.push(Step::new(
        "the API's Lambda zip, in an artifact bucket in each region",
        package,
        format!(
            "{RESUME}; `cargo xtask package-lambda` needs infra/rds-global-bundle.pem \
             (infra/README.md, \"Prerequisites\")"
        ),
    ));

    steps.push(Step::new(
        format!("primary regional stack {} ({primary}: the Aurora writer)", shop.regional_stack),
        vec![regional_stack(inputs, primary, true)],
        format!("{RESUME}; a failed stack rolls back by itself (see its events in the CloudFormation console)"),
    ));
    steps.push(Step::new(
        format!(
            "standby regional stack {} ({standby}: joins the global database)",
            shop.regional_stack
        ),
        vec![regional_stack(inputs, standby, false)],
        RESUME,
    ));

    let migrate_fn = Shop::regional_output(primary, "MigrateFunctionName");
    steps.push(Step::new(
        format!("the schema: the migrate function in {primary} (the same zip, inside the VPC)"),
        vec![
            shop.read_regional(primary, "MigrateFunctionName"),
            Call::new(primary, "lambda", "invoke", &[])
                .arg("--function-name", Value::output(&migrate_fn))
                .arg("--cli-binary-format", Value::text("raw-in-base64-out"))
                .arg("--payload", Value::text("{}"))
                .arg_value(Value::text("/dev/stderr"))
                .produces("migrate_error", "FunctionError")
                .check(Check::Equals {
                    expected: Value::text("None"),
                    otherwise: Otherwise::Fail,
                }),
        ],
        "the stacks are up; the migrate function's answer is printed above (its log group is \
         the function's in CloudWatch Logs); re-run `cargo xtask deploy` (migrations apply once)",
    ));

    let mut edge_inputs = Vec::new();
    for region in shop.regions() {
        for key in REGIONAL_OUTPUTS_FOR_EDGE {
            edge_inputs.push(shop.read_regional(region, key));
        }
    }
    let mut edge = deploy_stack(
        primary,
        &shop.edge_stack,
        &format!("{}/edge.yaml", inputs.templates),
        false,
    )
    .arg(
        "--parameter-overrides",
        Value::template(format!(
            "PrimarySiteBucketDomainName={{{}}}",
            Shop::regional_output(primary, "SiteBucketRegionalDomainName")
        )),
    );
    edge.args.push(Value::template(format!(
        "StandbySiteBucketDomainName={{{}}}",
        Shop::regional_output(standby, "SiteBucketRegionalDomainName")
    )));
    edge.args.push(Value::template(format!(
        "PrimaryApiDomainName={{{}}}",
        Shop::regional_output(primary, "ApiDomainName")
    )));
    edge.args.push(Value::template(format!(
        "StandbyApiDomainName={{{}}}",
        Shop::regional_output(standby, "ApiDomainName")
    )));
    // CloudFront sends its value to both API origins, which answer nothing else.
    edge.args.push(Value::template(format!(
        "OriginSecretArn={{{}}}",
        Shop::global_output("OriginSecretArn")
    )));
    // The dashboard of both regions names each region's function, cluster and the global tables.
    for (region, prefix) in [(primary, "Primary"), (standby, "Standby")] {
        for key in ["ApiFunctionName", "DatabaseClusterIdentifier"] {
            edge.args.push(Value::template(format!(
                "{prefix}{key}={{{}}}",
                Shop::regional_output(region, key)
            )));
        }
    }
    for key in ["CartsTableName", "OrdersTableName"] {
        edge.args.push(Value::template(format!(
            "{key}={{{}}}",
            Shop::global_output(key)
        )));
    }
    // The CloudFront 5xx alarm's topic.
    if let Some(email) = &inputs.alarm_email {
        edge.args.push(Value::text(format!("AlarmEmail={email}")));
    }
    edge_inputs.push(edge);
    for key in ["DistributionId", "DistributionDomainName", "SiteUrl"] {
        edge_inputs.push(shop.read_edge(key));
    }
    steps.push(Step::new(
        format!("edge stack {} (CloudFront, in {primary})", shop.edge_stack),
        edge_inputs,
        format!("{RESUME}; CloudFront takes about 15 minutes per change"),
    ));

    let mut second_pass: Vec<Call> = shop
        .regions()
        .iter()
        .map(|region| shop.read_regional(region, "ApiEndpoint"))
        .collect();
    for (region, other) in [(primary, standby), (standby, primary)] {
        let mut call = deploy_stack(
            region,
            &shop.regional_stack,
            &format!("{}/regional.yaml", inputs.templates),
            true,
        )
        .arg(
            "--parameter-overrides",
            Value::template(format!(
                "DistributionId={{{}}}",
                Shop::edge_output("DistributionId")
            )),
        );
        call.args.push(Value::template(format!(
            "WatchedApiEndpoint={{{}}}",
            Shop::regional_output(other, "ApiEndpoint")
        )));
        call.args.push(Value::template(format!(
            "WatchedSiteUrl={{{}}}",
            Shop::edge_output("SiteUrl")
        )));
        second_pass.push(call);
    }
    steps.push(Step::new(
        "second pass of both regional stacks: each site bucket lets the distribution read it, and \
         each region's canary watches the other region's API and the site through CloudFront",
        second_pass,
        RESUME,
    ));

    let mut release = Vec::new();
    for region in shop.regions() {
        release.push(shop.read_regional(region, "SiteBucketName"));
    }
    release.push(
        Call::local("cargo", &["xtask", "release"])
            .arg(
                "--primary-bucket",
                Value::output(Shop::regional_output(primary, "SiteBucketName")),
            )
            .arg(
                "--standby-bucket",
                Value::output(Shop::regional_output(standby, "SiteBucketName")),
            )
            .arg(
                "--distribution",
                Value::output(Shop::edge_output("DistributionId")),
            ),
    );
    steps.push(Step::new(
        "the storefront's release to both site buckets",
        release,
        "the stacks are up; re-run `cargo xtask deploy` (or `cargo xtask release` with the \
         printed buckets): a release uploads only what changed",
    ));

    let domain = Shop::edge_output("DistributionDomainName");
    let health = |path: &str| {
        Call::local(
            "curl",
            &[
                "-sS",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "--max-time",
                "10",
            ],
        )
        .arg_value(Value::template(format!("https://{{{domain}}}{path}")))
        .produces(&format!("health{}", path.replace('/', "_")), "")
        .check(Check::WaitUntilEquals {
            expected: Value::text("200"),
            every: Duration::from_secs(15),
            timeout: inputs.health_timeout,
        })
    };
    steps.push(Step::new(
        "the shop through CloudFront: both APIs' /health",
        vec![health("/api/health"), health("/api-standby/health")],
        "everything is deployed; CloudFront may still be propagating: run `cargo xtask status`",
    ));

    Plan {
        title: format!("deploy the shop to {primary} (primary) and {standby} (standby)"),
        given: Vec::new(),
        steps,
        afterwards: vec![
            "Keep UNISHOP_KVS_ARN (edge stack output KeyValueStoreArn) where you can reach it \
             when the primary region is down (infra/RUNBOOK.md)."
                .into(),
        ],
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
    fn stacks_come_in_dependency_order_and_outputs_flow_between_them() {
        let plan = plan(&Inputs::default());
        assert!(plan.unmet_needs().is_empty(), "{:?}", plan.unmet_needs());
        let global = position(&plan, "--stack-name unishop-global --template-file");
        let primary = position(&plan, "IsPrimary=yes");
        let standby = position(&plan, "IsPrimary=no");
        let migrate = position(&plan, "aws lambda invoke");
        let edge = position(&plan, "--stack-name unishop-edge --template-file");
        let second = position(&plan, "--parameter-overrides 'DistributionId=");
        let watch = &plan.rendered_calls()[second];
        assert!(
            watch.contains("'WatchedApiEndpoint=<us-west-1:ApiEndpoint>'"),
            "{watch}"
        );
        assert!(watch.contains("'WatchedSiteUrl=<edge:SiteUrl>'") && watch.ends_with("us-east-1"));
        let release = position(&plan, "cargo xtask release");
        let health = position(&plan, "/api/health");
        assert!(global < primary && primary < standby && standby < migrate);
        assert!(migrate < edge && edge < second && second < release && release < health);
        let calls = plan.rendered_calls();
        assert!(calls[primary].contains("'DatabaseSecretArn=<global:DatabaseSecretArn>'"));
        assert!(calls[primary].contains("'ArtifactKey=api/unishop-api-<api_md5>.zip'"));
        assert!(calls[primary].contains("'ArtifactBucket=unishop-artifacts-<account>-us-east-1'"));
        assert!(calls[standby].contains("ApiReservedConcurrency=0"));
        assert!(!calls[primary].contains("ApiReservedConcurrency"));
        assert!(calls[edge].contains("'StandbyApiDomainName=<us-west-1:ApiDomainName>'"));
        assert!(calls[edge].contains("'OriginSecretArn=<global:OriginSecretArn>'"));
        for parameter in [
            "'PrimaryApiFunctionName=<us-east-1:ApiFunctionName>'",
            "'StandbyApiFunctionName=<us-west-1:ApiFunctionName>'",
            "'PrimaryDatabaseClusterIdentifier=<us-east-1:DatabaseClusterIdentifier>'",
            "'StandbyDatabaseClusterIdentifier=<us-west-1:DatabaseClusterIdentifier>'",
            "'CartsTableName=<global:CartsTableName>'",
            "'OrdersTableName=<global:OrdersTableName>'",
        ] {
            assert!(
                calls[edge].contains(parameter),
                "{parameter} in {}",
                calls[edge]
            );
        }
        assert!(!calls[edge].contains("AlarmEmail"));
        assert_eq!(
            calls[release],
            "cargo xtask release --primary-bucket '<us-east-1:SiteBucketName>' \
             --standby-bucket '<us-west-1:SiteBucketName>' --distribution '<edge:DistributionId>'"
        );
    }

    #[test]
    fn the_alarm_email_reaches_both_regions_and_the_edge() {
        let plan = plan(&Inputs {
            alarm_email: Some("ops@example.com".to_string()),
            ..Inputs::default()
        });
        let calls = plan.rendered_calls();
        for stack in [
            position(&plan, "IsPrimary=yes"),
            position(&plan, "IsPrimary=no"),
            position(&plan, "--stack-name unishop-edge --template-file"),
        ] {
            assert!(
                calls[stack].contains("AlarmEmail=ops@example.com"),
                "{}",
                calls[stack]
            );
        }
    }

    #[test]
    fn every_stack_deploy_is_a_no_op_when_nothing_changed_and_the_first_pass_keeps_the_second() {
        let plan = plan(&Inputs::default());
        let deploys: Vec<&Call> = plan
            .calls()
            .filter(|call| call.operation == "deploy")
            .collect();
        assert_eq!(
            deploys.len(),
            6,
            "global, 2 regional, edge, 2 second passes"
        );
        for call in &deploys {
            assert!(call.render().contains("--no-fail-on-empty-changeset"));
        }
        let first_pass = plan.rendered_calls()[position(&plan, "IsPrimary=yes")].clone();
        assert!(!first_pass.contains("DistributionId"), "{first_pass}");
        // The write flag belongs to failover and failback.
        assert!(plan
            .calls()
            .all(|call| call.service != "cloudfront-keyvaluestore"));
    }

    #[test]
    fn the_zip_is_built_once_and_uploaded_under_its_hash_in_each_region() {
        let plan = plan(&Inputs::default());
        let calls = plan.rendered_calls();
        assert_eq!(
            calls
                .iter()
                .filter(|c| c.starts_with("cargo xtask package-lambda"))
                .count(),
            1
        );
        let uploads: Vec<&String> = calls
            .iter()
            .filter(|c| c.starts_with("aws s3 cp"))
            .collect();
        assert_eq!(uploads.len(), 2);
        assert_eq!(
            uploads[1],
            "aws s3 cp '<api_zip>' 's3://unishop-artifacts-<account>-us-west-1/api/unishop-api-<api_md5>.zip' --region us-west-1"
        );
        let west_bucket = plan
            .calls()
            .find(|c| c.operation == "create-bucket" && c.region == "us-west-1")
            .expect("create-bucket in us-west-1");
        assert!(west_bucket
            .render()
            .contains("LocationConstraint=us-west-1"));
        assert_eq!(
            west_bucket.already_done_when.as_deref(),
            Some("BucketAlreadyOwnedByYou")
        );
    }

    #[test]
    fn the_migration_must_succeed_and_the_health_checks_wait_for_cloudfront() {
        let plan = plan(&Inputs::default());
        let invoke = plan
            .calls()
            .find(|c| c.operation == "invoke")
            .expect("invoke");
        assert!(matches!(
            invoke.check,
            Check::Equals {
                otherwise: Otherwise::Fail,
                ..
            }
        ));
        let waits = plan
            .calls()
            .filter(|c| c.service == "curl")
            .filter(|c| matches!(c.check, Check::WaitUntilEquals { .. }))
            .count();
        assert_eq!(waits, 2);
    }
}
