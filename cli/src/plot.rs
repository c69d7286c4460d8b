//! Line charts of series or groups, as PNG or SVG (chosen by the file extension).
//!
//! One line per [`Line`], colours from a fixed palette, a legend, a title, a time axis
//! labelled in UTC (RFC 3339 dates, `HH:MM` or `HH:MM:SS` depending on the span) when
//! the timestamp unit is known, else with the integers. Text is drawn with DejaVu Sans,
//! compiled into the binary and registered with plotters' `ab_glyph` backend: no
//! system font and no fontconfig are needed. A line with more points than the chart
//! has pixels is thinned to the first, lowest, highest and last point of each pixel
//! column, which draws the same picture.

use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::error::{CliError, CliResult};
use crate::time::{Unit, to_datetime};

/// The bundled font (see `cli/assets/README.md`).
static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// The family name the font is registered under.
const FAMILY: &str = "sans-serif";

/// Most legend entries drawn; the rest are summed up in one last entry.
const MAX_LEGEND: usize = 12;

/// Line colours (a colour-blind-friendly qualitative palette).
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// One line of a chart: a series or a group.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// The legend text.
    pub label: String,
    /// Timestamps, ascending.
    pub timestamps: Vec<i64>,
    /// `values[i]` at `timestamps[i]`.
    pub values: Vec<f64>,
}

/// What to draw.
#[derive(Debug, Clone)]
pub struct Chart {
    /// The title.
    pub title: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The timestamp unit, if known (for a time axis).
    pub unit: Option<Unit>,
    /// The lines.
    pub lines: Vec<Line>,
}

/// The output kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A PNG image.
    Png,
    /// An SVG document.
    Svg,
}

/// The kind of image `path` asks for by its extension.
pub fn kind_of(path: &Path) -> CliResult<Kind> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("png") => Ok(Kind::Png),
        Some("svg") => Ok(Kind::Svg),
        _ => Err(CliError::usage(format!(
            "{}: the chart's file name must end in .png or .svg",
            path.display()
        ))),
    }
}

fn register_font() -> CliResult {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED
        .get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    if ok {
        Ok(())
    } else {
        Err(CliError::runtime("the bundled font failed to load"))
    }
}

fn plot_error(e: impl std::fmt::Display) -> CliError {
    CliError::runtime(format!("drawing the chart: {e}"))
}

/// Renders `chart` to the file `path` (PNG or SVG by its extension).
pub fn render_file(chart: &Chart, path: &Path) -> CliResult {
    let bytes = render(chart, kind_of(path)?)?;
    std::fs::write(path, bytes)
        .map_err(|e| CliError::runtime(format!("writing {}: {e}", path.display())))
}

/// Renders `chart` as the bytes of a `kind` file.
pub fn render(chart: &Chart, kind: Kind) -> CliResult<Vec<u8>> {
    register_font()?;
    let (w, h) = (chart.width, chart.height);
    match kind {
        Kind::Png => {
            let mut rgb = vec![0u8; w as usize * h as usize * 3];
            {
                let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
                draw(&root, chart)?;
                root.present().map_err(plot_error)?;
            }
            encode_png(&rgb, w, h)
        }
        Kind::Svg => {
            let mut svg = String::new();
            {
                let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
                draw(&root, chart)?;
                root.present().map_err(plot_error)?;
            }
            Ok(svg.into_bytes())
        }
    }
}

fn encode_png(rgb: &[u8], w: u32, h: u32) -> CliResult<Vec<u8>> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(plot_error)?;
    writer.write_image_data(rgb).map_err(plot_error)?;
    writer.finish().map_err(plot_error)?;
    Ok(out)
}

/// The x range: every timestamp, widened to at least one tick.
fn x_range(lines: &[Line]) -> (i64, i64) {
    let first = lines.iter().filter_map(|l| l.timestamps.first()).min();
    let last = lines.iter().filter_map(|l| l.timestamps.last()).max();
    match (first, last) {
        (Some(&a), Some(&b)) if a < b => (a, b),
        (Some(&a), _) => (a.saturating_sub(1), a.saturating_add(1)),
        _ => (0, 1),
    }
}

