//! The columnar scan: every matching series over a time range, one series at a time,
//! as slices of timestamps and values decoded straight from the mapped chunks.
//!
//! [`Scan`] is a lending cursor: [`Scan::next`] returns a [`SeriesView`] borrowing the
//! cursor's buffers, which the next call reuses, so a scan allocates per series at most
//! (and not even that once its buffers have grown), never per point.
//! [`Scan::fold`] runs the same scan across the rayon pool, each thread claiming a few
//! series at a time.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;

use crate::error::Result;
use crate::ts::columns::Columns;
use crate::ts::query::{HeadSnapshot, SeriesReader};
use crate::ts::series::SeriesKey;
use crate::ts::view::ReadView;

/// How many series a [`Scan::fold`] task claims at a time: few enough that the threads
/// finish together, enough that the shared cursor is touched rarely.
const FOLD_CLAIM: usize = 2;

/// One series' points in a scanned range, sorted by timestamp, one value per
/// timestamp. Borrowed from the [`Scan`] that produced it.
#[derive(Debug, Clone, Copy)]
pub struct SeriesView<'a> {
    key: &'a SeriesKey,
    timestamps: &'a [i64],
    values: &'a [f64],
}

impl<'a> SeriesView<'a> {
    /// The series.
    pub fn key(&self) -> &'a SeriesKey {
        self.key
    }
    /// Timestamps, strictly ascending.
    pub fn timestamps(&self) -> &'a [i64] {
        self.timestamps
    }
    /// `values()[i]` is the value at `timestamps()[i]`.
    pub fn values(&self) -> &'a [f64] {
        self.values
    }
    /// Number of points.
    pub fn len(&self) -> usize {
        self.timestamps.len()
    }
    /// True when the view holds no point (never the case for views a scan yields).
    pub fn is_empty(&self) -> bool {
        self.timestamps.is_empty()
    }
}

/// A scan over the series matching a metric and tag filter, in series-key order.
/// Made by [`crate::ts::Db::scan`]. It reads one consistent snapshot of the database,
/// taken when it was made: every write is in it whole or not at all, and writes,
/// flushes and compactions after that do not change what it returns.
pub struct Scan {
    series: Vec<(u32, Arc<SeriesKey>)>,
    next: usize,
    reader: SeriesReader,
    view: Arc<ReadView>,
    head: Arc<HeadSnapshot>,
    start: i64,
    end: i64,
    points: Columns,
}

impl std::fmt::Debug for Scan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scan")
            .field("series", &self.series.len())
            .field("next", &self.next)
            .field("start", &self.start)
            .field("end", &self.end)
            .finish_non_exhaustive()
    }
}

impl Scan {
    /// A scan of `series` (sorted by key) over `[start, end]` in `view`, whose live
    /// head was captured in `head`.
    pub(crate) fn new(
        view: Arc<ReadView>,
        head: Arc<HeadSnapshot>,
        series: Vec<(u32, Arc<SeriesKey>)>,
        start: i64,
        end: i64,
    ) -> Self {
        Scan {
            reader: SeriesReader::new(Arc::clone(&view), Arc::clone(&head), start, end),
            view,
            head,
            series,
            next: 0,
            start,
            end,
            points: Columns::new(),
        }
    }

    /// The number of series the scan may visit (those with no point in range are
    /// skipped by [`Scan::next`]).
    pub fn series_count(&self) -> usize {
        self.series.len()
    }

    /// The next series with at least one point in range, or `None` at the end.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<SeriesView<'_>>> {
        while let Some((id, _)) = self.series.get(self.next) {
            let id = *id;
            let at = self.next;
            self.next += 1;
            self.reader.read(id, &mut self.points)?;
            if let (false, Some((_, key))) = (self.points.is_empty(), self.series.get(at)) {
                return Ok(Some(SeriesView {
                    key,
                    timestamps: self.points.ts(),
                    values: self.points.vals(),
                }));
            }
        }
        Ok(None)
    }

    /// Folds every remaining series with points in range, in parallel on the rayon
    /// pool: each task starts from `identity()`, folds series with `fold`, and the
    /// partial results are combined with `reduce` (which must be associative; the
    /// order in which series are folded is unspecified). Consumes the scan.
    ///
    /// One task per pool thread, each with its own reader and buffers, claims
    /// [`FOLD_CLAIM`] series at a time from a shared cursor until none are left: the
    /// work balances like fine-grained tasks would, but the buffers are allocated (and
    /// page-faulted in) once per thread, not once per task.
    pub fn fold<T, I, F, R>(self, identity: I, fold: F, reduce: R) -> Result<T>
    where
        T: Send,
        I: Fn() -> T + Sync + Send,
        F: Fn(T, SeriesView<'_>) -> T + Sync + Send,
        R: Fn(T, T) -> T + Sync + Send,
    {
        let rest = self.series.get(self.next..).unwrap_or_default();
        let tasks = rayon::current_num_threads().clamp(1, rest.len().max(1));
        let cursor = AtomicUsize::new(0);
        let (view, head, start, end) = (&self.view, &self.head, self.start, self.end);
        (0..tasks)
            .into_par_iter()
            .map(|_| {
                let mut reader = SeriesReader::new(Arc::clone(view), Arc::clone(head), start, end);
                let mut points = Columns::new();
                let mut acc = identity();
                loop {
                    let from = cursor.fetch_add(FOLD_CLAIM, Ordering::Relaxed);
                    let to = rest.len().min(from.saturating_add(FOLD_CLAIM));
                    let Some(claimed) = rest.get(from..to).filter(|c| !c.is_empty()) else {
                        break;
                    };
                    for (id, key) in claimed {
                        reader.read(*id, &mut points)?;
                        if !points.is_empty() {
                            let v = SeriesView {
                                key,
                                timestamps: points.ts(),
                                values: points.vals(),
                            };
                            acc = fold(acc, v);
                        }
                    }
                }
                Ok(acc)
            })
            .try_reduce(&identity, |a, b| Ok(reduce(a, b)))
    }
}
