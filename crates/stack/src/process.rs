//! Running the tools the stack and xtask drive: each command is echoed before it runs, and a
//! failure names the command and how it ended. Also where the workspace and its target folder are.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, OnceLock};

/// The workspace root: the nearest folder, from the current one up, that holds `xtask/Cargo.toml`.
///
/// Found at run time rather than baked in at build time, because one target folder may serve
/// several clones of the repository (CI shares one), and a binary built for another clone must
/// not act on that clone.
pub fn repo_root() -> PathBuf {
    let start = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    start
        .ancestors()
        .find(|dir| dir.join("xtask/Cargo.toml").is_file())
        .map(Path::to_path_buf)
        .unwrap_or(start)
}

/// Cargo's target folder, honouring `CARGO_TARGET_DIR`.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|dir| {
            if dir.is_absolute() {
                dir
            } else {
                repo_root().join(dir)
            }
        })
        .unwrap_or_else(|| repo_root().join("target"))
}

/// Runs a command to completion, its output going straight to the terminal.
pub fn run(command: &mut Command) -> Result<(), String> {
    let line = command_line(command);
    println!("  $ {line}");
    let status = command
        .stdin(Stdio::null())
        .status()
        .map_err(|e| spawn_error(&command.get_program().to_string_lossy(), &line, &e))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{line}` failed ({status})"))
    }
}

/// The first line a command prints, or `None` when it cannot run (not installed).
pub fn first_line_of(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).output().ok()?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    text.lines().next().map(|l| l.trim().to_owned())
}

/// A child process in a process group of its own, so that stopping it also stops whatever it
/// started (trunk's cargo builds, for example).
pub struct Service {
    pub name: &'static str,
    child: Child,
}

impl Service {
    pub fn spawn(name: &'static str, command: &mut Command) -> Result<Self, String> {
        use std::os::unix::process::CommandExt;
        let line = command_line(command);
        println!("  $ {line} &");
        let child = command
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot start {name} (`{line}`): {e}"))?;
        Ok(Service { name, child })
    }

    /// Its standard output, when the command was given a pipe for it (once).
    pub fn take_stdout(&mut self) -> Option<std::process::ChildStdout> {
        self.child.stdout.take()
    }

    /// Sends `signal` (`KILL`, `STOP`, `CONT`, ...) to the whole group, and for `KILL` waits
    /// until the process is gone.
    pub fn signal(&mut self, signal: &str) -> Result<(), String> {
        let group = format!("-{}", self.child.id());
        let status = Command::new("kill")
            .args([&format!("-{signal}"), "--", &group])
            .status()
            .map_err(|e| format!("cannot run kill: {e}"))?;
        if !status.success() {
            return Err(format!("kill -{signal} {} failed ({status})", self.name));
        }
        if signal == "KILL" {
            let _ = self.child.wait();
        }
        Ok(())
    }

    /// Whether the process has ended, and how.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Asks the whole group to stop (SIGTERM), then forces it after a grace period.
    pub fn stop(&mut self) {
        if self.exited().is_some() {
            return;
        }
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        for _ in 0..50 {
            if self.exited().is_some() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A server process that dies with this one: it is started from a thread that waits for it, and
/// the kernel kills it (`PR_SET_PDEATHSIG`) when that thread ends, so a server kept in a `static`
/// (never dropped) or left behind by a crash still ends with the process that started it. Killed
/// when dropped.
pub struct TiedChild {
    pid: u32,
    status: Arc<OnceLock<ExitStatus>>,
}

impl TiedChild {
    pub fn spawn(mut command: Command) -> std::io::Result<Self> {
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
        let status = Arc::new(OnceLock::new());
        let set_status = status.clone();
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || match command.spawn() {
            Ok(mut child) => {
                let _ = sender.send(Ok(child.id()));
                if let Ok(exit) = child.wait() {
                    let _ = set_status.set(exit);
                }
            }
            Err(error) => {
                let _ = sender.send(Err(error));
            }
        });
        let pid = receiver
            .recv()
            .map_err(|_| std::io::Error::other("the spawning thread ended"))??;
        Ok(TiedChild { pid, status })
    }

    pub fn id(&self) -> u32 {
        self.pid
    }

    /// Whether the process has ended, and how.
    pub fn exited(&self) -> Option<ExitStatus> {
        self.status.get().copied()
    }

    /// Sends `signal` (`libc::SIGSTOP`, ...) to the process, unless it has ended.
    pub fn signal(&self, signal: i32) -> Result<(), String> {
        if let Some(status) = self.exited() {
            return Err(format!("process {} has ended ({status})", self.pid));
        }
        // SAFETY: a plain syscall on a process this one started and has not reaped.
        if unsafe { libc::kill(self.pid as i32, signal) } == -1 {
            return Err(format!(
                "cannot signal process {}: {}",
                self.pid,
                std::io::Error::last_os_error()
            ));
        }
        Ok(())
    }

    /// SIGKILL, then waits (up to 10 s) until the process is gone.
    pub fn kill(&self) {
        if self.signal(libc::SIGKILL).is_err() {
            return;
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while self.exited().is_none() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

impl Drop for TiedChild {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A free port on loopback, for a server that takes its port as an argument.
pub fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|address| address.port())
        .map_err(|e| format!("cannot find a free port: {e}"))
}

/// Waits until something listens on loopback `port`; fails when `child` ends first or nothing
/// listens within `limit`. `what` names the server and where to look in the errors.
pub fn wait_for_port(
    port: u16,
    child: &TiedChild,
    limit: std::time::Duration,
    what: &str,
) -> Result<(), String> {
    let deadline = std::time::Instant::now() + limit;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Some(status) = child.exited() {
            return Err(format!("{what} ended ({status})"));
        }
        if std::time::Instant::now() > deadline {
            return Err(format!(
                "{what} did not listen on port {port} within {} s",
                limit.as_secs()
            ));
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Ok(())
}

/// While one is held, Ctrl-C (or SIGTERM, SIGHUP) only sets [`InterruptGuard::interrupted`], so
/// that the command can stop what it started and remove its folders; without one, the program
/// ends at once as usual (exit code 130).
pub struct InterruptGuard(());

static WATCHING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

impl InterruptGuard {
    pub fn new() -> Result<Self, String> {
        use std::sync::atomic::Ordering;
        // A process may hold several guards one after the other (`cargo xtask test`'s drills);
        // a signal handler is set once.
        static HANDLER: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
        HANDLER
            .get_or_init(|| {
                ctrlc::set_handler(|| {
                    if WATCHING.load(Ordering::SeqCst) {
                        INTERRUPTED.store(true, Ordering::SeqCst);
                    } else {
                        std::process::exit(130);
                    }
                })
                .map_err(|e| format!("cannot catch Ctrl-C: {e}"))
            })
            .clone()?;
        INTERRUPTED.store(false, Ordering::SeqCst);
        WATCHING.store(true, Ordering::SeqCst);
        Ok(InterruptGuard(()))
    }

    pub fn interrupted(&self) -> bool {
        INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Sleeps until `when`; false when interrupted before.
    pub fn sleep_until(&self, when: std::time::Instant) -> bool {
        loop {
            if self.interrupted() {
                return false;
            }
            let left = when.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return true;
            }
            std::thread::sleep(left.min(std::time::Duration::from_millis(100)));
        }
    }
}

impl Drop for InterruptGuard {
    fn drop(&mut self) {
        WATCHING.store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Whether something accepts connections on `address` now.
pub fn port_open(address: &str) -> bool {
    std::net::TcpStream::connect(address).is_ok()
}

// ------------------------------------------------------------------------------------------------
// captured runs, and command lines as a shell shows them

/// Quotes one argument for display as a POSIX shell word (only when needed).
pub fn shell_quote(arg: &str) -> String {
    let safe = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@%+".contains(c));
    if safe {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// The command line of `cmd` as a copy-pasteable shell string.
pub fn command_line(cmd: &Command) -> String {
    let mut parts = vec![shell_quote(&cmd.get_program().to_string_lossy())];
    parts.extend(cmd.get_args().map(|a| shell_quote(&a.to_string_lossy())));
    parts.join(" ")
}

/// Runs `cmd`, capturing its output; a spawn failure or a non-zero exit becomes an error naming the
/// command, its exit status and the end of its stderr.
pub fn run_captured(cmd: &mut Command) -> Result<Output, String> {
    let line = command_line(cmd);
    let output = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| spawn_error(&cmd.get_program().to_string_lossy(), &line, &e))?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(format!(
            "`{line}` failed ({}):\n{}",
            output.status,
            tail(&String::from_utf8_lossy(&output.stderr), 20).trim_end()
        ))
    }
}

/// The error for a command that could not start: a missing program points at `cargo xtask setup`.
pub fn spawn_error(program: &str, line: &str, e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::NotFound {
        format!("`{program}` is not installed or not on PATH (needed for `{line}`); run `cargo xtask setup`")
    } else {
        format!("could not start `{line}`: {e}")
    }
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::{command_line, shell_quote, tail, TiedChild};

    #[test]
    fn quotes_only_when_needed() {
        assert_eq!(shell_quote("s3://bucket/key.wasm"), "s3://bucket/key.wasm");
        assert_eq!(
            shell_quote("public, max-age=31536000, immutable"),
            "'public, max-age=31536000, immutable'"
        );
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn command_line_is_copy_pasteable() {
        let mut cmd = Command::new("aws");
        cmd.args(["s3api", "put-object", "--cache-control", "no-cache, x"]);
        assert_eq!(
            command_line(&cmd),
            "aws s3api put-object --cache-control 'no-cache, x'"
        );
    }

    #[test]
    fn tail_keeps_last_lines() {
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc");
        assert_eq!(tail("a", 5), "a");
    }

    #[test]
    fn a_tied_child_is_frozen_thawed_and_killed() {
        let mut sleep = Command::new("sleep");
        sleep.arg("30");
        let child = TiedChild::spawn(sleep).expect("starts sleep");
        assert!(child.exited().is_none());
        child.signal(libc::SIGSTOP).expect("freezes");
        child.signal(libc::SIGCONT).expect("thaws");
        child.kill();
        assert!(child.exited().is_some(), "gone once kill returns");
        assert!(
            child.signal(libc::SIGCONT).is_err(),
            "an ended process is not signalled"
        );
    }
}
