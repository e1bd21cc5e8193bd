//! The real `unishop-api` binary on loopback, for the checks (schemathesis) and the API bench:
//! started with a throw-away folder, its address read from what it prints, a shopper signed up
//! over HTTP (reqwest), stopped at the end (also when a step fails, by [`Service`]'s drop).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::blocking::Client;
use reqwest::StatusCode;
use serde_json::json;

use crate::error::{Error, Result};
use crate::process::Service;

/// The password of every shopper the checks and the bench sign up.
pub const SHOPPER_PASSWORD: &str = "bench-password-1";

/// A throw-away folder under the system temp dir, removed when dropped.
pub struct Scratch(PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Result<Self> {
        let path = std::env::temp_dir().join(format!("unishop-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).map_err(Error::file("create", &path))?;
        Ok(Scratch(path))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Starts a server binary that prints `... listening on http://ADDR` on stdout, and returns it
/// with ADDR. Its stdout goes to a file in `scratch` (read for the address); stderr is kept too,
/// and shown when the server does not come up.
pub fn start_server(
    name: &'static str,
    command: &mut Command,
    scratch: &Path,
) -> Result<(Service, String)> {
    let out_path = scratch.join(format!("{name}.out"));
    let err_path = scratch.join(format!("{name}.err"));
    let out = std::fs::File::create(&out_path).map_err(Error::file("create", &out_path))?;
    let err = std::fs::File::create(&err_path).map_err(Error::file("create", &err_path))?;
    let mut service = Service::spawn(
        name,
        command
            .env("UNISHOP_BIND", "127.0.0.1:0")
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err)),
    )?;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        let printed = std::fs::read_to_string(&out_path).unwrap_or_default();
        if let Some(address) = printed
            .lines()
            .find_map(|l| l.split("listening on http://").nth(1))
            .and_then(|rest| rest.split_whitespace().next())
        {
            return Ok((service, address.to_owned()));
        }
        if let Some(status) = service.exited() {
            let log = std::fs::read_to_string(&err_path).unwrap_or_default();
            return Err(Error::Step(format!(
                "{name} ended before listening ({status}):\n{log}"
            )));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(Error::Step(format!(
        "{name} did not print its address within 60 s"
    )))
}

/// The client every call to the API here goes through.
pub fn client() -> Result<Client> {
    Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(Error::http("building the HTTP client"))
}

/// Signs up `email` (a second run finds it there) and logs in at the API at `address`; answers
/// the bearer token.
pub fn token_for(client: &Client, address: &str, email: &str) -> Result<String> {
    let credentials = json!({"email": email, "password": SHOPPER_PASSWORD});
    let call = format!("signing up {email}");
    let signed_up = client
        .post(format!("http://{address}/user"))
        .json(&credentials)
        .send()
        .map_err(Error::http(&call))?;
    if !matches!(
        signed_up.status(),
        StatusCode::CREATED | StatusCode::CONFLICT
    ) {
        return Err(answer(call, signed_up));
    }
    let call = format!("logging in {email}");
    let logged_in = client
        .post(format!("http://{address}/user/login"))
        .json(&credentials)
        .send()
        .map_err(Error::http(&call))?;
    if logged_in.status() != StatusCode::OK {
        return Err(answer(call, logged_in));
    }
    let session: serde_json::Value = logged_in.json().map_err(Error::http(&call))?;
    session["token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| Error::Answer {
            call,
            status: 200,
            body: format!("no token in {session}"),
        })
}

/// Whether the API at `address` answers `GET /health` with 200 (no answer: false).
pub fn healthy(client: &Client, address: &str) -> bool {
    client
        .get(format!("http://{address}/health"))
        .send()
        .is_ok_and(|answer| answer.status() == StatusCode::OK)
}

fn answer(call: String, response: reqwest::blocking::Response) -> Error {
    let status = response.status().as_u16();
    let body = response.text().unwrap_or_default();
    Error::Answer { call, status, body }
}
