//! What a release publishes, decided from `dist/` alone (no AWS): each file's content type and
//! cache header, the release id, the per-bucket `config.json`, and the order of the phases.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use unishop_stack::site::{config_json, content_type};

use super::uploads::Bucket;
use super::{
    ReleaseArgs, CACHE_IMAGES, CACHE_IMMUTABLE, CACHE_NO_CACHE, CACHE_SHORT, RELEASES_PREFIX,
};
use crate::process::repo_root;

/// Whether a name part ends in a Trunk/wasm-bindgen content hash: `-` then 8 to 16 hex digits.
pub(super) fn ends_with_hash(part: &str) -> bool {
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
    // Every page (the shell, the prerendered catalogue and product pages) names this release's
    // hashed files, so it is revalidated like index.html.
    if key.ends_with(".html")
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

/// The bodies of `html`'s inline scripts that run (the loader, Trunk.toml's `pattern_script`):
/// classic and module scripts without `src`, not data blocks such as JSON-LD.
pub fn inline_scripts(html: &str) -> Vec<&str> {
    let mut scripts = Vec::new();
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
        let kind = attr_value(attrs, "type")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let javascript = matches!(kind.as_str(), "" | "module" | "text/javascript");
        if is_tag && attr_value(attrs, "src").is_none() && javascript && !body.trim().is_empty() {
            scripts.push(body);
        }
        rest = &rest[body_start + close + "</script>".len()..];
    }
    scripts
}

/// The CSP source that allows an inline script with this exact text: `'sha256-<base64>'`.
pub fn script_hash_source(body: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    let digest = sha2::Sha256::digest(body.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// Checks that the site's CSP (`script-src`) allows every inline script of `page`; the error names
/// the hash sources to add to `infra/templates/edge.yaml`.
pub fn check_inline_scripts(page: &str, html: &str, csp: &str) -> Result<(), String> {
    let script_src = csp
        .split(';')
        .map(str::trim)
        .find(|directive| directive.starts_with("script-src"))
        .unwrap_or_default();
    let allowed: BTreeSet<&str> = script_src.split_whitespace().collect();
    let missing: Vec<String> = inline_scripts(html)
        .into_iter()
        .map(script_hash_source)
        .filter(|source| !allowed.contains(source.as_str()))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the site's CSP does not allow the inline scripts of {page} (Trunk.toml's pattern_script): \
             add {} to script-src in {}",
            missing.join(" "),
            unishop_stack::site::EDGE_TEMPLATE
        ))
    }
}

pub(super) fn find_ci(haystack: &str, needle: &str) -> Option<usize> {
    haystack
        .to_ascii_lowercase()
        .find(&needle.to_ascii_lowercase())
}

