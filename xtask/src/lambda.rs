//! `cargo xtask package-lambda`: the API's deployable zip for Lambda (`provided.al2023` on arm64,
//! as `infra/templates/regional.yaml` declares it), built by cargo-lambda. cargo-lambda installs
//! from PyPI and brings zig, which cross-compiles; no download from GitHub.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use crate::process::{first_line_of, repo_root, run, target_dir};

/// The cargo-lambda release this project builds with.
pub const CARGO_LAMBDA_VERSION: &str = "1.9.2";
/// Where `regional.yaml` tells the function to find Amazon RDS's CA bundle: the zip's root, which
/// Lambda unpacks to `/var/task`.
pub const CA_BUNDLE_IN_ZIP: &str = "rds-global-bundle.pem";
/// Where an operator saves the bundle before packaging (git-ignored).
pub const CA_BUNDLE_DEFAULT: &str = "infra/rds-global-bundle.pem";
const CA_BUNDLE_URL: &str = "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem";

#[derive(clap::Args, Debug)]
pub struct PackageArgs {
    /// Amazon RDS's CA bundle to put in the zip (default: infra/rds-global-bundle.pem).
    #[arg(long)]
    pub ca_bundle: Option<PathBuf>,
}

/// Installs cargo-lambda at [`CARGO_LAMBDA_VERSION`] unless it is there already.
pub fn setup_cargo_lambda() -> Result<(), String> {
    let wanted = format!("cargo-lambda {CARGO_LAMBDA_VERSION}");
    let current = first_line_of("cargo", &["lambda", "--version"]).unwrap_or_default();
    if current.starts_with(&wanted) {
        println!("package-lambda: {wanted} already installed");
        return Ok(());
    }
    println!("package-lambda: installing {wanted} with pip (it brings zig)");
    run(Command::new("python3").args([
        "-m",
        "pip",
        "install",
        "--quiet",
        &format!("cargo-lambda=={CARGO_LAMBDA_VERSION}"),
    ]))
}

/// Builds `bootstrap.zip` and prints its path and size.
pub fn package_lambda(args: &PackageArgs) -> Result<(), String> {
    let root = repo_root();
    let bundle = args
        .ca_bundle
        .clone()
        .unwrap_or_else(|| root.join(CA_BUNDLE_DEFAULT));
    if !bundle.is_file() {
        return Err(format!(
            "no CA bundle at {}: the function checks Aurora's certificate against Amazon RDS's \
             bundle; save {CA_BUNDLE_URL} there (or pass --ca-bundle PATH)",
            bundle.display()
        ));
    }
    setup_cargo_lambda()?;
    // cargo-lambda keeps an included file's path, so the bundle goes in from a folder of its own
    // to land at the zip's root.
    let staging = target_dir().join("lambda-include");
    std::fs::create_dir_all(&staging)
        .map_err(|e| format!("cannot create {}: {e}", staging.display()))?;
    std::fs::copy(&bundle, staging.join(CA_BUNDLE_IN_ZIP))
        .map_err(|e| format!("cannot copy {}: {e}", bundle.display()))?;
    let started = Instant::now();
    run(Command::new("cargo")
        .args([
            "lambda",
            "build",
            "--release",
            "--arm64",
            "--output-format",
            "zip",
            "--package",
            "unishop-api",
            "--bin",
            "unishop-api",
            "--include",
            CA_BUNDLE_IN_ZIP,
            "--manifest-path",
        ])
        .arg(root.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target_dir())
        .current_dir(&staging))?;
    let zip = zip_path();
    let bytes = std::fs::metadata(&zip)
        .map_err(|e| format!("cargo lambda wrote no {}: {e}", zip.display()))?
        .len();
    println!(
        "package-lambda: {} bytes={bytes} ({:.1} MB) built_in_s={:.0}",
        zip.display(),
        bytes as f64 / 1_000_000.0,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Where cargo-lambda writes the function's zip.
pub fn zip_path() -> PathBuf {
    target_dir().join("lambda/unishop-api/bootstrap.zip")
}
