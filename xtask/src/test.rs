//! `cargo xtask test`: every test of the project, in the order that fails fastest, ending with one
//! summary line that counts the tests run.

use std::process::Command;
use std::time::Instant;

use unishop_stack::drill;
use unishop_stack::mariadb::MARIADBD;
use unishop_stack::moto::MotoServer;
use unishop_stack::stores::StoreKind;

use crate::bench::{build_release, bundle_sizes, check_budget};
use crate::process::{repo_root, run, run_watching, target_dir};
use crate::setup::{setup, Scope};

/// The browser engines every end-to-end spec runs in (`e2e/support/browser.mjs`).
const E2E_ENGINES: [&str; 3] = ["chromium", "firefox", "webkit"];

/// Tests counted from the runners' own output.
#[derive(Default, Debug, Clone, Copy, PartialEq, Eq)]
struct Counts {
    passed: usize,
    failed: usize,
}

impl Counts {
    fn add(&mut self, other: Counts) {
        self.passed += other.passed;
        self.failed += other.failed;
    }

    /// Reads a runner's summary line: cargo's `test result: ok. 12 passed; 0 failed; ...` or
    /// node's `# pass 3` / `# fail 0`.
    fn read(&mut self, line: &str) {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("test result: ") {
            for part in rest.split([';', '.']) {
                let mut words = part.split_whitespace();
                if let (Some(number), Some(kind)) = (words.next(), words.next()) {
                    if let Ok(n) = number.parse::<usize>() {
                        match kind {
                            "passed" => self.passed += n,
                            "failed" => self.failed += n,
                            _ => {}
                        }
                    }
                }
            }
        } else if let Some(n) = line.strip_prefix("# pass ") {
            self.passed += n.trim().parse::<usize>().unwrap_or(0);
        } else if let Some(n) = line.strip_prefix("# fail ") {
            self.failed += n.trim().parse::<usize>().unwrap_or(0);
        }
    }

    /// Reads a line of `python3 -m unittest -v`: `test_name (module.Class.test_name) ... ok`,
    /// `... FAIL` or `... ERROR`. Kept apart from `read`, whose cargo lines end the same way.
    fn read_unittest(&mut self, line: &str) {
        let line = line.trim_end();
        if line.ends_with(" ... ok") {
            self.passed += 1;
        } else if line.ends_with(" ... FAIL") || line.ends_with(" ... ERROR") {
            self.failed += 1;
        }
    }
}

