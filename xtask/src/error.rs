//! xtask's error: what was being done and why it failed. The API checks and the benches answer
//! it; the older modules (and the stack crate) still answer their failures as text, which converts
//! into it ([`Error::Step`]) and back (`String::from`), so `?` works across both.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or folder could not be read, written or made.
    #[error("cannot {action} {}: {source}", path.display())]
    File {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// An HTTP call got no answer (refused, reset, timed out, unreadable body).
    #[error("{call}: {source}")]
    Http {
        call: String,
        #[source]
        source: reqwest::Error,
    },
    /// An HTTP call was answered, but not as it must be.
    #[error("{call}: answered {status}: {body}")]
    Answer {
        call: String,
        status: u16,
        body: String,
    },
    /// A tool's output does not say what it should.
    #[error("{tool}: {detail}")]
    Output { tool: &'static str, detail: String },
    /// A port the command must listen on is taken.
    #[error("something is already listening on {address}; stop it (another `cargo xtask dev`?) and run again")]
    PortTaken { address: String },
    /// A process the command runs stopped by itself.
    #[error("{name} stopped unexpectedly ({status}); everything else is stopped too")]
    Stopped {
        name: String,
        status: std::process::ExitStatus,
    },
    /// Ctrl-C cannot be caught, so what the command starts could not be stopped with it.
    #[error("cannot catch Ctrl-C: {0}")]
    Interrupts(#[from] ctrlc::Error),
    /// A step of a module that reports its failures as text.
    #[error("{0}")]
    Step(String),
}

impl Error {
    /// [`Error::File`] for `path`, as a closure for `map_err`.
    pub fn file(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Error::File {
            action,
            path,
            source,
        }
    }

    /// [`Error::Http`] for the call `call`, as a closure for `map_err`.
    pub fn http(call: impl Into<String>) -> impl FnOnce(reqwest::Error) -> Self {
        let call = call.into();
        move |source| Error::Http { call, source }
    }
}

impl From<String> for Error {
    fn from(message: String) -> Self {
        Error::Step(message)
    }
}

impl From<Error> for String {
    fn from(error: Error) -> Self {
        error.to_string()
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
