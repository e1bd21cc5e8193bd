//! The names a deployment of the shop goes by (regions, stacks, buckets), shared by the deploy,
//! status and teardown plans, and the calls that read a stack's outputs.

use crate::plan::{Call, Value};

/// Regions and names of one deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shop {
    /// The primary region (the global and edge stacks live there too).
    pub primary_region: String,
    /// The hot standby region.
    pub standby_region: String,
    /// The global data stack (tables, global cluster, secrets).
    pub global_stack: String,
    /// The regional stack's name, the same in both regions.
    pub regional_stack: String,
    /// The edge stack (CloudFront, the KeyValueStore).
    pub edge_stack: String,
    /// Artifact buckets are `<prefix>-<account>-<region>`.
    pub artifact_bucket_prefix: String,
    /// The KeyValueStore key the write-path function reads.
    pub kvs_key: String,
}

impl Default for Shop {
    fn default() -> Shop {
        Shop {
            primary_region: "us-east-1".into(),
            standby_region: "us-west-1".into(),
            global_stack: "unishop-global".into(),
            regional_stack: "unishop-regional".into(),
            edge_stack: "unishop-edge".into(),
            artifact_bucket_prefix: "unishop-artifacts".into(),
            kvs_key: "active_region".into(),
        }
    }
}

/// The output name the caller's account id is kept under.
pub const ACCOUNT: &str = "account";

impl Shop {
    /// Both regions, primary first.
    pub fn regions(&self) -> [&str; 2] {
        [&self.primary_region, &self.standby_region]
    }

    /// Name of the output holding `key` of the regional stack in `region`.
    pub fn regional_output(region: &str, key: &str) -> String {
        format!("{region}:{key}")
    }

    /// Name of the output holding `key` of the global stack.
    pub fn global_output(key: &str) -> String {
        format!("global:{key}")
    }

    /// Name of the output holding `key` of the edge stack.
    pub fn edge_output(key: &str) -> String {
        format!("edge:{key}")
    }

    /// `describe-stacks` of `stack` in `region`, producing its output `key` as `name`.
    pub fn read_output(region: &str, stack: &str, key: &str, name: &str) -> Call {
        Call::new(
            region,
            "cloudformation",
            "describe-stacks",
            &["--stack-name", stack],
        )
        .produces(
            name,
            &format!("Stacks[0].Outputs[?OutputKey=='{key}'].OutputValue | [0]"),
        )
    }

    /// Reads output `key` of the regional stack in `region`.
    pub fn read_regional(&self, region: &str, key: &str) -> Call {
        Shop::read_output(
            region,
            &self.regional_stack,
            key,
            &Shop::regional_output(region, key),
        )
    }

    /// Reads output `key` of the global stack.
    pub fn read_global(&self, key: &str) -> Call {
        Shop::read_output(
            &self.primary_region,
            &self.global_stack,
            key,
            &Shop::global_output(key),
        )
    }

    /// Reads output `key` of the edge stack.
    pub fn read_edge(&self, key: &str) -> Call {
        Shop::read_output(
            &self.primary_region,
            &self.edge_stack,
            key,
            &Shop::edge_output(key),
        )
    }

    /// `sts get-caller-identity`, producing the account id as [`ACCOUNT`].
    pub fn read_account(&self) -> Call {
        Call::new(&self.primary_region, "sts", "get-caller-identity", &[])
            .produces(ACCOUNT, "Account")
    }

    /// The artifact bucket of `region` (needs [`ACCOUNT`]).
    pub fn artifact_bucket(&self, region: &str) -> Value {
        Value::template(self.artifact_bucket_template(region))
    }

    /// The artifact bucket's name as a template (`{account}` in it).
    pub fn artifact_bucket_template(&self, region: &str) -> String {
        format!("{}-{{{ACCOUNT}}}-{region}", self.artifact_bucket_prefix)
    }
}
