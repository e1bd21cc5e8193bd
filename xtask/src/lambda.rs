//! `cargo xtask package-lambda`: the API's deployable zip for Lambda (`provided.al2023` on arm64,
//! as `infra/templates/regional.yaml` declares it), built by cargo-lambda. cargo-lambda installs
//! from PyPI and brings zig, which cross-compiles; no download from GitHub.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::process::{first_line_of, port_open, repo_root, run, target_dir, Service};

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
    /// Then run the zip's `bootstrap` (arm64, under qemu-aarch64) behind cargo-lambda's Lambda
    /// emulator on SQLite, call /health, the catalogue and a sign-up over HTTP, check the
    /// answers and print the times.
    #[arg(long)]
    pub smoke: bool,
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
    if args.smoke {
        smoke(&zip)?;
    }
    Ok(())
}

/// Where cargo-lambda writes the function's zip.
pub fn zip_path() -> PathBuf {
    target_dir().join("lambda/unishop-api/bootstrap.zip")
}

/// Installs what the smoke needs from Debian when any of it is missing: unzip, file, qemu-user and
/// the arm64 C library that the dynamically linked bootstrap loads.
fn install_smoke_tools() -> Result<(), String> {
    let present = first_line_of("unzip", &["-v"]).is_some()
        && first_line_of("file", &["--version"]).is_some()
        && first_line_of(QEMU, &["--version"]).is_some()
        && Path::new(ARM64_SYSROOT)
            .join("lib/ld-linux-aarch64.so.1")
            .is_file();
    if present {
        return Ok(());
    }
    println!("package-lambda: installing unzip, file, qemu-user and libc6-arm64-cross (Debian)");
    crate::setup::apt_install(&["unzip", "file", "qemu-user", "libc6-arm64-cross"])
}

/// Runs arm64 binaries on this machine (Debian's `qemu-user`).
const QEMU: &str = "qemu-aarch64";
/// The arm64 C library a dynamically linked `bootstrap` loads (Debian's `libc6-arm64-cross`).
const ARM64_SYSROOT: &str = "/usr/aarch64-linux-gnu";
/// The region the smoke's function names in `x-unishop-region`.
const SMOKE_REGION: &str = "us-west-1";
/// UnicornFloat's stable uuid, the catalogue's first product.
const FIRST_PRODUCT: &str = "5ac3ba4e-7974-568b-bda4-6992f843ea09";

/// A folder of the smoke's own, removed at the end.
struct SmokeFolder(PathBuf);

impl Drop for SmokeFolder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `package-lambda --smoke`: unpacks `zip`, starts `cargo lambda watch --only-lambda-apis` (the
/// Runtime API and function URLs, no build) on a free port, runs the packaged `bootstrap` under
/// qemu-aarch64 against it, and calls it over HTTP through the emulator. Prints
/// `lambda_smoke: ...` with the times; fails on any unexpected answer. Stops everything it
/// started.
fn smoke(zip: &Path) -> Result<(), String> {
    let folder = SmokeFolder(
        std::env::temp_dir().join(format!("unishop-lambda-smoke-{}", std::process::id())),
    );
    install_smoke_tools()?;
    let _ = std::fs::remove_dir_all(&folder.0);
    let unpacked = folder.0.join("task");
    std::fs::create_dir_all(&unpacked)
        .map_err(|e| format!("cannot create {}: {e}", unpacked.display()))?;
    run(Command::new("unzip")
        .arg("-q")
        .arg(zip)
        .arg("-d")
        .arg(&unpacked))?;
    if !unpacked.join(CA_BUNDLE_IN_ZIP).is_file() {
        return Err(format!("{} holds no {CA_BUNDLE_IN_ZIP}", zip.display()));
    }
    let bootstrap = unpacked.join("bootstrap");
    let kind = first_line_of("file", &["-b", &bootstrap.to_string_lossy()]).unwrap_or_default();
    if !kind.contains("ARM aarch64") {
        return Err(format!(
            "the packaged bootstrap is not an arm64 program: {kind}"
        ));
    }
    let dynamic = kind.contains("dynamically linked");
    let mut function = Command::new(QEMU);
    if dynamic {
        function.arg("-L").arg(ARM64_SYSROOT);
    }

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("cannot find a free port: {e}"))?
        .port();
    let emulator_address = format!("127.0.0.1:{port}");
    let emulator_log = folder.0.join("emulator.log");
    let log = |path: &Path| {
        std::fs::File::create(path)
            .map(Stdio::from)
            .map_err(|e| format!("cannot create {}: {e}", path.display()))
    };
    let mut emulator = Service::spawn(
        "cargo lambda watch",
        Command::new("cargo")
            .args(["lambda", "watch", "--only-lambda-apis", "--ignore-changes"])
            .args(["--invoke-address", "127.0.0.1", "--invoke-port"])
            .arg(port.to_string())
            // It reads the workspace's metadata even when it builds nothing.
            .arg("--manifest-path")
            .arg(repo_root().join("Cargo.toml"))
            .current_dir(&unpacked)
            .stdout(log(&emulator_log)?)
            .stderr(log(&folder.0.join("emulator.err"))?),
    )?;
    let waiting = Instant::now();
    while !port_open(&emulator_address) {
        if emulator.exited().is_some() || waiting.elapsed() > Duration::from_secs(30) {
            let said = std::fs::read_to_string(folder.0.join("emulator.err")).unwrap_or_default();
            return Err(format!(
                "the Lambda emulator did not listen on {emulator_address}:\n{said}"
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }

    let function_log = folder.0.join("bootstrap.log");
    let started = Instant::now();
    let mut function = Service::spawn(
        "bootstrap",
        function
            .arg(&bootstrap)
            .env(
                "AWS_LAMBDA_RUNTIME_API",
                format!("http://{emulator_address}/.rt"),
            )
            .env("AWS_LAMBDA_FUNCTION_NAME", "_")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
            .env("UNISHOP_REGION", SMOKE_REGION)
            .env(
                "UNISHOP_DATABASE_URL",
                format!("sqlite://{}", folder.0.join("data/unishop.db").display()),
            )
            .env("RUST_LOG", "info")
            .current_dir(&unpacked)
            .stdout(log(&function_log)?)
            .stderr(Stdio::from(
                std::fs::File::options()
                    .append(true)
                    .open(&function_log)
                    .map_err(|e| format!("cannot open {}: {e}", function_log.display()))?,
            )),
    )?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))?;
    let checked = runtime.block_on(smoke_calls(&emulator_address, started, &mut function));
    function.stop();
    emulator.stop();
    match checked {
        Ok(times) => {
            println!("{times}");
            Ok(())
        }
        Err(error) => {
            let said = std::fs::read_to_string(&function_log).unwrap_or_default();
            Err(format!("lambda smoke: {error}\nbootstrap's log:\n{said}"))
        }
    }
}

/// One answer through the emulator.
struct Answer {
    status: u16,
    region: String,
    body: String,
    ms: f64,
}

async fn call(
    client: &reqwest::Client,
    address: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<String>,
) -> Result<Answer, String> {
    let sent = Instant::now();
    let mut request = client.request(method.clone(), format!("http://{address}{path}"));
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .header(
                "idempotency-key",
                format!("smoke-{:016x}", fastrand::u64(..)),
            )
            .body(body);
    }
    let response = request
        .send()
        .await
        .map_err(|e| format!("{method} {path}: {e}"))?;
    let status = response.status().as_u16();
    let region = response
        .headers()
        .get("x-unishop-region")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response
        .text()
        .await
        .map_err(|e| format!("{method} {path}: {e}"))?;
    Ok(Answer {
        status,
        region,
        body,
        ms: sent.elapsed().as_secs_f64() * 1000.0,
    })
}

