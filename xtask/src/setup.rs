//! Installing what the shop and its tests need, idempotently: each tool is checked first and
//! installed only when missing or at the wrong version, so a second run takes seconds.

use std::path::Path;
use std::process::Command;

use crate::process::{first_line_of, repo_root, run};

/// The Trunk release that builds with this toolchain (0.22 needs a newer rustc).
pub const TRUNK_VERSION: &str = "0.21.14";
/// binaryen's wasm-opt from npm; Debian's is too old for current rustc output.
pub const BINARYEN_VERSION: &str = "132";

/// What to install.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Building and serving the storefront.
    Dev,
    /// Everything `cargo xtask test` uses as well: Chromium, chromedriver, the e2e packages.
    Test,
}

/// One install step: its name, and the function that checks and installs it.
type Step = (&'static str, fn() -> Result<(), String>);

pub fn setup(scope: Scope) -> Result<(), String> {
    let steps: Vec<Step> = match scope {
        Scope::Dev => vec![
            ("wasm32 target", wasm_target),
            ("trunk", trunk),
            ("wasm-bindgen-cli", wasm_bindgen),
            ("wasm-opt", wasm_opt),
        ],
        Scope::Test => vec![
            ("wasm32 target", wasm_target),
            ("trunk", trunk),
            ("wasm-bindgen-cli", wasm_bindgen),
            ("wasm-opt", wasm_opt),
            ("chromium and chromedriver", chromium),
            ("MariaDB server", mariadb),
            ("e2e packages", e2e_packages),
            (
                "API test tools (schemathesis, wrk)",
                crate::api_checks::setup_api_tools,
            ),
            ("infrastructure tools", crate::infra::setup_infra_tools),
        ],
    };
    let total = steps.len();
    for (index, (name, step)) in steps.into_iter().enumerate() {
        println!("setup [{}/{total}] {name}", index + 1);
        step().map_err(|e| format!("setting up {name}: {e}"))?;
    }
    Ok(())
}

fn wasm_target() -> Result<(), String> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map_err(|e| format!("cannot run rustup: {e}"))?;
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|l| l.trim() == "wasm32-unknown-unknown")
    {
        println!("  already installed");
        return Ok(());
    }
    run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))
}

fn trunk() -> Result<(), String> {
    let wanted = format!("trunk {TRUNK_VERSION}");
    if first_line_of("trunk", &["--version"]).as_deref() == Some(wanted.as_str()) {
        println!("  {wanted} already installed");
        return Ok(());
    }
    println!("  building {wanted} from crates.io (about 10 minutes on 2 cores)");
    run(Command::new("cargo").args(["install", "trunk", "--version", TRUNK_VERSION, "--locked"]))
}

/// The wasm-bindgen version the storefront is locked to; the CLI must match it exactly, or Trunk
/// tries to download one.
pub fn locked_wasm_bindgen_version() -> Result<String, String> {
    let lock_path = repo_root().join("Cargo.lock");
    let lock = std::fs::read_to_string(&lock_path)
        .map_err(|e| format!("cannot read {}: {e}", lock_path.display()))?;
    locked_version(&lock, "wasm-bindgen")
        .ok_or_else(|| format!("{} has no wasm-bindgen package", lock_path.display()))
}

/// The version of `package` in a Cargo.lock's text.
fn locked_version(lock: &str, package: &str) -> Option<String> {
    let wanted = format!("name = \"{package}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == wanted {
            let version = lines.next()?.trim();
            return version
                .strip_prefix("version = \"")
                .and_then(|v| v.strip_suffix('"'))
                .map(str::to_owned);
        }
    }
    None
}

