//! The derived methods beside hand-written code doing the same job, in one run,
//! on the prebuilt ten-word binding of Taskcluster's `task-defined`.
//!
//! `cargo bench -p pulse-binding --bench binding`

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group};
use pulse_binding::prelude::*;
use pulse_binding::queue::{TaskDefined, TaskDefinedMessage};
use pulse_binding::topic_matches;

const BODY: &[u8] = br#"{"status": {"taskId": "fJ8bZ2qdQpqxkM8nM1Y2yg", "provisionerId": "proj-releng",
  "workerType": "win2022", "taskQueueId": "proj-releng/win2022", "schedulerId": "taskcluster-github",
  "projectId": "releng", "taskGroupId": "Xp3b2Jc7Q0SqGx0WQZ9a1A", "deadline": "2026-11-28T08:00:00.000Z",
  "expires": "2027-11-27T08:00:00.000Z", "retriesLeft": 5, "state": "unscheduled", "runs": []}, "version": 1}"#;

const KEY: &str = "primary.fJ8bZ2qdQpqxkM8nM1Y2yg._._._.proj-releng.win2022.taskcluster-github.Xp3b2Jc7Q0SqGx0WQZ9a1A._";

/// Half the words set, as a consumer listening for one task group of one
/// worker type would.
fn binding() -> TaskDefined {
    TaskDefined {
        provisioner_id: Some("proj-releng".into()),
        worker_type: Some("win2022".into()),
        task_group_id: Some("Xp3b2Jc7Q0SqGx0WQZ9a1A".into()),
        ..Default::default()
    }
}

fn words(b: &TaskDefined) -> [(Option<&str>, &'static str); 10] {
    [
        (b.routing_key_kind.as_deref(), "primary"),
        (b.task_id.as_deref(), "*"),
        (b.run_id.as_deref(), "*"),
        (b.worker_group.as_deref(), "*"),
        (b.worker_id.as_deref(), "*"),
        (b.provisioner_id.as_deref(), "*"),
        (b.worker_type.as_deref(), "*"),
        (b.scheduler_id.as_deref(), "*"),
        (b.task_group_id.as_deref(), "*"),
        (b.reserved.as_deref(), "#"),
    ]
}

/// The best hand-written pattern: exact capacity, then appends.
fn hand_routing_key(b: &TaskDefined) -> String {
    let words = words(b).map(|(w, fallback)| w.filter(|w| !w.is_empty()).unwrap_or(fallback));
    let mut key = String::with_capacity(words.iter().map(|w| w.len() + 1).sum());
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            key.push('.');
        }
        key.push_str(w);
    }
    key
}

/// The same, checking each single word for a `.` and the length.
fn hand_try_routing_key(b: &TaskDefined) -> Result<String, String> {
    for (i, (w, _)) in words(b).iter().enumerate() {
        if i < 9 && w.is_some_and(|w| w.contains('.')) {
            return Err(format!("word {i} has a dot"));
        }
    }
    let key = hand_routing_key(b);
    if key.len() > 255 {
        return Err("too long".into());
    }
    Ok(key)
}

/// The Go client's way: build the pattern, then match it.
fn go_style_matches(b: &TaskDefined, key: &str) -> bool {
    topic_matches(&hand_routing_key(b), key)
}

/// The best hand-written matcher for this shape: nine single words compared in
/// place, the rest for `#`.
fn hand_matches(b: &TaskDefined, key: &str) -> bool {
    let mut parts = key.splitn(10, '.');
    for (w, fallback) in &words(b)[..9] {
        let Some(part) = parts.next() else {
            return false;
        };
        let expected = w.filter(|w| !w.is_empty()).unwrap_or(fallback);
        if expected != "*" && expected != part {
            return false;
        }
    }
    true
}

/// Hand-written parsing of a concrete key into the fields.
fn hand_from_routing_key(key: &str) -> Option<TaskDefined> {
    let mut parts = key.splitn(10, '.');
    let mut next = || parts.next().map(|p| (!p.is_empty()).then(|| p.to_owned()));
    let b = TaskDefined {
        routing_key_kind: next()?,
        task_id: next()?,
        run_id: next()?,
        worker_group: next()?,
        worker_id: next()?,
        provisioner_id: next()?,
        worker_type: next()?,
        scheduler_id: next()?,
        task_group_id: next()?,
        reserved: next().flatten(),
    };
    (b.routing_key_kind.as_deref() == Some("primary")).then_some(b)
}

