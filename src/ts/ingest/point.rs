//! [`PointRef`]: a point that borrows its metric and tags, as the parsers hand them
//! out; and [`PointSink`]: where they go.

use crate::error::Result;
use crate::ts::series::key::Point;

/// One point whose metric and tags borrow the text it was parsed from (or a parser's
/// scratch buffer). Valid only for the call it is handed to; [`PointRef::to_point`]
/// makes an owned copy.
///
/// Nothing is validated against the engine's key rules here: a sink does that (or
/// [`crate::ts::ingest::ParsedLine::validate`] before any point of a line is handed out).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PointRef<'a> {
    /// The metric name (for line protocol, `measurement_field`, or `measurement` for a
    /// field named `value`).
    pub metric: &'a str,
    /// The tags, in the order they were written.
    pub tags: &'a [(&'a str, &'a str)],
    /// The timestamp, in the unit of the input's [`crate::ts::Precision`].
    pub timestamp: i64,
    /// The value.
    pub value: f64,
}

impl PointRef<'_> {
    /// An owned copy.
    pub fn to_point(&self) -> Point {
        Point::new(self.metric, self.timestamp, self.value, self.tags)
    }
}

/// The metric of field `field` of `measurement`: `measurement_field`, or `measurement`
/// itself for a field named `value` (InfluxDB's convention for single-value
/// measurements). Built in `buf` when it is not `measurement`.
pub fn field_metric<'a>(measurement: &'a str, field: &str, buf: &'a mut String) -> &'a str {
    if field == "value" {
        return measurement;
    }
    buf.clear();
    buf.reserve(measurement.len() + 1 + field.len());
    buf.push_str(measurement);
    buf.push('_');
    buf.push_str(field);
    buf
}

/// Where parsed points go: the engine's write batch implements it, so does `Vec<Point>`.
///
/// The import driver calls [`PointSink::add`] for every point and
/// [`PointSink::commit`] every N points and once at the end. A sink must make each
/// commit atomic (all of the points added since the last commit, or none) and must
/// leave nothing written of a batch that is dropped without a commit: that is what
/// makes "a failure midway keeps the earlier commits and drops the current batch" true.
pub trait PointSink {
    /// Adds one point to the pending batch. A refused point (for example a metric name
    /// the engine does not accept) is an error and leaves the batch as it was.
    fn add(&mut self, point: PointRef<'_>) -> Result<()>;

    /// Writes the pending batch atomically; the batch is empty afterwards.
    fn commit(&mut self) -> Result<()>;
}

impl<S: PointSink + ?Sized> PointSink for &mut S {
    fn add(&mut self, point: PointRef<'_>) -> Result<()> {
        (**self).add(point)
    }

    fn commit(&mut self) -> Result<()> {
        (**self).commit()
    }
}

/// Collects owned copies; `commit` does nothing. For tests and small inputs: every
/// point costs allocations here.
impl PointSink for Vec<Point> {
    fn add(&mut self, point: PointRef<'_>) -> Result<()> {
        self.push(point.to_point());
        Ok(())
    }

    fn commit(&mut self) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_point_copies_everything_and_vec_sink_collects() {
        let tags = [("host", "a"), ("dc", "x")];
        let p = PointRef {
            metric: "cpu_usage",
            tags: &tags,
            timestamp: -5,
            value: 1.5,
        };
        let owned = p.to_point();
        assert_eq!(owned, Point::new("cpu_usage", -5, 1.5, &tags));
        let mut sink: Vec<Point> = Vec::new();
        // through the impl for `&mut S`
        fn feed(mut sink: impl PointSink, p: PointRef<'_>) {
            sink.add(p).unwrap();
            sink.commit().unwrap();
        }
        feed(&mut sink, p);
        assert_eq!(sink, vec![owned]);
    }
}
