//! [`ParsedLine`]: one line of line protocol, read, borrowing the text and the parser.

use crate::error::Result;
use crate::ts::ingest::error::{ParseError, column_of, locate};
use crate::ts::ingest::keys::{check_metric, check_tags};
use crate::ts::ingest::line_protocol::escape::{Span, skip_blanks};
use crate::ts::ingest::line_protocol::value::FieldValue;
use crate::ts::ingest::point::{PointRef, field_metric};
use crate::ts::ingest::reuse::recycle;

/// A field of the line being parsed: where its key is, the byte offset where it
/// starts (for error columns), its value.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field {
    pub(crate) key: Span,
    pub(crate) at: usize,
    pub(crate) value: FieldRaw,
}

/// A field's value before the line's strings are resolved.
#[derive(Debug, Clone, Copy)]
pub(crate) enum FieldRaw {
    Value(FieldValue<'static>),
    String(Span),
}

/// One line of line protocol, syntactically valid, from [`super::LineParser`]. Borrows
/// the text and the parser until dropped.
///
/// Its points: one per numeric or boolean field, of metric `measurement_field`, or
/// `measurement` for a field named `value`; every point has the line's tags and
/// timestamp. Hand them out with [`ParsedLine::for_each_point`]; check them first
/// against the engine's key rules with [`ParsedLine::validate`] when a line must be
/// taken whole or not at all.
#[derive(Debug)]
pub struct ParsedLine<'a> {
    pub(crate) line: &'a str,
    pub(crate) number: u64,
    pub(crate) scratch: &'a str,
    pub(crate) measurement: Span,
    pub(crate) tags: Vec<(&'a str, &'a str)>,
    pub(crate) tag_at: &'a [usize],
    pub(crate) fields: &'a [Field],
    pub(crate) timestamp: i64,
    pub(crate) has_timestamp: bool,
    pub(crate) metric: &'a mut String,
    /// Where the tag vector's allocation goes back to when the line is dropped.
    pub(crate) tag_slot: &'a mut Vec<(&'static str, &'static str)>,
}

impl<'a> ParsedLine<'a> {
    /// The line's number in its input (from 1).
    pub fn line_number(&self) -> u64 {
        self.number
    }

    /// The measurement, unescaped.
    pub fn measurement(&self) -> &'a str {
        self.measurement.get(self.line, self.scratch)
    }

    /// The tags, unescaped, in the order written (duplicates are not checked here; see
    /// [`ParsedLine::validate`]).
    pub fn tags(&self) -> &[(&'a str, &'a str)] {
        &self.tags
    }

    /// The timestamp: as written, or "now" in the parser's precision when the line has
    /// none.
    pub fn timestamp(&self) -> i64 {
        self.timestamp
    }

    /// True when the line has its own timestamp.
    pub fn has_timestamp(&self) -> bool {
        self.has_timestamp
    }

    /// The fields in the order written, keys and strings unescaped.
    pub fn fields(&self) -> impl ExactSizeIterator<Item = (&'a str, FieldValue<'a>)> + '_ {
        let (line, scratch) = (self.line, self.scratch);
        self.fields.iter().map(move |f| {
            let value = match f.value {
                FieldRaw::Value(v) => v,
                FieldRaw::String(s) => FieldValue::String(s.get(line, scratch)),
            };
            (f.key.get(line, scratch), value)
        })
    }

    /// How many points the line holds (numeric and boolean fields).
    pub fn point_count(&self) -> usize {
        self.fields.len() - self.string_field_count()
    }

    /// How many string fields the line has (not stored).
    pub fn string_field_count(&self) -> usize {
        self.fields
            .iter()
            .filter(|f| matches!(f.value, FieldRaw::String(_)))
            .count()
    }

    /// Checks every point of the line against the engine's key rules (see
    /// `ts::series`: names 1 to 255 bytes without control characters, at most
    /// 64 tags, no tag key twice), so that the whole line can be refused before any
    /// point of it is written. The error points at the tag or field at fault.
    pub fn validate(&mut self) -> Result<(), ParseError> {
        let err = |at: usize, msg: String| ParseError::at_byte(self.number, self.line, at, msg);
        if let Err((i, msg)) = check_tags(&self.tags) {
            return Err(err(self.tag_at.get(i).copied().unwrap_or_default(), msg));
        }
        let measurement = self.measurement();
        if let Err(msg) = check_metric(measurement) {
            let at = skip_blanks(self.line.as_bytes(), 0);
            return Err(err(at, format!("measurement: {msg}")));
        }
        for f in self.fields {
            if matches!(f.value, FieldRaw::String(_)) {
                continue;
            }
            let key = f.key.get(self.line, self.scratch);
            if let Err(msg) = check_metric(field_metric(measurement, key, self.metric)) {
                return Err(err(f.at, format!("field {key:?}: {msg}")));
            }
        }
        Ok(())
    }

    /// Hands every point of the line to `each`, in field order; returns how many.
    ///
    /// An error from `each` stops at that point (earlier points of the line were
    /// handed out); an [`crate::Error::InvalidArgument`] gets the line and the column of the
    /// field in front of its message.
    pub fn for_each_point(
        &mut self,
        mut each: impl FnMut(PointRef<'_>) -> Result<()>,
    ) -> Result<usize> {
        let measurement = self.measurement();
        let mut n = 0;
        for f in self.fields {
            let FieldRaw::Value(v) = f.value else {
                continue;
            };
            let value = v.as_f64().unwrap_or_default();
            let key = f.key.get(self.line, self.scratch);
            let metric = field_metric(measurement, key, self.metric);
            let point = PointRef {
                metric,
                tags: &self.tags,
                timestamp: self.timestamp,
                value,
            };
            each(point).map_err(|e| locate(e, self.number, column_of(self.line, f.at)))?;
            n += 1;
        }
        Ok(n)
    }
}

impl Drop for ParsedLine<'_> {
    fn drop(&mut self) {
        *self.tag_slot = recycle(std::mem::take(&mut self.tags));
    }
}