fn bench(c: &mut Criterion) {
    let b = binding();
    assert_eq!(b.routing_key(), hand_routing_key(&b));
    assert_eq!(b.matches(KEY), hand_matches(&b, KEY));
    assert!(b.matches(KEY));
    assert!(b.decode(BODY).is_ok());
    assert!(TaskDefined::from_routing_key(KEY).is_ok());

    let mut g = c.benchmark_group("routing_key");
    g.bench_function("derived", |x| x.iter(|| black_box(&b).routing_key()));
    g.bench_function("hand-written", |x| {
        x.iter(|| hand_routing_key(black_box(&b)))
    });
    g.finish();

    let mut g = c.benchmark_group("try_routing_key");
    g.bench_function("derived", |x| x.iter(|| black_box(&b).try_routing_key()));
    g.bench_function("hand-written", |x| {
        x.iter(|| hand_try_routing_key(black_box(&b)))
    });
    g.finish();

    let mut g = c.benchmark_group("from_routing_key");
    g.bench_function("derived", |x| {
        x.iter(|| TaskDefined::from_routing_key(black_box(KEY)))
    });
    g.bench_function("hand-written", |x| {
        x.iter(|| hand_from_routing_key(black_box(KEY)))
    });
    g.finish();

    let mut g = c.benchmark_group("matches");
    g.bench_function("derived", |x| {
        x.iter(|| black_box(&b).matches(black_box(KEY)))
    });
    g.bench_function("hand-written", |x| {
        x.iter(|| hand_matches(black_box(&b), black_box(KEY)))
    });
    g.bench_function("go-style", |x| {
        x.iter(|| go_style_matches(black_box(&b), black_box(KEY)))
    });
    g.finish();

    let mut g = c.benchmark_group("decode");
    g.bench_function("derived", |x| {
        x.iter(|| black_box(&b).decode(black_box(BODY)).is_ok())
    });
    g.bench_function("serde_json", |x| {
        x.iter(|| serde_json::from_slice::<TaskDefinedMessage>(black_box(BODY)).is_ok())
    });
    g.finish();
}

/// Each derived method and its baseline measured in alternating rounds, so that
/// drift on a shared machine hits both alike: the median per-round ratio is
/// the figure to quote.
fn paired() {
    let b = binding();
    println!("\npaired rounds (median of 101 rounds, derived and baseline alternating):");
    println!(
        "{:<18} {:>12} {:>12} {:>8}",
        "method", "derived ns", "baseline ns", "ratio"
    );
    report(
        "routing_key",
        || sink(black_box(&b).routing_key()),
        || sink(hand_routing_key(black_box(&b))),
    );
    report(
        "try_routing_key",
        || sink(black_box(&b).try_routing_key()),
        || sink(hand_try_routing_key(black_box(&b))),
    );
    report(
        "from_routing_key",
        || sink(TaskDefined::from_routing_key(black_box(KEY))),
        || sink(hand_from_routing_key(black_box(KEY))),
    );
    report(
        "matches",
        || sink(black_box(&b).matches(black_box(KEY))),
        || sink(hand_matches(black_box(&b), black_box(KEY))),
    );
    report(
        "matches (go-style)",
        || sink(black_box(&b).matches(black_box(KEY))),
        || sink(go_style_matches(black_box(&b), black_box(KEY))),
    );
    report(
        "decode",
        || sink(black_box(&b).decode(black_box(BODY))),
        || {
            drop(serde_json::from_slice::<TaskDefinedMessage>(black_box(
                BODY,
            )))
        },
    );
}

fn report(name: &str, mut derived: impl FnMut(), mut baseline: impl FnMut()) {
    const ROUNDS: usize = 101;
    const ITERATIONS: u32 = 5_000;
    let time = |f: &mut dyn FnMut()| {
        let start = Instant::now();
        for _ in 0..ITERATIONS {
            f();
        }
        start.elapsed().as_secs_f64() * 1e9 / f64::from(ITERATIONS)
    };
    let (mut d, mut h, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let (dt, ht) = if round % 2 == 0 {
            let dt = time(&mut derived);
            (dt, time(&mut baseline))
        } else {
            let ht = time(&mut baseline);
            (time(&mut derived), ht)
        };
        d.push(dt);
        h.push(ht);
        ratios.push(dt / ht);
    }
    println!(
        "{name:<18} {:>12.1} {:>12.1} {:>8.2}",
        median(&mut d),
        median(&mut h),
        median(&mut ratios)
    );
}

/// Keeps a result from being optimised away.
fn sink<T>(value: T) {
    black_box(value);
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    paired();
}
