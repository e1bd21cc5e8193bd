//! A real MariaDB server owned by the test process: its own data folder, socket and port (picked
//! free at run time), killed when the test process ends, even when a test panics.
//!
//! `cargo xtask test` installs Debian's `mariadb-server` and names its `mariadbd` in
//! `UNISHOP_TEST_MARIADB`; a plain `cargo test` without it skips the MariaDB tests and says so.

// Each test binary that includes this module uses a part of it.
#![allow(dead_code)]

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant};

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

pub struct MariaDb {
    binary: PathBuf,
    folder: PathBuf,
    port: u16,
    pid: Option<u32>,
    /// More `mariadbd` options (TLS files).
    options: Vec<String>,
}

impl MariaDb {
    /// Creates a data folder and starts a server on it; panics (failing the test) when it cannot.
    pub fn start(binary: &Path) -> Self {
        Self::start_with(binary, Vec::new())
    }

    /// [`MariaDb::start`] with more `mariadbd` options.
    pub fn start_with(binary: &Path, options: Vec<String>) -> Self {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let root = Path::new(env!("CARGO_TARGET_TMPDIR"));
        sweep_abandoned(root);
        let folder = root.join(format!(
            "mariadb-{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&folder);
        std::fs::create_dir_all(&folder).expect("creates the MariaDB folder");
        let output = Command::new("mariadb-install-db")
            .arg("--no-defaults")
            .arg(format!("--datadir={}", folder.join("data").display()))
            .args([
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--innodb-log-file-size=8M",
            ])
            .arg(format!("--user={}", whoami()))
            .output()
            .expect("runs mariadb-install-db");
        assert!(
            output.status.success(),
            "mariadb-install-db failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("finds a free port")
            .port();
        let mut server = Self {
            binary: binary.to_owned(),
            folder,
            port,
            pid: None,
            options,
        };
        server.resume();
        server
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `mysql://root@127.0.0.1:PORT/DATABASE`.
    pub fn url(&self, database: &str) -> String {
        format!("mysql://root@127.0.0.1:{}/{database}", self.port)
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
    pub fn stop(&mut self) {
        if let Some(pid) = self.pid.take() {
            // SAFETY: plain syscalls on a process this test started.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            let deadline = Instant::now() + Duration::from_secs(10);
            while TcpStream::connect(("127.0.0.1", self.port)).is_ok() && Instant::now() < deadline
            {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// Freezes the server (SIGSTOP): connections stay open and nothing answers, as with a hung
    /// host.
    pub fn freeze(&self) {
        self.signal(libc::SIGSTOP);
    }

    pub fn thaw(&self) {
        self.signal(libc::SIGCONT);
    }

    fn signal(&self, signal: i32) {
        let pid = self.pid.expect("the server runs");
        // SAFETY: a plain syscall on a process this test started.
        unsafe { libc::kill(pid as i32, signal) };
    }

    /// Starts the server again on its data, port and socket, and waits until it answers.
    pub fn resume(&mut self) {
        let data = self.folder.join("data");
        let mut command = Command::new(&self.binary);
        command
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!(
                "--socket={}",
                self.folder.join("mysqld.sock").display()
            ))
            .arg(format!(
                "--pid-file={}",
                self.folder.join("mysqld.pid").display()
            ))
            .arg(format!(
                "--log-error={}",
                self.folder.join("error.log").display()
            ))
            .arg(format!("--port={}", self.port))
            .args([
                "--bind-address=127.0.0.1",
                "--skip-name-resolve",
                "--innodb-buffer-pool-size=32M",
                "--innodb-log-file-size=8M",
                "--max-connections=500",
            ])
            .arg(format!("--user={}", whoami()))
            .args(&self.options)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        self.pid = Some(spawn_tied_to_this_process(command));
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "MariaDB did not start; see {}",
                self.folder.join("error.log").display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

/// Starts `command` from a thread that lives as long as the child, with the kernel told to kill
/// the child when that thread (and so this process) ends: a server in a `static`, which is never
/// dropped, still dies with the test process.
fn spawn_tied_to_this_process(mut command: Command) -> u32 {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe, as pre_exec requires.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || match command.spawn() {
        Ok(mut child) => {
            let _ = sender.send(Ok(child.id()));
            let _ = child.wait();
        }
        Err(error) => {
            let _ = sender.send(Err(error));
        }
    });
    receiver
        .recv()
        .expect("the spawning thread answers")
        .expect("starts mariadbd")
}

/// Removes the folders of servers whose test process is gone.
fn sweep_abandoned(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("mariadb-")
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn whoami() -> String {
    // SAFETY: geteuid cannot fail.
    let uid = unsafe { libc::geteuid() };
    if uid == 0 {
        "root".to_owned()
    } else {
        std::env::var("USER").unwrap_or_else(|_| uid.to_string())
    }
}
