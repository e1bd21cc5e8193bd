//! The release and rollback run against moto_server (a fake S3 and CloudFront on loopback), called
//! by `cargo xtask test`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use unishop_stack::moto::MotoServer;
use unishop_stack::site::config_json;

use super::plan::{check_inline_scripts, inline_scripts};
use super::uploads::{bucket_differences, list_objects, Bucket};
use super::{
    now_nanos, run_release, run_rollback, ReleaseArgs, RollbackArgs, Target, CACHE_IMAGES,
    CACHE_IMMUTABLE, CACHE_NO_CACHE,
};
use crate::aws::Aws;
use crate::process::{repo_root, run_stdout};

/// A fake Trunk output: index.html with an inline module initializer, hashed wasm/js/css, images,
/// and a dev config.json that the release must not publish.
pub(super) fn write_fake_dist(
    dir: &Path,
    hash: &str,
    css_hash: &str,
    wasm_bytes: &[u8],
) -> Result<(), String> {
    let images = dir.join("images");
    for folder in [images.clone(), dir.join("product")] {
        std::fs::create_dir_all(&folder)
            .map_err(|e| format!("cannot create {}: {e}", folder.display()))?;
    }
    let index = format!(
        r#"<!DOCTYPE html><html lang="en"><head>
<meta charset="utf-8" /><title>The Unicorn Shop</title>
<link rel="stylesheet" href="/style-{css_hash}.css" integrity="sha384-x"/>
<link rel="icon" href="/images/favicon.svg" type="image/svg+xml" />
<link rel="modulepreload" href="/unishop-{hash}.js" crossorigin="anonymous"></head>
<body><noscript>needs JavaScript</noscript>
{loader}</body></html>
"#,
        loader = crate::build::loader_scripts(
            &format!("unishop-{hash}.js"),
            &format!("unishop-{hash}_bg.wasm")
        )?
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
        (
            dir.join("product").join("float.html"),
            format!("<html><body>a prerendered page of release {hash}</body></html>\n")
                .into_bytes(),
        ),
    ];
    for (path, bytes) in files {
        std::fs::write(&path, bytes)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

/// (ContentType, CacheControl, ETag) of an object.
pub(super) fn head_object(
    aws: &Aws,
    bucket: &Bucket,
    key: &str,
) -> Result<(String, String, String), String> {
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

pub(super) fn get_object_text(
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

pub(super) fn check(
    condition: bool,
    what: impl Into<String>,
    passed: &mut Vec<String>,
) -> Result<(), String> {
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

pub(super) fn moto_test_in(scratch: &Path) -> Result<usize, String> {
    let server = MotoServer::start(&scratch.join("moto_server.log"))?;
    println!("moto_server on {}", server.url);
    let aws = Aws::for_moto(&server.url);
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
        build: crate::build::BuildArgs::local(),
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
    let csp = unishop_stack::site::content_security_policy(&repo_root())?;
    let loader = inline_scripts(&page1);
    check(
        loader.len() == 2 && check_inline_scripts("index.html", &page1, &csp).is_ok(),
        format!(
            "index.html's {} inline scripts are the loader's two, which the CSP allows",
            loader.len()
        ),
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
    let product1 = format!("a prerendered page of release {}", "3f2a9c1d0b7e6a54");
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
        let product = get_object_text(&aws, bucket, "product/float.html", scratch)?;
        let (ct, cc, _) = head_object(&aws, bucket, "product/float.html")?;
        check(
            product.contains(&product1) && ct.starts_with("text/html") && cc == CACHE_NO_CACHE,
            format!(
                "{}/product/float.html is release 1's prerendered page again",
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
