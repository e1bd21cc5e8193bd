//! `cargo xtask release` and `cargo xtask rollback`: publish the storefront (`dist/`) to the site
//! buckets of both regions through the `aws` CLI.
//!
//! Order of a release, per the hot-standby rules (infra/README.md):
//! 1. hashed assets and images to BOTH buckets (`public, max-age=31536000, immutable` for hashed
//!    names, a day for images), with explicit content types (`application/wasm`);
//! 2. the release's snapshot: `releases/<id>/` + every page (index.html, the prerendered
//!    `catalogue.html` and `product/{uuid}.html`, sitemap.xml, robots.txt) and config.json;
//! 3. each bucket's own `config.json` (`no-cache`), then the prerendered pages, then `index.html`
//!    (`no-cache`) last;
//! 4. the two buckets are compared (keys and ETags; `config.json` differs by design);
//! 5. an invalidation of `/index.html` and `/config.json` when a distribution is given.
//!
//! Nothing is ever deleted, so the previous release's hashed assets stay for pages already open.
//! Unchanged objects (same key, ETag = MD5 of the bytes) are skipped, so a repeated release uploads
//! nothing. The CSP allows no inline script but the loader's two, by their hashes: the release
//! refuses an `index.html` whose inline scripts it does not allow.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicUsize;
use std::time::Instant;

use crate::aws::Aws;
use crate::process::{command_line, repo_root, run_stdout};

mod moto_test;
mod plan;
mod uploads;

pub use moto_test::test_release_against_moto;
use plan::{build_plan, is_page, referenced_keys, served_outside_dist};
pub use plan::{check_inline_scripts, inline_scripts};
use uploads::{
    compare_buckets, copy_object_command, invalidation_command, list_objects, put_object_command,
    upload_all, Bucket, Upload,
};

/// `Cache-Control` of files whose name carries a content hash.
pub const CACHE_IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of `index.html` and `config.json`.
pub const CACHE_NO_CACHE: &str = "no-cache";
/// `Cache-Control` of unhashed images (`images/*`).
pub const CACHE_IMAGES: &str = "public, max-age=86400";
/// `Cache-Control` of any other unhashed file.
pub const CACHE_SHORT: &str = "public, max-age=300";

const RELEASES_PREFIX: &str = "releases/";

