//! The S3 parts of the deploy and teardown plans run for real, through the AWS CLI, against
//! moto_server (a fake S3 on loopback), called by `cargo xtask test`: the artifact buckets created
//! twice (the second time counts as done), then teardown's bucket step on versioned site and canary buckets
//! holding versions and delete markers (the listing passed as a JSON document to the deletion),
//! and that step again on buckets that are gone (nothing fails).

use std::path::Path;

use unishop_ops::shop::{Shop, ACCOUNT};
use unishop_ops::{Plan, Step};
use unishop_stack::moto::MotoServer;

use crate::aws::{Aws, AwsCli};
use crate::process::run_stdout;

/// moto's account id.
const MOTO_ACCOUNT: &str = "123456789012";

fn aws(aws: &Aws, region: &str, args: &[&str]) -> Result<String, String> {
    run_stdout(&mut aws.command(region, args))
}

/// The first step of `plan` with a call of `operation`, as a plan of its own with `given`.
fn step_of(plan: &Plan, operation: &str, given: &[(String, String)]) -> Result<Plan, String> {
    let step: Step = plan
        .steps
        .iter()
        .find(|step| step.calls.iter().any(|call| call.operation == operation))
        .cloned()
        .ok_or_else(|| format!("no step with {operation} in {}", plan.title))?;
    Ok(Plan {
        title: format!("{} (only: {})", plan.title, step.title),
        given: given.to_vec(),
        steps: vec![step],
        afterwards: Vec::new(),
    })
}

fn run(plan: &Plan, aws: &Aws) -> Result<(), String> {
    let mut executor = AwsCli { aws: aws.clone() };
    unishop_ops::run(plan, &mut executor, &mut |line| println!("  {line}"))
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Runs the test with a moto_server of its own.
pub fn test_against_moto(scratch_root: &Path) -> Result<(), String> {
    let scratch = scratch_root.join(format!("unishop-ops-moto-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)
        .map_err(|e| format!("cannot create {}: {e}", scratch.display()))?;
    let server = MotoServer::start(&scratch.join("moto_server.log"))?;
    let result = test_with(&Aws::for_moto(&server.url), &scratch);
    if result.is_ok() {
        let _ = std::fs::remove_dir_all(&scratch);
    }
    result
}

fn test_with(moto: &Aws, scratch: &Path) -> Result<(), String> {
    let shop = Shop::default();
    let account = (ACCOUNT.to_string(), MOTO_ACCOUNT.to_string());

    // deploy: the artifact buckets, twice.
    let deploy = unishop_ops::deploy::plan(&unishop_ops::deploy::Inputs::default());
    let mut create = step_of(&deploy, "create-bucket", std::slice::from_ref(&account))?;
    create.steps[0]
        .calls
        .retain(|call| call.operation == "create-bucket");
    run(&create, moto)?;
    run(&create, moto)?;
    println!("  ok  deploy: artifact buckets created, and a second run counts them as done");

    // Site buckets as deploy leaves them: versioned, with versions and delete markers.
    let file = scratch.join("page.html");
    std::fs::write(&file, "<p>unicorns</p>")
        .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    let file = file.display().to_string();
    let mut given = vec![account];
    for (region, key, bucket) in shop.regions().iter().flat_map(|region| {
        [
            (
                *region,
                "SiteBucketName",
                format!("unishop-site-test-{region}"),
            ),
            (
                *region,
                "CanaryBucketName",
                format!("unishop-canary-test-{region}"),
            ),
        ]
    }) {
        let mut create = vec!["s3api", "create-bucket", "--bucket", bucket.as_str()];
        let location = format!("LocationConstraint={region}");
        if region != "us-east-1" {
            create.extend(["--create-bucket-configuration", location.as_str()]);
        }
        aws(moto, region, &create)?;
        aws(
            moto,
            region,
            &[
                "s3api",
                "put-bucket-versioning",
                "--bucket",
                &bucket,
                "--versioning-configuration",
                "Status=Enabled",
            ],
        )?;
        for key in ["index.html", "index.html", "old.html", "product/a.html"] {
            aws(
                moto,
                region,
                &[
                    "s3api",
                    "put-object",
                    "--bucket",
                    &bucket,
                    "--key",
                    key,
                    "--body",
                    &file,
                ],
            )?;
        }
        aws(
            moto,
            region,
            &[
                "s3api",
                "delete-object",
                "--bucket",
                &bucket,
                "--key",
                "old.html",
            ],
        )?;
        let artifacts = format!("unishop-artifacts-{MOTO_ACCOUNT}-{region}");
        aws(
            moto,
            region,
            &[
                "s3api",
                "put-object",
                "--bucket",
                &artifacts,
                "--key",
                "api/x.zip",
                "--body",
                &file,
            ],
        )?;
        given.push((Shop::regional_output(region, key), bucket));
    }

    let teardown = unishop_ops::teardown::plan(&unishop_ops::teardown::Inputs::default());
    let buckets = step_of(&teardown, "delete-objects", &given)?;
    run(&buckets, moto)?;
    let left = aws(
        moto,
        "us-east-1",
        &[
            "s3api",
            "list-buckets",
            "--query",
            "Buckets[].Name",
            "--output",
            "text",
        ],
    )?;
    if !left.trim().is_empty() && left.trim() != "None" {
        return Err(format!("teardown left buckets behind: {left}"));
    }
    println!("  ok  teardown: versioned site and canary buckets (versions and delete markers) and artifact buckets deleted");
    run(&buckets, moto)?;
    println!("  ok  teardown: the bucket step again, on buckets that are gone, fails nothing");
    Ok(())
}
