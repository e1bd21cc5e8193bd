//! `cargo xtask deploy`: the shop in both regions in one command, a plan built as data by
//! [`unishop_ops::deploy`] (stacks in dependency order, outputs passed along in code), run with
//! the AWS CLI or printed by `--dry-run`. Re-running with nothing changed changes nothing; a
//! failure names its step and how to resume.

use unishop_ops::deploy::{self as plans, Inputs};
use unishop_ops::shop::Shop;
use unishop_ops::Plan;

use crate::aws::{expect_in_order, run_plan, ShopArgs};

/// `cargo xtask deploy` flags.
#[derive(clap::Args, Debug, Clone)]
pub struct DeployArgs {
    #[command(flatten)]
    pub shop: ShopArgs,
    /// E-mail address subscribed to both regions' alarm topics.
    #[arg(long, env = "UNISHOP_ALARM_EMAIL")]
    pub alarm_email: Option<String>,
    /// Reserved concurrency of the standby's API function (0 = unreserved; infra/README.md,
    /// "Either region as the writer").
    #[arg(long, default_value_t = 0)]
    pub standby_reserved_concurrency: u32,
}

fn plan(args: &DeployArgs) -> Plan {
    plans::plan(&Inputs {
        shop: args.shop.shop(),
        alarm_email: args.alarm_email.clone(),
        standby_reserved_concurrency: args.standby_reserved_concurrency,
        ..Inputs::default()
    })
}

/// Deploys (or updates) everything, then prints the shop's URL.
pub fn deploy(args: &DeployArgs) -> Result<(), String> {
    let outputs = run_plan(&plan(args), args.shop.dry_run)?;
    if let Some(domain) = outputs.get(&Shop::edge_output("DistributionDomainName")) {
        println!("The shop: https://{domain}/");
    }
    Ok(())
}

/// Checks the printed plan of `deploy --dry-run` (called by `cargo xtask test`).
pub fn test_dry_run() -> Result<(), String> {
    let args = DeployArgs {
        shop: ShopArgs::dry_run_defaults(),
        alarm_email: Some("ops@example.com".into()),
        standby_reserved_concurrency: 50,
    };
    expect_in_order(
        "deploy",
        &plan(&args),
        &[
            "aws sts get-caller-identity",
            "aws cloudformation deploy --stack-name unishop-global --template-file infra/templates/global.yaml --no-fail-on-empty-changeset --region us-east-1",
            "cargo xtask package-lambda",
            "python3 -c 'import hashlib, sys, zipfile;",
            "aws s3 cp '<api_zip>' 's3://unishop-artifacts-<account>-us-east-1/api/unishop-api-<api_md5>.zip'",
            "IsPrimary=yes",
            "'DatabaseSecretArn=<global:DatabaseSecretArn>'",
            "AlarmEmail=ops@example.com --region us-east-1",
            "IsPrimary=no",
            "ApiReservedConcurrency=50 --region us-west-1",
            "aws lambda invoke --function-name '<us-east-1:MigrateFunctionName>'",
            "stop unless it is None",
            "--stack-name unishop-edge --template-file infra/templates/edge.yaml",
            "'StandbyApiDomainName=<us-west-1:ApiDomainName>'",
            "--parameter-overrides 'DistributionId=<edge:DistributionId>' 'WatchedApiEndpoint=<us-west-1:ApiEndpoint>' 'WatchedSiteUrl=<edge:SiteUrl>' --region us-east-1",
            "--parameter-overrides 'DistributionId=<edge:DistributionId>' 'WatchedApiEndpoint=<us-east-1:ApiEndpoint>' 'WatchedSiteUrl=<edge:SiteUrl>' --region us-west-1",
            "cargo xtask release --primary-bucket '<us-east-1:SiteBucketName>'",
            "'https://<edge:DistributionDomainName>/api/health'",
            "repeated every 15 s until it is 200",
            "'https://<edge:DistributionDomainName>/api-standby/health'",
            "none made",
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dry_run_is_checked() {
        test_dry_run().expect("deploy dry run");
    }
}
