//! Shared helpers of the ingest integration tests.

use tidestore::ts::ingest::{FieldValue, format_line};

/// TSBS-style cpu lines: every host at t, then t + 10 s; 10 tags, 10 integer fields.
pub fn tsbs(hosts: usize, steps: usize) -> String {
    let mut out = String::new();
    let fields = [
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
    for step in 0..steps {
        for h in 0..hosts {
            let tags = [
                ("hostname", format!("host_{h}")),
                ("region", format!("eu-west-{}", h % 3)),
                ("datacenter", format!("eu-west-{}a", h % 3)),
                ("rack", (h % 97).to_string()),
                ("os", "Ubuntu16.10".to_owned()),
                ("arch", "x86".to_owned()),
                ("team", "SF".to_owned()),
                ("service", (h % 19).to_string()),
                ("service_version", (h % 2).to_string()),
                ("service_environment", "test".to_owned()),
            ];
            let tags: Vec<(&str, &str)> = tags.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let values: Vec<(&str, FieldValue<'_>)> = fields
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    (
                        *f,
                        FieldValue::Integer(((h * 31 + step * 7 + i) % 100) as i64),
                    )
                })
                .collect();
            let ts = 1_451_606_400_000_000_000 + step as i64 * 10_000_000_000;
            format_line(&mut out, "cpu", &tags, &values, Some(ts)).unwrap();
        }
    }
    out
}
