//! `generate tsbs`: the TSBS "devops, cpu-only" data set as InfluxDB line protocol.
//!
//! As TSBS's generator makes it: `hosts` hosts named `host_0`, `host_1`, ..., each with
//! ten tags drawn once (region and one of that region's datacenters, rack 0-99, os,
//! arch, team, service 0-19, service_version 0-1, service_environment) and one `cpu`
//! line per interval carrying the ten fields `usage_user` ... `usage_guest_nice`. Each
//! field is a random walk: it starts uniform in [0, 100] and moves by a standard
//! normal step per interval, clamped to [0, 100]. Values are written with two decimals
//! (or as TSBS writes them, integers with the `i` suffix, with `--integers`).
//!
//! Lines come in arrival order: every host at `t`, then every host at `t + interval`.
//! The generator is seeded (xoshiro256++ with Marsaglia's polar method for the
//! normal steps), so one seed always writes the same bytes.

use std::io::Write;

use crate::error::{CliError, CliResult};
use crate::progress::Progress;
#[cfg(test)]
use crate::progress::Total;

/// The measurement.
const MEASUREMENT: &str = "cpu";

/// The fields of a `cpu` line, in TSBS's order.
pub const FIELDS: [&str; 10] = [
    "usage_user",
    "usage_system",
    "usage_idle",
    "usage_nice",
    "usage_iowait",
    "usage_irq",
    "usage_softirq",
    "usage_steal",
    "usage_guest",
    "usage_guest_nice",
];

/// The tag keys, in TSBS's order.
pub const TAGS: [&str; 10] = [
    "hostname",
    "region",
    "datacenter",
    "rack",
    "os",
    "arch",
    "team",
    "service",
    "service_version",
    "service_environment",
];

/// TSBS's regions, each with its datacenters.
const REGIONS: [(&str, &[&str]); 9] = [
    (
        "us-east-1",
        &["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1e"],
    ),
    ("us-west-1", &["us-west-1a", "us-west-1b"]),
    ("us-west-2", &["us-west-2a", "us-west-2b", "us-west-2c"]),
    ("eu-west-1", &["eu-west-1a", "eu-west-1b", "eu-west-1c"]),
    ("eu-central-1", &["eu-central-1a", "eu-central-1b"]),
    ("ap-southeast-1", &["ap-southeast-1a", "ap-southeast-1b"]),
    ("ap-southeast-2", &["ap-southeast-2a", "ap-southeast-2b"]),
    ("ap-northeast-1", &["ap-northeast-1a", "ap-northeast-1c"]),
    ("sa-east-1", &["sa-east-1a", "sa-east-1b", "sa-east-1c"]),
];
const OSES: [&str; 3] = ["Ubuntu16.10", "Ubuntu16.04LTS", "Ubuntu15.10"];
const ARCHES: [&str; 2] = ["x64", "x86"];
const TEAMS: [&str; 4] = ["SF", "NYC", "LON", "CHI"];
const ENVIRONMENTS: [&str; 3] = ["production", "staging", "test"];

/// What to generate.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Number of hosts.
    pub hosts: u32,
    /// Number of intervals (lines per host).
    pub steps: u64,
    /// The first timestamp, in `precision`.
    pub start: i64,
    /// Time between two lines of a host, in `precision`.
    pub interval: i64,
    /// The seed.
    pub seed: u64,
    /// Integers with the `i` suffix instead of two decimals.
    pub integers: bool,
}

impl Spec {
    /// Lines the spec makes.
    pub fn lines(&self) -> u64 {
        u64::from(self.hosts).saturating_mul(self.steps)
    }

    /// Checks that every timestamp fits in `i64`.
    pub fn check(&self) -> CliResult {
        if self.hosts == 0 {
            return Err(CliError::usage("--hosts must be at least 1"));
        }
        let last = i128::from(self.start)
            + i128::from(self.steps.saturating_sub(1)) * i128::from(self.interval);
        if i64::try_from(last).is_err() {
            return Err(CliError::usage(format!(
                "the last timestamp ({last}) does not fit in 64 bits: use a coarser \
                 --precision, an earlier --start or fewer --hours"
            )));
        }
        Ok(())
    }
}

/// xoshiro256++, seeded by mixing the seed into four words.
struct Rng([u64; 4]);

impl Rng {
    fn new(seed: u64) -> Rng {
        let mut x = seed ^ 0x6A09_E667_F3BC_C908;
        let mut words = [0u64; 4];
        for w in &mut words {
            // A multiply-xorshift finalizer per word (an odd constant step keeps the
            // words distinct whatever the seed).
            x = x.wrapping_add(0xA076_1D64_78BD_642F);
            let mut z = x;
            z = (z ^ (z >> 32)).wrapping_mul(0xE703_7ED1_A0B4_28DB);
            z = (z ^ (z >> 29)).wrapping_mul(0x8EBC_6AF0_9C88_C6E3);
            *w = z ^ (z >> 32);
        }
        if words == [0; 4] {
            words[0] = 1;
        }
        Rng(words)
    }

