//! `tidestore`: the command-line tool of the tidestore storage engine.
//!
//! `main` parses the command line (clap), runs the command with a buffered stdout,
//! and turns the outcome into an exit status (see [`error`]). Output to a closed pipe
//! (`tidestore ... | head`) ends the command quietly with status 0.

mod args;
mod bytes;
mod commands;
mod error;
mod filter;
mod generate;
mod matchers;
mod open;
mod output;
mod plot;
mod progress;
mod selector;
mod time;
mod value_filter;

use std::io::{BufWriter, Write};

use clap::Parser;

use crate::error::CliError;

fn main() {
    let cli = match args::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are "errors" with status 0; printing to a closed
            // pipe is not worth a panic.
            let _ = e.print();
            std::process::exit(e.exit_code());
        }
    };
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let result = commands::run(cli, &mut out).and_then(|()| Ok(out.flush()?));
    let code = match result {
        Ok(()) | Err(CliError::BrokenPipe) => 0,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "tidestore: error: {e}");
            e.exit_code()
        }
    };
    // Drop `out` without flushing again into a closed pipe: exit skips destructors.
    std::process::exit(code);
}
