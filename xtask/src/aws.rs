//! The `aws` CLI as release, rollback and the operator plans (failover, failback) call it.

use std::process::Command;
use std::time::Duration;

use unishop_ops::{Call, Executor, Plan, Tool};

use crate::process::run_stdout;

/// How to call the `aws` CLI: optional endpoint override and extra environment (tests).
#[derive(Debug, Clone, Default)]
pub(crate) struct Aws {
    pub(crate) endpoint_url: Option<String>,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) env_remove: Vec<String>,
}

impl Aws {
    pub(crate) fn from_env(endpoint_url: Option<String>) -> Self {
        Aws {
            endpoint_url,
            ..Aws::default()
        }
    }

    /// `aws <args> --region <region> [--endpoint-url URL]`.
    pub(crate) fn command(&self, region: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new("aws");
        cmd.args(args).args(["--region", region]);
        self.configure(&mut cmd);
        cmd
    }

    /// The endpoint override and environment on an `aws` command.
    fn configure(&self, cmd: &mut Command) {
        if let Some(url) = &self.endpoint_url {
            cmd.args(["--endpoint-url", url]);
        }
        cmd.env("AWS_PAGER", "");
        for key in &self.env_remove {
            cmd.env_remove(key);
        }
        for (key, value) in &self.env {
            cmd.env(key, value);
        }
    }
}

/// Runs the calls of a plan ([`unishop_ops::Plan`]): AWS calls with the AWS CLI, local programs
/// as they are, except `cargo xtask ...`, which runs in this process (package-lambda, whose output
/// is the zip's path) or as this same binary (the other commands).
pub(crate) struct AwsCli {
    pub(crate) aws: Aws,
}

impl Executor for AwsCli {
    fn execute(&mut self, call: &Call, args: &[String]) -> Result<String, String> {
        let line = call.resolved_cli_args(args);
        match call.tool {
            Tool::Aws => {
                let mut cmd = Command::new("aws");
                cmd.args(&line);
                self.aws.configure(&mut cmd);
                run_stdout(&mut cmd)
            }
            Tool::Local => run_local(&line),
        }
    }

    fn pause(&mut self, duration: Duration) {
        std::thread::sleep(duration);
    }
}

/// A local program's command line, run; its output is the first field of its last line.
fn run_local(line: &[String]) -> Result<String, String> {
    let (program, args) = line
        .split_first()
        .ok_or_else(|| "a local call without a program".to_string())?;
    let mut cmd = match (program.as_str(), args.first().map(String::as_str)) {
        ("cargo", Some("xtask")) if args.get(1).map(String::as_str) == Some("package-lambda") => {
            crate::lambda::package_lambda(&crate::lambda::PackageArgs {
                ca_bundle: None,
                smoke: false,
            })?;
            return Ok(crate::lambda::zip_path().display().to_string());
        }
        ("cargo", Some("xtask")) => {
            let exe = std::env::current_exe()
                .map_err(|e| format!("cannot find the running xtask binary: {e}"))?;
            let mut cmd = Command::new(exe);
            cmd.args(&args[1..]);
            cmd
        }
        _ => {
            let mut cmd = Command::new(program);
            cmd.args(args);
            cmd
        }
    };
    let stdout = run_stdout(&mut cmd)?;
    Ok(stdout
        .lines()
        .last()
        .and_then(|last| last.split_whitespace().next())
        .unwrap_or_default()
        .to_string())
}

/// Prints the plan (dry run: every call in order, none made) or runs it with [`AwsCli`],
/// printing each call and result; returns the outputs of the run (none for a dry run).
pub(crate) fn run_plan(plan: &Plan, dry_run: bool) -> Result<unishop_ops::Outputs, String> {
    if dry_run {
        for line in plan.dry_run() {
            println!("{line}");
        }
        return Ok(unishop_ops::Outputs::new());
    }
    let mut executor = AwsCli {
        aws: Aws::default(),
    };
    unishop_ops::run(plan, &mut executor, &mut |line| println!("{line}")).map_err(|e| e.to_string())
}

/// Where the shop is deployed: regions and stack names (`deploy`, `status`, `teardown`).
#[derive(clap::Args, Debug, Clone)]
pub struct ShopArgs {
    /// The primary region (the global and edge stacks live there too).
    #[arg(long, env = "UNISHOP_PRIMARY_REGION", default_value = "us-east-1")]
    pub primary_region: String,
    /// The hot standby region.
    #[arg(long, env = "UNISHOP_STANDBY_REGION", default_value = "us-west-1")]
    pub standby_region: String,
    /// Name of the global data stack.
    #[arg(long, env = "UNISHOP_GLOBAL_STACK", default_value = "unishop-global")]
    pub global_stack: String,
    /// Name of the regional stack (the same in both regions).
    #[arg(
        long,
        env = "UNISHOP_REGIONAL_STACK",
        default_value = "unishop-regional"
    )]
    pub regional_stack: String,
    /// Name of the edge stack.
    #[arg(long, env = "UNISHOP_EDGE_STACK", default_value = "unishop-edge")]
    pub edge_stack: String,
    /// Print every call that would be made, in order; make none.
    #[arg(long)]
    pub dry_run: bool,
}

impl ShopArgs {
    /// The names as the plans take them.
    pub fn shop(&self) -> unishop_ops::shop::Shop {
        unishop_ops::shop::Shop {
            primary_region: self.primary_region.clone(),
            standby_region: self.standby_region.clone(),
            global_stack: self.global_stack.clone(),
            regional_stack: self.regional_stack.clone(),
            edge_stack: self.edge_stack.clone(),
            ..unishop_ops::shop::Shop::default()
        }
    }

    /// The default names in a dry run, as `cargo xtask test` checks the plans.
    pub fn dry_run_defaults() -> ShopArgs {
        ShopArgs {
            primary_region: "us-east-1".into(),
            standby_region: "us-west-1".into(),
            global_stack: "unishop-global".into(),
            regional_stack: "unishop-regional".into(),
            edge_stack: "unishop-edge".into(),
            dry_run: true,
        }
    }
}

/// Checks that `plan`'s dry run contains each needle, the first ones before the later ones.
pub(crate) fn expect_in_order(name: &str, plan: &Plan, needles: &[&str]) -> Result<(), String> {
    let text = plan.dry_run().join("\n");
    let mut from = 0;
    for needle in needles {
        match text[from..].find(needle) {
            Some(at) => from += at + needle.len(),
            None => {
                return Err(format!(
                    "{name} dry run: `{needle}` missing or out of order:\n{text}"
                ))
            }
        }
    }
    if !plan.unmet_needs().is_empty() {
        return Err(format!(
            "{name} dry run: outputs used before they are produced: {:?}",
            plan.unmet_needs()
        ));
    }
    println!("  ok  {name}: {} calls in order", plan.calls().count());
    Ok(())
}

impl Aws {
    /// Every call to moto_server at `url`, with test credentials and nothing from the user's AWS
    /// configuration.
    pub(crate) fn for_moto(url: &str) -> Aws {
        Aws {
            endpoint_url: Some(url.to_string()),
            env: vec![
                ("AWS_ACCESS_KEY_ID".into(), "testing".into()),
                ("AWS_SECRET_ACCESS_KEY".into(), "testing".into()),
                ("AWS_CONFIG_FILE".into(), "/dev/null".into()),
                ("AWS_SHARED_CREDENTIALS_FILE".into(), "/dev/null".into()),
                ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
            ],
            env_remove: vec![
                "AWS_PROFILE".into(),
                "AWS_SESSION_TOKEN".into(),
                "AWS_DEFAULT_PROFILE".into(),
            ],
        }
    }
}
