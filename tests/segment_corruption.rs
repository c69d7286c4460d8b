//! Damaged segment files: every flipped byte, every truncation and a set of crafted
//! inconsistencies (with checksums recomputed) must give an error from `open`, a chunk
//! decode or a postings lookup — never a panic, never wrong data.

use std::path::Path;

use tidestore::Error;
use tidestore::codec::checksum;
use tidestore::io::fs::{FileBytes, StdFs};
use tidestore::ts::segment::{
    FORMAT_VERSION, Segment, SegmentOptions, SeriesInput, Tombstone, write_segment,
};

const FOOTER_LEN: usize = 120;

struct Sample {
    tags: Vec<Vec<(String, String)>>,
    ts: Vec<Vec<i64>>,
    values: Vec<Vec<f64>>,
}

fn sample() -> Sample {
    let n = 4;
    Sample {
        tags: (0..n)
            .map(|i| {
                vec![
                    ("host".to_owned(), format!("h{}", i % 2)),
                    ("dc".to_owned(), "x".to_owned()),
                ]
            })
            .collect(),
        ts: (0..n)
            .map(|i| (0..9 + i as i64).map(|t| t * 1000 - 3000).collect())
            .collect(),
        values: (0..n)
            .map(|i| (0..9 + i).map(|v| v as f64 * 0.25 - 1.0).collect())
            .collect(),
    }
}

const IDS: [u32; 4] = [2, 3, 70_000, 70_001];

fn write_sample(path: &Path, s: &Sample) {
    let inputs: Vec<SeriesInput<'_>> = (0..IDS.len())
        .map(|i| SeriesInput {
            id: IDS[i],
            metric: if i < 2 { "cpu" } else { "mem" },
            tags: &s.tags[i],
            timestamps: &s.ts[i],
            values: &s.values[i],
        })
        .collect();
    let tombstones = [
        Tombstone {
            series_id: 2,
            start: -5,
            end: 5,
        },
        Tombstone {
            series_id: 9,
            start: 0,
            end: 0,
        },
    ];
    let opts = SegmentOptions { chunk_points: 4 };
    write_segment(&StdFs, path, &inputs, &tombstones, &opts).unwrap();
}

/// Reads everything a segment offers and compares it with the sample. `Err` as soon as
/// any read reports an error; panics on wrong data.
fn read_all(bytes: Vec<u8>, s: &Sample) -> Result<(), Error> {
    let seg = Segment::from_bytes("damaged", FileBytes::from_vec(bytes))?;
    let (mut ts, mut vs) = (Vec::new(), Vec::new());
    for (i, id) in IDS.iter().enumerate() {
        ts.clear();
        vs.clear();
        for c in seg.chunks(*id) {
            seg.decode_chunk(c, &mut ts, &mut vs)?;
        }
        assert_eq!(ts, s.ts[i], "wrong timestamps accepted");
        assert_eq!(vs, s.values[i], "wrong values accepted");
    }
    let cpu = seg
        .metric_series("cpu")?
        .map(|b| b.iter().collect::<Vec<_>>());
    assert_eq!(cpu, Some(vec![2, 3]), "wrong metric postings accepted");
    let h1 = seg
        .tag_series("host", "h1")?
        .map(|b| b.iter().collect::<Vec<_>>());
    assert_eq!(h1, Some(vec![3, 70_001]), "wrong tag postings accepted");
    let dc = seg.tag_series("dc", "x")?.map(|b| b.len());
    assert_eq!(dc, Some(4), "wrong tag postings accepted");
    assert_eq!(seg.tombstones().len(), 2, "wrong tombstones accepted");
    assert_eq!(
        seg.info().points,
        s.ts.iter().map(|t| t.len() as u64).sum::<u64>()
    );
    Ok(())
}

fn original() -> (tempfile::TempDir, Vec<u8>, Sample) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seg");
    let s = sample();
    write_sample(&path, &s);
    let bytes = std::fs::read(&path).unwrap();
    read_all(bytes.clone(), &s).unwrap();
    (dir, bytes, s)
}

