//! `cargo xtask dev`: the whole shop on this machine, on the embedded defaults; with
//! `--two-regions`, the local two-region stack behind the local edge.

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use unishop_stack::regions::{Build, Options, TwoRegions};
use unishop_stack::stores::StoreKind;

use crate::error::{Error, Result};
use crate::process::{port_open, repo_root, run, target_dir, Service};
use crate::setup::{setup, Scope};

const API_ADDRESS: &str = "127.0.0.1:3000";
const SITE_ADDRESS: &str = "127.0.0.1:8080";

pub fn dev() -> Result<()> {
    setup(Scope::Dev)?;
    for address in [API_ADDRESS, SITE_ADDRESS] {
        if port_open(address) {
            return Err(Error::PortTaken {
                address: address.to_owned(),
            });
        }
    }
    println!("dev: building the API");
    run(Command::new("cargo")
        .args(["build", "--package", "unishop-api"])
        .current_dir(repo_root()))?;

    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst))?;

    println!(
        "dev: starting the API on http://{API_ADDRESS} and the storefront on http://{SITE_ADDRESS}"
    );
    let api = Service::spawn(
        "the API",
        Command::new(target_dir().join("debug/unishop-api"))
            .env("UNISHOP_BIND", API_ADDRESS)
            // Trunk's proxy adds no origin secret: this API answers it without one.
            .env_remove("UNISHOP_ORIGIN_SECRET")
            .env_remove("UNISHOP_ORIGIN_SECRET_ARN")
            .current_dir(repo_root()),
    )?;
    let site = Service::spawn(
        "trunk serve",
        Command::new("trunk").arg("serve").current_dir(repo_root()),
    )?;
    let mut services = [api, site];

    let mut announced = false;
    while !stop.load(Ordering::SeqCst) {
        for service in services.iter_mut() {
            if let Some(status) = service.exited() {
                return Err(Error::Stopped {
                    name: service.name.to_owned(),
                    status,
                });
            }
        }
        if !announced && port_open(SITE_ADDRESS) && port_open(API_ADDRESS) {
            println!();
            println!("  Unishop is running: http://{SITE_ADDRESS}  (API: http://{API_ADDRESS}, region us-east-1)");
            println!("  Press Ctrl-C to stop everything.");
            println!();
            announced = true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    println!("dev: stopping");
    for service in services.iter_mut() {
        service.stop();
    }
    println!("dev: stopped; nothing is left running");
    Ok(())
}

/// Where `dev --two-regions` keeps its store, token key and active-region flag, and where
/// `failover --local` finds the flag.
pub fn two_regions_folder() -> std::path::PathBuf {
    repo_root().join("data/two-regions")
}

const STANDBY_API_ADDRESS: &str = "127.0.0.1:3001";

/// `cargo xtask dev --two-regions`: us-east-1 on :3000, us-west-1 on :3001, both on one store,
/// and the edge on :8080 serving the storefront (rebuilt by `trunk watch` on every change).
pub fn dev_two_regions(store: StoreKind) -> Result<()> {
    setup(Scope::Dev)?;
    for address in [API_ADDRESS, STANDBY_API_ADDRESS, SITE_ADDRESS] {
        if port_open(address) {
            return Err(Error::PortTaken {
                address: address.to_owned(),
            });
        }
    }
    println!("dev: building the API and the storefront");
    Build::Debug.build()?;
    run(Command::new("trunk").arg("build").current_dir(repo_root()))?;

    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst))?;

    let port = |address: &str| {
        address
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0)
    };
    let mut stack = TwoRegions::start(Options {
        build: Build::Debug,
        folder: two_regions_folder(),
        dist: repo_root().join("dist"),
        primary_port: port(API_ADDRESS),
        standby_port: port(STANDBY_API_ADDRESS),
        edge_port: port(SITE_ADDRESS),
        api_log: None,
        store,
        replication_lag: None,
        shared_carts: false,
    })?;
    let mut watch = Service::spawn(
        "trunk watch",
        Command::new("trunk").arg("watch").current_dir(repo_root()),
    )?;
    println!();
    println!(
        "  Unishop in two regions on the {} store: {}",
        store.name(),
        stack.site
    );
    println!("    /api/unicorns*, /api/categories* (reads)  us-east-1, then us-west-1 if it fails");
    println!("    /api/* (the rest)                         the active region: `cargo xtask failover --local` / `failback --local`");
    println!("    /api-standby/*                            always us-west-1");
    println!(
        "  us-east-1: {}   us-west-1: {}  (their own ports answer /health only: the edge adds the origin secret)",
        stack.primary.base, stack.standby.base
    );
    println!("  Press Ctrl-C to stop everything.");
    println!();
    while !stop.load(Ordering::SeqCst) {
        for (name, exited) in [
            ("the API in us-east-1", stack.primary.exited()),
            ("the API in us-west-1", stack.standby.exited()),
            (watch.name, watch.exited()),
        ] {
            if let Some(status) = exited {
                return Err(Error::Stopped {
                    name: name.to_owned(),
                    status,
                });
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    println!("dev: stopping");
    watch.stop();
    drop(stack);
    println!("dev: stopped; nothing is left running");
    Ok(())
}
