//! The manifest through the public API: a crash at every operation leaves the old or
//! the new state, and damaged `CURRENT` or manifest files are reported as corruption.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tidestore::Error;
use tidestore::io::fs::{FileSystem, StdFs};
use tidestore::io::manifest::{
    CURRENT, Manifest, is_manifest_file, manifest_file_name, parse_manifest_file_name,
};
use tidestore::io::sim_fs::SimFs;

const DIR: &str = "/db";

fn fresh() -> SimFs {
    let sim = SimFs::new();
    sim.create_dir_all(Path::new(DIR)).unwrap();
    sim
}

/// Opens the manifest in [`DIR`], returning it and the edits it applied.
fn open_sim(sim: &SimFs) -> Result<(Manifest, Vec<Vec<u8>>), Error> {
    let mut edits = Vec::new();
    let m = Manifest::open(Arc::new(sim.clone()), Path::new(DIR), |e| {
        edits.push(e.to_vec());
        Ok(())
    })?;
    Ok((m, edits))
}

fn overwrite(sim: &SimFs, path: &Path, data: &[u8]) {
    let mut f = sim.create(path).unwrap();
    f.write_all(data).unwrap();
    f.sync().unwrap();
}

fn live_manifest(sim: &SimFs) -> PathBuf {
    let current = sim.read(&Path::new(DIR).join(CURRENT)).unwrap();
    let name = String::from_utf8(current).unwrap();
    Path::new(DIR).join(name.trim_end())
}

/// One step of the workload and the state (edits a reopen applies) after it.
enum Step {
    Append(Vec<u8>),
    Rewrite(Vec<u8>),
}

fn workload() -> (Vec<Step>, Vec<Vec<Vec<u8>>>) {
    let steps = vec![
        Step::Append(b"e3".to_vec()),
        Step::Rewrite(b"snapshot-1".to_vec()),
        Step::Append(b"e4".to_vec()),
        Step::Append(vec![b'x'; 5000]),
        Step::Rewrite(b"snapshot-2".to_vec()),
        Step::Append(b"e6".to_vec()),
    ];
    let mut states = vec![vec![b"e1".to_vec(), b"e2".to_vec()]];
    for step in &steps {
        let mut next = states.last().unwrap().clone();
        match step {
            Step::Append(e) => next.push(e.clone()),
            Step::Rewrite(s) => next = vec![s.clone()],
        }
        states.push(next);
    }
    (steps, states)
}

/// Fails every operation from the `k`th on, crashes, reopens and checks the state.
/// Returns whether the workload ran to its end.
fn crash_at(k: u64, power_cut: bool) -> bool {
    let sim = fresh();
    let (mut m, _) = open_sim(&sim).unwrap();
    m.append(b"e1").unwrap();
    m.append(b"e2").unwrap();
    drop(m);

    let (steps, states) = workload();
    sim.fail_after(k);
    let mut acked = 0;
    let completed = (|| -> Result<(), Error> {
        let (mut m, edits) = open_sim(&sim)?;
        assert_eq!(edits, states[0]);
        for step in &steps {
            match step {
                Step::Append(e) => m.append(e)?,
                Step::Rewrite(s) => m.rewrite(s)?,
            }
            acked += 1;
        }
        Ok(())
    })()
    .is_ok();
    if power_cut {
        sim.crash();
    } else {
        sim.kill_process();
    }
    sim.clear_faults();

    let (mut m, edits) = open_sim(&sim).unwrap_or_else(|e| panic!("k={k}: reopen failed: {e}"));
    let in_flight = states.get(acked + 1);
    assert!(
        edits == states[acked] || Some(&edits) == in_flight,
        "k={k} power_cut={power_cut}: got {edits:?}, acked state {:?}",
        states[acked]
    );
    // The recovered manifest is healthy: it takes edits and reopens with them.
    m.append(b"after").unwrap();
    drop(m);
    sim.crash();
    let (_m, again) = open_sim(&sim).unwrap();
    assert_eq!(again[..again.len() - 1], edits[..], "k={k}");
    assert_eq!(again.last().unwrap(), b"after");
    completed
}

