//! What the site's files are served as, by the release's buckets and by the local edge alike:
//! each file's content type, the per-bucket `config.json` and the Content-Security-Policy.

use std::path::Path;

/// The template whose response headers policy gives the site its Content-Security-Policy.
pub const EDGE_TEMPLATE: &str = "infra/templates/edge.yaml";

/// The site's Content-Security-Policy as CloudFront sends it: the `ContentSecurityPolicy` of the
/// response headers policy in [`EDGE_TEMPLATE`] under `repo`. One source: the local edge sends it
/// too (so the browser specs run under it) and `cargo xtask build` checks the loader's inline
/// scripts against it.
pub fn content_security_policy(repo: &Path) -> Result<String, String> {
    let file = repo.join(EDGE_TEMPLATE);
    let template = std::fs::read_to_string(&file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    csp_in_template(&template).ok_or_else(|| {
        format!(
            "{} has no ContentSecurityPolicy: \"...\" line",
            file.display()
        )
    })
}

/// The double-quoted value of the template's `ContentSecurityPolicy: "..."` line.
fn csp_in_template(template: &str) -> Option<String> {
    template.lines().find_map(|line| {
        let value = line.trim().strip_prefix("ContentSecurityPolicy:")?.trim();
        let value = value.strip_prefix('"')?.strip_suffix('"')?;
        (!value.is_empty()).then(|| value.to_owned())
    })
}

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

#[cfg(test)]
mod tests {
    use super::{config_json, content_security_policy, content_type, csp_in_template, json_string};
    use crate::process::repo_root;

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
    fn config_json_has_legacy_shape_and_standby_host() {
        assert_eq!(
            config_json("/api", "us-west-1", "/api-standby"),
            "{\"host\": \"/api\", \"region\": \"us-west-1\", \"standbyHost\": \"/api-standby\"}\n"
        );
        assert_eq!(json_string("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
    }

    #[test]
    fn the_csp_is_the_edge_templates() {
        let csp = content_security_policy(&repo_root()).expect("the edge template's CSP");
        assert!(csp.starts_with("default-src 'self'"), "{csp}");
        let scripts = csp
            .split(';')
            .find(|directive| directive.trim().starts_with("script-src"))
            .expect("a script-src directive");
        assert!(!scripts.contains("'unsafe-inline'"), "{scripts}");
        assert_eq!(
            csp_in_template(
                "  x:\n    ContentSecurityPolicy:\n      ContentSecurityPolicy: \"a; b\"\n"
            ),
            Some("a; b".to_owned())
        );
        assert_eq!(csp_in_template("ContentSecurityPolicy: !Ref Csp"), None);
    }
}
