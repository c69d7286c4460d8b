//! [`ParseError`]: where a text being imported is malformed, and what was expected.

use std::fmt;

use crate::error::Error;

/// A malformed line of line protocol or a bad CSV row.
///
/// Displays as `line 3, column 17: expected '=' after field key "usage"`. Lines and
/// columns count from 1; a column counts characters (not bytes) in line protocol and
/// cells in CSV. Converts to [`Error::InvalidArgument`] with that text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The line of the input (for CSV, the line where the row starts).
    pub line: u64,
    /// The column: a character in line protocol, a cell in CSV.
    pub column: usize,
    /// What was expected or what is wrong.
    pub message: String,
}

impl ParseError {
    /// Builds an error at `line` and `column`.
    pub fn new(line: u64, column: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            line,
            column,
            message: message.into(),
        }
    }

    /// An error in `text` (one line, without its newline) at byte offset `at`: the
    /// column is the number of characters before `at`, plus one.
    pub(crate) fn at_byte(line: u64, text: &str, at: usize, message: impl Into<String>) -> Self {
        ParseError::new(line, column_of(text, at), message)
    }
}

/// The column (from 1, in characters) of byte offset `at` of `text`.
pub(crate) fn column_of(text: &str, at: usize) -> usize {
    text.get(..at)
        .map_or(text.chars().count(), |s| s.chars().count())
        + 1
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

impl std::error::Error for ParseError {}

impl From<ParseError> for Error {
    fn from(e: ParseError) -> Error {
        Error::InvalidArgument(e.to_string())
    }
}

/// Puts `line` and `column` in front of the message of an [`Error::InvalidArgument`]
/// (a point the sink refused); other errors pass unchanged.
pub(crate) fn locate(e: Error, line: u64, column: usize) -> Error {
    match e {
        Error::InvalidArgument(m) => {
            Error::InvalidArgument(format!("line {line}, column {column}: {m}"))
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_line_column_and_message_and_converts() {
        let e = ParseError::at_byte(3, "héllo wörld", 7, "expected '='");
        // "héllo " is 6 characters but 7 bytes
        assert_eq!(e.column, 7);
        assert_eq!(e.to_string(), "line 3, column 7: expected '='");
        let err: Error = e.into();
        assert_eq!(
            err.to_string(),
            "invalid argument: line 3, column 7: expected '='"
        );
        let located = locate(Error::invalid("metric name is empty"), 2, 5);
        assert_eq!(
            located.to_string(),
            "invalid argument: line 2, column 5: metric name is empty"
        );
        let io = locate(Error::Poisoned("x".into()), 2, 5);
        assert!(matches!(io, Error::Poisoned(_)));
    }
}