/// Values beyond this magnitude are drawn at the edge of the chart: the axis of a wider
/// range would have an infinite span, which plotters cannot place ticks on.
const Y_LIMIT: f64 = 1e300;

/// The y range: every finite value (clamped to `±Y_LIMIT`), with a margin of 5%.
fn y_range(lines: &[Line]) -> (f64, f64) {
    let finite = lines
        .iter()
        .flat_map(|l| l.values.iter())
        .copied()
        .filter(|v| v.is_finite())
        .map(|v| v.clamp(-Y_LIMIT, Y_LIMIT));
    let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if lo > hi {
        return (0.0, 1.0);
    }
    let span = hi - lo;
    if span == 0.0 {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.05 };
        return (lo - pad, hi + pad);
    }
    (lo - span * 0.05, hi + span * 0.05)
}

/// Tick steps of a time axis, in seconds: round durations.
const TIME_STEPS: [i64; 22] = [
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400,
    172_800, 604_800, 2_592_000, 31_536_000,
];

/// At most about `max` tick positions in `[x0, x1]`: multiples of a round duration when
/// the unit is known, else of 1, 2 or 5 times a power of ten.
fn ticks(x0: i64, x1: i64, unit: Option<Unit>, max: usize) -> Vec<i64> {
    let span = (i128::from(x1) - i128::from(x0)).max(1);
    let max = max.max(2) as i128;
    let fits = |step: i128| step > 0 && span / step <= max;
    let time_step = unit.and_then(|u| {
        TIME_STEPS
            .iter()
            .map(|s| i128::from(*s) * 1_000_000_000 / u.nanos())
            .find(|&step| fits(step))
    });
    let step = time_step.unwrap_or_else(|| {
        let mut p: i128 = 1;
        loop {
            if let Some(s) = [p, 2 * p, 5 * p].into_iter().find(|&s| fits(s)) {
                break s;
            }
            p *= 10;
        }
    });
    let first = (i128::from(x0) + step - 1).div_euclid(step) * step;
    (0..)
        .map(|i| first + i * step)
        .take_while(|&t| t <= i128::from(x1))
        .filter_map(|t| i64::try_from(t).ok())
        .collect()
}

/// Tag keys that name a thing, preferred in legends.
const HOST_LIKE: [&str; 5] = ["hostname", "host", "instance", "name", "id"];

/// Legend labels: each line's label without the `{...}` tags every line shares; when
/// one tag alone tells every line apart (like `hostname`), just that tag; cut to `max`
/// characters.
fn legend_labels(lines: &[Line], max: usize) -> Vec<String> {
    let parts: Vec<(&str, Vec<&str>)> = lines
        .iter()
        .map(|l| match l.label.split_once('{') {
            Some((metric, rest)) => (
                metric,
                rest.strip_suffix('}').unwrap_or(rest).split(',').collect(),
            ),
            None => (l.label.as_str(), Vec::new()),
        })
        .collect();
    let shared = |tag: &&str| lines.len() > 1 && parts.iter().all(|(_, tags)| tags.contains(tag));
    let same_metric = parts.windows(2).all(|w| w[0].0 == w[1].0) && lines.len() > 1;
    // A tag key every line has, with a different value on each: a host-like name if
    // one is, else the first in key order.
    fn key_of<'a>(t: &&'a str) -> &'a str {
        t.split_once('=').map_or(*t, |(k, _)| k)
    }
    let telling = parts.first().and_then(|(_, first)| {
        let mut keys: Vec<&str> = first.iter().map(key_of).collect();
        keys.sort_by_key(|k| {
            HOST_LIKE
                .iter()
                .position(|h| h == k)
                .unwrap_or(HOST_LIKE.len())
        });
        keys.into_iter().find(|key| {
            let mut values: Vec<&str> = Vec::with_capacity(parts.len());
            for (_, tags) in &parts {
                match tags.iter().find(|t| key_of(t) == *key) {
                    Some(t) => values.push(t),
                    None => return false,
                }
            }
            values.sort_unstable();
            values.dedup();
            lines.len() > 1 && values.len() == parts.len()
        })
    });
    parts
        .iter()
        .map(|(metric, tags)| {
            let kept: Vec<&str> = tags
                .iter()
                .copied()
                .filter(|t| !shared(t))
                .filter(|t| telling.is_none_or(|k| key_of(t) == k))
                .collect();
            let mut label = if same_metric && !kept.is_empty() {
                String::new()
            } else {
                (*metric).to_owned()
            };
            if !kept.is_empty() {
                label.push('{');
                label.push_str(&kept.join(","));
                label.push('}');
            }
            if label.chars().count() > max {
                label = label
                    .chars()
                    .take(max.saturating_sub(1))
                    .collect::<String>()
                    + "…";
            }
            label
        })
        .collect()
}

