//! Line protocol from a reader, chunk by chunk: each chunk is cut after its last line
//! end, checked as UTF-8 (a line that is not is a bad line), and parsed line by line;
//! the cut-off tail is carried to the next chunk.

use std::io::BufRead;

use memchr::{memchr, memrchr};

use crate::error::Result;
use crate::ts::ingest::error::ParseError;
use crate::ts::ingest::import::Import;
use crate::ts::ingest::import::Progress;
use crate::ts::ingest::import::batch::Batch;
use crate::ts::ingest::line_protocol::{LineCursor, LineParser};
use crate::ts::ingest::point::PointSink;
use crate::ts::ingest::precision::Precision;

pub(super) fn run<S: PointSink + ?Sized, P: FnMut(&Progress)>(
    import: &Import,
    precision: Precision,
    mut reader: impl BufRead,
    batch: &mut Batch<'_, S, P>,
) -> Result<()> {
    let mut parser = LineParser::new(precision);
    if let Some(now) = import.now {
        parser = parser.with_now(now);
    }
    let chunk = import.chunk_bytes;
    let mut buf: Vec<u8> = Vec::with_capacity(chunk);
    let mut line = 1u64;
    let mut target = chunk;
    let mut eof = false;
    // skipping the rest of a line longer than the limit
    let mut discarding = false;
    loop {
        while !eof && buf.len() < target {
            let data = reader.fill_buf()?;
            if data.is_empty() {
                eof = true;
                break;
            }
            let n = data.len().min(target - buf.len());
            buf.extend_from_slice(data.get(..n).unwrap_or_default());
            reader.consume(n);
            batch.add_bytes_read(n);
        }
        if discarding {
            match memchr(b'\n', &buf) {
                Some(i) => {
                    buf.drain(..=i);
                    discarding = false;
                }
                None => buf.clear(),
            }
            if eof && buf.is_empty() {
                break;
            }
            continue;
        }
        let end = match memrchr(b'\n', &buf) {
            Some(i) => i + 1,
            None if eof => buf.len(),
            None if buf.len() > import.max_line_bytes => {
                batch.bad(ParseError::new(
                    line,
                    1,
                    format!("the line is longer than {} bytes", import.max_line_bytes),
                ))?;
                line += 1;
                buf.clear();
                discarding = true;
                target = chunk;
                continue;
            }
            None => {
                // a line longer than a chunk: read on (up to just past the limit)
                target = (buf.len() + chunk).min(import.max_line_bytes.saturating_add(1));
                if target <= buf.len() {
                    target = buf.len() + 1;
                }
                continue;
            }
        };
        line = parse_chunk(&mut parser, buf.get(..end).unwrap_or_default(), line, batch)?;
        buf.drain(..end);
        target = chunk;
        batch.report();
        if eof && buf.is_empty() {
            break;
        }
    }
    Ok(())
}

/// Parses whole lines, the first numbered `line`; returns the number of the next.
fn parse_chunk<S: PointSink + ?Sized, P: FnMut(&Progress)>(
    parser: &mut LineParser,
    mut bytes: &[u8],
    mut line: u64,
    batch: &mut Batch<'_, S, P>,
) -> Result<u64> {
    loop {
        let (text, bad) = match std::str::from_utf8(bytes) {
            Ok(text) => (text, None),
            Err(e) => {
                // the lines before the one with bad bytes are fine
                let at = e.valid_up_to();
                let start =
                    memrchr(b'\n', bytes.get(..at).unwrap_or_default()).map_or(0, |i| i + 1);
                let text =
                    std::str::from_utf8(bytes.get(..start).unwrap_or_default()).unwrap_or_default();
                (text, Some((start, at)))
            }
        };
        line = parse_text(parser, text, line, batch)?;
        let Some((start, at)) = bad else {
            return Ok(line);
        };
        let prefix = bytes
            .get(start..at)
            .and_then(|p| std::str::from_utf8(p).ok())
            .map_or(0, |p| p.chars().count());
        batch.bad(ParseError::new(line, prefix + 1, "invalid UTF-8"))?;
        line += 1;
        let rest = bytes.get(at..).unwrap_or_default();
        let next = memchr(b'\n', rest).map_or(bytes.len(), |i| at + i + 1);
        bytes = bytes.get(next..).unwrap_or_default();
        if bytes.is_empty() {
            return Ok(line);
        }
    }
}

fn parse_text<S: PointSink + ?Sized, P: FnMut(&Progress)>(
    parser: &mut LineParser,
    text: &str,
    first: u64,
    batch: &mut Batch<'_, S, P>,
) -> Result<u64> {
    let mut cursor = LineCursor::starting_at(text, first);
    loop {
        let committed = match parser.next_line(&mut cursor) {
            None => break,
            Some(Ok(line)) => {
                batch.take(line)?;
                batch.commit_if_due()?
            }
            Some(Err(e)) => {
                batch.bad(e)?;
                false
            }
        };
        if committed {
            parser.refresh_now();
        }
    }
    Ok(cursor.next_line_number())
}
