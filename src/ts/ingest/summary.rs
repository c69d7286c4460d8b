//! [`LineSummary`]: what a write of text produced.

/// What a call that writes text (line protocol or CSV) wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineSummary {
    /// Points written: one per numeric or boolean field (line protocol) or per non-empty
    /// value cell (CSV).
    pub points: usize,
    /// Lines that held data (line protocol; blank and comment lines are not counted) or
    /// rows (CSV, the header row not counted).
    pub lines: usize,
    /// String fields, which are parsed and counted but not stored.
    pub skipped_string_fields: usize,
}

impl LineSummary {
    /// Adds `other`'s counts to this one.
    pub fn merge(&mut self, other: &LineSummary) {
        self.points += other.points;
        self.lines += other.lines;
        self.skipped_string_fields += other.skipped_string_fields;
    }
}
