//! Offline checks of `infra/` (cfn-lint, cfn-guard with its broken fixtures, the CloudFront Function
//! tests) and the installation of the tools they need.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::process::{command_line, spawn_error, tail};

/// Versions `setup_cfn_guard` installs (and `check_infra` expects).
pub const CFN_GUARD_VERSION: &str = "3.2.1";
const PIP_TOOLS: &[(&str, &str, Option<&str>)] = &[
    // (pip requirement, distribution name for `pip show`, command that must be on PATH); a
    // requirement pinned with `==` is reinstalled when another version is there.
    ("cfn-lint", "cfn-lint", Some("cfn-lint")),
    // The two-region stack patches moto's DynamoDB transactions (`crates/stack/src/moto/moto_serial.py`).
    ("moto[server]==5.2.5", "moto", Some("moto_server")),
    ("awscli", "awscli", Some("aws")),
    // The CloudFront KeyValueStore API signs with SigV4A, which awscli v1 needs awscrt for.
    ("botocore[crt]", "awscrt", None),
];

/// The regions every template must be valid in.
const LINT_REGIONS: &[&str] = &["us-east-1", "us-west-1"];

// ------------------------------------------------------------------------------------------------
// check_infra

/// Offline checks of `infra/`: cfn-lint over every template, cfn-guard over the templates (must
/// pass, and every rule must pass somewhere rather than being skipped everywhere) and over each
/// broken fixture (must fail, on exactly the rule the fixture is named after), and the node tests of
/// the CloudFront Functions. Prints one line per check; returns an error listing every failure.
pub fn check_infra(repo_root: &Path) -> Result<(), String> {
    let infra = repo_root.join("infra");
    let mut failures = Vec::new();
    let mut record = |name: &str, started: Instant, result: Result<String, String>| {
        let secs = started.elapsed().as_secs_f64();
        match result {
            Ok(detail) => println!("ok    {name}: {detail} ({secs:.1} s)"),
            Err(err) => {
                println!("FAIL  {name} ({secs:.1} s)\n{}", indent(&err));
                failures.push(name.to_string());
            }
        }
    };

    let templates = files_with_ext(&infra.join("templates"), &["yaml", "yml"])?;
    let rule_files = files_with_ext(&infra.join("guard").join("rules"), &["guard"])?;
    let fixtures = files_with_ext(&infra.join("guard").join("fixtures"), &["yaml", "yml"])?;
    if templates.is_empty() {
        return Err(format!(
            "no templates in {}",
            infra.join("templates").display()
        ));
    }

    let started = Instant::now();
    record("cfn-lint", started, cfn_lint(repo_root, &templates));

    let started = Instant::now();
    let rules = guard_rule_names(&rule_files);
    let result = match &rules {
        Ok(rules) => guard_templates(repo_root, &infra, &templates, rules),
        Err(e) => Err(e.clone()),
    };
    record("cfn-guard templates", started, result);

    let started = Instant::now();
    let result = match &rules {
        Ok(rules) => guard_fixtures(repo_root, &infra, &fixtures, rules),
        Err(_) => Err("skipped: no rules loaded".to_string()),
    };
    record("cfn-guard fixtures", started, result);

    let started = Instant::now();
    record(
        "node --test infra/functions/",
        started,
        node_tests(repo_root),
    );

    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!("infra checks failed: {}", failures.join(", ")))
    }
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("      {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn files_with_ext(dir: &Path, exts: &[&str]) -> Result<Vec<PathBuf>, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
            .path();
        let matches = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| exts.contains(&e));
        if path.is_file() && matches {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn relative(repo_root: &Path, path: &Path) -> String {
    path.strip_prefix(repo_root)
        .unwrap_or(path)
        .display()
        .to_string()
}

fn cfn_lint(repo_root: &Path, templates: &[PathBuf]) -> Result<String, String> {
    let mut cmd = Command::new("cfn-lint");
    cmd.current_dir(repo_root)
        .arg("--regions")
        .args(LINT_REGIONS)
        .arg("--");
    cmd.args(templates.iter().map(|t| relative(repo_root, t)));
    let line = command_line(&cmd);
    let output = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| spawn_error("cfn-lint", &line, &e))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    // cfn-lint exit code is a bit mask: 2 errors, 4 warnings, 8 informational. Warnings must be
    // suppressed in the template (Metadata cfn-lint ignore_checks, with a reason), so any finding fails.
    if output.status.success() {
        Ok(format!(
            "{} templates, regions {}, no findings",
            templates.len(),
            LINT_REGIONS.join(" ")
        ))
    } else {
        Err(format!(
            "`{line}` reported findings ({}):\n{}{}",
            output.status,
            stdout.trim_end(),
            String::from_utf8_lossy(&output.stderr).trim_end()
        ))
    }
}

