//! `prerender [--dist DIR] [--site-url URL] [--catalogue FILE]`: writes the storefront's
//! prerendered pages, `sitemap.xml` and `robots.txt` into a Trunk build's `DIR` (default `dist`),
//! its shell being `DIR/index.html`, from the seed catalogue or from `FILE` (the JSON the API
//! answers to `GET /unicorns/`). `cargo xtask build` runs it after `trunk build --release`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use unishop::prerender;
use unishop_model::seed::CATALOGUE;
use unishop_model::Product;

const USAGE: &str = "usage: prerender [--dist DIR] [--site-url URL] [--catalogue FILE]";

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    match run(std::env::args().skip(1)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error}");
            ExitCode::FAILURE
        }
    }
}

fn run(mut args: impl Iterator<Item = String>) -> Result<(), String> {
    let mut dist = PathBuf::from("dist");
    let mut site_url = String::from("http://127.0.0.1:8080");
    let mut catalogue_file = None;
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| format!("{arg} needs a value\n{USAGE}"))
        };
        match arg.as_str() {
            "--dist" => dist = PathBuf::from(value()?),
            "--site-url" => site_url = value()?,
            "--catalogue" => catalogue_file = Some(PathBuf::from(value()?)),
            "--help" | "-h" => {
                println!("{USAGE}");
                return Ok(());
            }
            _ => return Err(format!("unknown argument {arg:?}\n{USAGE}")),
        }
    }
    let shell_path = dist.join("index.html");
    let shell = std::fs::read_to_string(&shell_path).map_err(|e| {
        format!(
            "cannot read {}: {e} (build with trunk first)",
            shell_path.display()
        )
    })?;
    let catalogue = match &catalogue_file {
        Some(file) => read_catalogue(file)?,
        None => CATALOGUE.iter().map(|seed| seed.to_product()).collect(),
    };
    let files = prerender::site(&shell, &catalogue, &site_url).map_err(|e| e.to_string())?;
    for file in &files {
        write(&dist, file)?;
    }
    tracing::info!(
        "prerendered {} files into {} for {site_url}, from {}",
        files.len(),
        dist.display(),
        catalogue_file
            .as_deref()
            .map_or("the seed catalogue".into(), |f| f.display().to_string())
    );
    Ok(())
}

/// A catalogue as the API answers `GET /unicorns/`; an empty one is refused (a site without
/// products is a broken release, not a shop).
fn read_catalogue(file: &Path) -> Result<Vec<Product>, String> {
    let json = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let catalogue: Vec<Product> = serde_json::from_str(&json)
        .map_err(|e| format!("{} is not a catalogue: {e}", file.display()))?;
    if catalogue.is_empty() {
        return Err(format!("{} holds no products", file.display()));
    }
    Ok(catalogue)
}

fn write(dist: &Path, file: &prerender::File) -> Result<(), String> {
    let path = dist.join(&file.path);
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder)
            .map_err(|e| format!("cannot create {}: {e}", folder.display()))?;
    }
    std::fs::write(&path, &file.contents)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}
