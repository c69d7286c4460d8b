//! `SimFs` against `StdFs`: the same script of operations must give the same results,
//! so tests written against the simulation hold on a real file system.

use std::path::Path;

use tidestore::Error;
use tidestore::io::fs::{FileSystem, StdFs};
use tidestore::io::sim_fs::SimFs;

/// Runs a script of operations under `root` and records everything observable.
fn script(fs: &dyn FileSystem, root: &Path) -> Vec<String> {
    let mut log = Vec::new();
    let dir = root.join("a/b");
    fs.create_dir_all(&dir).unwrap();
    let mut f = fs.create(&dir.join("one")).unwrap();
    f.write_all(b"hello ").unwrap();
    f.write_all(b"world").unwrap();
    log.push(format!("len {}", f.len()));
    f.sync().unwrap();
    drop(f);
    let mut g = fs.create(&dir.join("two")).unwrap();
    g.write_all(b"second").unwrap();
    g.flush().unwrap();
    drop(g);
    log.push(format!("list {:?}", fs.list(&dir).unwrap()));
    fs.rename(&dir.join("two"), &dir.join("one")).unwrap();
    fs.sync_dir(&dir).unwrap();
    log.push(format!("list {:?}", fs.list(&dir).unwrap()));
    log.push(format!("read {:?}", fs.read(&dir.join("one")).unwrap()));
    log.push(format!("map {:?}", &*fs.map(&dir.join("one")).unwrap()));
    // Re-creating truncates.
    drop(fs.create(&dir.join("one")).unwrap());
    log.push(format!("empty {:?}", fs.read(&dir.join("one")).unwrap()));
    log.push(format!(
        "empty map {:?}",
        &*fs.map(&dir.join("one")).unwrap()
    ));
    fs.remove_file(&dir.join("one")).unwrap();
    log.push(format!(
        "exists {} {} {}",
        fs.exists(&dir.join("one")),
        fs.exists(&dir),
        fs.exists(&root.join("a"))
    ));
    for err in [
        fs.read(&dir.join("missing")).map(|_| ()),
        fs.remove_file(&dir.join("missing")),
        fs.rename(&dir.join("missing"), &dir.join("x")),
        fs.create(&root.join("nope/file")).map(|_| ()),
        fs.list(&root.join("nope")).map(|_| ()),
    ] {
        match err {
            Err(Error::Io(e)) => log.push(format!("error {:?}", e.kind())),
            other => log.push(format!("unexpected {other:?}")),
        }
    }
    let guard = fs.lock_dir(&dir).unwrap();
    log.push(format!(
        "second lock {}",
        matches!(fs.lock_dir(&dir), Err(Error::Locked(_)))
    ));
    drop(guard);
    log.push(format!("relock {}", fs.lock_dir(&dir).is_ok()));
    log.push(format!("list {:?}", fs.list(&dir).unwrap()));
    log
}

#[test]
fn sim_fs_behaves_like_std_fs() {
    let tmp = tempfile::tempdir().unwrap();
    let real = script(&StdFs, tmp.path());
    let sim = script(&SimFs::new(), Path::new("/root"));
    assert_eq!(sim, real);
}

#[test]
fn clones_share_state_and_debug_prints() {
    let a = SimFs::new();
    let b = a.clone();
    drop(a.create(Path::new("f")).unwrap());
    assert!(b.exists(Path::new("f")));
    assert_eq!(a.op_count(), b.op_count());
    assert!(format!("{b:?}").contains("SimFs"));
}

#[test]
fn durable_len_tracks_syncs_and_directory_syncs() {
    let fs = SimFs::new();
    let path = Path::new("/d/f");
    fs.create_dir_all(Path::new("/d")).unwrap();
    let mut f = fs.create(path).unwrap();
    f.write_all(b"abc").unwrap();
    f.sync().unwrap();
    assert_eq!(fs.durable_len(path), None, "the entry is not durable yet");
    fs.sync_dir(Path::new("/d")).unwrap();
    assert_eq!(fs.durable_len(path), Some(3));
    f.write_all(b"def").unwrap();
    f.flush().unwrap();
    assert_eq!(fs.durable_len(path), Some(3));
    f.sync().unwrap();
    assert_eq!(fs.durable_len(path), Some(6));
}