/// Where a release goes: the two site buckets, the distribution in front of them, and how to
/// reach AWS. Shared by `release` and `rollback`.
#[derive(clap::Args, Debug, Clone)]
pub struct Target {
    /// Site bucket in the primary region (regional stack output SiteBucketName in us-east-1).
    #[arg(long, env = "UNISHOP_PRIMARY_BUCKET")]
    pub primary_bucket: String,
    /// Site bucket in the standby region (regional stack output SiteBucketName in us-west-1).
    #[arg(long, env = "UNISHOP_STANDBY_BUCKET")]
    pub standby_bucket: String,
    /// Region of the primary bucket; also the `region` of its config.json.
    #[arg(long, default_value = "us-east-1")]
    pub primary_region: String,
    /// Region of the standby bucket; also the `region` of its config.json.
    #[arg(long, default_value = "us-west-1")]
    pub standby_region: String,
    /// CloudFront distribution to invalidate `/index.html` and `/config.json` in (edge stack output DistributionId).
    #[arg(long, env = "UNISHOP_DISTRIBUTION_ID")]
    pub distribution: Option<String>,
    /// Endpoint for every AWS call (e.g. a local moto_server).
    #[arg(long)]
    pub endpoint_url: Option<String>,
    /// Print every AWS CLI call that would change something, change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

impl Target {
    /// The two site buckets, primary first.
    fn buckets(&self) -> [Bucket; 2] {
        [
            Bucket {
                name: self.primary_bucket.clone(),
                region: self.primary_region.clone(),
            },
            Bucket {
                name: self.standby_bucket.clone(),
                region: self.standby_region.clone(),
            },
        ]
    }
}

#[derive(clap::Args, Debug, Clone)]
pub struct ReleaseArgs {
    #[command(flatten)]
    pub target: Target,
    /// API base the storefront calls (`host` in config.json).
    #[arg(long, default_value = "/api")]
    pub api_host: String,
    /// API base the storefront retries failed writes against (`standbyHost` in config.json).
    #[arg(long, default_value = "/api-standby")]
    pub standby_host: String,
    /// Storefront build output (relative paths are taken from the repository root).
    #[arg(long, default_value = "dist")]
    pub dist: PathBuf,
    /// Use the existing dist/ instead of running `cargo xtask build`.
    #[arg(long)]
    pub skip_build: bool,
    #[command(flatten)]
    pub build: crate::build::BuildArgs,
    /// Upload even objects whose ETag already matches.
    #[arg(long)]
    pub force: bool,
    /// Uploads in flight at once.
    #[arg(long, default_value_t = 4)]
    pub jobs: usize,
}

#[derive(clap::Args, Debug, Clone)]
pub struct RollbackArgs {
    /// Release id to re-publish (printed by `release`; the ids kept are listed under releases/ in each bucket).
    #[arg(long)]
    pub to: String,
    #[command(flatten)]
    pub target: Target,
}

/// Release the storefront to both buckets (see the module documentation).
pub fn release(args: &ReleaseArgs) -> Result<(), String> {
    run_release(args, &Aws::from_env(args.target.endpoint_url.clone())).map(|_| ())
}

/// Re-publish an earlier release's pages (index.html, the prerendered pages, sitemap.xml,
/// robots.txt) and `config.json` in both buckets.
pub fn rollback(args: &RollbackArgs) -> Result<(), String> {
    run_rollback(args, &Aws::from_env(args.target.endpoint_url.clone()))
}

/// What `run_release` did, for the summary and the tests.
#[derive(Debug, Default, Clone)]
pub(crate) struct ReleaseReport {
    pub id: String,
    /// Per bucket: (uploaded count, uploaded bytes, unchanged count).
    pub per_bucket: Vec<(String, usize, u64, usize)>,
    pub objects_compared: usize,
    pub invalidation: Option<String>,
}

impl ReleaseReport {
    pub fn uploaded(&self) -> usize {
        self.per_bucket.iter().map(|b| b.1).sum()
    }
}

pub(crate) fn run_release(args: &ReleaseArgs, aws: &Aws) -> Result<ReleaseReport, String> {
    let started = Instant::now();
    let root = repo_root();
    let dist = if args.dist.is_absolute() {
        args.dist.clone()
    } else {
        root.join(&args.dist)
    };
    if args.target.primary_bucket == args.target.standby_bucket {
        return Err("--primary-bucket and --standby-bucket must be different buckets".into());
    }
    if !args.skip_build {
        println!("building the storefront: cargo xtask build");
        crate::build::build(&args.build)?;
    }
    let buckets = args.target.buckets().to_vec();
    let staging = std::env::temp_dir().join(format!(
        "unishop-release-{}-{}",
        std::process::id(),
        started.elapsed().as_nanos() ^ now_nanos()
    ));
    let result = release_with_plan(args, aws, &dist, &staging, &buckets, started);
    // Best effort: the staging files are copies; a leftover temp dir is harmless.
    let _ = std::fs::remove_dir_all(&staging);
    result
}

fn now_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
}

