//! `cargo xtask build`: writes to `dist/` exactly what `cargo xtask release` uploads (each bucket's
//! `config.json` aside; the `config.json` in `dist/` is the dev copy):
//!
//! 1. `trunk build --release`: the shell `index.html`, the hashed wasm, js and css, the images;
//! 2. a check that the site's CSP (`infra/templates/edge.yaml`) allows the loader's two inline
//!    scripts in `index.html` by their hashes, since every page built from the shell carries them;
//! 3. the prerendered pages (`catalogue.html` for `/`, `product/{uuid}.html`), `sitemap.xml` and
//!    `robots.txt`, rendered on the host by the storefront's own components (`src/prerender.rs`,
//!    the `prerender` binary, feature `ssr`), from the seed catalogue or, with
//!    `--catalogue-from URL`, from the one a running API answers.
//!
//! The bench, the specs (`UNISHOP_DIST`), `cargo xtask test` and `release` use this output.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::process::{repo_root, run, run_stdout};
use crate::release::check_inline_scripts;

/// The site's address when none is given: the local edge (`cargo xtask dev --two-regions`, the
/// specs' stack). Canonical URLs, Open Graph tags and the sitemap name it.
pub const LOCAL_SITE_URL: &str = "http://127.0.0.1:8080";

#[derive(clap::Args, Debug, Clone)]
pub struct BuildArgs {
    /// The site's public address (scheme, host and any path prefix), named by canonical URLs,
    /// Open Graph tags and sitemap.xml.
    #[arg(long, env = "UNISHOP_SITE_URL", default_value = LOCAL_SITE_URL)]
    pub site_url: String,
    /// Prerender the catalogue a running API answers (its base, such as
    /// `https://shop.example/api`) instead of the seed catalogue.
    #[arg(long, value_name = "URL")]
    pub catalogue_from: Option<String>,
}

impl BuildArgs {
    /// The local site, from the seed catalogue (the bench, the tests).
    pub fn local() -> Self {
        BuildArgs {
            site_url: LOCAL_SITE_URL.to_owned(),
            catalogue_from: None,
        }
    }
}

/// The cfg the wasm is built with (`.cargo/config.toml`, `[target.wasm32-unknown-unknown]`):
/// Leptos then erases view types, and erased views write other hydration markers. The prerenderer
/// must write the markup the wasm hydrates, so it is built with the same cfg.
const VIEW_CFG: &str = "--cfg erase_components";

/// Builds the site into `dist/` (see the module documentation) and returns that folder.
pub fn build(args: &BuildArgs) -> Result<PathBuf, String> {
    let root = repo_root();
    // Fetched before the long builds start, so an unreachable API fails the build at once.
    let catalogue = match &args.catalogue_from {
        Some(api) => Some(fetch_catalogue(api)?),
        None => None,
    };
    run(Command::new("trunk")
        .args(["build", "--release"])
        .current_dir(&root))?;
    let dist = root.join("dist");
    check_loader_allowed(&dist)?;
    let mut prerender = ssr_cargo(&[
        "run",
        "--quiet",
        "--package",
        "unishop",
        "--no-default-features",
        "--features",
        "ssr",
        "--bin",
        "prerender",
        "--",
        "--dist",
    ]);
    prerender.arg(&dist).args(["--site-url", &args.site_url]);
    if let Some(file) = &catalogue {
        prerender.arg("--catalogue").arg(file);
    }
    let result = run(&mut prerender);
    if let Some(file) = &catalogue {
        // Not part of the site.
        let _ = std::fs::remove_file(file);
    }
    result?;
    Ok(dist)
}

/// The catalogue the API at `api` answers (`GET {api}/unicorns/`), checked and written under the
/// target folder for the prerenderer. curl does the request, as the AWS CLI does the release's:
/// HTTPS without a TLS stack in xtask.
fn fetch_catalogue(api: &str) -> Result<PathBuf, String> {
    let url = catalogue_url(api);
    println!("  catalogue from {url}");
    let json = run_stdout(Command::new("curl").args([
        "--fail",
        "--silent",
        "--show-error",
        "--location",
        "--max-time",
        "30",
        &url,
    ]))?;
    let products: Vec<unishop_model::Product> =
        serde_json::from_str(&json).map_err(|e| format!("{url} answered no catalogue: {e}"))?;
    if products.is_empty() {
        return Err(format!("{url} answered an empty catalogue"));
    }
    let folder = crate::process::target_dir();
    std::fs::create_dir_all(&folder)
        .map_err(|e| format!("cannot create {}: {e}", folder.display()))?;
    let file = folder.join("prerender-catalogue.json");
    std::fs::write(&file, json).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    Ok(file)
}

