//! The `aws` CLI as release, rollback and failover call it.

use std::process::Command;

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
        cmd
    }
}
