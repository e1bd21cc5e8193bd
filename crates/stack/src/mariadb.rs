//! A MariaDB server of its own: its own data folder, socket and free port, killed when dropped (and
//! with the process that started it, even when that one crashes or keeps it in a `static`), its
//! folder removed. One launcher for the stack's store servers (`crate::stores`: the two-region
//! stack on `--store mysql-dynamodb`, `cargo xtask bench api`) and the API's tests
//! (`crates/api/tests/support/mariadb.rs`), which also kill, restart, freeze and thaw it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::process::{free_port, run, run_captured, wait_for_port, TiedChild};

/// Debian's MariaDB server (package `mariadb-server`, which `cargo xtask setup` installs), which
/// the MySQL store's tests and the stack run: each starts servers on a data folder, socket and free
/// port of their own (no system service is used).
pub const MARIADBD: &str = "/usr/sbin/mariadbd";

/// How long a server may take to listen (a loaded machine's InnoDB start is slow).
const START_LIMIT: Duration = Duration::from_secs(60);

pub struct MariaDb {
    binary: PathBuf,
    folder: PathBuf,
    port: u16,
    /// More `mariadbd` options (TLS files, a smaller buffer pool), after the usual ones.
    options: Vec<String>,
    process: Option<TiedChild>,
}

impl MariaDb {
    /// [`MARIADBD`] on a data folder initialised in `folder` (created afresh; removed when the
    /// server is dropped).
    pub fn start(folder: &Path) -> Result<Self, String> {
        Self::start_with(Path::new(MARIADBD), folder, Vec::new())
    }

    /// [`MariaDb::start`] with another `mariadbd` and more options.
    pub fn start_with(binary: &Path, folder: &Path, options: Vec<String>) -> Result<Self, String> {
        let _ = std::fs::remove_dir_all(folder);
        std::fs::create_dir_all(folder)
            .map_err(|e| format!("cannot create {}: {e}", folder.display()))?;
        // From here on, dropping the server removes the folder, also on an error path.
        let mut server = MariaDb {
            binary: binary.to_owned(),
            folder: folder.to_owned(),
            port: free_port()?,
            options,
            process: None,
        };
        // A temporary folder of its own: in the shared /tmp, servers bootstrapping side by side
        // were seen losing their temporary tables.
        std::fs::create_dir_all(server.tmp())
            .map_err(|e| format!("cannot create {}: {e}", server.tmp().display()))?;
        run_captured(
            Command::new("mariadb-install-db")
                .arg("--no-defaults")
                .arg(format!("--datadir={}", server.data().display()))
                .arg(format!("--tmpdir={}", server.tmp().display()))
                .args([
                    "--auth-root-authentication-method=normal",
                    "--skip-test-db",
                    "--innodb-log-file-size=8M",
                ])
                .arg(format!("--user={}", whoami())),
        )?;
        server.restart()?;
        Ok(server)
    }

    /// A folder under `root` for one server of this process (`mariadb-PID-N`), after removing the
    /// folders there of processes that are gone (a server kept in a `static` is never dropped).
    pub fn scratch_folder(root: &Path) -> PathBuf {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        sweep_abandoned(root);
        root.join(format!(
            "mariadb-{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        ))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `mysql://root@127.0.0.1:PORT/DATABASE`.
    pub fn url(&self, database: &str) -> String {
        format!("mysql://root@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates `database` and answers its URL.
    pub fn create_database(&self, database: &str) -> Result<String, String> {
        run(Command::new("mariadb")
            .arg(format!("--socket={}", self.socket().display()))
            .args(["-u", "root", "-e"])
            .arg(format!("CREATE DATABASE `{database}`")))?;
        Ok(self.url(database))
    }

    /// SIGKILL (as a crash or a lost instance would end it), and waits until it is gone; its data
    /// stays, for [`MariaDb::restart`].
    pub fn kill(&mut self) {
        if let Some(process) = self.process.take() {
            process.kill();
        }
    }

    /// SIGSTOP: connections stay open and nothing answers, as with a hung host.
    pub fn freeze(&self) -> Result<(), String> {
        self.running()?.signal(libc::SIGSTOP)
    }

    /// SIGCONT, after [`MariaDb::freeze`].
    pub fn thaw(&self) -> Result<(), String> {
        self.running()?.signal(libc::SIGCONT)
    }

    /// Starts the server on its data, port and socket (again, after [`MariaDb::kill`]), and waits
    /// until it listens.
    pub fn restart(&mut self) -> Result<(), String> {
        if self.process.is_some() {
            return Err("MariaDB is still running".to_owned());
        }
        let log = self.folder.join("mariadb.log");
        let mut command = Command::new(&self.binary);
        command
            .arg("--no-defaults")
            .arg(format!("--datadir={}", self.data().display()))
            .arg(format!("--tmpdir={}", self.tmp().display()))
            .arg(format!("--socket={}", self.socket().display()))
            .arg(format!(
                "--pid-file={}",
                self.folder.join("mariadb.pid").display()
            ))
            .arg(format!("--log-error={}", log.display()))
            .arg(format!("--port={}", self.port))
            .args([
                "--bind-address=127.0.0.1",
                "--skip-name-resolve",
                "--innodb-buffer-pool-size=128M",
                "--innodb-log-file-size=8M",
                "--max-connections=500",
            ])
            .arg(format!("--user={}", whoami()))
            .args(&self.options)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let process = TiedChild::spawn(command).map_err(|e| {
            format!(
                "cannot start {} ({e}); run `cargo xtask setup`",
                self.binary.display()
            )
        })?;
        let process = self.process.insert(process);
        wait_for_port(self.port, process, START_LIMIT, "mariadbd")
            .map_err(|e| format!("{e}; see {}", log.display()))
    }

    fn running(&self) -> Result<&TiedChild, String> {
        self.process
            .as_ref()
            .ok_or_else(|| "MariaDB is not running".to_owned())
    }

    fn data(&self) -> PathBuf {
        self.folder.join("data")
    }

    fn tmp(&self) -> PathBuf {
        self.folder.join("tmp")
    }

    fn socket(&self) -> PathBuf {
        self.folder.join("mariadb.sock")
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

/// Removes the folders under `root` of servers whose process is gone.
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

/// The user mariadbd runs as: root when this process is root, else this user.
fn whoami() -> String {
    // SAFETY: geteuid cannot fail.
    let uid = unsafe { libc::geteuid() };
    if uid == 0 {
        "root".to_owned()
    } else {
        std::env::var("USER").unwrap_or_else(|_| uid.to_string())
    }
}
