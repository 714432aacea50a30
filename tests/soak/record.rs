//! What the soak saw: confirms, deliveries, handling, faults and samples of
//! the process's memory and file descriptors. Per-message records are dense
//! vectors indexed by id (a few bytes a message), so that the soak's own
//! bookkeeping barely shows in the memory it measures.

use std::collections::BTreeMap;
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

/// A count per message id.
#[derive(Debug, Default)]
pub struct PerId(Vec<u8>);

impl PerId {
    pub fn get(&self, id: u64) -> u8 {
        self.0.get(id as usize).copied().unwrap_or(0)
    }

    pub fn add(&mut self, id: u64) -> u8 {
        let at = id as usize;
        if at >= self.0.len() {
            self.0.resize(at + 1, 0);
        }
        self.0[at] = self.0[at].saturating_add(1);
        self.0[at]
    }

    /// Raises the value of `id` to at least `value`.
    pub fn max(&mut self, id: u64, value: u8) {
        let at = id as usize;
        if at >= self.0.len() {
            self.0.resize(at + 1, 0);
        }
        self.0[at] = self.0[at].max(value);
    }

    pub fn iter(&self) -> impl Iterator<Item = (u64, u8)> + '_ {
        self.0.iter().enumerate().map(|(id, n)| (id as u64, *n))
    }
}

#[derive(Debug, Default)]
pub struct Record {
    /// When each confirmed id was sent, in ms since the start plus one (0:
    /// not confirmed).
    pub sent: Vec<u32>,
    pub publish_failures: u64,
    /// Per id, the publishes that failed and were sent again (each may have
    /// reached the queue all the same).
    pub resent: PerId,
    /// Per id, deliveries of attempt 2 and later: more than one means the
    /// retry queue sent the message back twice (RabbitMQ's at-least-once
    /// dead-lettering does when the main queue's confirm is lost).
    pub later_attempts: PerId,
    /// Handler mode: the highest attempt delivered, and the `Ok` count.
    pub max_attempt: PerId,
    pub handled: PerId,
    /// Handler latency (first success - sent), ms, capped.
    pub latencies: Vec<u16>,
    pub handler_redelivered: u64,
    /// Stream mode: receipts per id; deliveries marked redelivered.
    pub received: PerId,
    pub stream_redelivered: u64,
    /// Lost acknowledgements reported, by consumer.
    pub lost_acks_handler: u64,
    pub lost_acks_stream: u64,
    pub faults: Vec<FaultRun>,
    /// (seconds since start, RSS kB, open fds).
    pub samples: Vec<(f64, u64, u64)>,
}

impl Record {
    pub fn confirm(&mut self, id: u64, sent_ms: u32) {
        let at = id as usize;
        if at >= self.sent.len() {
            self.sent.resize(at + 1, 0);
        }
        self.sent[at] = sent_ms.saturating_add(1);
    }

    pub fn confirmed(&self) -> impl Iterator<Item = u64> + '_ {
        self.sent
            .iter()
            .enumerate()
            .filter(|(_, s)| **s > 0)
            .map(|(id, _)| id as u64)
    }

    /// When `id` was sent (ms since the start), if it was confirmed.
    pub fn sent_ms(&self, id: u64) -> Option<u32> {
        self.sent
            .get(id as usize)
            .filter(|s| **s > 0)
            .map(|s| s - 1)
    }

    /// Notes a handled message, and the recovery of any fault waiting for one.
    pub fn handled_at(&mut self, now: Instant) {
        for fault in self.faults.iter_mut().rev().take(4) {
            if fault.recovered.is_none() && now > fault.at {
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
pub fn quantile(values: &mut [u16], q: f64) -> u16 {
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
        let times = by_kind.entry(fault.kind).or_default();
        if let Some(recovered) = fault.recovered {
            times.push(recovered - fault.at);
        }
    }
    by_kind
        .into_iter()
        .map(|(kind, mut times)| {
            times.sort();
            let median = times.get(times.len() / 2).copied().unwrap_or_default();
            let max = times.last().copied().unwrap_or_default();
            let count = faults.iter().filter(|f| f.kind == kind).count();
            (kind, (count, median, max))
        })
        .collect()
}

/// Confirmed ids neither handled `Ok` nor dead (`is_dead`), and confirmed
/// ids never received by the stream consumer.
pub fn missing(record: &Record, is_dead: impl Fn(u64) -> bool) -> (Vec<u64>, Vec<u64>) {
    let handler = record
        .confirmed()
        .filter(|id| record.handled.get(*id) == 0 && !is_dead(*id))
        .collect();
    let stream = record
        .confirmed()
        .filter(|id| record.received.get(*id) == 0)
        .collect();
    (handler, stream)
}
