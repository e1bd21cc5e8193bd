//! What the site's files are served as, by the release's buckets and by the local edge alike:
//! each file's content type and the per-bucket `config.json`.

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
    use super::{config_json, content_type, json_string};

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
}