pub fn test() -> Result<(), String> {
    let started = Instant::now();
    setup(Scope::Test)?;
    let root = repo_root();
    let mut counts = Counts::default();
    let mut per_engine: Vec<(&str, Counts)> = Vec::new();
    let mut timings: Vec<(String, f64)> = Vec::new();
    let mut step = |name: &str, action: &mut dyn FnMut(&mut Counts) -> Result<(), String>| {
        println!("\ntest: {name}");
        let began = Instant::now();
        let result = action(&mut counts);
        timings.push((name.to_owned(), began.elapsed().as_secs_f64()));
        result.map_err(|e| format!("{name}: {e}"))
    };

    let outcome = (|| {
        step("formatting", &mut |_| {
            run(Command::new("cargo")
                .args(["fmt", "--all", "--", "--check"])
                .current_dir(&root))
        })?;
        step("clippy", &mut |_| {
            run(Command::new("cargo")
                .args([
                    "clippy",
                    "--workspace",
                    "--all-targets",
                    "--",
                    "-D",
                    "warnings",
                ])
                .current_dir(&root))
        })?;
        step("unit and HTTP tests", &mut |counts| {
            // The DynamoDB store's tests run against moto_server (an AWS emulator).
            let moto = MotoServer::start(
                &std::env::temp_dir().join(format!("unishop-test-moto-{}.log", std::process::id())),
            )?;
            run_watching(
                Command::new("cargo")
                    .args(["test", "--workspace"])
                    .env("UNISHOP_TEST_MOTO_URL", &moto.url)
                    .env("UNISHOP_TEST_MARIADB", MARIADBD)
                    .current_dir(&root),
                |line| counts.read(line),
            )
        })?;
        step(
            "storefront components in Chromium (wasm-bindgen-test)",
            &mut |counts| {
                run_watching(
                    Command::new("cargo")
                        .args([
                            "test",
                            "--target",
                            "wasm32-unknown-unknown",
                            "--package",
                            "unishop",
                            "--test",
                            "components",
                        ])
                        .env("CHROMEDRIVER", "/usr/bin/chromedriver")
                        .current_dir(&root),
                    |line| counts.read(line),
                )
            },
        )?;
        step(
            "API against its OpenAPI document (schemathesis)",
            &mut |_| {
                crate::api_checks::run_schemathesis(&target_dir().join("debug/unishop-api"))
                    .map_err(String::from)
            },
        )?;
        step(
            "storefront on the host (feature ssr, the prerenderer): clippy and unit tests",
            &mut |counts| {
                run(&mut crate::build::ssr_cargo(&[
                    "clippy",
                    "--package",
                    "unishop",
                    "--no-default-features",
                    "--features",
                    "ssr",
                    "--all-targets",
                    "--",
                    "-D",
                    "warnings",
                ]))?;
                run_watching(
                    &mut crate::build::ssr_cargo(&[
                        "test",
                        "--package",
                        "unishop",
                        "--no-default-features",
                        "--features",
                        "ssr",
                        "--lib",
                    ]),
                    |line| counts.read(line),
                )
            },
        )?;
        step("storefront release build and size budget", &mut |_| {
            let dist = build_release()?;
            let sizes = bundle_sizes(&dist)?;
            println!("  {}", sizes.line());
            Ok(check_budget(&sizes)?)
        })?;
        step(
            "infrastructure: cfn-lint, cfn-guard, CloudFront functions",
            &mut |_| crate::infra::check_infra(&root),
        )?;
        step(
            "release to two S3 buckets (moto); failover, failback, deploy, status and teardown dry runs",
            &mut |_| {
                crate::release::test_release_against_moto(&root)?;
                crate::failover::test_failover_dry_run()?;
                crate::deploy::test_dry_run()?;
                crate::status::test_dry_run()?;
                crate::teardown::test_dry_run()?;
                crate::teardown::test_against_moto(&std::env::temp_dir())
            },
        )?;
        step(
            "moto's DynamoDB as the two-region stack runs it (python unittest)",
            &mut |counts| {
                run_watching(
                    Command::new("python3")
                        .args(["-m", "unittest", "-v", "moto_serial_test"])
                        .env("PYTHONDONTWRITEBYTECODE", "1")
                        .current_dir(root.join("crates/stack/src/moto")),
                    |line| counts.read_unittest(line),
                )
            },
        )?;
        for store in [StoreKind::Sqlite, StoreKind::MysqlDynamodb] {
            step(
                &format!(
                    "short drill on {}: two regions, faults, scripted shoppers",
                    store.name()
                ),
                &mut |_| drill::drill(&drill::short(store)),
            )?;
        }
        // The browser specs' two-region stack (`e2e/support/regions.mjs`).
        step("the two-region stack's binary (unishop-stack)", &mut |_| {
            run(Command::new("cargo")
                .args(["build", "--package", "unishop-stack"])
                .current_dir(&root))
        })?;
        for engine in E2E_ENGINES {
            step(&format!("end-to-end in {engine}"), &mut |counts| {
                let mut engine_counts = Counts::default();
                let result = run_watching(
                    Command::new("node")
                        .args(["--test", "--test-concurrency=1", "e2e/"])
                        .env("UNISHOP_E2E_ENGINE", engine)
                        .env("UNISHOP_API_BIN", target_dir().join("debug/unishop-api"))
                        .env("UNISHOP_DIST", root.join("dist"))
                        .env(
                            "UNISHOP_STACK_BIN",
                            target_dir().join("debug/unishop-stack"),
                        )
                        .current_dir(&root),
                    |line| engine_counts.read(line),
                );
                counts.add(engine_counts);
                per_engine.push((engine, engine_counts));
                result
            })?;
        }
        Ok(())
    })();

    println!("\ntest: steps");
    for (name, seconds) in &timings {
        println!("  {seconds:>7.1} s  {name}");
    }
    println!("  {:>7.1} s  in all", started.elapsed().as_secs_f64());
    if !per_engine.is_empty() {
        let engines: Vec<String> = per_engine
            .iter()
            .map(|(engine, c)| format!("{engine} {} passed, {} failed", c.passed, c.failed))
            .collect();
        println!("end-to-end: {}", engines.join("; "));
    }
    match outcome {
        Ok(()) => {
            println!("tests: {} passed, {} failed", counts.passed, counts.failed);
            if counts.failed > 0 || counts.passed == 0 {
                return Err("the runners reported failures or ran nothing".to_owned());
            }
            Ok(())
        }
        Err(error) => {
            println!(
                "tests: {} passed, {} failed",
                counts.passed,
                counts.failed.max(1)
            );
            Err(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Counts;

    #[test]
    fn counts_cargo_and_node_summaries() {
        let mut counts = Counts::default();
        counts.read("test result: ok. 12 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s");
        counts
            .read("test result: FAILED. 3 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out");
        counts.read("# pass 4");
        counts.read("# fail 1");
        counts.read("running 12 tests");
        counts.read("test tests::counts ... ok");
        counts.read_unittest("test_a (moto_serial_test.Rollback.test_a) ... ok");
        counts.read_unittest("test_b (moto_serial_test.Rollback.test_b) ... FAIL");
        counts.read_unittest("test_c (moto_serial_test.Rollback.test_c) ... ERROR");
        counts.read_unittest("Ran 3 tests in 0.5s");
        assert_eq!(
            counts,
            Counts {
                passed: 20,
                failed: 5
            }
        );
    }
}
