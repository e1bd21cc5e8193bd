//! `cargo xtask dev`: the whole shop on this machine, on the embedded defaults.

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::process::{port_open, repo_root, run, target_dir, Service};
use crate::setup::{setup, Scope};

const API_ADDRESS: &str = "127.0.0.1:3000";
const SITE_ADDRESS: &str = "127.0.0.1:8080";

pub fn dev() -> Result<(), String> {
    setup(Scope::Dev)?;
    for address in [API_ADDRESS, SITE_ADDRESS] {
        if port_open(address) {
            return Err(format!(
                "something is already listening on {address}; stop it (another `cargo xtask dev`?) and run again"
            ));
        }
    }
    println!("dev: building the API");
    run(Command::new("cargo")
        .args(["build", "--package", "unishop-api"])
        .current_dir(repo_root()))?;

    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst))
        .map_err(|e| format!("cannot catch Ctrl-C: {e}"))?;

    println!(
        "dev: starting the API on http://{API_ADDRESS} and the storefront on http://{SITE_ADDRESS}"
    );
    let api = Service::spawn(
        "the API",
        Command::new(target_dir().join("debug/unishop-api"))
            .env("UNISHOP_BIND", API_ADDRESS)
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
                return Err(format!(
                    "{} stopped unexpectedly ({status}); everything else is stopped too",
                    service.name
                ));
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