/// `file stem/rule name` for every `rule NAME` in the rule files.
fn guard_rule_names(rule_files: &[PathBuf]) -> Result<BTreeSet<String>, String> {
    let mut names = BTreeSet::new();
    for file in rule_files {
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        for line in text.lines() {
            if let Some(rest) = line.trim_start().strip_prefix("rule ") {
                if let Some(name) = rest.split_whitespace().next() {
                    names.insert(name.to_string());
                }
            }
        }
    }
    if names.is_empty() {
        return Err("no `rule` found in infra/guard/rules/*.guard".to_string());
    }
    Ok(names)
}

/// Runs cfn-guard with all rules on one data file; returns (exit code, {rule -> status}).
fn guard_run(
    repo_root: &Path,
    infra: &Path,
    data: &Path,
) -> Result<(i32, Vec<(String, String)>), String> {
    let mut cmd = Command::new("cfn-guard");
    cmd.current_dir(repo_root)
        .arg("validate")
        .arg("--rules")
        .arg(relative(repo_root, &infra.join("guard").join("rules")))
        .arg("--data")
        .arg(relative(repo_root, data))
        .args(["--show-summary", "all"]);
    let line = command_line(&cmd);
    let output = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| spawn_error("cfn-guard", &line, &e))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let code = output.status.code().unwrap_or(-1);
    // 0 = pass, 19 = some rule failed; anything else is a parse or usage error.
    if code != 0 && code != 19 {
        return Err(format!(
            "`{line}` errored ({}):\n{}\n{}",
            output.status,
            tail(&stdout, 15),
            tail(&String::from_utf8_lossy(&output.stderr), 15)
        ));
    }
    // Summary lines look like `cloudfront.guard/origin_group_two_members     FAIL`.
    let statuses = stdout
        .lines()
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            let (rule, status) = (parts.next()?, parts.next()?);
            let (_, name) = rule.split_once(".guard/")?;
            matches!(status, "PASS" | "FAIL" | "SKIP")
                .then(|| (name.to_string(), status.to_string()))
        })
        .collect();
    Ok((code, statuses))
}

fn guard_templates(
    repo_root: &Path,
    infra: &Path,
    templates: &[PathBuf],
    rules: &BTreeSet<String>,
) -> Result<String, String> {
    let mut passed_somewhere = BTreeSet::new();
    let mut errors = Vec::new();
    for template in templates {
        let (code, statuses) = guard_run(repo_root, infra, template)?;
        for (rule, status) in &statuses {
            match status.as_str() {
                "PASS" => {
                    passed_somewhere.insert(rule.clone());
                }
                "FAIL" => errors.push(format!(
                    "{}: rule {rule} FAILS",
                    relative(repo_root, template)
                )),
                _ => {}
            }
        }
        if code != 0 && errors.is_empty() {
            errors.push(format!(
                "{}: cfn-guard exited {code}",
                relative(repo_root, template)
            ));
        }
    }
    let vacuous: Vec<&String> = rules.difference(&passed_somewhere).collect();
    if !vacuous.is_empty() {
        errors.push(format!(
            "rules that pass on no template (failing, or skipped everywhere): {vacuous:?}"
        ));
    }
    if errors.is_empty() {
        Ok(format!(
            "{} rules pass on {} templates (each rule passes on at least one)",
            rules.len(),
            templates.len()
        ))
    } else {
        Err(errors.join("\n"))
    }
}

