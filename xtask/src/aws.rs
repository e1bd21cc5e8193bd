//! The `aws` CLI as release, rollback and the operator plans (failover, failback) call it.

use std::process::Command;
use std::time::Duration;

use unishop_ops::{Call, Executor};

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

/// Runs the calls of a plan ([`unishop_ops::Plan`]) with the AWS CLI.
pub(crate) struct AwsCli {
    pub(crate) aws: Aws,
}

impl Executor for AwsCli {
    fn execute(&mut self, call: &Call, args: &[String]) -> Result<String, String> {
        let mut cmd = Command::new("aws");
        cmd.args(call.resolved_cli_args(args));
        self.aws.configure(&mut cmd);
        run_stdout(&mut cmd)
    }

    fn pause(&mut self, duration: Duration) {
        std::thread::sleep(duration);
    }
}
