//! `kv`: get, put, delete, scan and list column families of a key-value store, with
//! keys and values given and printed per [`crate::bytes`].

use std::io::{Read, Write};
use std::ops::Bound;

use crate::args::{KvArgs, KvOp};
use crate::bytes::{self, Encoding};
use crate::error::{CliError, CliResult};
use crate::open::open_store;

/// `kv`.
pub fn run(a: &KvArgs, out: &mut impl Write) -> CliResult {
    let enc = if a.hex {
        Encoding::Hex
    } else if a.escapes {
        Encoding::Escaped
    } else {
        Encoding::Text
    };
    let arg = |s: &str, what: &str| bytes::parse_arg(s, enc, what);
    match &a.op {
        KvOp::Get { key, raw } => {
            let key = arg(key, "KEY")?;
            let store = open_store(&a.dir, false)?;
            let value = store.get(&a.cf, &key)?;
            store.close()?;
            let Some(value) = value else {
                return Err(CliError::NotFound(format!(
                    "key {} in column family {}",
                    bytes::render(&key, enc),
                    a.cf
                )));
            };
            if *raw {
                out.write_all(&value)?;
            } else {
                writeln!(out, "{}", bytes::render(&value, enc))?;
            }
        }
        KvOp::Put {
            key,
            value,
            value_file,
        } => {
            let key = arg(key, "KEY")?;
            let value = match (value, value_file) {
                (Some(v), _) => arg(v, "VALUE")?,
                (None, Some(path)) if path.as_os_str() == "-" => {
                    let mut v = Vec::new();
                    std::io::stdin().read_to_end(&mut v)?;
                    v
                }
                (None, Some(path)) => std::fs::read(path)
                    .map_err(|e| CliError::runtime(format!("{}: {e}", path.display())))?,
                (None, None) => return Err(CliError::usage("a VALUE or --value-file is needed")),
            };
            let store = open_store(&a.dir, true)?;
            store.put(&a.cf, &key, &value)?;
            store.close()?;
        }
        KvOp::Delete { key } => {
            let key = arg(key, "KEY")?;
            let store = open_store(&a.dir, false)?;
            store.delete(&a.cf, &key)?;
            store.close()?;
        }
        KvOp::Scan {
            prefix,
            start,
            end,
            limit,
            keys_only,
        } => {
            let prefix = prefix.as_deref().map(|p| arg(p, "--prefix")).transpose()?;
            let lower = match (&prefix, start) {
                (Some(p), _) => Bound::Included(p.clone()),
                (None, Some(s)) => Bound::Included(arg(s, "--start")?),
                (None, None) => Bound::Unbounded,
            };
            let upper = match end {
                Some(e) => Bound::Excluded(arg(e, "--end")?),
                None => Bound::Unbounded,
            };
            let store = open_store(&a.dir, false)?;
            let mut line = String::new();
            for (n, entry) in store.range(&a.cf, (lower, upper))?.enumerate() {
                if limit.is_some_and(|l| n >= l) {
                    break;
                }
                let (key, value) = entry?;
                if let Some(p) = &prefix
                    && !key.starts_with(p)
                {
                    break;
                }
                line.clear();
                line.push_str(&bytes::render(&key, enc));
                if !keys_only {
                    line.push('\t');
                    line.push_str(&bytes::render(&value, enc));
                }
                line.push('\n');
                out.write_all(line.as_bytes())?;
            }
            store.close()?;
        }
        KvOp::Cfs => {
            let store = open_store(&a.dir, false)?;
            for cf in store.list_column_families() {
                writeln!(out, "{cf}")?;
            }
            store.close()?;
        }
    }
    out.flush()?;
    Ok(())
}
