//! [`LineParser`]: reads one line of line protocol into a [`ParsedLine`], and
//! [`LineCursor`]: walks a text of many lines.
//!
//! A line is read in one pass, left to right, into spans (where each name is) and
//! parsed values; the tag slice handed to sinks is then built once per line in a
//! vector whose allocation is reused. Nothing is allocated per line unless a name or
//! string has an escape, and even then only the parser's scratch buffer may grow.

use memchr::memchr;

use crate::error::Result;
use crate::ts::ingest::error::ParseError;
use crate::ts::ingest::line_protocol::escape::{Name, Span, scan_name, skip_blanks};
use crate::ts::ingest::line_protocol::parsed::{Field, FieldRaw, ParsedLine};
use crate::ts::ingest::line_protocol::value::parse_token;
use crate::ts::ingest::number::parse_i64;
use crate::ts::ingest::point::PointRef;
use crate::ts::ingest::precision::Precision;
use crate::ts::ingest::reuse::recycle;
use crate::ts::ingest::summary::LineSummary;

/// The longest string field value InfluxDB accepts, in bytes (after unescaping).
pub const MAX_STRING_FIELD_LEN: usize = 64 * 1024;

/// Reads lines of InfluxDB line protocol (v2 grammar). Reusable: keep one per stream
/// or per thread, so its buffers are allocated once.
///
/// ```
/// use tidestore::ts::Precision;
/// use tidestore::ts::ingest::LineParser;
///
/// let mut parser = LineParser::new(Precision::Milliseconds);
/// let mut seen = Vec::new();
/// let summary = parser.parse_str(
///     "cpu,host=a usage_user=58i,usage_idle=24.5,msg=\"ok\" 1704067200000\n",
///     |p| {
///         seen.push((p.metric.to_owned(), p.tags.len(), p.timestamp, p.value));
///         Ok(())
///     },
/// )?;
/// assert_eq!(summary.points, 2);
/// assert_eq!(summary.skipped_string_fields, 1);
/// assert_eq!(seen[0], ("cpu_usage_user".to_owned(), 1, 1704067200000, 58.0));
/// # Ok::<(), tidestore::Error>(())
/// ```
#[derive(Debug)]
pub struct LineParser {
    precision: Precision,
    /// The time given to lines without a timestamp: fixed, or read from the clock on
    /// first need and kept until [`LineParser::refresh_now`].
    now: Option<i64>,
    fixed_now: bool,
    /// The current line's measurement.
    measurement: Span,
    /// Unescaped names and strings of the current line.
    scratch: String,
    tag_spans: Vec<(Span, Span)>,
    tag_at: Vec<usize>,
    fields: Vec<Field>,
    /// The allocation of the current line's tag slice, between lines.
    tags: Vec<(&'static str, &'static str)>,
    /// Where `measurement_field` metric names are built.
    metric: String,
}

impl LineParser {
    /// A parser for timestamps in `precision`. Lines without a timestamp get the time
    /// of the system clock, read when the first such line is parsed and kept for every
    /// later one until [`LineParser::refresh_now`] (InfluxDB likewise gives every line
    /// of one write the same time).
    pub fn new(precision: Precision) -> LineParser {
        LineParser {
            precision,
            now: None,
            fixed_now: false,
            measurement: Span::default(),
            scratch: String::new(),
            tag_spans: Vec::new(),
            tag_at: Vec::new(),
            fields: Vec::new(),
            tags: Vec::new(),
            metric: String::new(),
        }
    }

    /// Gives lines without a timestamp the time `now` (in the parser's precision)
    /// instead of the clock's, for good: for tests, or to stamp a whole import with
    /// one time.
    pub fn with_now(mut self, now: i64) -> LineParser {
        self.now = Some(now);
        self.fixed_now = true;
        self
    }

    /// The unit of the timestamps.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// Forgets the clock time kept for lines without a timestamp: the next such line
    /// reads the clock again. No effect on a time fixed by [`LineParser::with_now`].
    pub fn refresh_now(&mut self) {
        if !self.fixed_now {
            self.now = None;
        }
    }