#[test]
fn every_flipped_byte_is_detected() {
    let (_dir, bytes, s) = original();
    for pos in 0..bytes.len() {
        for mask in [0x01u8, 0x80, 0xff] {
            let mut damaged = bytes.clone();
            damaged[pos] ^= mask;
            assert!(
                read_all(damaged, &s).is_err(),
                "flip {mask:#x} at byte {pos} of {} went unnoticed",
                bytes.len()
            );
        }
    }
}

#[test]
fn flipped_bytes_in_real_files_are_detected() {
    let (dir, bytes, _) = original();
    let path = dir.path().join("damaged");
    // A sample across every section, through the real mmap path.
    let step = (bytes.len() / 97).max(1);
    for pos in (0..bytes.len())
        .step_by(step)
        .chain(bytes.len() - 12..bytes.len())
    {
        let mut damaged = bytes.clone();
        damaged[pos] ^= 0x10;
        std::fs::write(&path, &damaged).unwrap();
        let result = Segment::open(&StdFs, &path).and_then(|seg| {
            let (mut ts, mut vs) = (Vec::new(), Vec::new());
            for c in seg.all_chunks() {
                seg.decode_chunk(c, &mut ts, &mut vs)?;
            }
            seg.tag_series("host", "h0")?;
            seg.tag_series("host", "h1")?;
            seg.tag_series("dc", "x")?;
            seg.metric_series("cpu")?;
            seg.metric_series("mem")?;
            Ok(())
        });
        assert!(result.is_err(), "flip at byte {pos} went unnoticed");
    }
}

#[test]
fn truncated_and_extended_files_are_rejected() {
    let (dir, bytes, s) = original();
    for len in 0..bytes.len() {
        let err = read_all(bytes[..len].to_vec(), &s).unwrap_err();
        assert!(
            matches!(err, Error::Corruption { .. }),
            "truncated to {len}: {err}"
        );
    }
    let mut longer = bytes.clone();
    longer.extend_from_slice(&[0; 3]);
    assert!(read_all(longer, &s).is_err());
    let path = dir.path().join("empty");
    std::fs::write(&path, b"").unwrap();
    assert!(matches!(
        Segment::open(&StdFs, &path),
        Err(Error::Corruption { .. })
    ));
}

#[test]
fn corruption_names_the_file_and_offset() {
    let (dir, bytes, _) = original();
    let path = dir.path().join("named");
    let mut damaged = bytes.clone();
    damaged[20] ^= 1; // inside the first chunk
    std::fs::write(&path, &damaged).unwrap();
    let seg = Segment::open(&StdFs, &path).unwrap();
    let (mut ts, mut vs) = (vec![7], vec![7.0]);
    let c = seg.chunks(IDS[0])[0];
    match seg.decode_chunk(&c, &mut ts, &mut vs) {
        Err(Error::Corruption { file, offset, .. }) => {
            assert_eq!(file, path);
            assert_eq!(offset, 16);
        }
        other => panic!("expected corruption, got {other:?}"),
    }
    assert_eq!(
        (ts, vs),
        (vec![7], vec![7.0]),
        "a failed decode must not touch the buffers"
    );
}

#[test]
fn newer_and_retired_versions_are_reported_as_such() {
    // a newer version, and version 1 (the codecs' layout before the lanes)
    for version in [FORMAT_VERSION + 1, 1] {
        let (_dir, mut bytes, _) = original();
        let at = bytes.len() - 12;
        bytes[at..at + 4].copy_from_slice(&version.to_le_bytes());
        let err = Segment::from_bytes("v", FileBytes::from_vec(bytes)).unwrap_err();
        assert!(
            matches!(
                err,
                Error::UnsupportedVersion { found, supported: FORMAT_VERSION, .. } if found == version
            ),
            "{err}"
        );
    }
}

