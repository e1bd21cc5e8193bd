//! moto_server (an AWS emulator, PyPI's `moto[server]`) for the DynamoDB tests: the shared server
//! that `cargo xtask test` starts and names in `UNISHOP_TEST_MOTO_URL`, fresh tables on it, and a
//! server of one test's own for tests that stop it.

// Each test binary that includes this module uses a part of it.
#![allow(dead_code)]

use unishop_api::store::dynamodb::{DynamoStore, Tables};
use unishop_stack::moto::MotoServer;
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

/// A moto_server of one test alone (it gets stopped), started by the stack's launcher
/// ([`unishop_stack::moto`]); killed when dropped, its log in a folder removed with it.
pub struct OwnMoto {
    server: MotoServer,
    pub url: String,
    _folder: tempfile::TempDir,
}

impl OwnMoto {
    pub fn start() -> Self {
        let folder = tempfile::tempdir().expect("temp dir");
        let server = MotoServer::start(&folder.path().join("moto_server.log"))
            .unwrap_or_else(|error| panic!("moto_server did not start: {error}"));
        OwnMoto {
            url: server.url.clone(),
            server,
            _folder: folder,
        }
    }

    /// SIGSTOP: connections are accepted and nothing answers.
    pub fn freeze(&self) {
        self.server.freeze().expect("freezes moto_server");
    }

    pub fn thaw(&self) {
        self.server.thaw().expect("thaws moto_server");
    }

    /// SIGKILL, and waits until it is gone.
    pub fn kill(&self) {
        self.server.kill();
    }
}