    fn now(&mut self) -> i64 {
        let precision = self.precision;
        *self.now.get_or_insert_with(|| precision.now())
    }

    /// Parses every line of `text` and hands each point to `each`, stopping at the
    /// first malformed line ([`crate::Error::InvalidArgument`] naming its line and
    /// column) or the first error from `each` (an `InvalidArgument` from it gets the
    /// line and the column of the field in front of its message). Lines are numbered
    /// from 1. Nothing is validated against the engine's key rules: `each` (a write
    /// batch) does that.
    pub fn parse_str(
        &mut self,
        text: &str,
        mut each: impl FnMut(PointRef<'_>) -> Result<()>,
    ) -> Result<LineSummary> {
        let mut cursor = LineCursor::new(text);
        let mut summary = LineSummary::default();
        while let Some(line) = self.next_line(&mut cursor) {
            let mut line = line?;
            summary.lines += 1;
            summary.skipped_string_fields += line.string_field_count();
            summary.points += line.for_each_point(&mut each)?;
        }
        Ok(summary)
    }

    /// The next line of `cursor` that holds data (blank lines and `#` comments are
    /// skipped), parsed; `None` at the end of the text. After an error the cursor is
    /// already past the bad line, so a caller may report it and go on.
    pub fn next_line<'a, 't: 'a>(
        &'a mut self,
        cursor: &mut LineCursor<'t>,
    ) -> Option<Result<ParsedLine<'a>, ParseError>> {
        loop {
            let (number, line) = cursor.next_raw()?;
            if is_data(line) {
                return Some(self.parse_line(line, number));
            }
        }
    }

    /// Parses one line, given without its `\n` (a final `\r` is dropped); `number` is
    /// its line number for errors. A blank or comment line is an error here (it holds
    /// no point); [`LineParser::next_line`] skips them.
    pub fn parse_line<'a>(
        &'a mut self,
        line: &'a str,
        number: u64,
    ) -> Result<ParsedLine<'a>, ParseError> {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if !is_data(line) {
            return Err(ParseError::at_byte(
                number,
                line,
                skip_blanks(line.as_bytes(), 0),
                "expected a measurement (the line is blank or a comment)",
            ));
        }
        self.scratch.clear();
        self.tag_spans.clear();
        self.tag_at.clear();
        self.fields.clear();
        let given = self.scan(line, number)?;
        let timestamp = match given {
            Some(t) => t,
            None => self.now(),
        };
        let LineParser {
            measurement,
            scratch,
            tag_spans,
            tag_at,
            fields,
            tags,
            metric,
            ..
        } = self;
        let scratch: &'a str = scratch;
        let mut tag_slice: Vec<(&'a str, &'a str)> = recycle(std::mem::take(tags));
        tag_slice.extend(
            tag_spans
                .iter()
                .map(|&(k, v)| (k.get(line, scratch), v.get(line, scratch))),
        );
        Ok(ParsedLine {
            line,
            number,
            scratch,
            measurement: *measurement,
            tags: tag_slice,
            tag_at,
            fields,
            timestamp,
            has_timestamp: given.is_some(),
            metric,
            tag_slot: tags,
        })
    }

    /// Reads `line` into the spans; returns its timestamp if it has one.
    fn scan(&mut self, line: &str, number: u64) -> Result<Option<i64>, ParseError> {
        let b = line.as_bytes();
        let err = |at: usize, msg: String| ParseError::at_byte(number, line, at, msg);
        let text = |span: Span, scratch: &str| span.get(line, scratch).to_owned();
        let mut i = skip_blanks(b, 0);

        // measurement
        if b.get(i) == Some(&b',') {
            return Err(err(i, "expected a measurement name before ','".into()));
        }
        let (measurement, end) = scan_name(line, i, Name::Measurement, &mut self.scratch);
        self.measurement = measurement;
        i = end;

        // tag set
        while b.get(i) == Some(&b',') {
            i += 1;
            let at = i;
            let (key, end) = scan_name(line, i, Name::Key, &mut self.scratch);
            i = end;
            if key.is_empty() {
                return Err(err(i, "expected a tag key after ','".into()));
            }
            if b.get(i) != Some(&b'=') {
                let key = text(key, &self.scratch);
                return Err(err(i, format!("expected '=' after tag key {key:?}")));
            }
            i += 1;
            let (value, end) = scan_name(line, i, Name::Key, &mut self.scratch);
            if value.is_empty() {
                let key = text(key, &self.scratch);
                return Err(err(i, format!("expected a tag value after \"{key}=\"")));
            }
            i = end;
            if b.get(i) == Some(&b'=') {
                let key = text(key, &self.scratch);
                return Err(err(
                    i,
                    format!("unexpected '=' in the value of tag {key:?} (write it as \\=)"),
                ));
            }
            self.tag_spans.push((key, value));
            self.tag_at.push(at);
        }
        if !matches!(b.get(i), Some(b' ' | b'\t')) {
            let what = if self.tag_spans.is_empty() {
                format!("measurement {:?}", text(measurement, &self.scratch))
            } else {
                "the tag set".to_owned()
            };
            return Err(err(
                i,
                format!("expected a space and the field set after {what}"),
            ));
        }

        // field set
        i = skip_blanks(b, i);
        loop {
            let at = i;
            let (key, end) = scan_name(line, i, Name::Key, &mut self.scratch);
            i = end;
            if key.is_empty() {
                let msg = if self.fields.is_empty() {
                    "expected a field key"
                } else {
                    "expected a field key after ','"
                };
                return Err(err(i, msg.into()));
            }
            if b.get(i) != Some(&b'=') {
                let key = text(key, &self.scratch);
                return Err(err(i, format!("expected '=' after field key {key:?}")));
            }
            i += 1;
            let value = match b.get(i) {
                Some(b'"') => {
                    let (span, end) = self.scan_string(line, i, number, key)?;
                    i = end;
                    FieldRaw::String(span)
                }
                None | Some(b' ' | b'\t' | b',') => {
                    let key = text(key, &self.scratch);
                    return Err(err(i, format!("expected a field value after \"{key}=\"")));
                }
                Some(_) => {
                    let end = token_end(b, i, |c| matches!(c, b',' | b' ' | b'\t'));
                    let token = line.get(i..end).unwrap_or_default();
                    match parse_token(token) {
                        Ok(v) => {
                            i = end;
                            FieldRaw::Value(v)
                        }
                        Err(m) => {
                            let key = text(key, &self.scratch);
                            return Err(err(i, format!("{m} in field {key:?}")));
                        }
                    }
                }
            };
            self.fields.push(Field { key, at, value });
            match b.get(i) {
                Some(b',') => i += 1,
                Some(b' ' | b'\t') => break,
                None => return Ok(None),
                Some(_) => {
                    let key = text(key, &self.scratch);
                    return Err(err(
                        i,
                        format!("expected ',' or a space after the value of field {key:?}"),
                    ));
                }
            }
        }

        // timestamp
        i = skip_blanks(b, i);
        if i == b.len() {
            return Ok(None);
        }
        let end = token_end(b, i, |c| matches!(c, b' ' | b'\t'));
        let token = b.get(i..end).unwrap_or_default();
        let Some(timestamp) = parse_i64(token) else {
            let shown = line.get(i..end).unwrap_or_default();
            let digits = token.strip_prefix(b"-").unwrap_or(token);
            let msg = if !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) {
                format!("timestamp {shown} is out of range for i64")
            } else {
                format!("expected an integer timestamp, found {shown:?}")
            };
            return Err(err(i, msg));
        };
        let after = skip_blanks(b, end);
        if after != b.len() {
            return Err(err(
                after,
                "expected the end of the line after the timestamp".into(),
            ));
        }
        Ok(Some(timestamp))
    }

    /// Reads the string value that opens with the `"` at `start`; returns where it is
    /// and the offset just past the closing quote.
    fn scan_string(
        &mut self,
        line: &str,
        start: usize,
        number: u64,
        key: Span,
    ) -> Result<(Span, usize), ParseError> {
        let b = line.as_bytes();
        let mut i = start + 1;
        let mut piece = i;
        let mut span = Span {
            start: i,
            end: i,
            in_scratch: false,
        };
        loop {
            let next = b
                .get(i..)
                .and_then(|rest| memchr::memchr2(b'"', b'\\', rest))
                .and_then(|n| Some((i + n, *b.get(i + n)?)));
            match next {
                Some((at, b'"')) => {
                    if span.in_scratch {
                        self.scratch
                            .push_str(line.get(piece..at).unwrap_or_default());
                        span.end = self.scratch.len();
                    } else {
                        span.end = at;
                    }
                    i = at + 1;
                    break;
                }
                Some((at, _)) => match b.get(at + 1) {
                    Some(&e @ (b'"' | b'\\')) => {
                        if !span.in_scratch {
                            span = Span {
                                start: self.scratch.len(),
                                end: 0,
                                in_scratch: true,
                            };
                        }
                        self.scratch
                            .push_str(line.get(piece..at).unwrap_or_default());
                        self.scratch.push(char::from(e));
                        i = at + 2;
                        piece = i;
                    }
                    _ => i = at + 1, // a literal backslash
                },
                None => {
                    let key = key.get(line, &self.scratch);
                    return Err(ParseError::at_byte(
                        number,
                        line,
                        b.len(),
                        format!("expected '\"' to close the string value of field {key:?}"),
                    ));
                }
            }
        }
        if span.end - span.start > MAX_STRING_FIELD_LEN {
            let key = key.get(line, &self.scratch);
            return Err(ParseError::at_byte(
                number,
                line,
                start,
                format!(
                    "the string value of field {key:?} is longer than {MAX_STRING_FIELD_LEN} bytes"
                ),
            ));
        }
        Ok((span, i))
    }
}

