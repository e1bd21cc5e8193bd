//! moto_server (PyPI `moto[server]`), the AWS emulator the tests and benchmarks run against: S3
//! and CloudFront for the release test, DynamoDB and Secrets Manager for the API's stores. It
//! emulates the data planes only; figures measured on it measure moto, not AWS.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A moto_server child process, killed when dropped (also on failure paths).
pub struct MotoServer {
    pub child: Child,
    pub url: String,
}

/// moto_server's application served one request at a time, with DynamoDB transactions rolled
/// back item by item rather than from copies of whole tables (see the file's docstring). Takes the
/// port as its argument.
const SERIAL_SERVER: &str = include_str!("moto_serial.py");

impl MotoServer {
    pub fn start(log: &Path) -> Result<MotoServer, String> {
        Self::launch(log, false)
    }

    /// moto answering one request at a time, for the two-region stack, whose drill checks every
    /// acknowledged write. moto's DynamoDB is not safe under concurrent writes: a
    /// `TransactWriteItems` that is cancelled (a failed condition) puts back a copy of every table
    /// it touched taken when it began, undoing the writes other threads committed meanwhile. One
    /// request at a time makes its transactions atomic, as DynamoDB's are; `moto_serial.py` also
    /// backs a transaction up item by item, so its cost does not grow with the tables.
    pub fn start_serial(log: &Path) -> Result<MotoServer, String> {
        Self::launch(log, true)
    }

    fn launch(log: &Path, serial: bool) -> Result<MotoServer, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("cannot find a free port: {e}"))?
            .port();
        let log_file = std::fs::File::create(log)
            .map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let log_err = log_file
            .try_clone()
            .map_err(|e| format!("cannot reuse {}: {e}", log.display()))?;
        let mut command = if serial {
            let mut python = Command::new("python3");
            python
                .args(["-c", SERIAL_SERVER, &port.to_string()])
                .env("MOTO_PORT", port.to_string());
            python
        } else {
            let mut moto = Command::new("moto_server");
            moto.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
            moto
        };
        let child = command
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(log_err)
            .spawn()
            .map_err(|e| {
                format!("cannot start moto_server ({e}); install it with `cargo xtask setup` (pip install \"moto[server]\")")
            })?;
        let mut server = MotoServer {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(server);
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!(
                    "moto_server exited ({status}); see {}",
                    log.display()
                ));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "moto_server did not listen on port {port} within 30 s; see {}",
                    log.display()
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
