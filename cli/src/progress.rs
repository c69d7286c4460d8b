//! Progress on stderr for long commands (import, generate): bytes, points and
//! points/s, drawn with indicatif. Hidden when stderr is not a terminal or with
//! `--quiet`; the [`Summary`] it returns is what to print at the end either way.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// What the bar counts towards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Total {
    /// This many bytes of input (import of files).
    Bytes(u64),
    /// This many points (generate).
    Points(u64),
    /// Unknown (import from stdin).
    Unknown,
}

/// How often the points-per-second message is refreshed.
const MESSAGE_EVERY: Duration = Duration::from_millis(200);

/// A progress display.
pub struct Progress {
    bar: ProgressBar,
    total: Total,
    bytes: u64,
    points: u64,
    start: Instant,
    last_message: Instant,
}

/// What was done, and how fast.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Bytes read or written.
    pub bytes: u64,
    /// Points read or written.
    pub points: u64,
    /// Time taken.
    pub elapsed: Duration,
}

impl Summary {
    /// Points per second (0 for an instant).
    pub fn points_per_second(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 { self.points as f64 / s } else { 0.0 }
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} points, {} in {:.2} s ({} points/s)",
            group_digits(self.points),
            HumanBytes(self.bytes),
            self.elapsed.as_secs_f64(),
            group_digits(self.points_per_second().round() as u64)
        )
    }
}

/// `1234567` as `1 234 567`.
pub fn group_digits(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

impl Progress {
    /// A display towards `total`; hidden when `quiet` or when stderr is not a terminal.
    pub fn new(total: Total, quiet: bool) -> Progress {
        let visible = !quiet && std::io::stderr().is_terminal();
        let target = if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let (len, template) = match total {
            Total::Bytes(n) => (
                Some(n),
                "{spinner} [{elapsed_precise}] [{bar:30}] {bytes}/{total_bytes} {msg}",
            ),
            Total::Points(n) => (
                Some(n),
                "{spinner} [{elapsed_precise}] [{bar:30}] {human_pos}/{human_len} points {msg}",
            ),
            Total::Unknown => (None, "{spinner} [{elapsed_precise}] {bytes} {msg}"),
        };
        let style = ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        let bar = ProgressBar::with_draw_target(len, target).with_style(style);
        bar.enable_steady_tick(Duration::from_millis(120));
        let now = Instant::now();
        Progress {
            bar,
            total,
            bytes: 0,
            points: 0,
            start: now,
            last_message: now,
        }
    }

    /// Counts `bytes` and `points` more.
    pub fn add(&mut self, bytes: u64, points: u64) {
        self.bytes += bytes;
        self.points += points;
        match self.total {
            Total::Points(_) => self.bar.set_position(self.points),
            Total::Bytes(_) | Total::Unknown => self.bar.set_position(self.bytes),
        }
        let now = Instant::now();
        if now.duration_since(self.last_message) >= MESSAGE_EVERY {
            self.last_message = now;
            self.bar.set_message(self.message());
        }
    }

    fn message(&self) -> String {
        let s = self.summary();
        match self.total {
            Total::Points(_) => format!(
                "{} ({} points/s)",
                HumanBytes(s.bytes),
                group_digits(s.points_per_second().round() as u64)
            ),
            Total::Bytes(_) | Total::Unknown => format!(
                "{} points ({} points/s)",
                group_digits(s.points),
                group_digits(s.points_per_second().round() as u64)
            ),
        }
    }

    /// Runs `f` (which writes to stderr) with the bar hidden, so lines do not mix.
    pub fn suspend(&self, f: impl FnOnce()) {
        self.bar.suspend(f);
    }

    /// What was counted so far.
    pub fn summary(&self) -> Summary {
        Summary {
            bytes: self.bytes,
            points: self.points,
            elapsed: self.start.elapsed(),
        }
    }

    /// Removes the bar and returns the summary.
    pub fn finish(self) -> Summary {
        self.bar.finish_and_clear();
        self.summary()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_summary() {
        let mut p = Progress::new(Total::Points(10), true);
        p.add(100, 4);
        p.add(50, 6);
        let s = p.finish();
        assert_eq!((s.bytes, s.points), (150, 10));
        let text = Summary {
            bytes: 2048,
            points: 1_234_567,
            elapsed: Duration::from_secs(2),
        }
        .to_string();
        assert_eq!(
            text,
            "1 234 567 points, 2.00 KiB in 2.00 s (617 284 points/s)"
        );
    }

    #[test]
    fn every_kind_of_total_counts() {
        for total in [Total::Bytes(1000), Total::Unknown, Total::Points(5)] {
            let mut p = Progress::new(total, false);
            p.add(600, 2);
            p.add(400, 3);
            assert!(!p.message().is_empty());
            let s = p.finish();
            assert_eq!((s.bytes, s.points), (1000, 5), "{total:?}");
        }
    }

    #[test]
    fn digit_groups() {
        assert_eq!(group_digits(0), "0");
        assert_eq!(group_digits(999), "999");
        assert_eq!(group_digits(1000), "1 000");
        assert_eq!(group_digits(12_345_678), "12 345 678");
    }
}
