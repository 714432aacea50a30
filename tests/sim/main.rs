//! Deterministic simulation of the client on `FakePulse`: each seed draws a
//! consumer (stream or handler mode with a retry policy), a stream of
//! confirmed publishes, what the program does with each message (acknowledge
//! late, fail, fail fatally, panic) and faults at random moments
//! (disconnects, publish nacks, failed connections, acknowledgements a close
//! forgets, consumer restarts, recycling, full queues), runs them on a
//! current-thread runtime with paused time, and checks invariants
//! (`check.rs`), not examples. Each seed runs twice and must give the same
//! trace.
//!
//! - `cargo test -p pulse-binding-tests --all-features --test sim` runs
//!   seeds 0..2000 (`SIM_SEEDS` and `SIM_FIRST_SEED` change that);
//! - `SIM_SEED=N` runs seed N alone and prints its trace;
//! - `scripts/sim.sh N` runs N more seeds from a random start.

mod check;
mod rng;
mod scenario;
mod world;

use std::hash::{DefaultHasher, Hash, Hasher};

use scenario::Scenario;

fn var(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

/// Silences the handlers' own panics (they are part of the scenario); any
/// other panic is reported as usual.
fn quiet_injected_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let injected = info
            .payload()
            .downcast_ref::<String>()
            .is_some_and(|m| m.starts_with("panic "));
        if !injected {
            default(info);
        }
    }));
}

fn trace_hash(trace: &[String]) -> u64 {
    let mut hasher = DefaultHasher::new();
    trace.hash(&mut hasher);
    hasher.finish()
}

#[test]
fn every_seed_keeps_the_invariants_and_replays_the_same() {
    quiet_injected_panics();
    let (first, count, show) = match var("SIM_SEED") {
        Some(seed) => (seed, 1, true),
        None => (
            var("SIM_FIRST_SEED").unwrap_or(0),
            var("SIM_SEEDS").unwrap_or(2_000),
            false,
        ),
    };
    let started = std::time::Instant::now();
    for seed in first..first + count {
        let scenario = Scenario::draw(seed);
        if show {
            eprintln!("{scenario:#?}");
            world::LIVE.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        let outcome = world::run(&scenario);
        world::LIVE.store(false, std::sync::atomic::Ordering::Relaxed);

        let replay = format!(
            "replay: SIM_SEED={seed} cargo test -p pulse-binding-tests --all-features --test sim -- --nocapture"
        );
        if let Err(problem) = check::check(&scenario, &outcome) {
            panic!("seed {seed}: {problem}\n{replay}");
        }
        let again = world::run(&scenario);
        let (a, b) = (trace_hash(&outcome.trace), trace_hash(&again.trace));
        if a != b {
            let at = outcome
                .trace
                .iter()
                .zip(&again.trace)
                .position(|(x, y)| x != y)
                .unwrap_or(outcome.trace.len().min(again.trace.len()));
            panic!(
                "seed {seed} is not deterministic: trace hashes {a:x} and {b:x} differ from line {at}: {:?} / {:?}\n{replay}",
                outcome.trace.get(at),
                again.trace.get(at)
            );
        }
    }
    eprintln!(
        "{count} seed(s) from {first}, each run twice, in {:?}",
        started.elapsed()
    );
}
