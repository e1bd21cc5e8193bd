//! Unishop's developer commands, run as `cargo xtask <command>`.

mod api_checks;
mod api_server;
mod aws;
mod bench;
mod build;
mod deploy;
mod dev;
mod error;
mod failover;
mod infra;
mod lambda;
mod process;
mod release;
mod setup;
mod status;
mod teardown;
mod test;

use clap::{Parser, Subcommand};
use error::Result;
use unishop_stack::drill::DrillArgs;
use unishop_stack::stores::StoreKind;

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "Unishop's developer commands: set up, run, test and measure the shop.",
    long_about = None
)]
struct Cli {
    #[command(subcommand)]
    command: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Install what building, running and testing the shop needs (skips what is already there).
    Setup {
        /// Install only what `dev` needs (no browser, no test packages).
        #[arg(long)]
        dev_only: bool,
    },
    /// Run the shop locally: the API on :3000 and the storefront on http://127.0.0.1:8080.
    Dev {
        /// Two API regions (us-east-1 on :3000, us-west-1 on :3001) on one store, behind a local
        /// edge on :8080 that routes /api and /api-standby as CloudFront does.
        #[arg(long)]
        two_regions: bool,
        /// The stores (with --two-regions); mysql-dynamodb starts a MariaDB server per region
        /// replicating (the Aurora global database stand-in) and a moto_server (a fake DynamoDB),
        /// removed when dev stops.
        #[arg(long, value_enum, default_value_t, requires = "two_regions")]
        store: StoreKind,
    },
    /// Build the site into dist/ exactly as `release` uploads it: Trunk's release build and the
    /// prerendered catalogue and product pages, sitemap.xml and robots.txt.
    Build(build::BuildArgs),
    /// Run every check and test of the project (what CI runs); ends with a summary line.
    Test,
    /// Check the CloudFormation templates, guard rules and CloudFront functions offline.
    CheckInfra,
    /// Publish the storefront to both regions' site buckets (see infra/README.md).
    Release(release::ReleaseArgs),
    /// Re-publish an earlier release's index.html and config.json in both buckets.
    Rollback(release::RollbackArgs),
    /// Move writes and the databases to the standby region (see infra/RUNBOOK.md).
    Failover(failover::FailoverArgs),
    /// Move writes and the databases back to the primary region.
    Failback(failover::FailoverArgs),
    /// Stand the shop up (or update it) in both regions: stacks, Lambda zip, schema, edge,
    /// release, then the URL and a health check through CloudFront (see infra/README.md).
    Deploy(deploy::DeployArgs),
    /// Both regions at a glance: who takes writes, Aurora, DynamoDB replication, /health, alarms.
    Status(status::StatusArgs),
    /// Remove everything deploy made, after a typed confirmation (see infra/README.md).
    Teardown(teardown::TeardownArgs),
    /// Kill, freeze and switch the primary under many scripted shoppers on the local two-region
    /// stack; check every cart and order; one line of figures and an SVG report (`unishop-stack
    /// drill`).
    Drill(DrillArgs),
    /// Build the API's Lambda zip (provided.al2023, arm64) with cargo-lambda; prints its path
    /// and size.
    PackageLambda(lambda::PackageArgs),
    /// Measure the product and print one line per figure.
    Bench {
        /// What to measure (default: the storefront's bundle and first render).
        #[arg(value_enum, default_value = "storefront")]
        what: BenchTarget,
        /// Where the API keeps its data for `bench api`.
        #[arg(long, value_enum, default_value_t)]
        store: StoreKind,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum BenchTarget {
    /// The storefront's bundle sizes and its first render in Chromium.
    Storefront,
    /// The storefront's release bundle sizes (raw, gzip and brotli).
    Bundle,
    /// Time from navigation to the ten product cards in headless Chromium (median of 9, cold).
    FirstRender,
    /// The API under load on loopback (wrk), against a static server's ceiling.
    Api,
}

fn main() -> std::process::ExitCode {
    match run(Cli::parse().command) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(task: Task) -> Result<()> {
    match task {
        Task::Setup { dev_only } => setup::setup(if dev_only {
            setup::Scope::Dev
        } else {
            setup::Scope::Test
        })?,
        Task::Dev {
            two_regions: false, ..
        } => dev::dev()?,
        Task::Dev {
            two_regions: true,
            store,
        } => dev::dev_two_regions(store)?,
        Task::Build(args) => println!("built {}", build::build(&args)?.display()),
        Task::Test => test::test()?,
        Task::Drill(args) => unishop_stack::drill::drill(&args)?,
        Task::CheckInfra => infra::check_infra(&process::repo_root())?,
        Task::Release(args) => release::release(&args)?,
        Task::Rollback(args) => release::rollback(&args)?,
        Task::Failover(args) => failover::failover(&args)?,
        Task::Failback(args) => failover::failback(&args)?,
        Task::Deploy(args) => deploy::deploy(&args)?,
        Task::Status(args) => status::status(&args)?,
        Task::Teardown(args) => teardown::teardown(&args)?,
        Task::PackageLambda(args) => lambda::package_lambda(&args)?,
        Task::Bench { what, store } => match what {
            BenchTarget::Storefront => {
                setup::setup(setup::Scope::Test)?;
                bench_bundle()?;
                bench::first_render()?;
            }
            BenchTarget::Bundle => {
                setup::setup(setup::Scope::Dev)?;
                bench_bundle()?;
            }
            BenchTarget::FirstRender => {
                setup::setup(setup::Scope::Test)?;
                bench::build_release()?;
                bench::first_render()?;
            }
            BenchTarget::Api => bench::api::bench_api(&process::repo_root(), store)?,
        },
    }
    Ok(())
}

fn bench_bundle() -> Result<()> {
    let dist = bench::build_release()?;
    let sizes = bench::bundle_sizes(&dist)?;
    println!("{}", sizes.line());
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use unishop_stack::stores::StoreKind;

    use super::{Cli, Task};

    #[test]
    fn bench_api_takes_every_store_by_its_old_name() {
        for (value, kind) in [
            ("sqlite", StoreKind::Sqlite),
            ("dynamodb", StoreKind::Dynamodb),
            ("mysql", StoreKind::Mysql),
            ("mysql-dynamodb", StoreKind::MysqlDynamodb),
        ] {
            let cli = Cli::try_parse_from(["cargo xtask", "bench", "api", "--store", value])
                .expect("parses");
            assert!(
                matches!(cli.command, Task::Bench { store, .. } if store == kind),
                "{value}"
            );
        }
        let default = Cli::try_parse_from(["cargo xtask", "bench", "api"]).expect("parses");
        assert!(matches!(
            default.command,
            Task::Bench {
                store: StoreKind::Sqlite,
                ..
            }
        ));
    }
}
