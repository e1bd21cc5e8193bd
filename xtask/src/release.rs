//! `cargo xtask release` and `cargo xtask rollback`: publish the storefront (`dist/`) to the site
//! buckets of both regions through the `aws` CLI.
//!
//! Order of a release, per the hot-standby rules (infra/README.md):
//! 1. hashed assets and images to BOTH buckets (`public, max-age=31536000, immutable` for hashed
//!    names, a day for images), with explicit content types (`application/wasm`);
//! 2. the release's snapshot, `releases/<id>/index.html` and `releases/<id>/config.json`;
//! 3. each bucket's own `config.json` (`no-cache`), then `index.html` (`no-cache`) last;
//! 4. the two buckets are compared (keys and ETags; `config.json` differs by design);
//! 5. an invalidation of `/index.html` and `/config.json` when a distribution is given.
//!
//! Nothing is ever deleted, so the previous release's hashed assets stay for pages already open.
//! Unchanged objects (same key, ETag = MD5 of the bytes) are skipped, so a repeated release uploads
//! nothing. The CSP forbids inline scripts, so the release moves the inline module script Trunk
//! injects into index.html to a hashed `boot-<hash>.js` file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::infra::{command_line, run_stdout};

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
    /// Use the existing dist/ instead of running `trunk build --release`.
    #[arg(long)]
    pub skip_build: bool,
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

/// Re-publish an earlier release's `index.html` and `config.json` in both buckets.
pub fn rollback(args: &RollbackArgs) -> Result<(), String> {
    run_rollback(args, &Aws::from_env(args.target.endpoint_url.clone()))
}

// ------------------------------------------------------------------------------------------------
// the aws CLI

/// How to call the `aws` CLI: optional endpoint override and extra environment (tests).
#[derive(Debug, Clone, Default)]
pub(crate) struct Aws {
    endpoint_url: Option<String>,
    env: Vec<(String, String)>,
    env_remove: Vec<String>,
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

#[derive(Debug, Clone)]
struct Bucket {
    name: String,
    region: String,
}

impl Bucket {
    fn url(&self) -> String {
        format!("s3://{}", self.name)
    }
}

/// key -> ETag (without quotes) of every object in the bucket.
fn list_objects(aws: &Aws, bucket: &Bucket) -> Result<BTreeMap<String, String>, String> {
    let mut cmd = aws.command(
        &bucket.region,
        &[
            "s3api",
            "list-objects-v2",
            "--bucket",
            &bucket.name,
            "--query",
            "Contents[].[Key,ETag]",
            "--output",
            "text",
        ],
    );
    let text = run_stdout(&mut cmd)?;
    let mut objects = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() || line == "None" {
            continue;
        }
        let (key, etag) = line.rsplit_once('\t').ok_or_else(|| {
            format!(
                "unexpected list-objects-v2 line for {}: {line:?}",
                bucket.url()
            )
        })?;
        objects.insert(key.to_string(), etag.trim_matches('"').to_string());
    }
    Ok(objects)
}

fn put_object_command(aws: &Aws, bucket: &Bucket, object: &Object) -> Command {
    let body = object.path.to_string_lossy();
    aws.command(
        &bucket.region,
        &[
            "s3api",
            "put-object",
            "--bucket",
            &bucket.name,
            "--key",
            &object.key,
            "--body",
            &body,
            "--content-type",
            object.content_type,
            "--cache-control",
            object.cache_control,
            "--query",
            "ETag",
            "--output",
            "text",
        ],
    )
}

fn invalidation_command(aws: &Aws, distribution: &str) -> Command {
    // CloudFront is global; its API lives in us-east-1.
    aws.command(
        "us-east-1",
        &[
            "cloudfront",
            "create-invalidation",
            "--distribution-id",
            distribution,
            "--paths",
            "/index.html",
            "/config.json",
            "--query",
            "Invalidation.Id",
            "--output",
            "text",
        ],
    )
}

// ------------------------------------------------------------------------------------------------
// classification of files

/// Content type to upload `key` with; `None` for an unknown extension.
pub fn content_type(key: &str) -> Option<&'static str> {
    let name = key.rsplit('/').next().unwrap_or(key);
    let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "txt" => "text/plain; charset=utf-8",
        "xml" => "application/xml",
        _ => return None,
    })
}

/// Whether a name part ends in a Trunk/wasm-bindgen content hash: `-` then 8 to 16 hex digits.
fn ends_with_hash(part: &str) -> bool {
    let part = part.strip_suffix("_bg").unwrap_or(part);
    match part.rsplit_once('-') {
        Some((stem, hash)) => {
            !stem.is_empty()
                && (8..=16).contains(&hash.len())
                && hash
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        }
        None => false,
    }
}

/// Whether `key` names content-addressed bytes (its file name or a directory carries a hash).
pub fn is_hashed(key: &str) -> bool {
    let mut parts: Vec<&str> = key.split('/').collect();
    let file = parts.pop().unwrap_or_default();
    let stem = file.rsplit_once('.').map_or(file, |(stem, _)| stem);
    ends_with_hash(stem) || parts.iter().any(|dir| ends_with_hash(dir))
}

