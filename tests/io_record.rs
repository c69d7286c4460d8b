//! Record framing through the public API: round trips, truncation at every byte and
//! damage to every byte.

use std::path::Path;
use std::sync::Arc;

use proptest::prelude::*;
use tidestore::io::fs::{FileSystem, StdFs};
use tidestore::io::record::{Compression, LogEnd, LogReader, LogWriter, RecordBatch};

fn read_all(buf: &[u8]) -> (Vec<Vec<u8>>, LogEnd) {
    let mut reader = LogReader::new(buf);
    let mut out = Vec::new();
    while let Some(p) = reader.next_record() {
        out.push(p.into_owned());
    }
    (out, reader.end().expect("the reader has ended"))
}

/// Encodes `payloads` and returns the bytes and the offset where each record ends.
fn encode(payloads: &[(Vec<u8>, bool)]) -> (Vec<u8>, Vec<usize>) {
    let mut all = RecordBatch::new();
    let mut ends = Vec::new();
    for (p, compress) in payloads {
        let c = if *compress {
            Compression::Snappy
        } else {
            Compression::None
        };
        all.push(p, c).unwrap();
        ends.push(all.len());
    }
    assert_eq!(all.records(), payloads.len());
    (all.as_bytes().to_vec(), ends)
}

/// Payloads that are sometimes very compressible (runs) and sometimes not.
fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..300),
        (any::<u8>(), 0usize..2000).prop_map(|(b, n)| vec![b; n]),
        (prop::collection::vec(any::<u8>(), 1..8), 0usize..200)
            .prop_map(|(unit, n)| unit.repeat(n)),
    ]
}

fn payloads() -> impl Strategy<Value = Vec<(Vec<u8>, bool)>> {
    prop::collection::vec((payload(), any::<bool>()), 0..8)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn round_trip(ps in payloads()) {
        let (buf, _) = encode(&ps);
        let (got, end) = read_all(&buf);
        prop_assert_eq!(end, LogEnd::Clean);
        let want: Vec<Vec<u8>> = ps.iter().map(|(p, _)| p.clone()).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn arbitrary_bytes_end_consistently(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let mut reader = LogReader::new(&bytes);
        while reader.next_record().is_some() {}
        let pos = reader.position();
        let len = bytes.len() as u64;
        match reader.end().expect("the reader has ended") {
            LogEnd::Clean => prop_assert_eq!(pos, len),
            LogEnd::Torn { offset, dropped_bytes } => {
                prop_assert_eq!(offset, pos);
                prop_assert_eq!(offset + dropped_bytes, len);
            }
            LogEnd::Corrupt { offset, .. } => {
                prop_assert_eq!(offset, pos);
                prop_assert!(offset < len);
            }
        }
    }
}

proptest! {
    // Each case checks every byte of its log: fewer cases keep the suite fast.
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn truncation_at_every_byte_is_a_clean_torn_stop(ps in prop::collection::vec((payload(), any::<bool>()), 1..4)) {
        let (buf, ends) = encode(&ps);
        for cut in 0..=buf.len() {
            let (got, end) = read_all(&buf[..cut]);
            let whole = ends.iter().take_while(|&&e| e <= cut).count();
            let want: Vec<Vec<u8>> = ps[..whole].iter().map(|(p, _)| p.clone()).collect();
            prop_assert_eq!(&got, &want, "cut at {}", cut);
            let boundary = if whole == 0 { 0 } else { ends[whole - 1] };
            if boundary == cut {
                prop_assert_eq!(end, LogEnd::Clean);
            } else {
                prop_assert_eq!(end, LogEnd::Torn {
                    offset: boundary as u64,
                    dropped_bytes: (cut - boundary) as u64,
                });
            }
        }
    }

    #[test]
    fn damage_to_any_byte_never_yields_a_wrong_payload(
        ps in prop::collection::vec((payload(), any::<bool>()), 1..4),
        mask in 1u8..=255,
    ) {
        let (buf, ends) = encode(&ps);
        for at in 0..buf.len() {
            let mut bad = buf.clone();
            bad[at] ^= mask;
            let (got, end) = read_all(&bad);
            // Every record before the damaged one reads back; nothing after it does.
            let damaged = ends.iter().take_while(|&&e| e <= at).count();
            let want: Vec<Vec<u8>> = ps[..damaged].iter().map(|(p, _)| p.clone()).collect();
            prop_assert_eq!(&got, &want, "damage at {}", at);
            prop_assert!(end != LogEnd::Clean, "damage at {} went unnoticed", at);
            let start = if damaged == 0 { 0 } else { ends[damaged - 1] } as u64;
            match end {
                LogEnd::Torn { offset, .. } | LogEnd::Corrupt { offset, .. } => {
                    prop_assert_eq!(offset, start);
                }
                LogEnd::Clean => unreachable!(),
            }
        }
    }
}

#[test]
fn damage_in_the_last_record_is_torn_and_earlier_is_corrupt() {
    let ps = vec![(b"first".to_vec(), false), (b"second".to_vec(), false)];
    let (buf, ends) = encode(&ps);
    let mut last = buf.clone();
    last[ends[0] + 12] ^= 1;
    assert!(matches!(read_all(&last).1, LogEnd::Torn { .. }));
    let mut first = buf.clone();
    first[12] ^= 1;
    let (got, end) = read_all(&first);
    assert!(got.is_empty());
    assert!(matches!(end, LogEnd::Corrupt { offset: 0, .. }));
    let err = end.corruption(Path::new("some.log")).unwrap();
    assert!(err.to_string().contains("some.log"));
}

#[test]
fn writer_on_the_real_file_system() {
    let dir = tempfile::tempdir().unwrap();
    let fs: Arc<dyn FileSystem> = Arc::new(StdFs);
    let path = dir.path().join("log");
    let mut w = LogWriter::new(fs.create(&path).unwrap());
    let big = vec![b'z'; 100_000];
    w.add_record(b"small", Compression::Snappy).unwrap();
    let len = w.add_record(&big, Compression::Snappy).unwrap();
    assert!(len < 10_000, "a run of one byte compresses well: {len}");
    w.sync().unwrap();
    let data = fs.map(&path).unwrap();
    let (got, end) = read_all(&data);
    assert_eq!(end, LogEnd::Clean);
    assert_eq!(got, vec![b"small".to_vec(), big]);
}