/// How time labels print, given the span in seconds.
fn time_label(t: i64, unit: Option<Unit>, span_seconds: f64) -> String {
    let Some(dt) = unit.and_then(|u| to_datetime(t, u)) else {
        return t.to_string();
    };
    let fmt = if span_seconds > 3.0 * 86_400.0 {
        "%Y-%m-%d"
    } else if span_seconds > 86_400.0 {
        "%m-%d %H:%M"
    } else if span_seconds > 600.0 {
        "%H:%M"
    } else if span_seconds >= 10.0 {
        "%H:%M:%S"
    } else {
        "%H:%M:%S%.3f"
    };
    dt.format(fmt).to_string()
}

/// `line`'s points, thinned to at most four per pixel column of `columns` over
/// `[x0, x1]`: the first, lowest, highest and last of each (in time order).
fn thin(line: &Line, x0: i64, x1: i64, columns: u32) -> Vec<(i64, f64)> {
    let points = line
        .timestamps
        .iter()
        .copied()
        .zip(line.values.iter().copied());
    if line.timestamps.len() <= 4 * columns as usize {
        return points.collect();
    }
    let span = (x1 as i128 - x0 as i128).max(1);
    let column = |t: i64| ((t as i128 - x0 as i128) * i128::from(columns) / span) as i64;
    let mut out = Vec::with_capacity(4 * columns as usize);
    let mut bucket: Vec<(i64, f64)> = Vec::new();
    let mut current = None;
    let flush = |bucket: &mut Vec<(i64, f64)>, out: &mut Vec<(i64, f64)>| {
        let (Some(&first), Some(&last)) = (bucket.first(), bucket.last()) else {
            return;
        };
        let by_value = |a: &&(i64, f64), b: &&(i64, f64)| a.1.total_cmp(&b.1);
        let lo = bucket.iter().min_by(by_value).copied().unwrap_or(first);
        let hi = bucket.iter().max_by(by_value).copied().unwrap_or(first);
        let mut keep = [first, lo, hi, last];
        keep.sort_by_key(|p| p.0);
        let mut prev = None;
        for p in keep {
            if prev != Some(p.0) {
                out.push(p);
                prev = Some(p.0);
            }
        }
        bucket.clear();
    };
    for (t, v) in points {
        let c = column(t);
        if current != Some(c) {
            flush(&mut bucket, &mut out);
            current = Some(c);
        }
        bucket.push((t, v));
    }
    flush(&mut bucket, &mut out);
    out
}

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, chart: &Chart) -> CliResult {
    root.fill(&WHITE).map_err(plot_error)?;
    let (x0, x1) = x_range(&chart.lines);
    let (y0, y1) = y_range(&chart.lines);
    let span_seconds = chart
        .unit
        .map_or(0.0, |u| (x1 as f64 - x0 as f64) * u.nanos() as f64 / 1e9);
    let unit = chart.unit;
    let title_size = (chart.height / 24).clamp(14, 32);
    let label_size = (chart.height / 45).clamp(10, 18);
    let mut ctx = ChartBuilder::on(root)
        .caption(&chart.title, (FAMILY, title_size))
        .margin(12)
        .x_label_area_size(label_size * 3)
        .y_label_area_size(label_size * 5)
        .build_cartesian_2d(
            (x0..x1).with_key_points(ticks(x0, x1, unit, (chart.width / 140) as usize)),
            y0..y1,
        )
        .map_err(plot_error)?;
    let x_desc = if unit.is_some() {
        "time (UTC)"
    } else {
        "timestamp"
    };
    ctx.configure_mesh()
        .y_labels((chart.height / 60).max(2) as usize)
        .x_label_formatter(&|t| time_label(*t, unit, span_seconds))
        .x_desc(x_desc)
        .label_style((FAMILY, label_size))
        .axis_desc_style((FAMILY, label_size))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(plot_error)?;
    let columns = chart.width.max(1);
    let labels = legend_labels(&chart.lines, 70);
    for (i, (line, label)) in chart.lines.iter().zip(labels).enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let style = ShapeStyle::from(&color).stroke_width(2);
        let points: Vec<(i64, f64)> = thin(line, x0, x1, columns)
            .into_iter()
            .filter(|(_, v)| v.is_finite())
            .collect();
        let drawn = ctx
            .draw_series(LineSeries::new(points, style))
            .map_err(plot_error)?;
        if i < MAX_LEGEND {
            drawn
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
        }
    }
    if chart.lines.len() > MAX_LEGEND {
        ctx.draw_series(std::iter::empty::<Circle<(i64, f64), i32>>())
            .map_err(plot_error)?
            .label(format!("… and {} more", chart.lines.len() - MAX_LEGEND));
    }
    if !chart.lines.is_empty() {
        ctx.configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .label_font((FAMILY, label_size))
            .draw()
            .map_err(plot_error)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(n: i64) -> Line {
        Line {
            label: "l".into(),
            timestamps: (0..n).collect(),
            values: (0..n).map(|i| ((i * 7919) % 101) as f64).collect(),
        }
    }

    #[test]
    fn kinds_by_extension() {
        assert_eq!(kind_of(Path::new("a.png")).unwrap(), Kind::Png);
        assert_eq!(kind_of(Path::new("a.SVG")).unwrap(), Kind::Svg);
        assert_eq!(kind_of(Path::new("a.jpg")).unwrap_err().exit_code(), 2);
        assert_eq!(kind_of(Path::new("a")).unwrap_err().exit_code(), 2);
    }

    #[test]
    fn ranges() {
        assert_eq!(x_range(&[]), (0, 1));
        assert_eq!(x_range(&[line(1)]), (-1, 1));
        assert_eq!(x_range(&[line(10)]), (0, 9));
        let flat = Line {
            label: "f".into(),
            timestamps: vec![1, 2],
            values: vec![5.0, f64::NAN],
        };
        assert_eq!(y_range(std::slice::from_ref(&flat)), (4.75, 5.25));
        assert_eq!(y_range(&[]), (0.0, 1.0));
    }

    #[test]
    fn thinning_keeps_the_extremes_of_every_column() {
        let l = line(100_000);
        let thinned = thin(&l, 0, 99_999, 100);
        assert!(thinned.len() <= 400, "{}", thinned.len());
        assert!(thinned.windows(2).all(|w| w[0].0 < w[1].0), "time order");
        let max = l.values.iter().copied().fold(f64::MIN, f64::max);
        let min = l.values.iter().copied().fold(f64::MAX, f64::min);
        assert!(thinned.iter().any(|p| p.1 == max));
        assert!(thinned.iter().any(|p| p.1 == min));
        assert_eq!(thinned.first(), Some(&(0, l.values[0])));
        assert_eq!(thinned.last().map(|p| p.0), Some(99_999));
        // Short lines are kept whole.
        assert_eq!(thin(&line(50), 0, 49, 100).len(), 50);
    }

    #[test]
    fn y_range_stays_finite_for_extreme_values() {
        let line = |values: Vec<f64>| Line {
            label: "x".into(),
            timestamps: (0..values.len() as i64).collect(),
            values,
        };
        for values in [
            vec![f64::MAX, -0.0, f64::MIN_POSITIVE],
            vec![f64::MIN, f64::MAX],
            vec![f64::MAX],
            vec![f64::NAN, f64::NEG_INFINITY],
        ] {
            let (lo, hi) = y_range(&[line(values.clone())]);
            assert!(
                lo.is_finite() && hi.is_finite() && lo < hi,
                "{values:?}: {lo} {hi}"
            );
            assert!((hi - lo).is_finite(), "{values:?}");
        }
    }

    #[test]
    fn ticks_are_round() {
        // Six hours in seconds, about 8 ticks: every hour.
        let t = ticks(
            1_451_606_400 + 5,
            1_451_606_400 + 6 * 3600,
            Some(Unit::S),
            8,
        );
        assert_eq!(t.len(), 6, "{t:?}");
        assert!(t.iter().all(|x| x % 3600 == 0), "{t:?}");
        // Nanoseconds work the same.
        let t = ticks(0, 60_000_000_000, Some(Unit::Ns), 6);
        assert_eq!(t, (0..=6).map(|i| i * 10_000_000_000).collect::<Vec<_>>());
        // Without a unit: 1, 2 or 5 times a power of ten.
        assert_eq!(ticks(3, 97, None, 5), vec![20, 40, 60, 80]);
        assert_eq!(ticks(-1, 1, None, 10), vec![-1, 0, 1]);
        assert!(ticks(i64::MIN, i64::MAX, None, 10).len() <= 11);
        assert!(ticks(i64::MIN, i64::MAX, Some(Unit::Ns), 10).len() <= 11);
    }

    #[test]
    fn legends_drop_what_every_line_shares() {
        let line = |label: &str| Line {
            label: label.into(),
            timestamps: vec![],
            values: vec![],
        };
        let lines = [line("cpu{dc=x,host=a,os=l}"), line("cpu{dc=x,host=b,os=m}")];
        assert_eq!(legend_labels(&lines, 70), ["{host=a}", "{host=b}"]);
        let lines = [
            line("cpu{host=a,os=l}"),
            line("cpu{host=a,os=m}"),
            line("cpu{host=b,os=m}"),
        ];
        assert_eq!(
            legend_labels(&lines, 70),
            ["{host=a,os=l}", "{host=a,os=m}", "{host=b,os=m}"]
        );
        let lines = [line("cpu{dc=x,host=a,os=l}"), line("cpu{dc=y,host=b,os=l}")];
        assert_eq!(legend_labels(&lines, 70), ["{host=a}", "{host=b}"]);
        let lines = [
            line("cpu{dc=x,host=a,os=l}"),
            line("cpu{dc=x,host=b,os=m}"),
            line("cpu{dc=y,host=c,os=m}"),
        ];
        assert_eq!(
            legend_labels(&lines, 70),
            ["{host=a}", "{host=b}", "{host=c}"]
        );
        let lines = [line("cpu{host=a}"), line("mem{host=a}")];
        assert_eq!(legend_labels(&lines, 70), ["cpu", "mem"]);
        assert_eq!(legend_labels(&[line("cpu{host=a}")], 70), ["cpu{host=a}"]);
        assert_eq!(legend_labels(&[line("abcdefgh")], 5), ["abcd…"]);
    }

    #[test]
    fn time_labels() {
        assert_eq!(time_label(1_451_606_400, None, 0.0), "1451606400");
        assert_eq!(time_label(1_451_606_400, Some(Unit::S), 3600.0), "00:00");
        assert_eq!(time_label(1_451_606_400, Some(Unit::S), 30.0), "00:00:00");
        assert_eq!(time_label(1_451_606_400, Some(Unit::S), 1e7), "2016-01-01");
        assert_eq!(time_label(1_451_606_400, Some(Unit::S), 2e5), "01-01 00:00");
        assert_eq!(
            time_label(i64::MAX, Some(Unit::S), 2e5),
            i64::MAX.to_string()
        );
    }
}