/// `Cache-Control` to upload `key` with.
pub fn cache_control(key: &str) -> &'static str {
    if key == "index.html"
        || key == "config.json"
        || (key.starts_with(RELEASES_PREFIX)
            && (key.ends_with("/index.html") || key.ends_with("/config.json")))
    {
        CACHE_NO_CACHE
    } else if is_hashed(key) {
        CACHE_IMMUTABLE
    } else if key.starts_with("images/") {
        CACHE_IMAGES
    } else {
        CACHE_SHORT
    }
}

/// The per-bucket `config.json`: the legacy shape plus `standbyHost`.
pub fn config_json(host: &str, region: &str, standby_host: &str) -> String {
    format!(
        "{{\"host\": {}, \"region\": {}, \"standbyHost\": {}}}\n",
        json_string(host),
        json_string(region),
        json_string(standby_host)
    )
}

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Moves inline `<script>` elements (Trunk's module initializer) into files, so the page runs
/// under a CSP without `'unsafe-inline'`. Returns the new HTML and the (file name, contents) pairs;
/// file names are `boot-<16 hex of the MD5>.js`, so they are hashed assets.
pub fn externalize_inline_scripts(html: &str) -> (String, Vec<(String, String)>) {
    let mut out = String::with_capacity(html.len());
    let mut files = Vec::new();
    let mut rest = html;
    while let Some(start) = find_ci(rest, "<script") {
        let after_name = &rest[start + "<script".len()..];
        let is_tag = after_name
            .chars()
            .next()
            .is_some_and(|c| c == '>' || c.is_whitespace());
        let Some(tag_end) = after_name.find('>') else {
            break;
        };
        let attrs = &after_name[..tag_end];
        let body_start = start + "<script".len() + tag_end + 1;
        let Some(close) = find_ci(&rest[body_start..], "</script>") else {
            break;
        };
        let body = &rest[body_start..body_start + close];
        let end = body_start + close + "</script>".len();
        let kind = attr_value(attrs, "type")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let javascript = matches!(kind.as_str(), "" | "module" | "text/javascript");
        if !is_tag || attr_value(attrs, "src").is_some() || !javascript || body.trim().is_empty() {
            out.push_str(&rest[..end]);
        } else {
            let name = format!("boot-{}.js", &md5_hex(body.as_bytes())[..16]);
            let type_attr = if kind == "module" {
                " type=\"module\""
            } else {
                ""
            };
            out.push_str(&rest[..start]);
            out.push_str(&format!("<script{type_attr} src=\"/{name}\"></script>"));
            files.push((name, body.to_string()));
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    (out, files)
}

fn find_ci(haystack: &str, needle: &str) -> Option<usize> {
    haystack
        .to_ascii_lowercase()
        .find(&needle.to_ascii_lowercase())
}

/// Value of attribute `name` in a tag's attribute text (quoted or bare).
fn attr_value(attrs: &str, name: &str) -> Option<String> {
    let lower = attrs.to_ascii_lowercase();
    let mut from = 0;
    while let Some(pos) = lower[from..].find(name) {
        let at = from + pos;
        from = at + name.len();
        let before_ok = at == 0 || lower.as_bytes()[at - 1].is_ascii_whitespace();
        let after = lower[from..].trim_start();
        if !before_ok {
            continue;
        }
        let Some(value) = after.strip_prefix('=') else {
            if after.is_empty() || after.starts_with(|c: char| c.is_whitespace() || c == '/') {
                return Some(String::new());
            }
            continue;
        };
        let offset = attrs.len() - value.len();
        let value = attrs[offset..].trim_start();
        return Some(match value.chars().next() {
            Some(q @ ('"' | '\'')) => value[1..].split(q).next().unwrap_or_default().to_string(),
            _ => value
                .split(|c: char| c.is_whitespace() || c == '>')
                .next()
                .unwrap_or_default()
                .to_string(),
        });
    }
    None
}

/// Root-relative URLs (`/x`, not `//x`) in `src=` and `href=` attributes, as bucket keys.
pub fn referenced_keys(html: &str) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    for attr in ["src=\"", "href=\""] {
        for (pos, _) in html.match_indices(attr) {
            let value = &html[pos + attr.len()..];
            let value = value.split('"').next().unwrap_or_default();
            if let Some(path) = value.strip_prefix('/') {
                if !path.starts_with('/') && !path.is_empty() {
                    let path = path.split(['?', '#']).next().unwrap_or_default();
                    keys.insert(path.to_string());
                }
            }
        }
    }
    keys
}

// ------------------------------------------------------------------------------------------------
// the release plan

/// One object to put: its key, the local file holding its bytes and how to serve it.
#[derive(Debug, Clone)]
struct Object {
    key: String,
    path: PathBuf,
    md5: String,
    size: u64,
    content_type: &'static str,
    cache_control: &'static str,
}

impl Object {
    fn new(key: String, path: PathBuf, bytes: &[u8]) -> Result<Object, String> {
        let content_type = content_type(&key).ok_or_else(|| {
            format!("{key}: unknown file type; add its extension to xtask/src/release.rs content_type()")
        })?;
        Ok(Object {
            cache_control: cache_control(&key),
            content_type,
            md5: md5_hex(bytes),
            size: bytes.len() as u64,
            key,
            path,
        })
    }
}

/// What a release puts where, in order.
#[derive(Debug)]
struct Plan {
    id: String,
    /// Same bytes in both buckets: assets first, then the snapshot's index.html.
    assets: Vec<Object>,
    snapshot_index: Object,
    index: Object,
    /// Per bucket (primary, standby): snapshot config, live config.
    configs: Vec<(Object, Object)>,
}

/// Files of `dist/`, keyed by their path relative to it (`/`-separated).
fn read_dist(dist: &Path) -> Result<BTreeMap<String, PathBuf>, String> {
    fn walk(dir: &Path, prefix: &str, out: &mut BTreeMap<String, PathBuf>) -> Result<(), String> {
        let entries =
            std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        for entry in entries {
            let entry = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            let key = format!("{prefix}{name}");
            if path.is_dir() {
                walk(&path, &format!("{key}/"), out)?;
            } else {
                out.insert(key, path);
            }
        }
        Ok(())
    }
    let mut files = BTreeMap::new();
    walk(dist, "", &mut files)?;
    Ok(files)
}

/// Release id: the first 12 hex digits of an MD5 over every published file's key and MD5, so the
/// same build always gets the same id and any change to a file gives a new one.
fn release_id(objects: &[&Object]) -> String {
    let mut manifest: Vec<String> = objects
        .iter()
        .map(|o| format!("{} {}\n", o.key, o.md5))
        .collect();
    manifest.sort();
    md5_hex(manifest.concat().as_bytes())[..12].to_string()
}

fn build_plan(
    dist: &Path,
    staging: &Path,
    buckets: &[Bucket],
    args: &ReleaseArgs,
) -> Result<Plan, String> {
    let files = read_dist(dist)?;
    let index_path = files.get("index.html").ok_or_else(|| {
        format!(
            "{} has no index.html; build the storefront first",
            dist.display()
        )
    })?;
    let html = std::fs::read_to_string(index_path)
        .map_err(|e| format!("cannot read {}: {e}", index_path.display()))?;
    let (html, boot_files) = externalize_inline_scripts(&html);
    std::fs::create_dir_all(staging)
        .map_err(|e| format!("cannot create {}: {e}", staging.display()))?;
    let write = |name: &str, bytes: &[u8]| -> Result<PathBuf, String> {
        let path = staging.join(name.replace('/', "__"));
        std::fs::write(&path, bytes)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(path)
    };

    let mut assets = Vec::new();
    for (key, path) in &files {
        // index.html is published last; config.json in dist/ is the dev copy, replaced per bucket.
        if key == "index.html" || key == "config.json" || key.starts_with(RELEASES_PREFIX) {
            continue;
        }
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        assets.push(Object::new(key.clone(), path.clone(), &bytes)?);
    }
    for (name, body) in &boot_files {
        let path = write(name, body.as_bytes())?;
        assets.push(Object::new(name.clone(), path, body.as_bytes())?);
    }
    // Hashed files first, so nothing unhashed that might point at them goes out before them.
    assets.sort_by(|a, b| (!is_hashed(&a.key), &a.key).cmp(&(!is_hashed(&b.key), &b.key)));
    for key in referenced_keys(&html) {
        if !assets.iter().any(|a| a.key == key) && key != "config.json" {
            return Err(format!(
                "index.html references /{key}, which is not in {}",
                dist.display()
            ));
        }
    }

    let index_file = write("index.html", html.as_bytes())?;
    let index = Object::new("index.html".into(), index_file.clone(), html.as_bytes())?;
    let mut everything: Vec<&Object> = assets.iter().collect();
    everything.push(&index);
    let id = release_id(&everything);
    let snapshot_index = Object::new(
        format!("{RELEASES_PREFIX}{id}/index.html"),
        index_file,
        html.as_bytes(),
    )?;

    let mut configs = Vec::new();
    for bucket in buckets {
        let json = config_json(&args.api_host, &bucket.region, &args.standby_host);
        let path = write(&format!("config-{}.json", bucket.name), json.as_bytes())?;
        configs.push((
            Object::new(
                format!("{RELEASES_PREFIX}{id}/config.json"),
                path.clone(),
                json.as_bytes(),
            )?,
            Object::new("config.json".into(), path, json.as_bytes())?,
        ));
    }
    Ok(Plan {
        id,
        assets,
        snapshot_index,
        index,
        configs,
    })
}

/// One upload of a phase.
struct Upload<'a> {
    bucket: &'a Bucket,
    object: &'a Object,
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

fn repo_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
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
        println!("building the storefront: trunk build --release");
        let status = Command::new("trunk")
            .args(["build", "--release"])
            .current_dir(&root)
            .status()
            .map_err(|e| format!("could not run `trunk build --release` (is trunk installed? `cargo xtask setup`): {e}"))?;
        if !status.success() {
            return Err(format!("`trunk build --release` failed ({status})"));
        }
    }
    let buckets = vec![
        Bucket {
            name: args.target.primary_bucket.clone(),
            region: args.target.primary_region.clone(),
        },
        Bucket {
            name: args.target.standby_bucket.clone(),
            region: args.target.standby_region.clone(),
        },
    ];
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
    let total_bytes: u64 = plan.assets.iter().map(|a| a.size).sum::<u64>() + plan.index.size;
    println!(
        "release {}: {} files ({}) from {} -> {}",
        plan.id,
        plan.assets.len() + 2,
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
        snapshot.push(Upload {
            bucket,
            object: &plan.snapshot_index,
        });
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

fn upload_all(
    aws: &Aws,
    uploads: &[Upload],
    jobs: usize,
    done: &AtomicUsize,
    total: usize,
) -> Result<(), String> {
    let next = AtomicUsize::new(0);
    let errors = Mutex::new(Vec::new());
    let width = total.to_string().len();
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(uploads.len()) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(upload) = uploads.get(i) else { break };
                if errors.lock().map(|e| !e.is_empty()).unwrap_or(true) {
                    break;
                }
                let object = upload.object;
                let result = run_stdout(&mut put_object_command(aws, upload.bucket, object));
                match result {
                    Ok(etag) => {
                        let n = done.fetch_add(1, Ordering::SeqCst) + 1;
                        let etag = etag.trim().trim_matches('"');
                        let note = if etag == object.md5 {
                            ""
                        } else {
                            "  (ETag is not the MD5: bucket not SSE-S3? later releases re-upload it)"
                        };
                        println!(
                            "  [{n:>width$}/{total}] {}/{}  {}  {}{note}",
                            upload.bucket.url(),
                            object.key,
                            human_bytes(object.size),
                            object.content_type
                        );
                    }
                    Err(e) => {
                        if let Ok(mut errors) = errors.lock() {
                            errors.push(format!("upload of {}/{} failed: {e}", upload.bucket.url(), object.key));
                        }
                    }
                }
            });
        }
    });
    let errors = errors.into_inner().unwrap_or_default();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}\nnothing was deleted; fix the cause and run the release again (it skips what is already there)",
            errors.join("\n")
        ))
    }
}