fn release_with_plan(
    args: &ReleaseArgs,
    aws: &Aws,
    dist: &Path,
    staging: &Path,
    buckets: &[Bucket],
    started: Instant,
) -> Result<ReleaseReport, String> {
    let plan = build_plan(dist, staging, buckets, args)?;
    let total_bytes: u64 = plan
        .assets
        .iter()
        .chain(&plan.pages)
        .map(|a| a.size)
        .sum::<u64>()
        + plan.index.size;
    println!(
        "release {}: {} files ({}) from {} -> {}",
        plan.id,
        plan.assets.len() + plan.pages.len() + 2,
        human_bytes(total_bytes),
        dist.display(),
        buckets
            .iter()
            .map(|b| format!("{} ({})", b.url(), b.region))
            .collect::<Vec<_>>()
            .join(", ")
    );

    let mut remote = Vec::new();
    for bucket in buckets {
        match list_objects(aws, bucket) {
            Ok(objects) => remote.push(objects),
            Err(e) if args.target.dry_run => {
                println!(
                    "(dry run) cannot list {}, assuming it is empty: {e}",
                    bucket.url()
                );
                remote.push(BTreeMap::new());
            }
            Err(e) => return Err(format!("cannot list {}: {e}", bucket.url())),
        }
    }

    // Phases, in order; each phase goes to both buckets before the next starts.
    let mut phases: Vec<(&str, Vec<Upload>)> = Vec::new();
    let mut assets = Vec::new();
    for bucket in buckets {
        for object in &plan.assets {
            assets.push(Upload { bucket, object });
        }
    }
    phases.push(("assets", assets));
    let mut snapshot = Vec::new();
    for (i, bucket) in buckets.iter().enumerate() {
        for object in &plan.snapshot_pages {
            snapshot.push(Upload { bucket, object });
        }
        snapshot.push(Upload {
            bucket,
            object: &plan.configs[i].0,
        });
    }
    phases.push(("release snapshot", snapshot));
    let config = buckets
        .iter()
        .enumerate()
        .map(|(i, bucket)| Upload {
            bucket,
            object: &plan.configs[i].1,
        })
        .collect();
    phases.push(("config.json", config));
    let mut pages = Vec::new();
    for bucket in buckets {
        for object in &plan.pages {
            pages.push(Upload { bucket, object });
        }
    }
    phases.push(("prerendered pages", pages));
    let index = buckets
        .iter()
        .map(|bucket| Upload {
            bucket,
            object: &plan.index,
        })
        .collect();
    phases.push(("index.html", index));

    let bucket_index = |b: &Bucket| buckets.iter().position(|x| x.name == b.name).unwrap_or(0);
    let mut report = ReleaseReport {
        id: plan.id.clone(),
        per_bucket: buckets.iter().map(|b| (b.url(), 0, 0, 0)).collect(),
        ..ReleaseReport::default()
    };
    let mut todo_phases = Vec::new();
    for (name, uploads) in phases {
        let mut todo = Vec::new();
        for upload in uploads {
            let i = bucket_index(upload.bucket);
            let unchanged = remote[i].get(&upload.object.key) == Some(&upload.object.md5);
            if unchanged && !args.force {
                report.per_bucket[i].3 += 1;
            } else {
                todo.push(upload);
            }
        }
        todo_phases.push((name, todo));
    }
    let total: usize = todo_phases.iter().map(|(_, t)| t.len()).sum();

    if args.target.dry_run {
        println!("(dry run) {total} uploads, in this order:");
        for (name, todo) in &todo_phases {
            println!("  # {name}");
            for upload in todo {
                println!(
                    "  {}",
                    command_line(&put_object_command(aws, upload.bucket, upload.object))
                );
            }
        }
        for (i, bucket) in buckets.iter().enumerate() {
            println!(
                "  # {}: {} unchanged objects skipped",
                bucket.url(),
                report.per_bucket[i].3
            );
        }
        println!("  # then: compare keys and ETags of both buckets");
        match &args.target.distribution {
            Some(d) => println!("  {}", command_line(&invalidation_command(aws, d))),
            None => println!("  # no --distribution: no invalidation"),
        }
        return Ok(report);
    }

    let done = AtomicUsize::new(0);
    for (name, todo) in &todo_phases {
        if todo.is_empty() {
            continue;
        }
        println!("{name}:");
        upload_all(aws, todo, args.jobs.max(1), &done, total)?;
        for upload in todo {
            let entry = &mut report.per_bucket[bucket_index(upload.bucket)];
            entry.1 += 1;
            entry.2 += upload.object.size;
        }
    }

    report.objects_compared = compare_buckets(aws, buckets)?;

    if let Some(distribution) = &args.target.distribution {
        let id = run_stdout(&mut invalidation_command(aws, distribution))?;
        report.invalidation = Some(id.trim().to_string());
    }

    println!(
        "release {} done in {:.1} s",
        plan.id,
        started.elapsed().as_secs_f64()
    );
    for (i, (url, count, bytes, unchanged)) in report.per_bucket.iter().enumerate() {
        println!(
            "  {url} ({}): {count} uploaded ({}), {unchanged} unchanged",
            buckets[i].region,
            human_bytes(*bytes)
        );
    }
    println!(
        "  buckets identical: {} objects, same keys and ETags (config.json differs by region, by design)",
        report.objects_compared
    );
    match &report.invalidation {
        Some(id) => println!("  invalidation {id}: /index.html /config.json"),
        None => println!("  no --distribution: no invalidation (no-cache pages refresh within CloudFront's minimum TTL)"),
    }
    if report.uploaded() == 0 {
        println!(
            "  nothing new to upload: both buckets already had release {} (idempotent)",
            plan.id
        );
    }
    println!(
        "  roll back to it later with: cargo xtask rollback --to {}",
        plan.id
    );
    Ok(report)
}

fn human_bytes(n: u64) -> String {
    if n >= 1024 * 1024 {
        format!("{:.1} MiB", n as f64 / (1024.0 * 1024.0))
    } else if n >= 1024 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else {
        format!("{n} B")
    }
}

/// The pages a release's snapshot (`prefix` = `releases/<id>/`) holds besides `index.html` and
/// `config.json`, as the keys they are published under (`product/{uuid}.html`).
fn snapshot_pages<'a>(
    objects: &'a BTreeMap<String, String>,
    prefix: &'a str,
) -> impl Iterator<Item = &'a str> {
    objects
        .keys()
        .filter_map(move |key| key.strip_prefix(prefix))
        .filter(|page| *page != "index.html" && *page != "config.json" && is_page(page))
}

/// Release ids kept in a bucket listing (those with a `releases/<id>/index.html`).
fn release_ids(objects: &BTreeMap<String, String>) -> Vec<String> {
    objects
        .keys()
        .filter_map(|k| k.strip_prefix(RELEASES_PREFIX)?.strip_suffix("/index.html"))
        .map(str::to_string)
        .collect()
}

