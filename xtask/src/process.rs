//! Running the tools xtask drives, beyond what the stack runs too ([`unishop_stack::process`]):
//! commands whose output is counted (the test runners) or read (the AWS CLI, the infra tools).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

pub use unishop_stack::process::{
    command_line, first_line_of, port_open, repo_root, run, run_captured, spawn_error, tail,
    target_dir, Service,
};

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

/// Runs `cmd` and returns its stdout as text.
pub fn run_stdout(cmd: &mut Command) -> Result<String, String> {
    let output = run_captured(cmd)?;
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