/// Keys whose content differs per bucket by design (the region in config.json).
fn per_bucket_key(key: &str) -> bool {
    key == "config.json" || (key.starts_with(RELEASES_PREFIX) && key.ends_with("/config.json"))
}

/// Compares both buckets' keys and ETags; returns the number of objects.
fn compare_buckets(aws: &Aws, buckets: &[Bucket]) -> Result<usize, String> {
    let a = list_objects(aws, &buckets[0])?;
    let b = list_objects(aws, &buckets[1])?;
    let differences = bucket_differences(&a, &b);
    if differences.is_empty() {
        return Ok(a.len());
    }
    let shown: Vec<String> = differences.iter().take(20).cloned().collect();
    Err(format!(
        "{} and {} differ ({} differences; the site would change when CloudFront fails over):\n  {}{}\n\
         repair: run the release again, or copy the missing objects with \
         `aws s3 cp s3://<from>/<key> s3://<to>/<key> --metadata-directive COPY`",
        buckets[0].url(),
        buckets[1].url(),
        differences.len(),
        shown.join("\n  "),
        if differences.len() > shown.len() {
            "\n  ..."
        } else {
            ""
        }
    ))
}

fn bucket_differences(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> Vec<String> {
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    let mut out = Vec::new();
    for key in keys {
        match (a.get(key), b.get(key)) {
            (Some(_), None) => out.push(format!("{key}: only in the primary bucket")),
            (None, Some(_)) => out.push(format!("{key}: only in the standby bucket")),
            (Some(x), Some(y)) if x != y && !per_bucket_key(key) => out.push(format!(
                "{key}: ETag {x} in the primary, {y} in the standby"
            )),
            _ => {}
        }
    }
    out
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

// ------------------------------------------------------------------------------------------------
// rollback

fn copy_object_command(aws: &Aws, bucket: &Bucket, from: &str, to: &str) -> Command {
    let source = format!("{}/{from}", bucket.name);
    aws.command(
        &bucket.region,
        &[
            "s3api",
            "copy-object",
            "--bucket",
            &bucket.name,
            "--copy-source",
            &source,
            "--key",
            to,
            "--metadata-directive",
            "REPLACE",
            "--content-type",
            content_type(to).unwrap_or("application/octet-stream"),
            "--cache-control",
            CACHE_NO_CACHE,
            "--query",
            "CopyObjectResult.ETag",
            "--output",
            "text",
        ],
    )
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
    let buckets = [
        Bucket {
            name: args.target.primary_bucket.clone(),
            region: args.target.primary_region.clone(),
        },
        Bucket {
            name: args.target.standby_bucket.clone(),
            region: args.target.standby_region.clone(),
        },
    ];
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
            if key != "config.json" && !objects.contains_key(&key) {
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

// ------------------------------------------------------------------------------------------------
// S3's ETag of a single-part upload to an SSE-S3 bucket is the MD5 of the bytes.

pub fn md5_hex(data: &[u8]) -> String {
    use md5::{Digest, Md5};
    Md5::digest(data)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

// ------------------------------------------------------------------------------------------------
// test against moto_server (called by `cargo xtask test`)

/// A moto_server child process, killed when dropped (also on failure paths).
pub(crate) struct MotoServer {
    child: Child,
    pub(crate) url: String,
}

impl MotoServer {
    /// Starts moto_server on a free loopback port, logging to `log`, and waits until it listens.
    pub(crate) fn start(log: &Path) -> Result<MotoServer, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("cannot find a free port: {e}"))?
            .port();
        let log_file = std::fs::File::create(log)
            .map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let log_err = log_file
            .try_clone()
            .map_err(|e| format!("cannot reuse {}: {e}", log.display()))?;
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(log_err)
            .spawn()
            .map_err(|e| {
                format!("cannot start moto_server ({e}); install it with `cargo xtask setup` (pip install \"moto[server]\")")
            })?;
        let mut server = MotoServer {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(server);
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!(
                    "moto_server exited ({status}); see {}",
                    log.display()
                ));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "moto_server did not listen on port {port} within 30 s; see {}",
                    log.display()
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fake Trunk output: index.html with an inline module initializer, hashed wasm/js/css, images,
/// and a dev config.json that the release must not publish.
fn write_fake_dist(
    dir: &Path,
    hash: &str,
    css_hash: &str,
    wasm_bytes: &[u8],
) -> Result<(), String> {
    let images = dir.join("images");
    std::fs::create_dir_all(&images)
        .map_err(|e| format!("cannot create {}: {e}", images.display()))?;
    let index = format!(
        r#"<!DOCTYPE html><html lang="en"><head>
<meta charset="utf-8" /><title>The Unicorn Shop</title>
<link rel="stylesheet" href="/style-{css_hash}.css" integrity="sha384-x"/>
<link rel="icon" href="/images/favicon.svg" type="image/svg+xml" />
<link rel="modulepreload" href="/unishop-{hash}.js" crossorigin="anonymous" integrity="sha384-y">
<link rel="preload" href="/unishop-{hash}_bg.wasm" crossorigin="anonymous" integrity="sha384-z" as="fetch" type="application/wasm"></head>
<body><noscript>needs JavaScript</noscript>
<script type="module">
import init, * as bindings from '/unishop-{hash}.js';
const wasm = await init({{ module_or_path: '/unishop-{hash}_bg.wasm' }});
window.wasmBindings = bindings;
dispatchEvent(new CustomEvent("TrunkApplicationStarted", {{detail: {{wasm}}}}));
</script></body></html>
"#
    );
    let files: Vec<(PathBuf, Vec<u8>)> = vec![
        (dir.join("index.html"), index.into_bytes()),
        (
            dir.join(format!("unishop-{hash}_bg.wasm")),
            wasm_bytes.to_vec(),
        ),
        (
            dir.join(format!("unishop-{hash}.js")),
            format!("export default async function init() {{ /* {hash} */ }}\n").into_bytes(),
        ),
        (
            dir.join(format!("style-{css_hash}.css")),
            format!("body {{ color: #222; }} /* {css_hash} */\n").into_bytes(),
        ),
        (
            images.join("favicon.svg"),
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>\n".to_vec(),
        ),
        (
            images.join("unicorn-float.svg"),
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"><circle r=\"4\"/></svg>\n".to_vec(),
        ),
        (
            dir.join("config.json"),
            b"{\"host\": \"/api\", \"region\": \"local\"}\n".to_vec(),
        ),
    ];
    for (path, bytes) in files {
        std::fs::write(&path, bytes)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

/// (ContentType, CacheControl, ETag) of an object.
fn head_object(aws: &Aws, bucket: &Bucket, key: &str) -> Result<(String, String, String), String> {
    let mut cmd = aws.command(
        &bucket.region,
        &[
            "s3api",
            "head-object",
            "--bucket",
            &bucket.name,
            "--key",
            key,
            "--query",
            "[ContentType,CacheControl,ETag]",
            "--output",
            "text",
        ],
    );
    let out = run_stdout(&mut cmd)?;
    let fields: Vec<&str> = out.trim_end().split('\t').collect();
    match fields.as_slice() {
        [ct, cc, etag] => Ok((
            ct.to_string(),
            cc.to_string(),
            etag.trim_matches('"').to_string(),
        )),
        _ => Err(format!("unexpected head-object output for {key}: {out:?}")),
    }
}

fn get_object_text(
    aws: &Aws,
    bucket: &Bucket,
    key: &str,
    scratch: &Path,
) -> Result<String, String> {
    let path = scratch.join(format!("get-{}-{}", bucket.name, key.replace('/', "__")));
    let path_text = path.to_string_lossy().into_owned();
    let mut cmd = aws.command(
        &bucket.region,
        &[
            "s3api",
            "get-object",
            "--bucket",
            &bucket.name,
            "--key",
            key,
            &path_text,
        ],
    );
    run_stdout(&mut cmd)?;
    std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn check(condition: bool, what: impl Into<String>, passed: &mut Vec<String>) -> Result<(), String> {
    let what = what.into();
    if condition {
        println!("  ok  {what}");
        passed.push(what);
        Ok(())
    } else {
        Err(format!("moto release test: {what}: FAILED"))
    }
}

/// Runs release and rollback against a local `moto_server` with one versioned bucket in us-east-1
/// and one in us-west-1, on a fake dist/ (no trunk needed), and checks content types, cache headers,
/// identical key/ETag sets, idempotence, kept assets and rollback. Kills moto_server at the end.
pub fn test_release_against_moto(repo_root: &Path) -> Result<(), String> {
    let _ = repo_root; // the test builds its own dist/ in a temp dir
    let started = Instant::now();
    let scratch = std::env::temp_dir().join(format!(
        "unishop-moto-test-{}-{}",
        std::process::id(),
        now_nanos()
    ));
    std::fs::create_dir_all(&scratch)
        .map_err(|e| format!("cannot create {}: {e}", scratch.display()))?;
    let result = moto_test_in(&scratch);
    match &result {
        Ok(n) => {
            println!(
                "moto release test: {n} checks passed in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            let _ = std::fs::remove_dir_all(&scratch);
        }
        Err(_) => println!("moto release test: files kept in {}", scratch.display()),
    }
    result.map(|_| ())
}

fn moto_test_in(scratch: &Path) -> Result<usize, String> {
    let server = MotoServer::start(&scratch.join("moto_server.log"))?;
    println!("moto_server on {}", server.url);
    let aws = Aws {
        endpoint_url: Some(server.url.clone()),
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
    };
    let primary = Bucket {
        name: "unishop-site-us-east-1".into(),
        region: "us-east-1".into(),
    };
    let standby = Bucket {
        name: "unishop-site-us-west-1".into(),
        region: "us-west-1".into(),
    };
    run_stdout(&mut aws.command(
        "us-east-1",
        &["s3api", "create-bucket", "--bucket", &primary.name],
    ))?;
    run_stdout(&mut aws.command(
        "us-west-1",
        &[
            "s3api",
            "create-bucket",
            "--bucket",
            &standby.name,
            "--create-bucket-configuration",
            "LocationConstraint=us-west-1",
        ],
    ))?;
    for bucket in [&primary, &standby] {
        run_stdout(&mut aws.command(
            &bucket.region,
            &[
                "s3api",
                "put-bucket-versioning",
                "--bucket",
                &bucket.name,
                "--versioning-configuration",
                "Status=Enabled",
            ],
        ))?;
    }
    let buckets = [primary.clone(), standby.clone()];
    let mut passed = Vec::new();

    let dist1 = scratch.join("dist1");
    let dist2 = scratch.join("dist2");
    write_fake_dist(
        &dist1,
        "3f2a9c1d0b7e6a54",
        "99aa00bb11cc22dd",
        b"\0asm\x01\0\0\0release-one",
    )?;
    write_fake_dist(
        &dist2,
        "0c1d2e3f4a5b6c7d",
        "1122334455667788",
        b"\0asm\x01\0\0\0release-two",
    )?;
    let target = Target {
        primary_bucket: primary.name.clone(),
        standby_bucket: standby.name.clone(),
        primary_region: primary.region.clone(),
        standby_region: standby.region.clone(),
        distribution: None,
        endpoint_url: Some(server.url.clone()),
        dry_run: false,
    };
    let args = |dist: &Path| ReleaseArgs {
        target: target.clone(),
        api_host: "/api".into(),
        standby_host: "/api-standby".into(),
        dist: dist.to_path_buf(),
        skip_build: true,
        force: false,
        jobs: 4,
    };

    println!("-- release 1");
    let first = run_release(&args(&dist1), &aws)?;
    check(
        first.uploaded() > 0,
        format!(
            "release 1 ({}) uploaded {} objects",
            first.id,
            first.uploaded()
        ),
        &mut passed,
    )?;
    let expectations = [
        (
            "unishop-3f2a9c1d0b7e6a54_bg.wasm",
            "application/wasm",
            CACHE_IMMUTABLE,
        ),
        (
            "unishop-3f2a9c1d0b7e6a54.js",
            "text/javascript; charset=utf-8",
            CACHE_IMMUTABLE,
        ),
        (
            "style-99aa00bb11cc22dd.css",
            "text/css; charset=utf-8",
            CACHE_IMMUTABLE,
        ),
        ("images/unicorn-float.svg", "image/svg+xml", CACHE_IMAGES),
        ("index.html", "text/html; charset=utf-8", CACHE_NO_CACHE),
        ("config.json", "application/json", CACHE_NO_CACHE),
    ];
    for bucket in &buckets {
        for (key, ct, cc) in expectations {
            let (got_ct, got_cc, _) = head_object(&aws, bucket, key)?;
            check(
                got_ct == ct && got_cc == cc,
                format!("{}/{key}: {got_ct:?} / {got_cc:?}", bucket.url()),
                &mut passed,
            )?;
        }
        let config = get_object_text(&aws, bucket, "config.json", scratch)?;
        let expected = config_json("/api", &bucket.region, "/api-standby");
        check(
            config == expected,
            format!("{}/config.json is {}", bucket.url(), config.trim()),
            &mut passed,
        )?;
    }
    let page1 = get_object_text(&aws, &primary, "index.html", scratch)?;
    let boot: Vec<String> = referenced_keys(&page1)
        .into_iter()
        .filter(|k| k.starts_with("boot-"))
        .collect();
    check(
        !page1.contains("import init") && boot.len() == 1,
        format!(
            "index.html has no inline script; initializer moved to /{}",
            boot.join(", ")
        ),
        &mut passed,
    )?;
    let (boot_ct, boot_cc, _) = head_object(&aws, &primary, &boot[0])?;
    check(
        boot_ct.starts_with("text/javascript") && boot_cc == CACHE_IMMUTABLE,
        format!("{} is {boot_ct:?} / {boot_cc:?}", boot[0]),
        &mut passed,
    )?;
    let a = list_objects(&aws, &primary)?;
    let b = list_objects(&aws, &standby)?;
    check(
        bucket_differences(&a, &b).is_empty() && a.len() == b.len(),
        format!(
            "both buckets hold the same {} keys with the same ETags",
            a.len()
        ),
        &mut passed,
    )?;
    check(
        !a.contains_key("releases/") && a.keys().all(|k| !k.contains("local")),
        "dist/config.json (dev copy) was not published as is",
        &mut passed,
    )?;

    println!("-- release 1 again");
    let again = run_release(&args(&dist1), &aws)?;
    check(
        again.uploaded() == 0 && again.id == first.id,
        format!(
            "second release of the same build uploaded {} objects (idempotent)",
            again.uploaded()
        ),
        &mut passed,
    )?;

    println!("-- release 2 (new hashes)");
    let second = run_release(&args(&dist2), &aws)?;
    check(
        second.id != first.id,
        format!("release 2 has a new id {}", second.id),
        &mut passed,
    )?;
    let after = list_objects(&aws, &primary)?;
    let after_standby = list_objects(&aws, &standby)?;
    for key in [
        "unishop-3f2a9c1d0b7e6a54_bg.wasm",
        "unishop-3f2a9c1d0b7e6a54.js",
        "style-99aa00bb11cc22dd.css",
    ] {
        check(
            after.contains_key(key)
                && after_standby.contains_key(key)
                && a.get(key) == after.get(key),
            format!("release 1 asset {key} kept in both buckets"),
            &mut passed,
        )?;
    }
    let page2 = get_object_text(&aws, &primary, "index.html", scratch)?;
    check(
        page2.contains("0c1d2e3f4a5b6c7d") && page2 != page1,
        "index.html is release 2's page",
        &mut passed,
    )?;

    println!("-- rollback to release 1");
    let rollback_args = RollbackArgs {
        to: first.id.clone(),
        target: target.clone(),
    };
    run_rollback(&rollback_args, &aws)?;
    for bucket in &buckets {
        let page = get_object_text(&aws, bucket, "index.html", scratch)?;
        let (ct, cc, _) = head_object(&aws, bucket, "index.html")?;
        check(
            page == page1 && ct.starts_with("text/html") && cc == CACHE_NO_CACHE,
            format!(
                "{}/index.html is release 1's page again ({ct:?} / {cc:?})",
                bucket.url()
            ),
            &mut passed,
        )?;
        let config = get_object_text(&aws, bucket, "config.json", scratch)?;
        check(
            config == config_json("/api", &bucket.region, "/api-standby"),
            format!("{}/config.json restored", bucket.url()),
            &mut passed,
        )?;
    }
    let unknown = RollbackArgs {
        to: "000000000000".into(),
        ..rollback_args
    };
    let err = run_rollback(&unknown, &aws).err().unwrap_or_default();
    check(
        err.contains(&first.id) && err.contains(&second.id),
        "rollback to an unknown id fails and lists the kept releases",
        &mut passed,
    )?;
    drop(server);
    Ok(passed.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_matches_rfc_1321_vectors() {
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5_hex(b"a"), "0cc175b9c0f1b6a831c399e269772661");
        assert_eq!(md5_hex(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(
            md5_hex(
                b"12345678901234567890123456789012345678901234567890123456789012345678901234567890"
            ),
            "57edf4a22be3c955ac49da2e2107b67a"
        );
    }

    #[test]
    fn content_types_are_explicit() {
        assert_eq!(
            content_type("unishop-3f2a9c1d0b7e6a54_bg.wasm"),
            Some("application/wasm")
        );
        assert_eq!(
            content_type("unishop-3f2a9c1d0b7e6a54.js"),
            Some("text/javascript; charset=utf-8")
        );
        assert_eq!(
            content_type("style-99aa00bb11cc22dd.css"),
            Some("text/css; charset=utf-8")
        );
        assert_eq!(content_type("index.html"), Some("text/html; charset=utf-8"));
        assert_eq!(content_type("config.json"), Some("application/json"));
        assert_eq!(
            content_type("images/UnicornFloat.SVG"),
            Some("image/svg+xml")
        );
        assert_eq!(content_type("README"), None);
        assert_eq!(content_type("x.exe"), None);
    }

    #[test]
    fn hashed_names_are_recognised() {
        assert!(is_hashed("unishop-3f2a9c1d0b7e6a54_bg.wasm"));
        assert!(is_hashed("unishop-3f2a9c1d0b7e6a5.js"));
        assert!(is_hashed("style-99aa00bb11cc22dd.css"));
        assert!(is_hashed("snippets/leptos-0123456789abcdef/inline0.js"));
        assert!(is_hashed("boot-0123456789abcdef.js"));
        assert!(!is_hashed("images/favicon.svg"));
        assert!(!is_hashed("images/unicorn-float.svg"));
        assert!(!is_hashed("index.html"));
        assert!(!is_hashed("style-main.css"));
        assert!(!is_hashed("-0123456789abcdef.js"));
    }

    #[test]
    fn cache_headers_by_kind() {
        assert_eq!(
            cache_control("unishop-3f2a9c1d0b7e6a54_bg.wasm"),
            CACHE_IMMUTABLE
        );
        assert_eq!(cache_control("style-99aa00bb11cc22dd.css"), CACHE_IMMUTABLE);
        assert_eq!(cache_control("index.html"), CACHE_NO_CACHE);
        assert_eq!(cache_control("config.json"), CACHE_NO_CACHE);
        assert_eq!(
            cache_control("releases/0123456789ab/index.html"),
            CACHE_NO_CACHE
        );
        assert_eq!(cache_control("images/unicorn-float.svg"), CACHE_IMAGES);
        assert_eq!(cache_control("robots.txt"), CACHE_SHORT);
    }

    #[test]
    fn config_json_has_legacy_shape_and_standby_host() {
        assert_eq!(
            config_json("/api", "us-west-1", "/api-standby"),
            "{\"host\": \"/api\", \"region\": \"us-west-1\", \"standbyHost\": \"/api-standby\"}\n"
        );
        assert_eq!(json_string("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
    }

    #[test]
    fn inline_module_script_moves_to_a_hashed_file() {
        let html = "<head><script type=\"module\" nonce=\"x\">\nimport init from '/app-0123456789abcdef.js';\nawait init();\n</script>\
                    <script src=\"/keep.js\"></script><script type=\"application/ld+json\">{}</script></head>";
        let (out, files) = externalize_inline_scripts(html);
        assert_eq!(files.len(), 1);
        let (name, body) = &files[0];
        assert!(name.starts_with("boot-") && name.ends_with(".js") && is_hashed(name));
        assert!(body.contains("import init"));
        assert!(out.contains(&format!(
            "<script type=\"module\" src=\"/{name}\"></script>"
        )));
        assert!(out.contains("<script src=\"/keep.js\"></script>"));
        assert!(out.contains("application/ld+json"));
        assert!(!out.contains("import init"));
        // deterministic: same input, same file name
        assert_eq!(externalize_inline_scripts(html).1[0].0, *name);
        // nothing to do
        let plain = "<html><body><p>x</p></body></html>";
        assert_eq!(
            externalize_inline_scripts(plain),
            (plain.to_string(), vec![])
        );
    }

    #[test]
    fn referenced_keys_are_root_relative_only() {
        let html = r#"<link href="/style-1.css"><script src="/a.js?v=1"></script><a href="https://x/y"></a><img src="//cdn/x.png"><img src="/images/u.svg">"#;
        let keys: Vec<String> = referenced_keys(html).into_iter().collect();
        assert_eq!(keys, vec!["a.js", "images/u.svg", "style-1.css"]);
    }

    #[test]
    fn release_id_depends_on_every_file() {
        let obj = |key: &str, body: &[u8]| {
            Object::new(key.into(), PathBuf::from(key), body).expect("known type")
        };
        let a = obj("index.html", b"<html>");
        let b = obj("images/x.svg", b"<svg/>");
        let b2 = obj("images/x.svg", b"<svg></svg>");
        let id = release_id(&[&a, &b]);
        assert_eq!(id.len(), 12);
        assert_eq!(id, release_id(&[&b, &a]), "order does not matter");
        assert_ne!(
            id,
            release_id(&[&a, &b2]),
            "an unhashed image change gives a new id"
        );
    }

    #[test]
    fn bucket_comparison_ignores_only_per_region_config() {
        let map = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let a = map(&[
            ("index.html", "1"),
            ("config.json", "east"),
            ("releases/x/config.json", "e"),
            ("a.wasm", "2"),
        ]);
        let b = map(&[
            ("index.html", "1"),
            ("config.json", "west"),
            ("releases/x/config.json", "w"),
            ("a.wasm", "2"),
        ]);
        assert!(bucket_differences(&a, &b).is_empty());
        let c = map(&[
            ("index.html", "9"),
            ("config.json", "west"),
            ("releases/x/config.json", "w"),
        ]);
        let diffs = bucket_differences(&a, &c);
        assert_eq!(diffs.len(), 2, "{diffs:?}");
        assert!(diffs
            .iter()
            .any(|d| d.starts_with("a.wasm: only in the primary")));
        assert!(diffs.iter().any(|d| d.starts_with("index.html: ETag")));
    }

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
    fn attribute_values() {
        assert_eq!(
            attr_value(" type=\"module\" nonce=x", "type").as_deref(),
            Some("module")
        );
        assert_eq!(attr_value(" nonce=x", "nonce").as_deref(), Some("x"));
        assert_eq!(attr_value(" data-src=\"a\"", "src"), None);
        assert_eq!(attr_value(" async", "async").as_deref(), Some(""));
    }
}
