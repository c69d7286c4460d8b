//! Unit tests of the record framing: round trips and every way a log can end.

use super::*;
use crate::codec::checksum;
use crate::error::Error;

fn encode(payloads: &[&[u8]], c: Compression) -> Vec<u8> {
    let mut b = RecordBatch::new();
    for p in payloads {
        b.push(p, c).unwrap();
    }
    b.as_bytes().to_vec()
}

fn read_all(buf: &[u8]) -> (Vec<Vec<u8>>, LogEnd) {
    let mut r = LogReader::new(buf);
    let mut out = Vec::new();
    while let Some(p) = r.next_record() {
        out.push(p.into_owned());
    }
    (out, r.end().unwrap())
}

#[test]
fn round_trip_plain_and_snappy() {
    let long = vec![7u8; 1000];
    let payloads: Vec<&[u8]> = vec![b"", b"a", &long, b"hello world"];
    for c in [Compression::None, Compression::Snappy] {
        let buf = encode(&payloads, c);
        let (got, end) = read_all(&buf);
        assert_eq!(end, LogEnd::Clean);
        assert_eq!(got, payloads.iter().map(|p| p.to_vec()).collect::<Vec<_>>());
    }
}

#[test]
fn compressible_payloads_shrink_and_random_ones_do_not_grow() {
    let zeros = vec![0u8; 4096];
    let snappy = encode(&[&zeros], Compression::Snappy);
    assert!(snappy.len() < 1000);
    assert_eq!(snappy[8], TYPE_SNAPPY);
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let noise: Vec<u8> = (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 56) as u8
        })
        .collect();
    let stored = encode(&[&noise], Compression::Snappy);
    assert_eq!(stored.len(), HEADER_LEN + noise.len());
    assert_eq!(stored[8], TYPE_PLAIN);
}

#[test]
fn oversized_payload_is_rejected() {
    let big = vec![0u8; MAX_PAYLOAD_LEN + 1];
    let mut b = RecordBatch::new();
    assert!(matches!(
        b.push(&big, Compression::None),
        Err(Error::InvalidArgument(_))
    ));
    assert!(b.is_empty() && b.as_bytes().is_empty());
}

#[test]
fn huge_length_is_torn_not_allocated() {
    let mut buf = encode(&[b"abc"], Compression::None);
    buf[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    let (got, end) = read_all(&buf);
    assert!(got.is_empty());
    assert_eq!(
        end,
        LogEnd::Torn {
            offset: 0,
            dropped_bytes: buf.len() as u64
        }
    );
}

#[test]
fn damaged_length_with_good_records_after_it_is_corruption() {
    let mut buf = encode(&[b"abc", b"def", b"ghi"], Compression::None);
    buf[6] = 0x10;
    let (got, end) = read_all(&buf);
    assert!(got.is_empty());
    assert!(matches!(end, LogEnd::Corrupt { offset: 0, .. }));
}

#[test]
fn a_torn_record_embedding_a_framed_record_reads_as_corruption() {
    // A documented limit of the resync check: a payload that itself holds a
    // well-framed record, cut short by a crash, cannot be told from a damaged
    // length with good records after it.
    let inner = encode(&[b"inner"], Compression::None);
    let mut outer = inner.clone();
    outer.extend_from_slice(b"and more");
    let buf = encode(&[&outer], Compression::None);
    let cut = &buf[..buf.len() - 3];
    assert!(matches!(read_all(cut).1, LogEnd::Corrupt { .. }));
}

#[test]
fn resync_scan_gives_up_within_its_budget() {
    // Many candidate headers claiming long bodies: the scan stops at its budget
    // and reports a torn tail rather than doing quadratic work.
    let mut buf = vec![0u8; HEADER_LEN];
    buf[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    let unit = [0u8, 0, 0, 0, 0, 0, 0x10, 0, TYPE_PLAIN];
    while buf.len() < 3 << 20 {
        buf.extend_from_slice(&unit);
    }
    let (got, end) = read_all(&buf);
    assert!(got.is_empty());
    assert!(matches!(end, LogEnd::Torn { offset: 0, .. }));
}

#[test]
fn zero_filled_tail_is_torn() {
    let mut buf = encode(&[b"abc", b"def"], Compression::None);
    let good = buf.len();
    buf.resize(good + 100, 0);
    let (got, end) = read_all(&buf);
    assert_eq!(got.len(), 2);
    assert_eq!(
        end,
        LogEnd::Torn {
            offset: good as u64,
            dropped_bytes: 100
        }
    );
}

#[test]
fn bad_record_before_good_one_is_corruption() {
    let mut buf = encode(&[b"abc", b"def"], Compression::None);
    buf[HEADER_LEN] ^= 1;
    let (got, end) = read_all(&buf);
    assert!(got.is_empty());
    assert!(matches!(end, LogEnd::Corrupt { offset: 0, .. }));
    assert!(end.corruption(std::path::Path::new("x")).is_some());
}

#[test]
fn unknown_type_with_good_crc_is_corruption() {
    let mut buf = encode(&[b"abc"], Compression::None);
    buf[8] = 9;
    let crc = checksum::mask(checksum::crc32c(&buf[8..]));
    buf[0..4].copy_from_slice(&crc.to_le_bytes());
    assert!(matches!(read_all(&buf).1, LogEnd::Corrupt { .. }));
}

#[test]
fn lying_snappy_header_is_corruption() {
    // A checksum-valid snappy record whose preamble claims 4 GiB.
    let body = [0xff, 0xff, 0xff, 0xff, 0x0f, 0x00];
    let mut buf = Vec::new();
    let crc = checksum::mask(checksum::crc32c_2(&[TYPE_SNAPPY], &body));
    buf.extend_from_slice(&crc.to_le_bytes());
    buf.extend_from_slice(&(body.len() as u32).to_le_bytes());
    buf.push(TYPE_SNAPPY);
    buf.extend_from_slice(&body);
    assert!(matches!(read_all(&buf).1, LogEnd::Corrupt { .. }));
}

#[test]
fn writer_reports_lengths() {
    let fs = crate::io::sim_fs::SimFs::new();
    let file = crate::io::fs::FileSystem::create(&fs, std::path::Path::new("log")).unwrap();
    let mut w = LogWriter::new(file);
    assert!(w.is_empty());
    let end = w.add_record(b"abc", Compression::Snappy).unwrap();
    assert_eq!(end, (HEADER_LEN + 3) as u64);
    let mut b = RecordBatch::new();
    b.push(b"x", Compression::None).unwrap();
    b.push(b"yz", Compression::None).unwrap();
    assert_eq!(b.records(), 2);
    assert_eq!(w.write_batch(&b).unwrap(), end + b.len() as u64);
    w.sync().unwrap();
    let data = crate::io::fs::FileSystem::read(&fs, std::path::Path::new("log")).unwrap();
    let (got, end) = read_all(&data);
    assert_eq!(end, LogEnd::Clean);
    assert_eq!(got, vec![b"abc".to_vec(), b"x".to_vec(), b"yz".to_vec()]);
}
