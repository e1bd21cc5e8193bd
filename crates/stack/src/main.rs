//! `unishop-stack`: the local two-region stack for programs that drive it (the browser specs), and
//! the failover drill.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use unishop_stack::drill::{drill, DrillArgs};
use unishop_stack::regions::{serve_stack, Build};
use unishop_stack::stores::StoreKind;

#[derive(Parser)]
#[command(
    name = "unishop-stack",
    about = "Unishop's local two-region stack: two API regions on one store behind a local edge.",
    long_about = None
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The two-region stack for a program driving it (the browser specs): prints its addresses
    /// as JSON, then takes kill|restart|freeze|thaw|lose|back [REGION], active REGION and
    /// (mysql-dynamodb) accounts switchover|promote|lose|rejoin REGION on standard input,
    /// answering `ok` or `error: ...` to each; stops at the end of its input.
    Regions {
        /// The storefront's release build to serve.
        #[arg(long)]
        dist: PathBuf,
        /// Folder for the shared store, token key and flag (created; a fresh one per run).
        #[arg(long)]
        folder: PathBuf,
        /// Run the API's debug build instead of its release build.
        #[arg(long)]
        debug: bool,
        /// The stores: one SQLite file both regions share, or a MariaDB server per region
        /// (the Aurora global database stand-in) and a moto_server per region (the global
        /// tables' stand-in).
        #[arg(long, value_enum, default_value_t)]
        store: StoreKind,
    },
    /// Kill, freeze and switch the primary under many scripted shoppers on the two-region stack;
    /// check every cart and order; one line of figures and an SVG report (`cargo xtask drill`).
    Drill(DrillArgs),
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Regions {
            dist,
            folder,
            debug,
            store,
        } => serve_stack(
            if debug { Build::Debug } else { Build::Release },
            dist,
            folder,
            store,
        ),
        Command::Drill(args) => drill(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