/// Value of attribute `name` in a tag's attribute text (quoted or bare).
pub(super) fn attr_value(attrs: &str, name: &str) -> Option<String> {
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

/// Root-relative URLs (`/x`, not `//x`) in quoted strings of a page or a script, as bucket keys:
/// `src="/x"` and `href="/x"` attributes, and string literals such as the loader's
/// `fetch("/x_bg.wasm")`.
pub fn referenced_keys(text: &str) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    for quote in ['"', '\''] {
        for (pos, _) in text.match_indices(&format!("{quote}/")) {
            let value = &text[pos + 1..];
            let Some(value) = value.split(quote).next() else {
                continue;
            };
            if value.contains(|c: char| c.is_whitespace() || c == '<' || c == '>') {
                continue;
            }
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

/// One object to put: its key, the local file holding its bytes and how to serve it.
#[derive(Debug, Clone)]
pub(super) struct Object {
    pub(super) key: String,
    pub(super) path: PathBuf,
    pub(super) md5: String,
    pub(super) size: u64,
    pub(super) content_type: &'static str,
    pub(super) cache_control: &'static str,
}

impl Object {
    pub(super) fn new(key: String, path: PathBuf, bytes: &[u8]) -> Result<Object, String> {
        let content_type = content_type(&key).ok_or_else(|| {
            format!("{key}: unknown file type; add its extension to crates/stack/src/site.rs content_type()")
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
pub(super) struct Plan {
    pub(super) id: String,
    /// Same bytes in both buckets: assets first, then the snapshot's pages, then the pages.
    pub(super) assets: Vec<Object>,
    /// The release's copy of every page, `releases/<id>/<key>`, index.html first.
    pub(super) snapshot_pages: Vec<Object>,
    /// The pages other than index.html (prerendered HTML, sitemap.xml, robots.txt).
    pub(super) pages: Vec<Object>,
    pub(super) index: Object,
    /// Per bucket (primary, standby): snapshot config, live config.
    pub(super) configs: Vec<(Object, Object)>,
}

/// Whether `key` is a page of the release (prerendered HTML, `sitemap.xml`, `robots.txt`): published
/// after the assets it names, kept in the release's snapshot and put back by a rollback.
pub(super) fn is_page(key: &str) -> bool {
    key.ends_with(".html") || key == "sitemap.xml" || key == "robots.txt"
}

/// Files of `dist/`, keyed by their path relative to it (`/`-separated).
pub(super) fn read_dist(dist: &Path) -> Result<BTreeMap<String, PathBuf>, String> {
    pub(super) fn walk(
        dir: &Path,
        prefix: &str,
        out: &mut BTreeMap<String, PathBuf>,
    ) -> Result<(), String> {
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
pub(super) fn release_id(objects: &[&Object]) -> String {
    let mut manifest: Vec<String> = objects
        .iter()
        .map(|o| format!("{} {}\n", o.key, o.md5))
        .collect();
    manifest.sort();
    md5_hex(manifest.concat().as_bytes())[..12].to_string()
}

pub(super) fn build_plan(
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
    let csp = unishop_stack::site::content_security_policy(&repo_root())?;
    check_inline_scripts("index.html", &html, &csp)?;
    std::fs::create_dir_all(staging)
        .map_err(|e| format!("cannot create {}: {e}", staging.display()))?;
    let write = |name: &str, bytes: &[u8]| -> Result<PathBuf, String> {
        let path = staging.join(name.replace('/', "__"));
        std::fs::write(&path, bytes)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(path)
    };

    let mut assets = Vec::new();
    let mut prerendered_pages = Vec::new();
    for (key, path) in &files {
        // index.html is published last; config.json in dist/ is the dev copy, replaced per bucket.
        if key == "index.html" || key == "config.json" || key.starts_with(RELEASES_PREFIX) {
            continue;
        }
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let object = Object::new(key.clone(), path.clone(), &bytes)?;
        if is_page(key) {
            prerendered_pages.push(object);
        } else {
            assets.push(object);
        }
    }
    // Hashed files first, so nothing unhashed that might point at them goes out before them.
    assets.sort_by(|a, b| (!is_hashed(&a.key), &a.key).cmp(&(!is_hashed(&b.key), &b.key)));
    for (page, text) in [("index.html", html.as_str())] {
        for key in referenced_keys(text) {
            if !assets.iter().any(|a| a.key == key) && !served_outside_dist(&key) {
                return Err(format!(
                    "{page} references /{key}, which is not in {}",
                    dist.display()
                ));
            }
        }
    }

    let index_file = write("index.html", html.as_bytes())?;
    let index = Object::new("index.html".into(), index_file.clone(), html.as_bytes())?;
    let mut everything: Vec<&Object> = assets.iter().chain(&prerendered_pages).collect();
    everything.push(&index);
    let id = release_id(&everything);
    let mut snapshot_pages = vec![Object::new(
        format!("{RELEASES_PREFIX}{id}/index.html"),
        index_file,
        html.as_bytes(),
    )?];
    for page in &prerendered_pages {
        snapshot_pages.push(Object {
            key: format!("{RELEASES_PREFIX}{id}/{}", page.key),
            ..page.clone()
        });
    }

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
        snapshot_pages,
        pages: prerendered_pages,
        index,
        configs,
    })
}

/// Whether index.html may reference `key` although dist/ has no such file: each bucket's own
/// `config.json`, and the API's routes under `/api/` (the loader asks for the catalogue early), which
/// CloudFront sends to the API.
pub(super) fn served_outside_dist(key: &str) -> bool {
    key == "config.json" || key.starts_with("api/")
}

pub fn md5_hex(data: &[u8]) -> String {
    use md5::{Digest, Md5};
    Md5::digest(data)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
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
        assert_eq!(cache_control("catalogue.html"), CACHE_NO_CACHE);
        assert_eq!(
            cache_control("product/5ac3ba4e-7974-568b-bda4-6992f843ea09.html"),
            CACHE_NO_CACHE
        );
        assert_eq!(cache_control("images/unicorn-float.svg"), CACHE_IMAGES);
        assert_eq!(cache_control("robots.txt"), CACHE_SHORT);
    }

    #[test]
    fn the_csp_must_allow_each_inline_script_by_its_hash() {
        let html = "<head><script data-wasm=\"/a.wasm\">\nwindow.x = 1;\n</script><script type=\"module\">\nawait 1;\n</script>\
                    <script src=\"/keep.js\"></script><script type=\"application/ld+json\">{}</script></head>";
        assert_eq!(
            inline_scripts(html),
            vec!["\nwindow.x = 1;\n", "\nawait 1;\n"]
        );
        // Known answer: the SHA-256 of "alert('Hello, world.');" from the CSP specification.
        assert_eq!(
            script_hash_source("alert('Hello, world.');"),
            "'sha256-qznLcsROx4GACP2dm0UCKCzCG+HiZ1guq6ZZDob/Tng='"
        );
        let both = format!(
            "default-src 'self'; script-src 'self' {} {}; style-src 'self'",
            script_hash_source("\nwindow.x = 1;\n"),
            script_hash_source("\nawait 1;\n")
        );
        assert_eq!(check_inline_scripts("index.html", html, &both), Ok(()));
        let one = format!(
            "script-src 'self' {}; style-src {}",
            script_hash_source("\nwindow.x = 1;\n"),
            script_hash_source("\nawait 1;\n")
        );
        let error = check_inline_scripts("index.html", html, &one).expect_err("one is missing");
        assert!(
            error.contains(&script_hash_source("\nawait 1;\n")) && error.contains("edge.yaml"),
            "{error}"
        );
        assert_eq!(
            check_inline_scripts("x", "<p>no scripts</p>", "default-src 'self'"),
            Ok(())
        );
    }

    #[test]
    fn referenced_keys_are_root_relative_only() {
        let html = r#"<link href="/style-1.css"><script src="/a.js?v=1"></script><a href="https://x/y"></a><img src="//cdn/x.png"><img src="/images/u.svg">"#;
        let keys: Vec<String> = referenced_keys(html).into_iter().collect();
        assert_eq!(keys, vec!["a.js", "images/u.svg", "style-1.css"]);
        let script = r#"for (const url of ["/u_bg.wasm", "/config.json"]) fetch(url); import init from '/u.js'; x = "a / b"; y = "/"; </script>"#;
        let keys: Vec<String> = referenced_keys(script).into_iter().collect();
        assert_eq!(keys, vec!["config.json", "u.js", "u_bg.wasm"]);
    }

    #[test]
    fn only_config_json_and_api_routes_may_be_referenced_outside_dist() {
        assert!(served_outside_dist("config.json"));
        assert!(served_outside_dist("api/unicorns/"));
        assert!(!served_outside_dist("apis.js"));
        assert!(!served_outside_dist("unishop-0123456789abcdef.js"));
        assert!(!served_outside_dist("images/favicon.svg"));
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
