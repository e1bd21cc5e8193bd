//! `cargo xtask bench`: figures about the product, printed one line per measurement: here the
//! storefront's bundle and first render, in [`api`] the API under load.

pub mod api;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};
use crate::process::{repo_root, run};

/// What the storefront may ship at most (wasm + js + css, brotli), in bytes. `cargo xtask test`
/// (CI) fails above it: a feature that needs more bytes has to win them back elsewhere.
///
/// 160 000 until the pages were prerendered and hydrated (issue 17), which costs what no trimming
/// wins back: `cargo xtask bench bundle` measured total_br=157881 for the client-rendered build and
/// total_br=178158 for the hydrating one (+20 277). About 15 700 of that is Leptos's `hydrate`
/// feature alone (with `--cfg erase_components` every erased view carries its hydration code,
/// called or not: the same app built with `hydrate` in place of `csr` and never hydrating measured
/// about 173 400); the rest is the app's hydrate path and the JS initializer now in its own
/// `boot-<hash>.js` (164 bytes). The budget was that figure with the same headroom as before
/// (180 000); WebKit's early fetches took 772 of it (total_br=178987), and the shop that stays
/// browsable with every API down (the catalogue a page carries standing in for the API, the calm
/// unavailable messages, the header that keeps its width, a refreshed price in place) about 1 450
/// more (total_br=180437). 182 000 keeps the headroom those left.
pub const BUNDLE_BUDGET_BR: usize = 182_000;

/// Sizes of the storefront's release bundle, in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BundleSizes {
    pub wasm_raw: usize,
    pub wasm_gz: usize,
    pub wasm_br: usize,
    pub js_br: usize,
    pub css_br: usize,
}

impl BundleSizes {
    pub fn total_br(&self) -> usize {
        self.wasm_br + self.js_br + self.css_br
    }

    /// The line `cargo xtask bench` prints.
    pub fn line(&self) -> String {
        format!(
            "bundle: wasm_raw={} wasm_gz={} wasm_br={} js_br={} css_br={} total_br={}",
            self.wasm_raw,
            self.wasm_gz,
            self.wasm_br,
            self.js_br,
            self.css_br,
            self.total_br()
        )
    }
}

/// Builds the site for release into `dist/`, as `cargo xtask build` does (for the local edge's
/// address).
pub fn build_release() -> Result<PathBuf> {
    Ok(crate::build::build(&crate::build::BuildArgs::local())?)
}

/// Measures the wasm, js and css files Trunk wrote at the top of `dist`, and what the shell
/// `index.html` (which every page is built from) carries inline: the loader's scripts count as js,
/// the stylesheet Trunk inlines (index.html, `rel="inline"`) as css.
pub fn bundle_sizes(dist: &Path) -> Result<BundleSizes> {
    let entries = std::fs::read_dir(dist).map_err(Error::file("read", dist))?;
    let mut sizes = BundleSizes::default();
    let mut seen_wasm = false;
    for entry in entries {
        let path = entry.map_err(Error::file("read", dist))?.path();
        let Some(extension) = path.extension().and_then(|e| e.to_str()) else {
            continue;
        };
        if !matches!(extension, "wasm" | "js" | "css") {
            continue;
        }
        let bytes = std::fs::read(&path).map_err(Error::file("read", &path))?;
        let brotli = brotli_size(&bytes)?;
        match extension {
            "wasm" => {
                seen_wasm = true;
                sizes.wasm_raw += bytes.len();
                sizes.wasm_gz += gzip_size(&bytes)?;
                sizes.wasm_br += brotli;
            }
            "js" => sizes.js_br += brotli,
            _ => sizes.css_br += brotli,
        }
    }
    let index = dist.join("index.html");
    if index.is_file() {
        let html = std::fs::read_to_string(&index).map_err(Error::file("read", &index))?;
        for script in crate::release::inline_scripts(&html) {
            sizes.js_br += brotli_size(script.as_bytes())?;
        }
        for style in inline_styles(&html) {
            sizes.css_br += brotli_size(style.as_bytes())?;
        }
    }
    if !seen_wasm {
        return Err(Error::Step(format!(
            "{} holds no .wasm file: build the storefront first",
            dist.display()
        )));
    }
    Ok(sizes)
}

/// The contents of `html`'s `<style>` elements.
fn inline_styles(html: &str) -> Vec<&str> {
    let mut styles = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<style") {
        let Some(open_end) = rest[start..].find('>') else {
            break;
        };
        let body_start = start + open_end + 1;
        let Some(close) = rest[body_start..].find("</style>") else {
            break;
        };
        styles.push(&rest[body_start..body_start + close]);
        rest = &rest[body_start + close + "</style>".len()..];
    }
    styles
}

