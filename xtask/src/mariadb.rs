//! A MariaDB server owned by an xtask command (the API benchmark on MySQL, the two-region stack on
//! `--store mysql-dynamodb`, both through `crate::stores`): its own data folder,
//! socket and free port, killed when dropped. The tests start theirs the same way
//! (`crates/api/tests/support/mariadb.rs`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::process::run;

pub struct MariaDb {
    child: Child,
    socket: PathBuf,
    pub port: u16,
}

impl MariaDb {
    /// Initialises a data folder under `folder` and starts a server on it.
    pub fn start(folder: &Path) -> Result<Self, String> {
        let data = folder.join("mariadb-data");
        let user = if crate::process::first_line_of("id", &["-u"]).as_deref() == Some("0") {
            "root".to_owned()
        } else {
            std::env::var("USER").unwrap_or_default()
        };
        run(Command::new("mariadb-install-db")
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .args([
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--innodb-log-file-size=8M",
            ])
            .arg(format!("--user={user}"))
            .stdout(Stdio::null()))?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("cannot find a free port: {e}"))?
            .port();
        let socket = folder.join("mariadb.sock");
        let log = folder.join("mariadb.log");
        let child = Command::new(crate::setup::MARIADBD)
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--socket={}", socket.display()))
            .arg(format!(
                "--pid-file={}",
                folder.join("mariadb.pid").display()
            ))
            .arg(format!("--log-error={}", log.display()))
            .arg(format!("--port={port}"))
            .args([
                "--bind-address=127.0.0.1",
                "--skip-name-resolve",
                "--innodb-buffer-pool-size=128M",
                "--max-connections=500",
            ])
            .arg(format!("--user={user}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                format!(
                    "cannot start {} ({e}); run `cargo xtask setup`",
                    crate::setup::MARIADBD
                )
            })?;
        let mut server = MariaDb {
            child,
            socket,
            port,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!("mariadbd ended ({status}); see {}", log.display()));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "mariadbd did not listen within 60 s; see {}",
                    log.display()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(server)
    }

    /// Creates `database` and answers its URL.
    pub fn database(&mut self, database: &str) -> Result<String, String> {
        run(Command::new("mariadb")
            .arg(format!("--socket={}", self.socket.display()))
            .args(["-u", "root", "-e"])
            .arg(format!("CREATE DATABASE `{database}`")))?;
        Ok(format!("mysql://root@127.0.0.1:{}/{database}", self.port))
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
