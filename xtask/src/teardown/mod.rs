//! `cargo xtask teardown`: everything `deploy` made, removed in the order AWS allows after a typed
//! confirmation (`--yes` for scripts), a plan built by [`unishop_ops::teardown`]; deletion
//! protection is lifted only with `--lift-deletion-protection`.

mod moto_test;

use std::io::BufRead;

use unishop_ops::teardown::{self as plans, Inputs};
use unishop_ops::Plan;

use crate::aws::{expect_in_order, run_plan, ShopArgs};

pub use moto_test::test_against_moto;

/// `cargo xtask teardown` flags.
#[derive(clap::Args, Debug, Clone)]
pub struct TeardownArgs {
    #[command(flatten)]
    pub shop: ShopArgs,
    /// Lift deletion protection on the Aurora clusters, the global cluster and the tables.
    #[arg(long)]
    pub lift_deletion_protection: bool,
    /// Do not ask for the typed confirmation (scripts).
    #[arg(long)]
    pub yes: bool,
}

fn plan(args: &TeardownArgs) -> Plan {
    plans::plan(&Inputs {
        shop: args.shop.shop(),
        lift_deletion_protection: args.lift_deletion_protection,
        ..Inputs::default()
    })
}

/// Whether `typed` confirms tearing down `stack`.
fn confirmed(typed: &str, stack: &str) -> bool {
    typed.trim() == stack
}

/// Removes everything after the confirmation.
pub fn teardown(args: &TeardownArgs) -> Result<(), String> {
    let plan = plan(args);
    if !args.shop.dry_run && !args.yes {
        println!(
            "This deletes the shop in {} and {}, its data included{}.\nType the global stack's name ({}) to go on:",
            args.shop.primary_region,
            args.shop.standby_region,
            if args.lift_deletion_protection {
                ", lifting deletion protection"
            } else {
                ""
            },
            args.shop.global_stack
        );
        let mut typed = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut typed)
            .map_err(|e| format!("cannot read the confirmation: {e}"))?;
        if !confirmed(&typed, &args.shop.global_stack) {
            return Err("not confirmed; nothing was deleted".into());
        }
    }
    run_plan(&plan, args.shop.dry_run).map(|_| ())
}

/// Checks the printed plans of `teardown --dry-run`, with and without lifting protection (called
/// by `cargo xtask test`).
pub fn test_dry_run() -> Result<(), String> {
    let mut args = TeardownArgs {
        shop: ShopArgs::dry_run_defaults(),
        lift_deletion_protection: false,
        yes: false,
    };
    expect_in_order(
        "teardown",
        &plan(&args),
        &[
            "aws cloudformation describe-stacks --stack-name unishop-regional",
            "aws cloudformation delete-stack --stack-name unishop-edge",
            "aws cloudformation wait stack-delete-complete --stack-name unishop-edge",
            "aws rds describe-db-clusters --db-cluster-identifier '<us-west-1:DatabaseClusterIdentifier>'",
            "stop unless it is False",
            "aws rds remove-from-global-cluster --global-cluster-identifier unishop-global --db-cluster-identifier '<us-west-1:DatabaseClusterArn>' --region us-west-1",
            "aws cloudformation delete-stack --stack-name unishop-regional --region us-west-1",
            "aws cloudformation delete-stack --stack-name unishop-regional --region us-east-1",
            "aws s3api list-object-versions --max-items 1000 --bucket '<us-east-1:SiteBucketName>'",
            "aws s3api delete-objects --bucket '<us-east-1:SiteBucketName>' --delete '<us-east-1_site_versions>'",
            "aws s3 rb --force 's3://unishop-artifacts-<account>-us-west-1'",
            "aws cloudformation delete-stack --stack-name unishop-global",
            "aws rds delete-global-cluster --global-cluster-identifier unishop-global",
            "--replica-updates 'Delete={RegionName=us-west-1}'",
            "aws dynamodb delete-table --table-name unishop-carts",
            "aws secretsmanager delete-secret --secret-id unishop/database --force-delete-without-recovery",
            "none made",
        ],
    )?;
    let kept = plan(&args).dry_run().join("\n");
    if kept.contains("--no-deletion-protection") {
        return Err(format!(
            "teardown lifts deletion protection unasked:\n{kept}"
        ));
    }
    args.lift_deletion_protection = true;
    expect_in_order(
        "teardown --lift-deletion-protection",
        &plan(&args),
        &[
            "aws rds modify-db-cluster --db-cluster-identifier '<us-west-1:DatabaseClusterIdentifier>' --no-deletion-protection --apply-immediately",
            "aws cloudformation delete-stack --stack-name unishop-regional",
            "aws rds modify-global-cluster --global-cluster-identifier unishop-global --no-deletion-protection",
            "aws rds delete-global-cluster",
            "aws dynamodb update-table --table-name unishop-carts --no-deletion-protection-enabled",
            "aws dynamodb delete-table --table-name unishop-carts",
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dry_run_is_checked() {
        test_dry_run().expect("teardown dry run");
    }

    #[test]
    fn only_the_stack_name_confirms() {
        assert!(confirmed("unishop-global\n", "unishop-global"));
        assert!(!confirmed("y\n", "unishop-global"));
        assert!(!confirmed("", "unishop-global"));
    }
}
