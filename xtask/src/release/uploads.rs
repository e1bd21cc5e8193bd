//! The S3 side of a release and a rollback: listing, uploading and copying objects in both site
//! buckets, comparing the buckets, and invalidating the distribution.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use unishop_stack::site::content_type;

use super::plan::{cache_control, Object};
use super::{human_bytes, RELEASES_PREFIX};
use crate::aws::Aws;
use crate::process::run_stdout;

#[derive(Debug, Clone)]
pub(super) struct Bucket {
    pub(super) name: String,
    pub(super) region: String,
}

impl Bucket {
    pub(super) fn url(&self) -> String {
        format!("s3://{}", self.name)
    }
}

/// key -> ETag (without quotes) of every object in the bucket.
pub(super) fn list_objects(aws: &Aws, bucket: &Bucket) -> Result<BTreeMap<String, String>, String> {
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

pub(super) fn put_object_command(aws: &Aws, bucket: &Bucket, object: &Object) -> Command {
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

pub(super) fn invalidation_command(aws: &Aws, distribution: &str) -> Command {
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

/// One upload of a phase.
pub(super) struct Upload<'a> {
    pub(super) bucket: &'a Bucket,
    pub(super) object: &'a Object,
}

pub(super) fn upload_all(
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
pub(super) fn per_bucket_key(key: &str) -> bool {
    key == "config.json" || (key.starts_with(RELEASES_PREFIX) && key.ends_with("/config.json"))
}

/// Compares both buckets' keys and ETags; returns the number of objects.
pub(super) fn compare_buckets(aws: &Aws, buckets: &[Bucket]) -> Result<usize, String> {
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

pub(super) fn bucket_differences(
    a: &BTreeMap<String, String>,
    b: &BTreeMap<String, String>,
) -> Vec<String> {
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

pub(super) fn copy_object_command(aws: &Aws, bucket: &Bucket, from: &str, to: &str) -> Command {
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
            cache_control(to),
            "--query",
            "CopyObjectResult.ETag",
            "--output",
            "text",
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