/// The catalogue route below an API base (`https://shop.example/api/` -> `.../api/unicorns/`).
fn catalogue_url(api: &str) -> String {
    format!("{}/unicorns/", api.trim_end_matches('/'))
}

/// `cargo ARGS` for the storefront on the host (feature `ssr`: the prerenderer, its tests and
/// lints), with [`VIEW_CFG`] in `RUSTFLAGS`. In a target folder of its own
/// (`<target>/prerender`): other flags in the shared one would make every later host build there
/// start again from scratch.
pub fn ssr_cargo(args: &[&str]) -> Command {
    let mut command = Command::new("cargo");
    command
        .args(args)
        .env("RUSTFLAGS", rustflags(std::env::var("RUSTFLAGS").ok()))
        .env(
            "CARGO_TARGET_DIR",
            crate::process::target_dir().join("prerender"),
        )
        .current_dir(repo_root());
    command
}

/// `RUSTFLAGS` for the prerenderer: the caller's own, and [`VIEW_CFG`].
fn rustflags(own: Option<String>) -> String {
    match own.filter(|flags| !flags.trim().is_empty()) {
        Some(flags) if flags.contains(VIEW_CFG) => flags,
        Some(flags) => format!("{flags} {VIEW_CFG}"),
        None => VIEW_CFG.to_owned(),
    }
}

/// The loader, Trunk.toml's `pattern_script`, with its placeholders (`{base}`, `{js}`, `{wasm}`)
/// filled in as Trunk fills them: what `index.html` carries for a build whose files are `js` and
/// `wasm` at the site's root.
pub fn loader_scripts(js: &str, wasm: &str) -> Result<String, String> {
    let file = repo_root().join("Trunk.toml");
    let trunk = std::fs::read_to_string(&file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let pattern = trunk
        .split("pattern_script = \"\"\"")
        .nth(1)
        .and_then(|rest| rest.split("\"\"\"").next())
        .ok_or_else(|| format!("{} has no pattern_script = \"\"\"...\"\"\"", file.display()))?;
    // TOML drops the newline that opens a multi-line string.
    let pattern = pattern.strip_prefix('\n').unwrap_or(pattern);
    Ok(pattern
        .replace("{base}", "/")
        .replace("{js}", js)
        .replace("{wasm}", wasm))
}

/// Fails unless the site's CSP allows the inline scripts of `dist/index.html`.
fn check_loader_allowed(dist: &Path) -> Result<(), String> {
    let index = dist.join("index.html");
    let html = std::fs::read_to_string(&index)
        .map_err(|e| format!("cannot read {}: {e}", index.display()))?;
    let csp = unishop_stack::site::content_security_policy(&repo_root())?;
    check_inline_scripts(&index.display().to_string(), &html, &csp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prerenderer_is_built_with_the_wasms_view_cfg() {
        let config = std::fs::read_to_string(repo_root().join(".cargo/config.toml"))
            .expect(".cargo/config.toml");
        let wasm = config
            .split("[target.wasm32-unknown-unknown]")
            .nth(1)
            .expect("the wasm target's section");
        assert!(
            wasm.contains(r#"rustflags = ["--cfg", "erase_components"]"#),
            "the wasm's cfg changed: change VIEW_CFG with it"
        );
        assert_eq!(rustflags(None), VIEW_CFG);
        assert_eq!(
            rustflags(Some("-Dwarnings".into())),
            format!("-Dwarnings {VIEW_CFG}")
        );
        assert_eq!(rustflags(Some(VIEW_CFG.into())), VIEW_CFG);
    }

    #[test]
    fn the_catalogue_is_read_from_the_apis_catalogue_route() {
        assert_eq!(
            catalogue_url("https://shop.example/api/"),
            "https://shop.example/api/unicorns/"
        );
        assert_eq!(
            catalogue_url("http://127.0.0.1:3000"),
            "http://127.0.0.1:3000/unicorns/"
        );
    }

    #[test]
    fn the_csp_allows_the_loader_in_trunk_toml() {
        let loader = loader_scripts("app-1.js", "app-1_bg.wasm").expect("the loader");
        assert_eq!(crate::release::inline_scripts(&loader).len(), 2);
        assert!(loader.contains("data-wasm=\"/app-1_bg.wasm\"") && !loader.contains("{base}"));
        let csp = unishop_stack::site::content_security_policy(&repo_root()).expect("the CSP");
        assert_eq!(check_inline_scripts("Trunk.toml", &loader, &csp), Ok(()));
    }
}