#[test]
fn a_crash_at_every_operation_leaves_the_old_or_the_new_state() {
    for power_cut in [true, false] {
        let mut k = 0;
        while !crash_at(k, power_cut) {
            k += 1;
        }
        assert!(k > 20, "the workload performs many operations");
    }
}

#[test]
fn a_crash_during_the_first_open_leaves_an_empty_manifest() {
    let mut k = 0;
    loop {
        let sim = fresh();
        sim.fail_after(k);
        let done = open_sim(&sim).is_ok();
        sim.crash();
        sim.clear_faults();
        let (_m, edits) = open_sim(&sim).unwrap();
        assert!(edits.is_empty());
        if done {
            break;
        }
        k += 1;
    }
}

#[test]
fn unparsable_current_is_corruption() {
    for bad in [
        &b""[..],
        b"MANIFEST-000001",
        b"MANIFEST-1\n",
        b"manifest-000001\n",
        b"MANIFEST-000001\nextra\n",
        b"\xff\xfe\n",
    ] {
        let sim = fresh();
        drop(open_sim(&sim).unwrap());
        let current = Path::new(DIR).join(CURRENT);
        overwrite(&sim, &current, bad);
        match open_sim(&sim) {
            Err(Error::Corruption { file, .. }) => assert_eq!(file, current),
            other => panic!("{bad:?}: expected corruption, got {other:?}"),
        }
    }
}

#[test]
fn a_missing_manifest_is_corruption_naming_it() {
    let sim = fresh();
    drop(open_sim(&sim).unwrap());
    let live = live_manifest(&sim);
    sim.remove_file(&live).unwrap();
    match open_sim(&sim) {
        Err(Error::Corruption { file, .. }) => assert_eq!(file, live),
        other => panic!("expected corruption, got {other:?}"),
    }
}

#[test]
fn damage_before_the_last_record_is_corruption_and_in_it_an_uncommitted_edit() {
    let sim = fresh();
    let (mut m, _) = open_sim(&sim).unwrap();
    for e in [&b"first edit"[..], b"second edit", b"third edit"] {
        m.append(e).unwrap();
    }
    drop(m);
    let live = live_manifest(&sim);
    let good = sim.read(&live).unwrap();

    // Any damage in a record with more after it: corruption naming the file.
    let last_start = good.len() - (9 + b"third edit".len());
    for at in 0..last_start {
        let mut bad = good.clone();
        bad[at] ^= 0x10;
        overwrite(&sim, &live, &bad);
        match open_sim(&sim) {
            Err(Error::Corruption { file, .. }) => assert_eq!(file, live, "at {at}"),
            other => panic!("damage at {at}: expected corruption, got {other:?}"),
        }
    }
    // Damage in the last record: that edit never committed.
    for at in last_start..good.len() {
        let mut bad = good.clone();
        bad[at] ^= 0x10;
        overwrite(&sim, &live, &bad);
        let (m, edits) = open_sim(&sim).unwrap();
        assert_eq!(edits, vec![b"first edit".to_vec(), b"second edit".to_vec()]);
        drop(m);
        // Opening moved on to a new file; put the damaged one back for the next round.
        let now = live_manifest(&sim);
        sim.rename(&now, &live).unwrap();
        overwrite(
            &sim,
            &Path::new(DIR).join(CURRENT),
            format!("{}\n", live.file_name().unwrap().to_str().unwrap()).as_bytes(),
        );
    }
    // Truncation anywhere in the last record: likewise.
    for cut in last_start..good.len() {
        overwrite(&sim, &live, &good[..cut]);
        let (m, edits) = open_sim(&sim).unwrap();
        assert_eq!(edits.len(), 2, "cut at {cut}");
        drop(m);
        let now = live_manifest(&sim);
        sim.rename(&now, &live).unwrap();
        overwrite(
            &sim,
            &Path::new(DIR).join(CURRENT),
            format!("{}\n", live.file_name().unwrap().to_str().unwrap()).as_bytes(),
        );
    }
}

