//! Running the tools xtask drives: each command is echoed before it runs, and a failure names the
//! command and how it ended.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

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

/// Runs a command, echoing its output as it comes and handing every line (stdout and stderr) to
/// `on_line`, for commands whose output says how many tests ran.
pub fn run_watching(command: &mut Command, mut on_line: impl FnMut(&str)) -> Result<(), String> {
    let line = command_line(command);
    println!("  $ {line}");
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start `{line}`: {e}"))?;
    let (sender, receiver) = std::sync::mpsc::channel::<(bool, String)>();
    let mut readers = Vec::new();
    for (is_err, stream) in [
        (
            false,
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ),
        (
            true,
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ),
    ] {
        let Some(stream) = stream else { continue };
        let sender = sender.clone();
        readers.push(std::thread::spawn(move || {
            for text in BufReader::new(stream).lines().map_while(Result::ok) {
                if sender.send((is_err, text)).is_err() {
                    break;
                }
            }
        }));
    }
    drop(sender);
    for (is_err, text) in receiver {
        if is_err {
            eprintln!("{text}");
        } else {
            println!("{text}");
        }
        on_line(&text);
    }
    for reader in readers {
        let _ = reader.join();
    }
    let status = child
        .wait()
        .map_err(|e| format!("waiting for `{line}`: {e}"))?;
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

/// While one is held, Ctrl-C (or SIGTERM, SIGHUP) only sets [`InterruptGuard::interrupted`], so
/// that the command can stop what it started and remove its folders; without one, xtask ends at
/// once as usual (exit code 130).
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
// captured runs, for the AWS CLI and the infra tools

/// Quotes one argument for display as a POSIX shell word (only when needed).
pub(crate) fn shell_quote(arg: &str) -> String {
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
pub(crate) fn command_line(cmd: &Command) -> String {
    let mut parts = vec![shell_quote(&cmd.get_program().to_string_lossy())];
    parts.extend(cmd.get_args().map(|a| shell_quote(&a.to_string_lossy())));
    parts.join(" ")
}

/// Runs `cmd`, capturing its output; a spawn failure or a non-zero exit becomes an error naming the
/// command, its exit status and the end of its stderr.
pub(crate) fn run_captured(cmd: &mut Command) -> Result<Output, String> {
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

/// Runs `cmd` and returns its stdout as text.
pub(crate) fn run_stdout(cmd: &mut Command) -> Result<String, String> {
    let output = run_captured(cmd)?;
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

pub(crate) fn spawn_error(program: &str, line: &str, e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::NotFound {
        format!("`{program}` is not installed or not on PATH (needed for `{line}`); run `cargo xtask setup`")
    } else {
        format!("could not start `{line}`: {e}")
    }
}

/// The last `n` lines of `text`.
pub(crate) fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
