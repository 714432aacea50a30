//! What the soak saw: confirms, deliveries, handling, faults and samples of
//! the process's memory and file descriptors.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// One fault, when it struck and when it was over (a restart awaited).
#[derive(Debug, Clone)]
pub struct FaultRun {
    pub kind: &'static str,
    pub at: Instant,
    pub over: Option<Instant>,
    /// The first message handled after `at`.
    pub recovered: Option<Instant>,
}

#[derive(Debug, Default)]
pub struct Record {
    /// Confirmed publishes: id to when it was sent.
    pub confirmed: BTreeMap<u64, Instant>,
    pub publish_failures: u64,
    /// Handler mode: per id, the attempts delivered and the Ok count.
    pub attempts: BTreeMap<u64, Vec<u32>>,
    pub handled: BTreeMap<u64, u32>,
    /// Handler latency (first success - sent), milliseconds.
    pub latencies: Vec<u64>,
    pub handler_redelivered: u64,
    /// Stream mode: per id, receipts; deliveries marked redelivered.
    pub received: BTreeMap<u64, u32>,
    pub stream_redelivered: u64,
    /// Lost acknowledgements reported, by consumer.
    pub lost_acks_handler: u64,
    pub lost_acks_stream: u64,
    pub faults: Vec<FaultRun>,
    /// (seconds since start, RSS kB, open fds).
    pub samples: Vec<(f64, u64, u64)>,
    pub last_handled: Option<Instant>,
}

impl Record {
    /// Notes a handled message, and the recovery of any fault waiting for one.
    pub fn handled_at(&mut self, now: Instant) {
        self.last_handled = Some(now);
        for fault in self.faults.iter_mut().filter(|f| f.recovered.is_none()) {
            if now > fault.at {
                fault.recovered = Some(now);
            }
        }
    }
}

/// The process's resident memory (kB) and open file descriptors.
pub fn sample() -> (u64, u64) {
    let rss = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0);
    let fds = std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count() as u64);
    (rss, fds)
}

/// The `q`-quantile of `values` (sorted here).
pub fn quantile(values: &mut [u64], q: f64) -> u64 {
    if values.is_empty() {
        return 0;
    }
    values.sort_unstable();
    let at = ((values.len() - 1) as f64 * q).round() as usize;
    values[at]
}

/// Recovery times by fault kind: (count, median, max).
pub fn recoveries(faults: &[FaultRun]) -> BTreeMap<&'static str, (usize, Duration, Duration)> {
    let mut by_kind: BTreeMap<&'static str, Vec<Duration>> = BTreeMap::new();
    for fault in faults {
        if let Some(recovered) = fault.recovered {
            by_kind
                .entry(fault.kind)
                .or_default()
                .push(recovered - fault.at);
        } else {
            by_kind.entry(fault.kind).or_default();
        }
    }
    by_kind
        .into_iter()
        .map(|(kind, mut times)| {
            times.sort();
            let median = times.get(times.len() / 2).copied().unwrap_or_default();
            let max = times.last().copied().unwrap_or_default();
            (kind, (times.len(), median, max))
        })
        .collect()
}

/// Ids confirmed but never handled `Ok` nor dead, and never received.
pub fn missing(record: &Record, dead: &BTreeSet<u64>) -> (Vec<u64>, Vec<u64>) {
    let handler = record
        .confirmed
        .keys()
        .filter(|id| !record.handled.contains_key(id) && !dead.contains(id))
        .copied()
        .collect();
    let stream = record
        .confirmed
        .keys()
        .filter(|id| !record.received.contains_key(id))
        .copied()
        .collect();
    (handler, stream)
}
