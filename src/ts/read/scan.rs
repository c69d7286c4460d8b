//! The columnar scan: every matching series over a time range, one series after the
//! other, as slices of timestamps and values decoded straight from the mapped chunks.
//!
//! [`Scan`] is a lending cursor: [`Scan::next`] returns a [`SeriesView`] borrowing the
//! cursor's buffers, which the next call reuses, so a scan allocates per series at most
//! (and not even that once its buffers have grown), never per point. A series with
//! more points in range than the scan's batch size ([`Scan::batch_points`]) comes as
//! several consecutive views, so the buffers stay small enough to stay in cache (and
//! memory stays bounded) however long the series' history is.
//! [`Scan::fold`] runs the same scan across the rayon pool, each thread claiming a few
//! series at a time.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;

use crate::error::Result;
use crate::ts::analytics::ValueFilter;
use crate::ts::core::columns::Columns;
use crate::ts::core::view::ReadView;
use crate::ts::read::merge::{HeadSnapshot, SeriesReader};
use crate::ts::read::plan::ReadPlan;
use crate::ts::series::key::SeriesKey;

/// How many series a [`Scan::fold`] task claims at a time: few enough that the threads
/// finish together, enough that the shared cursor is touched rarely.
const FOLD_CLAIM: usize = 2;

/// A run of one series' points in a scanned range, sorted by timestamp, one value per
/// timestamp: the whole series in range, or, for a series with more points than the
/// scan's batch size, one of several consecutive views of it. Borrowed from the
/// [`Scan`] that produced it.
#[derive(Debug, Clone, Copy)]
pub struct SeriesView<'a> {
    key: &'a SeriesKey,
    timestamps: &'a [i64],
    values: &'a [f64],
    continues: bool,
}

impl<'a> SeriesView<'a> {
    /// The series.
    pub fn key(&self) -> &'a SeriesKey {
        self.key
    }
    /// True when this view carries on the series of the view before it (same series,
    /// later timestamps); false for the first view of a series.
    pub fn continues_series(&self) -> bool {
        self.continues
    }
    /// Timestamps, strictly ascending (and after those of the views of the same series
    /// before it).
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
///
/// Each series comes as one [`SeriesView`], or as several consecutive ones (in time
/// order, [`SeriesView::continues_series`] set on all but the first) when it has more
/// points in range than [`Scan::batch_points`].
pub struct Scan {
    series: Vec<(u32, Arc<SeriesKey>)>,
    next: usize,
    /// The series being read (an index into `series`) and whether a view of it was
    /// returned already.
    current: Option<(usize, bool)>,
    reader: SeriesReader,
    view: Arc<ReadView>,
    head: Arc<HeadSnapshot>,
    /// The segments to read, grouped once for the whole scan.
    plan: Arc<ReadPlan>,
    start: i64,
    end: i64,
    batch: usize,
    points: Columns,
    filter: Option<ValueFilter>,
}

impl std::fmt::Debug for Scan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scan")
            .field("series", &self.series.len())
            .field("next", &self.next)
            .field("start", &self.start)
            .field("end", &self.end)
            .field("batch_points", &self.batch)
            .finish_non_exhaustive()
    }
}

impl Scan {
    /// The default [`Scan::batch_points`]: 16 384 points, 256 KiB of timestamps and
    /// values, which stay in a core's L2 cache between the decode that writes them and
    /// the caller that reads them (a whole series of a million points would not).
    pub const DEFAULT_BATCH_POINTS: usize = 1 << 14;

    /// A scan of `series` (sorted by key) over `[start, end]` in `view`, whose live
    /// head was captured in `head`.
    pub(crate) fn new(
        view: Arc<ReadView>,
        head: Arc<HeadSnapshot>,
        series: Vec<(u32, Arc<SeriesKey>)>,
        start: i64,
        end: i64,
    ) -> Self {
        let plan = Arc::new(ReadPlan::new(&view.version, start, end));
        let reader =
            SeriesReader::with_plan(Arc::clone(&view), Arc::clone(&head), Arc::clone(&plan));
        Scan {
            reader,
            view,
            head,
            plan,
            series,
            next: 0,
            current: None,
            start,
            end,
            batch: Scan::DEFAULT_BATCH_POINTS,
            points: Columns::new(),
            filter: None,
        }
    }

    /// Sets how many points a view holds at most, give or take a chunk: a series with
    /// more points in range comes as several consecutive views, each cut at a chunk
    /// boundary once it holds at least `points` (a chunk holds at most the database's
    /// `chunk_points`, 4096 by default). Default [`Scan::DEFAULT_BATCH_POINTS`] (16 384);
    /// `usize::MAX` gives every series as one view, however long (its buffers then grow
    /// to the longest series). 0 counts as 1.
    pub fn batch_points(mut self, points: usize) -> Self {
        self.batch = points.max(1);
        self
    }