/// The offset of the first byte from `i` on that `stop` accepts, or the end.
fn token_end(b: &[u8], i: usize, stop: impl Fn(u8) -> bool) -> usize {
    b.get(i..)
        .and_then(|rest| rest.iter().position(|&c| stop(c)))
        .map_or(b.len(), |n| i + n)
}

/// True when `line` holds data: it is not blank and not a `#` comment.
fn is_data(line: &str) -> bool {
    let b = line.as_bytes();
    let i = skip_blanks(b, 0);
    let lone_cr = b.get(i) == Some(&b'\r') && i + 1 == b.len();
    !(matches!(b.get(i), None | Some(b'#')) || lone_cr)
}

/// Walks the lines of a text: each `\n` ends a line (a `\r` before it is dropped by the
/// parser); the last line may lack its `\n`. Knows the number of the next line.
#[derive(Debug, Clone)]
pub struct LineCursor<'t> {
    text: &'t str,
    pos: usize,
    line: u64,
}

impl<'t> LineCursor<'t> {
    /// A cursor at the start of `text`, whose first line is line 1.
    pub fn new(text: &'t str) -> LineCursor<'t> {
        LineCursor::starting_at(text, 1)
    }

    /// A cursor at the start of `text`, whose first line is line `first_line` (for a
    /// chunk of a longer input).
    pub fn starting_at(text: &'t str, first_line: u64) -> LineCursor<'t> {
        LineCursor {
            text,
            pos: 0,
            line: first_line,
        }
    }

    /// The number the next line will have.
    pub fn next_line_number(&self) -> u64 {
        self.line
    }

    /// Bytes of the text consumed so far (line ends included).
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The next line (without its `\n`) and its number.
    pub fn next_raw(&mut self) -> Option<(u64, &'t str)> {
        let rest = self.text.get(self.pos..).filter(|r| !r.is_empty())?;
        let (line, used) = match memchr(b'\n', rest.as_bytes()) {
            Some(n) => (rest.get(..n).unwrap_or_default(), n + 1),
            None => (rest, rest.len()),
        };
        self.pos += used;
        let number = self.line;
        self.line += 1;
        Some((number, line))
    }
}