fn guard_fixtures(
    repo_root: &Path,
    infra: &Path,
    fixtures: &[PathBuf],
    rules: &BTreeSet<String>,
) -> Result<String, String> {
    let mut errors = Vec::new();
    let mut covered = BTreeSet::new();
    for fixture in fixtures {
        let target = fixture
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        let name = relative(repo_root, fixture);
        if !rules.contains(&target) {
            errors.push(format!(
                "{name}: no rule named {target} (fixtures are named after their rule)"
            ));
            continue;
        }
        covered.insert(target.clone());
        let (code, statuses) = guard_run(repo_root, infra, fixture)?;
        let failed: BTreeSet<&str> = statuses
            .iter()
            .filter(|(_, s)| s == "FAIL")
            .map(|(r, _)| r.as_str())
            .collect();
        if code != 19 || !failed.contains(target.as_str()) {
            errors.push(format!(
                "{name}: expected rule {target} to FAIL, got {statuses:?}"
            ));
        } else if failed.len() > 1 {
            errors.push(format!(
                "{name}: should fail only {target}, also failed {failed:?}"
            ));
        }
    }
    let uncovered: Vec<&String> = rules.difference(&covered).collect();
    if !uncovered.is_empty() {
        errors.push(format!("rules without a broken fixture: {uncovered:?}"));
    }
    if errors.is_empty() {
        Ok(format!(
            "{} broken fixtures, each rejected by exactly its own rule ({} rules covered)",
            fixtures.len(),
            covered.len()
        ))
    } else {
        Err(errors.join("\n"))
    }
}

fn node_tests(repo_root: &Path) -> Result<String, String> {
    let mut cmd = Command::new("node");
    cmd.current_dir(repo_root)
        .args(["--test", "infra/functions/"]);
    let line = command_line(&cmd);
    let output = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| spawn_error("node", &line, &e))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let count = |key: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("# {key} ")))
            .unwrap_or("?")
            .to_string()
    };
    if output.status.success() {
        Ok(format!("{} tests, {} pass", count("tests"), count("pass")))
    } else {
        let failing: Vec<&str> = stdout.lines().filter(|l| l.contains("not ok")).collect();
        Err(format!(
            "`{line}` failed: {} of {} tests failed\n{}\n{}",
            count("fail"),
            count("tests"),
            failing.join("\n"),
            tail(&stdout, 40)
        ))
    }
}

// ------------------------------------------------------------------------------------------------
// setup_pip_tools, setup_cfn_guard

/// Installs what the infra checks, the release test and the runbook need from PyPI, skipping what
/// is already there: cfn-lint, moto[server] and awscli.
pub fn setup_pip_tools() -> Result<(), String> {
    let total = PIP_TOOLS.len();
    for (i, (requirement, dist, command)) in PIP_TOOLS.iter().enumerate() {
        let step = format!("  [{}/{total}] {requirement}", i + 1);
        let pinned = requirement.split_once("==").map(|(_, version)| version);
        let installed = pip_installed_version(dist)
            .filter(|version| pinned.is_none_or(|pinned| pinned == version));
        let on_path = command.is_none_or(command_exists);
        if let (Some(version), true) = (&installed, on_path) {
            println!("{step}: {dist} {version} already installed");
            continue;
        }
        let mut cmd = Command::new("python3");
        cmd.args(["-m", "pip", "install", "--quiet", requirement]);
        crate::process::run(&mut cmd)?;
        let version = pip_installed_version(dist).unwrap_or_else(|| "?".to_string());
        if let Some(command) = command.filter(|c| !command_exists(c)) {
            return Err(format!(
                "installed {dist} {version} but `{command}` is not on PATH; add pip's script directory to PATH"
            ));
        }
        println!("{step}: installed {dist} {version}");
    }
    Ok(())
}

/// Installs cfn-guard from crates.io unless that version is there.
pub fn setup_cfn_guard() -> Result<(), String> {
    match cfn_guard_version() {
        Some(v) if v == CFN_GUARD_VERSION => {
            println!("  cfn-guard {v} already installed");
            return Ok(());
        }
        Some(v) => println!("  found cfn-guard {v}, building {CFN_GUARD_VERSION} (about 3 min)"),
        None => println!("  building cfn-guard {CFN_GUARD_VERSION} (about 3 min on 2 cores)"),
    }
    crate::setup::cargo_install("cfn-guard", CFN_GUARD_VERSION, &["--locked"])?;
    match cfn_guard_version() {
        Some(v) if v == CFN_GUARD_VERSION => Ok(()),
        other => Err(format!(
            "cargo installed cfn-guard but `cfn-guard --version` says {other:?}; is ~/.cargo/bin on PATH?"
        )),
    }
}

fn pip_installed_version(dist: &str) -> Option<String> {
    let output = Command::new("python3")
        .args(["-m", "pip", "show", dist])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("Version: "))
        .map(|v| v.trim().to_string())
}

fn command_exists(command: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(command).is_file()))
}

fn cfn_guard_version() -> Option<String> {
    let output = Command::new("cfn-guard")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .ok()?;
    // "cfn-guard 3.2.1"
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .nth(1)
        .map(str::to_string)
}