    /// Keeps only the points whose value passes `filter` (`>`, `>=`, `<`, `<=`,
    /// between; a NaN value never passes): views hold the passing points, a series
    /// with none is skipped, and chunks whose index entry shows that no value passes
    /// are not decoded. Applied to the newest value of each timestamp, so an
    /// overwritten value is judged by what replaced it. A second call keeps the points
    /// passing both filters. Takes effect from the next view on.
    ///
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) for a NaN bound or a
    /// reversed `between`.
    ///
    /// ```
    /// use tidestore::ts::{Db, ValueFilter};
    /// # let dir = tempfile::tempdir()?;
    /// let db = Db::open(dir.path())?;
    /// for (t, v) in [(0, 42.0), (10, 97.5), (20, 88.0), (30, 93.0)] {
    ///     db.insert("cpu", t, v, &[("host", "a")])?;
    /// }
    /// let mut scan = db.scan("cpu", 0, 100, &[])?.where_value(ValueFilter::gt(90.0))?;
    /// let view = scan.next()?.expect("a series passes");
    /// assert_eq!(view.timestamps(), [10, 30]);
    /// assert_eq!(view.values(), [97.5, 93.0]);
    /// # Ok::<(), tidestore::Error>(())
    /// ```
    pub fn where_value(mut self, filter: ValueFilter) -> Result<Self> {
        filter.validate()?;
        let filter = match self.filter {
            Some(f) => f.and(filter),
            None => filter,
        };
        self.filter = Some(filter);
        self.reader.set_value_filter(self.filter);
        Ok(self)
    }

    /// The number of series the scan may visit (those with no point in range are
    /// skipped by [`Scan::next`]).
    pub fn series_count(&self) -> usize {
        self.series.len()
    }

    /// The next view: the next points of the series being read, or the first ones of
    /// the next series with at least one point in range; `None` at the end.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<SeriesView<'_>>> {
        loop {
            if let Some((at, continues)) = self.current {
                if let Err(e) = self.reader.next_batch(&mut self.points, self.batch) {
                    self.current = None;
                    return Err(e);
                }
                if let (false, Some((_, key))) = (self.points.is_empty(), self.series.get(at)) {
                    self.current = Some((at, true));
                    return Ok(Some(SeriesView {
                        key,
                        timestamps: self.points.ts(),
                        values: self.points.vals(),
                        continues,
                    }));
                }
                self.current = None;
            }
            let Some((id, _)) = self.series.get(self.next) else {
                return Ok(None);
            };
            self.reader.start(*id);
            self.current = Some((self.next, false));
            self.next += 1;
        }
    }

    /// Folds every remaining view (the rest of the series being read, then every
    /// remaining series with points in range) in parallel on the rayon pool: each task
    /// starts from `identity()`, folds views with `fold`, and the partial results are
    /// combined with `reduce` (which must be associative; the order in which series are
    /// folded is unspecified, but the views of one series are folded one after the
    /// other, in time order, by the same task). Consumes the scan.
    ///
    /// One task per pool thread, each with its own reader and buffers, claims
    /// `FOLD_CLAIM` series at a time from a shared cursor until none are left: the
    /// work balances like fine-grained tasks would, but the buffers are allocated (and
    /// page-faulted in) once per thread, not once per task.
    pub fn fold<T, I, F, R>(mut self, identity: I, fold: F, reduce: R) -> Result<T>
    where
        T: Send,
        I: Fn() -> T + Sync + Send,
        F: Fn(T, SeriesView<'_>) -> T + Sync + Send,
        R: Fn(T, T) -> T + Sync + Send,
    {
        // The rest of a series `next` was in the middle of, on this thread.
        let mut first = identity();
        if let Some((at, _)) = self.current {
            let rest = self.series.get(at).map(|s| (s.0, Arc::clone(&s.1)));
            if let Some((_, key)) = rest {
                let mut continues = true;
                loop {
                    self.reader.next_batch(&mut self.points, self.batch)?;
                    if self.points.is_empty() {
                        break;
                    }
                    first = fold(first, view(&key, &self.points, continues));
                    continues = true;
                }
            }
            self.current = None;
        }
        let rest = self.series.get(self.next..).unwrap_or_default();
        let tasks = rayon::current_num_threads().clamp(1, rest.len().max(1));
        let cursor = AtomicUsize::new(0);
        let (view_of, head, plan, batch) = (&self.view, &self.head, &self.plan, self.batch);
        let filter = self.filter;
        let others = (0..tasks)
            .into_par_iter()
            .map(|_| {
                let mut reader = SeriesReader::with_plan(
                    Arc::clone(view_of),
                    Arc::clone(head),
                    Arc::clone(plan),
                );
                reader.set_value_filter(filter);
                let mut points = Columns::new();
                let mut acc = identity();
                loop {
                    let from = cursor.fetch_add(FOLD_CLAIM, Ordering::Relaxed);
                    let to = rest.len().min(from.saturating_add(FOLD_CLAIM));
                    let Some(claimed) = rest.get(from..to).filter(|c| !c.is_empty()) else {
                        break;
                    };
                    for (id, key) in claimed {
                        reader.start(*id);
                        let mut continues = false;
                        loop {
                            reader.next_batch(&mut points, batch)?;
                            if points.is_empty() {
                                break;
                            }
                            acc = fold(acc, view(key, &points, continues));
                            continues = true;
                        }
                    }
                }
                Ok::<T, crate::Error>(acc)
            })
            .try_reduce(&identity, |a, b| Ok(reduce(a, b)))?;
        Ok(reduce(first, others))
    }
}

/// The view of `points` of series `key`.
fn view<'a>(key: &'a SeriesKey, points: &'a Columns, continues: bool) -> SeriesView<'a> {
    SeriesView {
        key,
        timestamps: points.ts(),
        values: points.vals(),
        continues,
    }
}
