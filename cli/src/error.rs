//! The CLI's error type and its exit codes.
//!
//! Every command returns [`CliResult`]; `main` prints the error (if any) as one line on
//! stderr and exits with [`CliError::exit_code`]:
//!
//! | code | meaning |
//! |------|---------|
//! | 0 | success (also when stdout was closed early, as by `... \| head`) |
//! | 1 | runtime error: I/O, a locked or damaged database, the wrong kind of directory |
//! | 2 | usage error: bad arguments, a bad selector, time or duration |
//! | 3 | `verify` found damage (reserved: `verify` is not in this build yet) |
//! | 4 | not found: `kv get` of a missing key |

use std::fmt;
use std::io;

/// Exit code of a runtime error.
pub const EXIT_RUNTIME: i32 = 1;
/// Exit code of a usage error (clap uses the same code for its own errors).
pub const EXIT_USAGE: i32 = 2;
/// Exit code of a lookup that found nothing.
pub const EXIT_NOT_FOUND: i32 = 4;

/// Why a command failed.
#[derive(Debug)]
pub enum CliError {
    /// The command line was wrong (exit 2).
    Usage(String),
    /// Something failed while running (exit 1).
    Runtime(String),
    /// The thing asked for does not exist (exit 4).
    NotFound(String),
    /// stdout was closed by its reader: stop quietly (exit 0).
    BrokenPipe,
}

/// `Result` with [`CliError`].
pub type CliResult<T = ()> = Result<T, CliError>;

impl CliError {
    /// A usage error.
    pub fn usage(msg: impl Into<String>) -> Self {
        CliError::Usage(msg.into())
    }

    /// A runtime error.
    pub fn runtime(msg: impl Into<String>) -> Self {
        CliError::Runtime(msg.into())
    }

    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Usage(_) => EXIT_USAGE,
            CliError::Runtime(_) => EXIT_RUNTIME,
            CliError::NotFound(_) => EXIT_NOT_FOUND,
            CliError::BrokenPipe => 0,
        }
    }

    /// Prefixes the message with `context: ` (kept as the same kind of error).
    pub fn context(self, context: impl fmt::Display) -> Self {
        match self {
            CliError::Usage(m) => CliError::Usage(format!("{context}: {m}")),
            CliError::Runtime(m) => CliError::Runtime(format!("{context}: {m}")),
            CliError::NotFound(m) => CliError::NotFound(format!("{context}: {m}")),
            CliError::BrokenPipe => CliError::BrokenPipe,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Usage(m) | CliError::Runtime(m) => f.write_str(m),
            CliError::NotFound(m) => write!(f, "not found: {m}"),
            CliError::BrokenPipe => f.write_str("broken pipe"),
        }
    }
}

impl From<io::Error> for CliError {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::BrokenPipe {
            CliError::BrokenPipe
        } else {
            CliError::Runtime(format!("I/O error: {e}"))
        }
    }
}

impl From<tidestore::Error> for CliError {
    fn from(e: tidestore::Error) -> Self {
        match e {
            tidestore::Error::Io(io) if io.kind() == io::ErrorKind::BrokenPipe => {
                CliError::BrokenPipe
            }
            tidestore::Error::Io(io) => CliError::Runtime(format!("I/O error: {io}")),
            other => CliError::Runtime(other.to_string()),
        }
    }
}

impl From<csv::Error> for CliError {
    fn from(e: csv::Error) -> Self {
        match e.into_kind() {
            csv::ErrorKind::Io(io) => CliError::from(io),
            other => CliError::Runtime(format!("CSV: {other:?}")),
        }
    }
}

impl From<serde_json::Error> for CliError {
    fn from(e: serde_json::Error) -> Self {
        if e.is_io() {
            CliError::from(io::Error::from(e))
        } else {
            CliError::Runtime(format!("JSON: {e}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broken_pipes_are_quiet_successes() {
        let e = CliError::from(io::Error::from(io::ErrorKind::BrokenPipe));
        assert!(matches!(e, CliError::BrokenPipe));
        assert_eq!(e.exit_code(), 0);
        let e = CliError::from(tidestore::Error::from(io::Error::from(
            io::ErrorKind::BrokenPipe,
        )));
        assert_eq!(e.exit_code(), 0);
    }

    #[test]
    fn exit_codes_and_context() {
        assert_eq!(CliError::usage("x").exit_code(), 2);
        assert_eq!(CliError::runtime("x").exit_code(), 1);
        assert_eq!(CliError::NotFound("k".into()).exit_code(), 4);
        let e = CliError::usage("bad").context("--from");
        assert_eq!(e.to_string(), "--from: bad");
        assert_eq!(e.exit_code(), 2);
    }
}
