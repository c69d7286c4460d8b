//! The seed's two demos, in Rust: the LSMTree key-value store and the
//! SimpleEmbedTimeSeriesDB time-series database.
//!
//! Run with `cargo run --release --example quickstart`. It works in a fresh temporary
//! directory (or the directory given as the first argument) and prints what each call
//! returns.

use std::error::Error;
use std::path::PathBuf;

use tidestore::{Db, Point, kv};

fn main() -> Result<(), Box<dyn Error>> {
    let base = match std::env::args_os().nth(1) {
        Some(dir) => PathBuf::from(dir),
        None => std::env::temp_dir().join(format!("tidestore-quickstart-{}", std::process::id())),
    };
    std::fs::create_dir_all(&base)?;
    println!("working in {}", base.display());

    key_value_demo(&base.join("lsm_db"))?;
    time_series_demo(&base.join("metrics"))?;

    std::fs::remove_dir_all(&base)?;
    Ok(())
}

/// The seed's LSMTree demo: 1000 puts into one column family, a get, a range query.
fn key_value_demo(dir: &std::path::Path) -> Result<(), Box<dyn Error>> {
    println!("\n== key-value store (seed: LSMTree) ==");
    // A small entry threshold, like the seed's, so the demo flushes and compacts.
    let store = kv::Store::open_with(dir, kv::Options::default().memtable_entries(100))?;
    for i in 0..1000 {
        store.put("column1", format!("key{i}"), format!("{{\"value\": {i}}}"))?;
    }
    let value = store.get("column1", "key2")?;
    println!(
        "get(column1, key2) -> {}",
        value.map_or("None".into(), |v| String::from_utf8_lossy(&v).into_owned())
    );

    // Keys are bytes, ordered lexicographically: key0 < key1 < key10 < key100 < key2.
    println!("range(column1, key0..=key10):");
    for entry in store.range("column1", "key0"..="key10")? {
        let (key, value) = entry?;
        println!(
            "  {} = {}",
            String::from_utf8_lossy(&key),
            String::from_utf8_lossy(&value)
        );
    }

    store.delete("column1", "key2")?;
    println!(
        "after delete, get(column1, key2) -> {:?}",
        store.get("column1", "key2")?
    );
    store.compact()?;
    println!("column families: {:?}", store.list_column_families());
    let stats = store.stats();
    println!(
        "flushes: {}, compactions: {}",
        stats.flushes, stats.compactions
    );
    store.close()?;
    Ok(())
}

/// The seed's TimeSeriesDB demo: the nine functions.
fn time_series_demo(dir: &std::path::Path) -> Result<(), Box<dyn Error>> {
    println!("\n== time-series database (seed: SimpleEmbedTimeSeriesDB) ==");
    let db = Db::open(dir)?;
    let tags = [("location", "office")];

    // 1. add a data point
    db.insert("temperature", 1627588732, 23.5, &tags)?;
    // 2. update it
    db.update("temperature", 1627588732, 24.0, &tags)?;
    // 3. get it
    print_points(
        "get(temperature, 1627588732)",
        &db.get("temperature", 1627588732)?,
    );
    // 4. insert a batch
    db.insert_batch(&[
        Point::new("temperature", 1627588733, 23.7, &tags),
        Point::new("humidity", 1627588732, 55.0, &tags),
    ])?;
    // 6. range queries, with and without a tag filter
    print_points(
        "query_range(temperature, 1627588732..=1627588734, location=office)",
        &db.query_range("temperature", 1627588732, 1627588734, &tags)?,
    );
    print_points(
        "query_range(humidity, 1627588732..=1627588734)",
        &db.query_range("humidity", 1627588732, 1627588734, &[])?,
    );
    // 7. query by tags
    print_points(
        "query_by_tags(humidity, location=office)",
        &db.query_by_tags("humidity", &tags)?,
    );
    // 8. list all keys
    println!("list_keys():");
    for key in db.list_keys()? {
        println!("  {key}");
    }
    // 9. query by metric
    print_points(
        "query_metric(temperature)",
        &db.query_metric("temperature")?,
    );

    // The same data survives a flush to a columnar segment and a reopen.
    db.flush()?;
    db.close()?;
    let db = Db::open(dir)?;
    print_points(
        "after reopen, query_metric(temperature)",
        &db.query_metric("temperature")?,
    );
    db.close()?;
    Ok(())
}

fn print_points(what: &str, points: &[Point]) {
    println!("{what}:");
    for p in points {
        let tags: Vec<String> = p.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!(
            "  {} {{{}}} @ {} = {}",
            p.metric,
            tags.join(","),
            p.timestamp,
            p.value
        );
    }
}