// ---- Crafted damage: contents changed and every checksum recomputed. ----

fn u64_at(b: &[u8], at: usize) -> usize {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap()) as usize
}

/// Recomputes the section checksums and the footer checksum after an edit.
fn reseal(b: &mut [u8]) {
    let f = b.len() - FOOTER_LEN;
    for (i, crc_at) in [(0, 48), (16, 52), (32, 56)] {
        let (off, len) = (u64_at(b, f + i), u64_at(b, f + i + 8));
        let crc = checksum::masked(&b[off..off + len]);
        b[f + crc_at..f + crc_at + 4].copy_from_slice(&crc.to_le_bytes());
    }
    let crc = checksum::masked(&b[f..f + 104]);
    b[f + 104..f + 108].copy_from_slice(&crc.to_le_bytes());
}

fn index_at(b: &[u8]) -> usize {
    u64_at(b, b.len() - FOOTER_LEN)
}

fn crafted(what: &str, edit: impl Fn(&mut Vec<u8>)) {
    let (_dir, mut bytes, s) = original();
    let before = bytes.clone();
    edit(&mut bytes);
    assert_ne!(before, bytes, "{what}: the edit changed nothing");
    reseal(&mut bytes);
    match read_all(bytes, &s) {
        Err(Error::Corruption { .. }) => {}
        other => panic!("{what}: expected corruption, got {other:?}"),
    }
}

#[test]
fn crafted_inconsistencies_are_rejected() {
    // Chunk point count above chunk_points (4).
    crafted("count above chunk_points", |b| {
        let at = index_at(b) + 4;
        b[at..at + 4].copy_from_slice(&5u32.to_le_bytes());
    });
    // Chunk point count lowered: the chunk's bytes no longer decode exactly.
    crafted("count lowered", |b| {
        let at = index_at(b) + 4;
        b[at..at + 4].copy_from_slice(&2u32.to_le_bytes());
    });
    // Two chunk entries swapped.
    crafted("entries swapped", |b| {
        let at = index_at(b);
        let (first, second) = (b[at..at + 64].to_vec(), b[at + 64..at + 128].to_vec());
        b[at..at + 64].copy_from_slice(&second);
        b[at + 64..at + 128].copy_from_slice(&first);
    });
    // A series id changed so the index no longer matches the series bitmap.
    crafted("series id changed", |b| {
        let at = index_at(b);
        b[at..at + 4].copy_from_slice(&1u32.to_le_bytes());
    });
    // A chunk's min_ts moved: the decoded points disagree with the entry.
    crafted("min_ts moved", |b| {
        let at = index_at(b) + 8;
        b[at..at + 8].copy_from_slice(&(-2999i64).to_le_bytes());
    });
    // The footer's point count.
    crafted("footer point count", |b| {
        let at = b.len() - FOOTER_LEN + 80;
        b[at] ^= 1;
    });
    // A tombstone whose start is after its end.
    crafted("tombstone start after end", |b| {
        let at = u64_at(b, b.len() - FOOTER_LEN + 32) + 4;
        b[at..at + 8].copy_from_slice(&100i64.to_le_bytes());
    });
    // A term's bitmap boundary moved, so two bitmaps mis-decode.
    crafted("bitmap boundary moved", |b| {
        let p = u64_at(b, b.len() - FOOTER_LEN + 16);
        let at = p + 32 + 8;
        let end = u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
        b[at..at + 8].copy_from_slice(&(end - 2).to_le_bytes());
    });
    // A term's kind byte set to an unknown kind.
    crafted("unknown term kind", |b| {
        let p = u64_at(b, b.len() - FOOTER_LEN + 16);
        b[p + 32 + 20] = 7;
    });
}

#[test]
fn garbage_never_panics() {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for len in [0usize, 1, 15, 16, 135, 136, 137, 300, 1000] {
        for _ in 0..50 {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            assert!(Segment::from_bytes("garbage", FileBytes::from_vec(bytes)).is_err());
        }
    }
}