#[test]
fn a_foreign_or_future_manifest_is_rejected() {
    let sim = fresh();
    drop(open_sim(&sim).unwrap());
    let live = live_manifest(&sim);
    let good = sim.read(&live).unwrap();
    // A WAL segment renamed to a manifest name: wrong magic.
    let wal_dir = Path::new("/wal");
    sim.create_dir_all(wal_dir).unwrap();
    let fs: Arc<dyn FileSystem> = Arc::new(sim.clone());
    drop(
        tidestore::io::wal::Wal::create(fs, wal_dir, 1, tidestore::io::wal::SyncMode::Os).unwrap(),
    );
    let wal = sim
        .read(&wal_dir.join(tidestore::io::wal::segment_file_name(1)))
        .unwrap();
    overwrite(&sim, &live, &wal);
    assert!(matches!(open_sim(&sim), Err(Error::Corruption { .. })));
    // An empty manifest file (no header).
    overwrite(&sim, &live, b"");
    assert!(matches!(open_sim(&sim), Err(Error::Corruption { .. })));
    // A manifest from a future format version: re-frame its header with version 2.
    let mut header = good[9..29].to_vec();
    header[8] = 2;
    let mut batch = tidestore::io::record::RecordBatch::new();
    batch
        .push(&header, tidestore::io::record::Compression::None)
        .unwrap();
    overwrite(&sim, &live, batch.as_bytes());
    assert!(matches!(
        open_sim(&sim),
        Err(Error::UnsupportedVersion { found: 2, .. })
    ));
}

#[test]
fn missing_current_with_edits_is_corruption_but_without_is_a_fresh_start() {
    let sim = fresh();
    let (mut m, _) = open_sim(&sim).unwrap();
    m.append(b"edit").unwrap();
    drop(m);
    let current = Path::new(DIR).join(CURRENT);
    let live = live_manifest(&sim);
    sim.remove_file(&current).unwrap();
    match open_sim(&sim) {
        Err(Error::Corruption { file, .. }) => assert_eq!(file, live),
        other => panic!("expected corruption, got {other:?}"),
    }
    // A manifest holding only its header (a first open that crashed before CURRENT).
    let sim = fresh();
    drop(open_sim(&sim).unwrap());
    sim.remove_file(&Path::new(DIR).join(CURRENT)).unwrap();
    let (m, edits) = open_sim(&sim).unwrap();
    assert!(edits.is_empty());
    let mut names = sim.list(Path::new(DIR)).unwrap();
    names.sort();
    let mut want = m.file_names().to_vec();
    want.sort();
    assert_eq!(names, want);
}

#[test]
fn oversized_edits_are_refused_without_poisoning() {
    let sim = fresh();
    let (mut m, _) = open_sim(&sim).unwrap();
    let huge = vec![0u8; tidestore::io::record::MAX_PAYLOAD_LEN + 1];
    assert!(matches!(m.append(&huge), Err(Error::InvalidArgument(_))));
    assert!(matches!(m.rewrite(&huge), Err(Error::InvalidArgument(_))));
    m.append(b"fine").unwrap();
}

#[test]
fn file_names_and_helpers() {
    let sim = fresh();
    let (mut m, _) = open_sim(&sim).unwrap();
    let before = m.size();
    m.append(b"abc").unwrap();
    assert!(m.size() > before);
    m.rewrite(b"snapshot").unwrap();
    for name in m.file_names() {
        assert!(is_manifest_file(&name));
        assert!(sim.exists(&Path::new(DIR).join(&name)));
    }
    assert_eq!(
        sim.list(Path::new(DIR)).unwrap().len(),
        2,
        "the old manifest was removed"
    );
    assert_eq!(parse_manifest_file_name(&manifest_file_name(42)), Some(42));
}

#[test]
fn works_on_the_real_file_system() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let reopen = |dir: &Path| {
        let mut edits = Vec::new();
        let m = Manifest::open(Arc::new(StdFs), dir, |e| {
            edits.push(e.to_vec());
            Ok(())
        })
        .unwrap();
        (m, edits)
    };
    let (mut m, _) = reopen(&dir);
    m.append(b"a").unwrap();
    m.rewrite(b"s").unwrap();
    m.append(b"b").unwrap();
    drop(m);
    let (m, edits) = reopen(&dir);
    assert_eq!(edits, vec![b"s".to_vec(), b"b".to_vec()]);
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    on_disk.sort();
    let mut want = m.file_names().to_vec();
    want.sort();
    assert_eq!(on_disk, want);
}
