//! Installing what the shop and its tests need, idempotently: each tool is checked first and
//! installed only when missing or at the wrong version, so a second run takes seconds.

use std::path::Path;
use std::process::Command;

use unishop_stack::mariadb::MARIADBD;

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
    /// Everything `cargo xtask test` uses as well: the three browser engines and their WebDriver
    /// servers, MariaDB, the e2e packages, the API and infrastructure checkers.
    Test,
}

/// One install step: its name, and the function that checks and installs it.
type Step = (&'static str, fn() -> Result<(), String>);

/// Installs what `scope` needs in two lanes at once: what is built here (cargo installs, which keep
/// both cores busy) in this thread, and what is downloaded (Debian packages, pip, npm, which mostly
/// wait on the network) in another. On a fresh 2-core machine that takes the downloads (about
/// three minutes) off the critical path.
pub fn setup(scope: Scope) -> Result<(), String> {
    let (builds, downloads) = steps(scope);
    let downloads = std::thread::spawn(move || run_lane("downloads", downloads));
    let built = run_lane("builds", builds);
    let downloaded = downloads
        .join()
        .unwrap_or_else(|_| Err("the download lane panicked".to_owned()));
    built.and(downloaded)
}

/// The steps of `scope`: (built here, downloaded).
fn steps(scope: Scope) -> (Vec<Step>, Vec<Step>) {
    let mut builds: Vec<Step> = vec![
        ("wasm32 target", wasm_target),
        ("trunk", trunk),
        ("wasm-bindgen-cli", wasm_bindgen),
    ];
    let mut downloads: Vec<Step> = vec![("wasm-opt", wasm_opt)];
    if scope == Scope::Test {
        builds.extend([
            ("geckodriver", geckodriver as fn() -> Result<(), String>),
            ("cfn-guard", crate::infra::setup_cfn_guard),
        ]);
        downloads.extend([
            (
                "Debian packages (browsers and their drivers, MariaDB, wrk)",
                debian_packages as fn() -> Result<(), String>,
            ),
            ("e2e packages", e2e_packages),
            ("schemathesis", || {
                crate::api_checks::setup_schemathesis().map_err(String::from)
            }),
            ("infrastructure tools (pip)", crate::infra::setup_pip_tools),
        ]);
    }
    (builds, downloads)
}

fn run_lane(lane: &str, steps: Vec<Step>) -> Result<(), String> {
    let total = steps.len();
    for (index, (name, step)) in steps.into_iter().enumerate() {
        let started = std::time::Instant::now();
        println!("setup {lane} [{}/{total}] {name}", index + 1);
        step().map_err(|e| format!("setting up {name}: {e}"))?;
        let seconds = started.elapsed().as_secs_f64();
        if seconds >= 1.0 {
            println!(
                "setup {lane} [{}/{total}] {name}: {seconds:.0} s",
                index + 1
            );
        }
    }
    Ok(())
}

/// `cargo install` of a tool from crates.io, built for a quick install rather than for speed: the
/// tools here do little work per run, and Trunk's own release profile (fat LTO, one codegen unit)
/// alone made its install take 15 minutes on 2 cores (5 with these settings). Every install shares
/// one target folder, so dependencies the tools have in common are built once.
pub(crate) fn cargo_install(krate: &str, version: &str, extra: &[&str]) -> Result<(), String> {
    let target = crate::process::target_dir().join("tools");
    let mut command = Command::new("cargo");
    command
        .args(["install", krate, "--version", version, "--target-dir"])
        .arg(&target)
        .args(extra)
        .env("CARGO_PROFILE_RELEASE_LTO", "off")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16")
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "1")
        .env("CARGO_PROFILE_RELEASE_DEBUG", "0");
    run(&mut command)
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
    println!("  building {wanted} from crates.io (about 5 minutes on 2 cores)");
    // Without its default features Trunk has no TLS stack: it never downloads a tool (the ones it
    // needs are installed here, at the versions pinned here) and never proxies to https.
    cargo_install(
        "trunk",
        TRUNK_VERSION,
        &["--locked", "--no-default-features"],
    )
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
    cargo_install("wasm-bindgen-cli", &version, &[])
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

/// geckodriver, Firefox's WebDriver server, which Mozilla publishes on crates.io.
pub const GECKODRIVER_VERSION: &str = "0.37.1";

fn geckodriver() -> Result<(), String> {
    let wanted = format!("geckodriver {GECKODRIVER_VERSION}");
    if first_line_of("geckodriver", &["--version"]).is_some_and(|line| line.starts_with(&wanted)) {
        println!("  {wanted} already installed");
        return Ok(());
    }
    println!("  building {wanted} from crates.io (about 2 minutes)");
    cargo_install("geckodriver", GECKODRIVER_VERSION, &["--locked"])
}

/// The Debian packages the tests use, each with a file that shows it is installed.
const DEBIAN_PACKAGES: &[(&str, &str)] = &[
    ("chromium", "/usr/bin/chromium"),
    ("chromium-driver", "/usr/bin/chromedriver"),
    ("firefox-esr", "/usr/bin/firefox-esr"),
    // WebKitGTK's WebDriver and the MiniBrowser it drives; a window needs an X server.
    ("webkit2gtk-driver", "/usr/bin/WebKitWebDriver"),
    ("xvfb", "/usr/bin/Xvfb"),
    ("xauth", "/usr/bin/xauth"),
    ("mariadb-server", MARIADBD),
    ("mariadb-server", "/usr/bin/mariadb-install-db"),
    // The MySQL store's TLS test makes its certificates with it.
    ("openssl", "/usr/bin/openssl"),
    ("wrk", "/usr/bin/wrk"),
];

fn debian_packages() -> Result<(), String> {
    let mut missing: Vec<&str> = DEBIAN_PACKAGES
        .iter()
        .filter(|(_, file)| !Path::new(file).exists())
        .map(|(package, _)| *package)
        .collect();
    missing.dedup();
    if missing.is_empty() {
        for browser in ["/usr/bin/chromium", "/usr/bin/firefox-esr"] {
            println!(
                "  {}",
                first_line_of(browser, &["--version"]).unwrap_or_default()
            );
        }
        return Ok(());
    }
    apt_install(&missing)
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
    run(&mut command(&["update", "-qq"]))?;
    let mut install = vec!["install", "-y", "-qq", "--no-install-recommends"];
    install.extend_from_slice(packages);
    run(&mut command(&install))
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