fn gzip_size(bytes: &[u8]) -> Result<usize> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let compress_error = |e: std::io::Error| Error::Step(format!("gzip: {e}"));
    encoder.write_all(bytes).map_err(compress_error)?;
    encoder
        .finish()
        .map(|out| out.len())
        .map_err(compress_error)
}

fn brotli_size(bytes: &[u8]) -> Result<usize> {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params)
        .map_err(|e| Error::Step(format!("brotli: {e}")))?;
    Ok(out.len())
}

/// Runs `e2e/bench/first-render.mjs` against the release build in `dist/` and a debug API.
pub fn first_render() -> Result<()> {
    let root = repo_root();
    run(Command::new("cargo")
        .args(["build", "--package", "unishop-api"])
        .current_dir(&root))?;
    Ok(run(Command::new("node")
        .arg("e2e/bench/first-render.mjs")
        .env(
            "UNISHOP_API_BIN",
            crate::process::target_dir().join("debug/unishop-api"),
        )
        .env("UNISHOP_DIST", root.join("dist"))
        .current_dir(&root))?)
}

/// Fails when the bundle is over budget.
pub fn check_budget(sizes: &BundleSizes) -> Result<()> {
    if sizes.total_br() > BUNDLE_BUDGET_BR {
        return Err(Error::Step(format!(
            "the storefront bundle is {} bytes (brotli), over the budget of {BUNDLE_BUDGET_BR}",
            sizes.total_br()
        )));
    }
    println!(
        "  bundle budget: {} of {BUNDLE_BUDGET_BR} bytes (brotli) used, {} left",
        sizes.total_br(),
        BUNDLE_BUDGET_BR - sizes.total_br()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{bundle_sizes, check_budget, BundleSizes, BUNDLE_BUDGET_BR};

    #[test]
    fn measures_each_kind_of_file_and_ignores_the_rest() {
        let dist = std::env::temp_dir().join(format!("unishop-bench-test-{}", std::process::id()));
        std::fs::create_dir_all(&dist).expect("temp dir");
        let wasm: Vec<u8> = (0..4096u32).map(|i| (i % 7) as u8).collect();
        std::fs::write(dist.join("app-1a2b_bg.wasm"), &wasm).expect("write");
        std::fs::write(dist.join("app-1a2b.js"), "export default 1;".repeat(50)).expect("write");
        std::fs::write(dist.join("style-9f.css"), "body{margin:0}".repeat(50)).expect("write");
        std::fs::write(dist.join("index.html"), "<html></html>".repeat(500)).expect("write");
        let sizes = bundle_sizes(&dist).expect("measured");
        std::fs::write(
            dist.join("index.html"),
            format!(
                "<html><head><style>{}</style><script>{}</script><script type=\"application/json\">{{}}</script></head></html>",
                "p{color:red}".repeat(50),
                "let x = 1;".repeat(50)
            ),
        )
        .expect("write");
        let with_inline = bundle_sizes(&dist).expect("measured");
        std::fs::remove_dir_all(&dist).expect("clean up");
        assert!(with_inline.css_br > sizes.css_br && with_inline.js_br > sizes.js_br);
        assert_eq!(with_inline.wasm_br, sizes.wasm_br);
        assert_eq!(sizes.wasm_raw, 4096);
        assert!(sizes.wasm_br > 0 && sizes.wasm_br < sizes.wasm_raw);
        assert!(sizes.wasm_gz > 0 && sizes.wasm_gz < sizes.wasm_raw);
        assert!(sizes.js_br > 0 && sizes.css_br > 0);
        assert_eq!(sizes.total_br(), sizes.wasm_br + sizes.js_br + sizes.css_br);
        assert!(sizes.line().starts_with("bundle: wasm_raw=4096 "));
    }

    #[test]
    fn an_empty_dist_is_an_error() {
        let dist = std::env::temp_dir().join(format!("unishop-bench-empty-{}", std::process::id()));
        std::fs::create_dir_all(&dist).expect("temp dir");
        let result = bundle_sizes(&dist);
        std::fs::remove_dir_all(&dist).expect("clean up");
        assert!(result
            .expect_err("no wasm")
            .to_string()
            .contains("no .wasm file"));
    }

    #[test]
    fn budget_refuses_an_oversized_bundle() {
        let sizes = BundleSizes {
            wasm_br: BUNDLE_BUDGET_BR,
            js_br: 1,
            ..Default::default()
        };
        assert!(check_budget(&sizes).is_err());
        let sizes = BundleSizes {
            wasm_br: 100,
            ..Default::default()
        };
        assert!(check_budget(&sizes).is_ok());
    }
}
