//! moto_server (PyPI `moto[server]`), the AWS emulator the tests and benchmarks run against: S3
//! and CloudFront for the release test, DynamoDB and Secrets Manager for the API's stores. It
//! emulates the data planes only; figures measured on it measure moto, not AWS. One launcher for
//! the stack's store servers, `cargo xtask test` and the API's tests
//! (`crates/api/tests/support/moto.rs`), which also freeze, thaw and kill it.
//!
//! Beside it, `moto_serial.py` (the patched server the two-region stack runs) and its tests,
//! `moto_serial_test.py` (`python3 -m unittest -v moto_serial_test` in this folder).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::process::{free_port, wait_for_port, TiedChild};

/// How long moto_server may take to listen (Python imports are slow on a loaded machine).
const START_LIMIT: Duration = Duration::from_secs(60);

/// A moto_server process, killed when dropped (also on failure paths) and with the process that
/// started it.
pub struct MotoServer {
    process: TiedChild,
    pub url: String,
}

/// moto_server's application served one request at a time, with DynamoDB transactions rolled
/// back item by item rather than from copies of whole tables (see the file's docstring). Takes the
/// port as its argument.
const SERIAL_SERVER: &str = include_str!("moto_serial.py");

impl MotoServer {
    pub fn start(log: &Path) -> Result<MotoServer, String> {
        Self::launch(log, false, None)
    }

    /// moto answering one request at a time, for the two-region stack, whose drill checks every
    /// acknowledged write. moto's DynamoDB is not safe under concurrent writes: a
    /// `TransactWriteItems` that is cancelled (a failed condition) puts back a copy of every table
    /// it touched taken when it began, undoing the writes other threads committed meanwhile. One
    /// request at a time makes its transactions atomic, as DynamoDB's are; `moto_serial.py` also
    /// backs a transaction up item by item, so its cost does not grow with the tables.
    pub fn start_serial(log: &Path) -> Result<MotoServer, String> {
        Self::launch(log, true, None)
    }

    /// [`MotoServer::start_serial`] as `region`'s copy of the global tables: its clients name
    /// `region` (`AWS_REGION`), and it records each item write for the stack's replicator
    /// ([`crate::replication::global_tables`]).
    pub fn start_replica(log: &Path, region: &str) -> Result<MotoServer, String> {
        Self::launch(log, true, Some(region))
    }

    fn launch(log: &Path, serial: bool, region: Option<&str>) -> Result<MotoServer, String> {
        let port = free_port()?;
        let log_file = std::fs::File::create(log)
            .map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let log_err = log_file
            .try_clone()
            .map_err(|e| format!("cannot reuse {}: {e}", log.display()))?;
        let mut command = if serial {
            let mut python = Command::new("python3");
            python
                .args(["-c", SERIAL_SERVER, &port.to_string()])
                .args(region)
                .env("MOTO_PORT", port.to_string());
            python
        } else {
            let mut moto = Command::new("moto_server");
            moto.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
            moto
        };
        command
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(log_err);
        let process = TiedChild::spawn(command).map_err(|e| {
            format!("cannot start moto_server ({e}); install it with `cargo xtask setup` (pip install \"moto[server]\")")
        })?;
        wait_for_port(port, &process, START_LIMIT, "moto_server")
            .map_err(|e| format!("{e}; see {}", log.display()))?;
        Ok(MotoServer {
            process,
            url: format!("http://127.0.0.1:{port}"),
        })
    }

    /// SIGSTOP: connections are accepted and nothing answers, as with a hung service.
    pub fn freeze(&self) -> Result<(), String> {
        self.process.signal(libc::SIGSTOP)
    }

    /// SIGCONT, after [`MotoServer::freeze`].
    pub fn thaw(&self) -> Result<(), String> {
        self.process.signal(libc::SIGCONT)
    }

    /// SIGKILL, and waits until it is gone (also done when dropped).
    pub fn kill(&self) {
        self.process.kill();
    }
}
