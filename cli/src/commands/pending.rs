//! The commands whose engine support is not in the library yet: their arguments are
//! checked, then they say so (exit status 1). Each lists what it waits for.

use crate::args::{DumpArgs, ImportArgs, StatsArgs, VerifyArgs};
use crate::error::{CliError, CliResult};
use crate::open::require_database;

fn not_yet(command: &str, needs: &str) -> CliError {
    CliError::runtime(format!(
        "`tidestore {command}` is not available in this build yet: it needs {needs}"
    ))
}

/// `import`: waits for the engine's line-protocol and CSV ingest (`Db::write_lines`).
pub fn import(a: &ImportArgs) -> CliResult {
    for f in &a.files {
        if f.as_os_str() != "-" && !f.is_file() {
            return Err(CliError::runtime(format!("{}: no such file", f.display())));
        }
    }
    Err(not_yet(
        "import",
        "the engine's line-protocol and CSV ingest",
    ))
}

/// `stats`: waits for the engine's inspection API.
pub fn stats(a: &StatsArgs) -> CliResult {
    require_database(&a.db.dir)?;
    Err(not_yet("stats", "the engine's inspection API"))
}

/// `dump`: waits for the engine's inspection API.
pub fn dump(a: &DumpArgs) -> CliResult {
    require_database(&a.db.dir)?;
    Err(not_yet("dump", "the engine's inspection API"))
}

/// `verify`: waits for the engine's inspection API.
pub fn verify(a: &VerifyArgs) -> CliResult {
    require_database(&a.db.dir)?;
    Err(not_yet("verify", "the engine's inspection API"))
}