pub(crate) fn run_rollback(args: &RollbackArgs, aws: &Aws) -> Result<(), String> {
    let started = Instant::now();
    let id = args.to.trim();
    if id.is_empty() || id.contains('/') {
        return Err(format!("--to {id:?} is not a release id"));
    }
    let buckets = args.target.buckets();
    let snapshot_index = format!("{RELEASES_PREFIX}{id}/index.html");
    let snapshot_config = format!("{RELEASES_PREFIX}{id}/config.json");
    let mut listings = Vec::new();
    for bucket in &buckets {
        let objects = list_objects(aws, bucket)?;
        if !objects.contains_key(&snapshot_index) {
            return Err(format!(
                "{} has no release {id}; releases kept there: {}",
                bucket.url(),
                release_ids(&objects).join(", ")
            ));
        }
        listings.push(objects);
    }

    // The old page must still find its hashed assets in both buckets.
    let page =
        std::env::temp_dir().join(format!("unishop-rollback-{}-{id}.html", std::process::id()));
    let page_path = page.to_string_lossy().into_owned();
    let mut get = aws.command(
        &buckets[0].region,
        &[
            "s3api",
            "get-object",
            "--bucket",
            &buckets[0].name,
            "--key",
            &snapshot_index,
            &page_path,
        ],
    );
    run_stdout(&mut get)?;
    let html = std::fs::read_to_string(&page);
    let _ = std::fs::remove_file(&page);
    let html = html.map_err(|e| format!("cannot read the downloaded {snapshot_index}: {e}"))?;
    let mut missing = Vec::new();
    for key in referenced_keys(&html) {
        for (bucket, objects) in buckets.iter().zip(&listings) {
            if !served_outside_dist(&key) && !objects.contains_key(&key) {
                missing.push(format!("{}/{key}", bucket.url()));
            }
        }
    }
    if !missing.is_empty() {
        return Err(format!(
            "release {id} cannot be restored, its page needs objects that are gone:\n  {}",
            missing.join("\n  ")
        ));
    }

    let mut commands = Vec::new();
    // The release's prerendered pages first (they name assets that are all still there), then
    // config.json, then index.html last, as a release publishes them.
    let snapshot_prefix = format!("{RELEASES_PREFIX}{id}/");
    for (bucket, objects) in buckets.iter().zip(&listings) {
        for page in snapshot_pages(objects, &snapshot_prefix) {
            commands.push(copy_object_command(
                aws,
                bucket,
                &format!("{snapshot_prefix}{page}"),
                page,
            ));
        }
    }
    for (bucket, objects) in buckets.iter().zip(&listings) {
        if objects.contains_key(&snapshot_config) {
            commands.push(copy_object_command(
                aws,
                bucket,
                &snapshot_config,
                "config.json",
            ));
        }
    }
    for bucket in &buckets {
        commands.push(copy_object_command(
            aws,
            bucket,
            &snapshot_index,
            "index.html",
        ));
    }
    if let Some(d) = &args.target.distribution {
        commands.push(invalidation_command(aws, d));
    }
    if args.target.dry_run {
        println!("(dry run) rollback to {id} would run:");
        for cmd in &commands {
            println!("  {}", command_line(cmd));
        }
        return Ok(());
    }
    let count = commands.len();
    for (i, mut cmd) in commands.into_iter().enumerate() {
        let line = command_line(&cmd);
        let out = run_stdout(&mut cmd)?;
        println!("  [{}/{count}] {line} -> {}", i + 1, out.trim());
    }
    let objects = compare_buckets(aws, &buckets)?;
    println!(
        "rolled back to release {id} in {:.1} s; buckets identical ({objects} objects)",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_ids_come_from_snapshots() {
        let objects: BTreeMap<String, String> = [
            "releases/aaa/index.html",
            "releases/aaa/config.json",
            "releases/bbb/index.html",
            "index.html",
        ]
        .iter()
        .map(|k| (k.to_string(), String::new()))
        .collect();
        assert_eq!(release_ids(&objects), vec!["aaa", "bbb"]);
    }

    #[test]
    fn a_rollback_restores_the_snapshots_prerendered_pages_and_nothing_else() {
        let objects: BTreeMap<String, String> = [
            "releases/aaa/index.html",
            "releases/aaa/config.json",
            "releases/aaa/catalogue.html",
            "releases/aaa/product/1.html",
            "releases/aaa/sitemap.xml",
            "releases/aaab/product/2.html",
            "releases/bbb/product/3.html",
            "product/1.html",
        ]
        .iter()
        .map(|k| (k.to_string(), String::new()))
        .collect();
        assert_eq!(
            snapshot_pages(&objects, "releases/aaa/").collect::<Vec<_>>(),
            vec!["catalogue.html", "product/1.html", "sitemap.xml"]
        );
    }
}