fn wasm_bindgen() -> Result<(), String> {
    let version = locked_wasm_bindgen_version()?;
    let wanted = format!("wasm-bindgen {version}");
    if first_line_of("wasm-bindgen", &["--version"]).as_deref() == Some(wanted.as_str()) {
        println!("  {wanted} already installed");
        return Ok(());
    }
    println!("  building wasm-bindgen-cli {version} (about 2 minutes)");
    // Not --locked: one of its locked dependencies is no longer on the registry.
    run(Command::new("cargo").args(["install", "wasm-bindgen-cli", "--version", &version]))
}

fn wasm_opt() -> Result<(), String> {
    let current = first_line_of("wasm-opt", &["--version"]).unwrap_or_default();
    if current.starts_with(&format!("wasm-opt version {BINARYEN_VERSION}")) {
        println!("  {current} already installed");
        return Ok(());
    }
    run(Command::new("npm").args([
        "install",
        "--global",
        &format!("binaryen@{BINARYEN_VERSION}"),
    ]))
}

fn chromium() -> Result<(), String> {
    if Path::new("/usr/bin/chromium").exists() && Path::new("/usr/bin/chromedriver").exists() {
        println!(
            "  {}",
            first_line_of("/usr/bin/chromium", &["--version"]).unwrap_or_default()
        );
        return Ok(());
    }
    apt_install(&["chromium", "chromium-driver"])
}

/// `apt-get update` then `apt-get install` of Debian packages (through sudo unless root).
pub(crate) fn apt_install(packages: &[&str]) -> Result<(), String> {
    let apt = if is_root() {
        vec![]
    } else {
        vec!["sudo".to_owned()]
    };
    let command = |args: &[&str]| {
        let mut words = apt.clone();
        words.push("apt-get".to_owned());
        words.extend(args.iter().map(|a| (*a).to_owned()));
        let mut command = Command::new(&words[0]);
        command
            .args(&words[1..])
            .env("DEBIAN_FRONTEND", "noninteractive");
        command
    };
    run(&mut command(&["update"]))?;
    let mut install = vec!["install", "-y", "--no-install-recommends"];
    install.extend_from_slice(packages);
    run(&mut command(&install))
}

/// Debian's MariaDB server, which the MySQL store's tests run against: each test process starts
/// its own server on a data folder, socket and free port of its own (no system service is used).
pub const MARIADBD: &str = "/usr/sbin/mariadbd";

/// With `openssl`, which the TLS test uses to make its certificates.
fn mariadb() -> Result<(), String> {
    if Path::new(MARIADBD).exists()
        && Path::new("/usr/bin/mariadb-install-db").exists()
        && Path::new("/usr/bin/openssl").exists()
    {
        println!(
            "  {}",
            first_line_of(MARIADBD, &["--version"]).unwrap_or_default()
        );
        return Ok(());
    }
    apt_install(&["mariadb-server", "openssl"])
}

fn is_root() -> bool {
    first_line_of("id", &["-u"]).as_deref() == Some("0")
}

fn e2e_packages() -> Result<(), String> {
    let e2e = repo_root().join("e2e");
    let lock = e2e.join("package-lock.json");
    let installed = e2e.join("node_modules/.package-lock.json");
    let fresh = match (std::fs::metadata(&lock), std::fs::metadata(&installed)) {
        (Ok(lock), Ok(installed)) => match (lock.modified(), installed.modified()) {
            (Ok(lock), Ok(installed)) => installed >= lock,
            _ => false,
        },
        _ => false,
    };
    if fresh {
        println!("  e2e/node_modules is up to date");
        return Ok(());
    }
    run(Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&e2e))
}

#[cfg(test)]
mod tests {
    use super::locked_version;

    #[test]
    fn reads_a_package_version_from_a_lock_file() {
        let lock = "[[package]]\nname = \"wasm-bindgen-macro\"\nversion = \"9.9.9\"\n\n\
                    [[package]]\nname = \"wasm-bindgen\"\nversion = \"0.2.130\"\n";
        assert_eq!(
            locked_version(lock, "wasm-bindgen").as_deref(),
            Some("0.2.130")
        );
        assert_eq!(locked_version(lock, "trunk"), None);
    }
}