    fn next_u64(&mut self) -> u64 {
        let s = &mut self.0;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    fn choose<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from.get(self.below(from.len()))
            .copied()
            .unwrap_or_default()
    }
}

/// Standard normal numbers by Marsaglia's polar method, which makes them in pairs.
struct Normal {
    spare: Option<f64>,
}

impl Normal {
    fn sample(&mut self, rng: &mut Rng) -> f64 {
        if let Some(v) = self.spare.take() {
            return v;
        }
        loop {
            let u = 2.0 * rng.unit() - 1.0;
            let v = 2.0 * rng.unit() - 1.0;
            let s = u * u + v * v;
            if s > 0.0 && s < 1.0 {
                let factor = (-2.0 * s.ln() / s).sqrt();
                self.spare = Some(v * factor);
                return u * factor;
            }
        }
    }
}

/// The line prefix of one host: `cpu,hostname=host_0,...,service_environment=test `.
fn host_prefix(id: u32, rng: &mut Rng) -> Vec<u8> {
    let (region, datacenters) = REGIONS[rng.below(REGIONS.len())];
    let values = [
        format!("host_{id}"),
        region.to_owned(),
        rng.choose(datacenters).to_owned(),
        rng.below(100).to_string(),
        rng.choose(&OSES).to_owned(),
        rng.choose(&ARCHES).to_owned(),
        rng.choose(&TEAMS).to_owned(),
        rng.below(20).to_string(),
        rng.below(2).to_string(),
        rng.choose(&ENVIRONMENTS).to_owned(),
    ];
    let mut line = MEASUREMENT.as_bytes().to_vec();
    for (key, value) in TAGS.iter().zip(&values) {
        line.push(b',');
        line.extend_from_slice(key.as_bytes());
        line.push(b'=');
        line.extend_from_slice(value.as_bytes());
    }
    line.push(b' ');
    line
}

/// Writes `v` (in [0, 100]) with two decimals, or as an `i`-suffixed integer.
fn push_value(line: &mut Vec<u8>, v: f64, integers: bool, itoa: &mut itoa::Buffer) {
    if integers {
        line.extend_from_slice(itoa.format(v.round() as i64).as_bytes());
        line.push(b'i');
        return;
    }
    let cents = (v * 100.0).round() as i64;
    line.extend_from_slice(itoa.format(cents / 100).as_bytes());
    let frac = (cents % 100) as u8;
    line.extend_from_slice(&[b'.', b'0' + frac / 10, b'0' + frac % 10]);
}

