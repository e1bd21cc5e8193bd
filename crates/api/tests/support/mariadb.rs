//! A real MariaDB server owned by the test process, started by the stack's launcher
//! ([`unishop_stack::mariadb`]): its own data folder (under the tests' scratch folder), socket and
//! port (picked free at run time), killed when the test process ends, even when a test panics.
//!
//! `cargo xtask test` installs Debian's `mariadb-server` and names its `mariadbd` in
//! `UNISHOP_TEST_MARIADB`; a plain `cargo test` without it skips the MariaDB tests and says so.

// Each test binary that includes this module uses a part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use sqlx::Connection;

/// The variable naming the `mariadbd` executable.
pub const MARIADB_VAR: &str = "UNISHOP_TEST_MARIADB";

/// The `mariadbd` to run, or `None` (with a note on stderr) when the tests should skip.
pub fn mariadbd() -> Option<PathBuf> {
    match std::env::var_os(MARIADB_VAR) {
        Some(path) if !path.is_empty() => Some(PathBuf::from(path)),
        _ => {
            eprintln!(
                "skipped: {MARIADB_VAR} is not set (`cargo xtask test` sets it to Debian's mariadbd)"
            );
            None
        }
    }
}

/// One server for every test of this test binary; each test takes a database of its own.
pub fn shared() -> Option<&'static MariaDb> {
    static SHARED: OnceLock<Option<MariaDb>> = OnceLock::new();
    SHARED
        .get_or_init(|| mariadbd().map(|binary| MariaDb::start(&binary)))
        .as_ref()
}

/// The launcher's server, with a test's manners: a failure panics (fails the test).
pub struct MariaDb(unishop_stack::mariadb::MariaDb);

impl MariaDb {
    /// Creates a data folder and starts a server on it.
    pub fn start(binary: &Path) -> Self {
        Self::start_with(binary, Vec::new())
    }

    /// [`MariaDb::start`] with more `mariadbd` options.
    pub fn start_with(binary: &Path, options: Vec<String>) -> Self {
        // A smaller buffer pool than the stack's: a test binary may run several servers at once.
        let options = ["--innodb-buffer-pool-size=32M".to_owned()]
            .into_iter()
            .chain(options)
            .collect();
        let folder =
            unishop_stack::mariadb::MariaDb::scratch_folder(Path::new(env!("CARGO_TARGET_TMPDIR")));
        let server = unishop_stack::mariadb::MariaDb::start_with(binary, &folder, options)
            .unwrap_or_else(|error| panic!("MariaDB did not start: {error}"));
        MariaDb(server)
    }

    pub fn port(&self) -> u16 {
        self.0.port()
    }

    /// `mysql://root@127.0.0.1:PORT/DATABASE`.
    pub fn url(&self, database: &str) -> String {
        self.0.url(database)
    }

    /// A new, empty database on this server, named after `purpose`; answers its URL.
    pub async fn fresh_database(&self, purpose: &str) -> String {
        let name = format!("{purpose}_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::MySqlConnection::connect(&self.url(""))
            .await
            .expect("connects to MariaDB");
        sqlx::raw_sql(&format!("CREATE DATABASE `{name}`"))
            .execute(&mut admin)
            .await
            .expect("creates a database");
        self.url(&name)
    }

    /// Kills the server (as a crash or a lost instance would end it); its data stays.
    pub fn kill(&mut self) {
        self.0.kill();
    }

    /// Freezes the server (SIGSTOP): connections stay open and nothing answers, as with a hung
    /// host.
    pub fn freeze(&self) {
        self.0.freeze().expect("freezes MariaDB");
    }

    pub fn thaw(&self) {
        self.0.thaw().expect("thaws MariaDB");
    }

    /// Starts the server again on its data, port and socket, and waits until it answers.
    pub fn restart(&mut self) {
        self.0.restart().expect("restarts MariaDB");
    }
}