/// Checks an answer's status and region, and that its body holds `expected`.
fn expect(what: &str, answer: &Answer, status: u16, expected: &str) -> Result<(), String> {
    if answer.status != status || answer.region != SMOKE_REGION || !answer.body.contains(expected) {
        return Err(format!(
            "{what}: wanted {status} from {SMOKE_REGION} with {expected:?}, got {} from {:?}: {}",
            answer.status, answer.region, answer.body
        ));
    }
    Ok(())
}

/// The calls, once the function is starting: the first 200 from `/health` (polled), then the
/// catalogue and a sign-up. Answers the summary line.
async fn smoke_calls(
    address: &str,
    started: Instant,
    function: &mut Service,
) -> Result<String, String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())?;
    let first = loop {
        // The emulator holds an invocation until the function asks for one, so this waits for
        // the function's start.
        match call(&client, address, reqwest::Method::GET, "/health", None).await {
            Ok(answer) if answer.status == 200 => break answer,
            Ok(_) | Err(_) if started.elapsed() > Duration::from_secs(60) => {
                return Err("no 200 from /health within 60 s".to_owned())
            }
            _ => {}
        }
        if let Some(status) = function.exited() {
            return Err(format!("the bootstrap ended ({status})"));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let first_answer_ms = started.elapsed().as_secs_f64() * 1000.0;
    expect("GET /health", &first, 200, "ok")?;
    let health = call(&client, address, reqwest::Method::GET, "/health", None).await?;
    expect("GET /health", &health, 200, "ok")?;
    let catalogue = call(&client, address, reqwest::Method::GET, "/unicorns/", None).await?;
    expect("GET /unicorns/", &catalogue, 200, FIRST_PRODUCT)?;
    let email = format!("smoke-{:016x}@example.com", fastrand::u64(..));
    let signup = call(
        &client,
        address,
        reqwest::Method::POST,
        "/user",
        Some(format!(
            r#"{{"email":"{email}","password":"smoke-password-1"}}"#
        )),
    )
    .await?;
    expect("POST /user", &signup, 201, &email)?;
    let missing = call(
        &client,
        address,
        reqwest::Method::GET,
        "/no-such-route",
        None,
    )
    .await?;
    expect("GET /no-such-route", &missing, 404, "\"status\":404")?;
    Ok(format!(
        "lambda_smoke: first_answer_ms={first_answer_ms:.0} health_ms={:.1} catalogue_ms={:.1} \
         signup_ms={:.1} not_found_ms={:.1} (arm64 bootstrap under {QEMU}, behind cargo lambda \
         watch; first_answer counts from process start, emulation included)",
        health.ms, catalogue.ms, signup.ms, missing.ms
    ))
}