/// Writes the data set `spec` to `out`, reporting to `progress`. Returns the number
/// of lines written.
pub fn write_tsbs(spec: &Spec, out: &mut impl Write, progress: &mut Progress) -> CliResult<u64> {
    spec.check()?;
    let mut rng = Rng::new(spec.seed);
    let mut normal = Normal { spare: None };
    let prefixes: Vec<Vec<u8>> = (0..spec.hosts).map(|h| host_prefix(h, &mut rng)).collect();
    let mut walks: Vec<f64> = (0..spec.hosts as usize * FIELDS.len())
        .map(|_| rng.unit() * 100.0)
        .collect();
    let field_names: Vec<Vec<u8>> = FIELDS
        .iter()
        .enumerate()
        .map(|(i, f)| format!("{}{f}=", if i == 0 { "" } else { "," }).into_bytes())
        .collect();
    let mut itoa = itoa::Buffer::new();
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 17);
    let mut lines_in_buf = 0u64;
    let mut lines = 0u64;
    let mut ts = i128::from(spec.start);
    for _ in 0..spec.steps {
        let stamp = i64::try_from(ts).map_err(|_| CliError::usage("timestamp overflow"))?;
        for (prefix, walk) in prefixes.iter().zip(walks.chunks_mut(FIELDS.len())) {
            buf.extend_from_slice(prefix);
            for (name, value) in field_names.iter().zip(walk.iter_mut()) {
                buf.extend_from_slice(name);
                push_value(&mut buf, *value, spec.integers, &mut itoa);
                *value = (*value + normal.sample(&mut rng)).clamp(0.0, 100.0);
            }
            buf.push(b' ');
            buf.extend_from_slice(itoa.format(stamp).as_bytes());
            buf.push(b'\n');
            lines_in_buf += 1;
            if buf.len() >= 1 << 16 {
                out.write_all(&buf)?;
                progress.add(buf.len() as u64, lines_in_buf * FIELDS.len() as u64);
                lines += lines_in_buf;
                lines_in_buf = 0;
                buf.clear();
            }
        }
        ts += i128::from(spec.interval);
    }
    out.write_all(&buf)?;
    progress.add(buf.len() as u64, lines_in_buf * FIELDS.len() as u64);
    lines += lines_in_buf;
    out.flush()?;
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(hosts: u32, steps: u64) -> Spec {
        Spec {
            hosts,
            steps,
            start: 1_451_606_400,
            interval: 10,
            seed: 7,
            integers: false,
        }
    }

    fn generate(s: &Spec) -> String {
        let mut out = Vec::new();
        let mut p = Progress::new(Total::Points(s.lines() * 10), true);
        let n = write_tsbs(s, &mut out, &mut p).unwrap();
        assert_eq!(n, s.lines());
        assert_eq!(p.finish().points, s.lines() * 10);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn lines_in_arrival_order_with_every_tag_and_field() {
        let text = generate(&spec(3, 4));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 12);
        for (i, line) in lines.iter().enumerate() {
            let (series, rest) = line.split_once(' ').unwrap();
            let (fields, ts) = rest.split_once(' ').unwrap();
            assert_eq!(ts, (1_451_606_400 + 10 * (i / 3) as i64).to_string());
            let mut parts = series.split(',');
            assert_eq!(parts.next(), Some("cpu"));
            let tags: Vec<(&str, &str)> = parts.map(|p| p.split_once('=').unwrap()).collect();
            assert_eq!(tags.iter().map(|t| t.0).collect::<Vec<_>>(), TAGS);
            assert_eq!(tags[0].1, format!("host_{}", i % 3));
            let (region, dcs) = REGIONS.iter().find(|r| r.0 == tags[1].1).unwrap();
            assert!(dcs.contains(&tags[2].1), "{region}: {}", tags[2].1);
            assert!(tags[3].1.parse::<u32>().unwrap() < 100);
            assert!(OSES.contains(&tags[4].1));
            assert!(TEAMS.contains(&tags[6].1));
            let fields: Vec<(&str, &str)> = fields
                .split(',')
                .map(|f| f.split_once('=').unwrap())
                .collect();
            assert_eq!(fields.iter().map(|f| f.0).collect::<Vec<_>>(), FIELDS);
            for (_, v) in fields {
                let (int, frac) = v.split_once('.').unwrap();
                assert_eq!(frac.len(), 2, "{v}");
                assert!(int.parse::<u32>().unwrap() <= 100);
                assert!((0.0..=100.0).contains(&v.parse::<f64>().unwrap()));
            }
        }
    }

    #[test]
    fn walks_are_bounded_and_move_in_small_steps() {
        let text = generate(&spec(1, 5000));
        let mut prev: Option<Vec<f64>> = None;
        for line in text.lines() {
            let fields = line.split(' ').nth(1).unwrap();
            let values: Vec<f64> = fields
                .split(',')
                .map(|f| f.split_once('=').unwrap().1.parse().unwrap())
                .collect();
            for v in &values {
                assert!((0.0..=100.0).contains(v));
            }
            if let Some(p) = &prev {
                for (a, b) in p.iter().zip(&values) {
                    assert!((a - b).abs() < 7.0, "a step of {a} -> {b}");
                }
            }
            prev = Some(values);
        }
    }

    #[test]
    fn a_seed_always_writes_the_same_bytes() {
        let a = generate(&spec(5, 20));
        assert_eq!(a, generate(&spec(5, 20)));
        let mut other = spec(5, 20);
        other.seed = 8;
        assert_ne!(a, generate(&other));
    }

    #[test]
    fn integers_as_tsbs_writes_them() {
        let mut s = spec(2, 3);
        s.integers = true;
        let text = generate(&s);
        for line in text.lines() {
            let fields = line.split(' ').nth(1).unwrap();
            for f in fields.split(',') {
                let v = f.split_once('=').unwrap().1;
                let n: i64 = v.strip_suffix('i').unwrap().parse().unwrap();
                assert!((0..=100).contains(&n), "{v}");
            }
        }
    }

    #[test]
    fn values_print_exactly() {
        let mut itoa = itoa::Buffer::new();
        for (v, want) in [
            (0.0, "0.00"),
            (100.0, "100.00"),
            (58.125, "58.13"),
            (0.049, "0.05"),
            (7.1, "7.10"),
        ] {
            let mut line = Vec::new();
            push_value(&mut line, v, false, &mut itoa);
            assert_eq!(String::from_utf8(line).unwrap(), want, "{v}");
        }
    }

    #[test]
    fn overflowing_timestamps_are_refused() {
        let mut s = spec(1, 10);
        s.start = i64::MAX - 50;
        assert!(s.check().is_err());
        s.start = i64::MAX - 90;
        assert!(s.check().is_ok());
        assert!(spec(0, 1).check().is_err());
    }
}
