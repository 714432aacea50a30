//! The derived methods beside the best hand-written code for the same struct,
//! in one run, on the prebuilt ten-word binding of Taskcluster's
//! `task-defined`. The baselines are unrolled: one `match` per field, the
//! exact capacity.
//!
//! `cargo bench -p pulse-binding --bench binding`; add `-- paired` (a filter
//! no criterion group matches) for the paired rounds alone.

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group};
use pulse_binding::hooks::HookChangedMessage;
use pulse_binding::prelude::*;
use pulse_binding::queue::{TaskDefined, TaskDefinedMessage};
use pulse_binding::topic_matches;

const BODY: &[u8] = br#"{"status": {"taskId": "fJ8bZ2qdQpqxkM8nM1Y2yg", "provisionerId": "proj-releng",
  "workerType": "win2022", "taskQueueId": "proj-releng/win2022", "schedulerId": "taskcluster-github",
  "projectId": "releng", "taskGroupId": "Xp3b2Jc7Q0SqGx0WQZ9a1A", "deadline": "2026-11-28T08:00:00.000Z",
  "expires": "2027-11-27T08:00:00.000Z", "retriesLeft": 5, "state": "unscheduled", "runs": []}, "version": 1}"#;

const KEY: &str = "primary.fJ8bZ2qdQpqxkM8nM1Y2yg._._._.proj-releng.win2022.taskcluster-github.Xp3b2Jc7Q0SqGx0WQZ9a1A._";

/// Five of the ten words set, as a consumer waiting for one task of one task
/// group on one pool of workers would bind.
fn binding() -> TaskDefined {
    TaskDefined {
        task_id: Some("fJ8bZ2qdQpqxkM8nM1Y2yg".into()),
        provisioner_id: Some("proj-releng".into()),
        worker_type: Some("win2022".into()),
        scheduler_id: Some("taskcluster-github".into()),
        task_group_id: Some("Xp3b2Jc7Q0SqGx0WQZ9a1A".into()),
        ..Default::default()
    }
}

/// A field's word, or `fallback` when it is unset (`None` or empty): one
/// `match`, written out for each field.
macro_rules! word {
    ($field:expr, $fallback:literal) => {
        match $field.as_deref() {
            Some(w) if !w.is_empty() => w,
            _ => $fallback,
        }
    };
}

/// The ten words of `b`, each by its own `match`.
macro_rules! words {
    ($b:expr) => {
        [
            word!($b.routing_key_kind, "primary"),
            word!($b.task_id, "*"),
            word!($b.run_id, "*"),
            word!($b.worker_group, "*"),
            word!($b.worker_id, "*"),
            word!($b.provisioner_id, "*"),
            word!($b.worker_type, "*"),
            word!($b.scheduler_id, "*"),
            word!($b.task_group_id, "*"),
            word!($b.reserved, "#"),
        ]
    };
}

/// Appends the ten words with a `.` between them, unrolled.
fn join_words(key: &mut String, [w0, w1, w2, w3, w4, w5, w6, w7, w8, w9]: [&str; 10]) {
    key.push_str(w0);
    key.push('.');
    key.push_str(w1);
    key.push('.');
    key.push_str(w2);
    key.push('.');
    key.push_str(w3);
    key.push('.');
    key.push_str(w4);
    key.push('.');
    key.push_str(w5);
    key.push('.');
    key.push_str(w6);
    key.push('.');
    key.push_str(w7);
    key.push('.');
    key.push_str(w8);
    key.push('.');
    key.push_str(w9);
}

/// The exact length of the ten words joined with `.`.
fn joined_len(w: &[&str; 10]) -> usize {
    9 + w[0].len()
        + w[1].len()
        + w[2].len()
        + w[3].len()
        + w[4].len()
        + w[5].len()
        + w[6].len()
        + w[7].len()
        + w[8].len()
        + w[9].len()
}

/// The best hand-written pattern for this struct: one `match` per field, the
/// exact capacity, then the appends, all unrolled.
#[inline(never)]
fn hand_routing_key(b: &TaskDefined) -> String {
    let w = words!(b);
    let mut key = String::with_capacity(joined_len(&w));
    join_words(&mut key, w);
    key
}

/// The same, checking what `try_routing_key` checks, one `match` per field:
/// a set single word has no `.`, a set fixed word is the fixed word, at most
/// two `#` words and at most 255 bytes.
#[inline(never)]
fn hand_try_routing_key(b: &TaskDefined) -> Result<String, &'static str> {
    let mut hashes = 0;
    macro_rules! single {
        ($field:expr) => {
            match $field.as_deref() {
                Some(w) if !w.is_empty() => {
                    if w.as_bytes().contains(&b'.') {
                        return Err("a single word has a dot");
                    }
                    hashes += usize::from(w == "#");
                    w
                }
                _ => "*",
            }
        };
    }
    let w = [
        match b.routing_key_kind.as_deref() {
            Some("primary") | Some("") | None => "primary",
            Some(_) => return Err("routing_key_kind is not primary"),
        },
        single!(b.task_id),
        single!(b.run_id),
        single!(b.worker_group),
        single!(b.worker_id),
        single!(b.provisioner_id),
        single!(b.worker_type),
        single!(b.scheduler_id),
        single!(b.task_group_id),
        match b.reserved.as_deref() {
            Some(w) if !w.is_empty() => {
                hashes += w.split('.').filter(|w| *w == "#").count();
                w
            }
            _ => {
                hashes += 1;
                "#"
            }
        },
    ];
    let len = joined_len(&w);
    if len > 255 {
        return Err("too long");
    }
    if hashes > 2 {
        return Err("too many #");
    }
    let mut key = String::with_capacity(len);
    join_words(&mut key, w);
    Ok(key)
}

