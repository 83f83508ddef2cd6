//! The kernel's TCP counters (`/proc/net/netstat` TcpExt, `/proc/net/snmp`
//! Tcp), read around a measured window: what a server leaves the kernel to
//! do per message. Loopback counts both ends, so a contender's figures
//! include the (shared) load generator's: compare contenders, not absolutes.

use std::collections::HashMap;

/// The counters reported, per message.
pub const COUNTERS: &[(&str, &str)] = &[
    ("Tcp", "OutSegs"),
    ("TcpExt", "TCPPureAcks"),
    ("TcpExt", "DelayedACKs"),
    ("TcpExt", "TCPAutoCorking"),
    ("TcpExt", "TCPHPHits"),
    ("TcpExt", "TCPHPAcks"),
    ("TcpExt", "TCPBacklogCoalesce"),
    ("TcpExt", "TCPOFOQueue"),
];

/// A snapshot of [`COUNTERS`], in that order (0 where the kernel lacks one).
pub fn snapshot() -> Vec<u64> {
    let mut all = HashMap::new();
    for file in ["/proc/net/netstat", "/proc/net/snmp"] {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        // Pairs of lines: "Prefix: names..." then "Prefix: values...".
        let lines: Vec<&str> = text.lines().collect();
        for pair in lines.chunks(2) {
            let [names, values] = pair else { continue };
            let mut names = names.split_whitespace();
            let mut values = values.split_whitespace();
            let Some(prefix) = names.next().map(|p| p.trim_end_matches(':')) else {
                continue;
            };
            values.next();
            for (name, value) in names.zip(values) {
                if let Ok(v) = value.parse::<u64>() {
                    all.insert(format!("{prefix}:{name}"), v);
                }
            }
        }
    }
    COUNTERS
        .iter()
        .map(|(prefix, name)| *all.get(&format!("{prefix}:{name}")).unwrap_or(&0))
        .collect()
}

/// Per message, from two snapshots.
pub fn per_message(before: &[u64], after: &[u64], messages: f64) -> Vec<f64> {
    before
        .iter()
        .zip(after)
        .map(|(b, a)| a.saturating_sub(*b) as f64 / messages.max(1.0))
        .collect()
}
