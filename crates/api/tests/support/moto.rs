//! moto_server (an AWS emulator, PyPI's `moto[server]`) for the DynamoDB tests: the shared server
//! that `cargo xtask test` starts and names in `UNISHOP_TEST_MOTO_URL`, fresh tables on it, and a
//! server of one test's own for tests that stop it.

// Each test binary that includes this module uses a part of it.
#![allow(dead_code)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use unishop_api::store::dynamodb::{DynamoStore, Tables};
use uuid::Uuid;

/// The variable naming the address of a running moto_server.
pub const MOTO_URL: &str = "UNISHOP_TEST_MOTO_URL";

/// The moto_server to use, or `None` (and a note) when the test is to be skipped.
pub fn moto_url() -> Option<String> {
    match std::env::var(MOTO_URL) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            eprintln!("skipped: {MOTO_URL} is not set (`cargo xtask test` starts moto_server and sets it)");
            None
        }
    }
}

/// A store on two tables of its own, created on the emulator, so tests share a server without
/// meeting.
pub async fn fresh_tables(url: &str, region: &str) -> DynamoStore {
    let id = Uuid::new_v4().simple();
    let store = DynamoStore::for_emulator(
        url,
        region,
        Tables {
            carts: format!("carts-{id}"),
            orders: format!("orders-{id}"),
        },
    );
    store.create_tables().await.expect("tables created");
    store
}

/// A moto_server of one test alone (it gets stopped), killed when dropped.
pub struct OwnMoto {
    child: Child,
    pub url: String,
}

impl OwnMoto {
    pub fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts (pip install \"moto[server]\")");
        let moto = OwnMoto {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto_server did not listen");
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    /// Sends `signal` (`-STOP`, `-CONT`, `-KILL`) to the server.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill {signal} failed");
    }
}

impl Drop for OwnMoto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