/// The Go client's way: build the pattern, then match it.
#[inline(never)]
fn go_style_matches(b: &TaskDefined, key: &str) -> bool {
    topic_matches(&hand_routing_key(b), key)
}

/// The best hand-written matcher for this shape: nine single words compared in
/// place, the rest for `#`.
#[inline(never)]
fn hand_matches(b: &TaskDefined, key: &str) -> bool {
    let mut parts = key.splitn(10, '.');
    for expected in &words!(b)[..9] {
        let Some(part) = parts.next() else {
            return false;
        };
        if *expected != "*" && expected != &part {
            return false;
        }
    }
    true
}

/// The best hand-written parser for this struct: `splitn`, one `match` per
/// field, the fixed word checked.
#[inline(never)]
fn hand_from_routing_key(key: &str) -> Option<TaskDefined> {
    fn owned(word: &str) -> Option<String> {
        match word {
            "" => None,
            w => Some(w.to_owned()),
        }
    }
    let mut parts = key.splitn(10, '.');
    let routing_key_kind = match parts.next()? {
        "primary" => Some("primary".to_owned()),
        _ => return None,
    };
    Some(TaskDefined {
        routing_key_kind,
        task_id: owned(parts.next()?),
        run_id: owned(parts.next()?),
        worker_group: owned(parts.next()?),
        worker_id: owned(parts.next()?),
        provisioner_id: owned(parts.next()?),
        worker_type: owned(parts.next()?),
        scheduler_id: owned(parts.next()?),
        task_group_id: owned(parts.next()?),
        reserved: parts.next().and_then(owned),
    })
}

/// The consumer bench's message: a hook-changed body with one property the
/// schema does not name.
const HOOK_BODY: &[u8] = br#"{"hookGroupId": "project-releng", "hookId": "nightly-l10n-signing", "extra": {"reason": "updated by ci"}}"#;

/// `HookChangedMessage` as serde's derive makes it with `#[serde(flatten)]`
/// keeping the other properties: what the generated type was before it got
/// a decoder of its own.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct FlattenHook {
    hook_group_id: String,
    hook_id: String,
    #[serde(flatten)]
    extra: serde_json::Map<String, serde_json::Value>,
}

/// The two properties alone, the rest skipped: the least any decoder does
/// (it loses what the schema does not name).
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct KnownHook {
    hook_group_id: String,
    hook_id: String,
}

fn bench(c: &mut Criterion) {
    let b = binding();
    assert_eq!(b.routing_key(), hand_routing_key(&b));
    assert_eq!(b.matches(KEY), hand_matches(&b, KEY));
    assert!(b.matches(KEY));
    assert!(b.decode(BODY).is_ok());
    assert_eq!(b.try_routing_key().ok(), hand_try_routing_key(&b).ok());
    assert_eq!(
        TaskDefined::from_routing_key(KEY).ok(),
        hand_from_routing_key(KEY)
    );
    assert!(hand_from_routing_key(KEY).is_some());

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

    let hook = serde_json::from_slice::<HookChangedMessage>(HOOK_BODY).unwrap();
    assert_eq!(hook.extra["extra"]["reason"], "updated by ci");
    let mut g = c.benchmark_group("payload");
    g.bench_function("generated", |x| {
        x.iter(|| serde_json::from_slice::<HookChangedMessage>(black_box(HOOK_BODY)).is_ok())
    });
    g.bench_function("serde flatten", |x| {
        x.iter(|| serde_json::from_slice::<FlattenHook>(black_box(HOOK_BODY)).is_ok())
    });
    g.bench_function("serde known only", |x| {
        x.iter(|| serde_json::from_slice::<KnownHook>(black_box(HOOK_BODY)).is_ok())
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
    report(
        "payload (flatten)",
        || {
            sink(serde_json::from_slice::<HookChangedMessage>(black_box(
                HOOK_BODY,
            )))
        },
        || sink(serde_json::from_slice::<FlattenHook>(black_box(HOOK_BODY))),
    );
    report(
        "payload (known)",
        || {
            sink(serde_json::from_slice::<HookChangedMessage>(black_box(
                HOOK_BODY,
            )))
        },
        || sink(serde_json::from_slice::<KnownHook>(black_box(HOOK_BODY))),
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
