#!/usr/bin/env python3
"""Record what a real RabbitMQ topic exchange does, as tests/data/topic-cases.tsv.

Needs: Python 3 with `pika` (e.g. python3 -m venv /tmp/pikaenv &&
/tmp/pikaenv/bin/pip install pika) and a running broker at
amqp://guest:guest@127.0.0.1:5672 (scripts/rabbitmq.sh start).
The Rust project does not depend on this script; it only regenerates test data.

Usage: /tmp/pikaenv/bin/python scripts/record-topic-cases.py [OUT.tsv]

Each (pattern, key) verdict is recorded twice and the two must agree:
  shared:   one topic exchange, one exclusive queue per distinct pattern, every
            distinct key published once (also checks the full cross product);
  isolated: a fresh exchange + queue per pattern, publishing only its own keys.
Publishes use publisher confirms; every queue is then drained with basic.get
and checked empty, so no verdict is lost. Disagreements with the rules as we
understood them (see rule_match) are printed, not written to the TSV.
"""
import datetime
import os
import random
import sys
import uuid

import pika

URL = os.environ.get("PULSE_TEST_URL", "amqp://guest:guest@127.0.0.1:5672")
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(__file__), "..", "tests", "data", "topic-cases.tsv")
SEED = 20261127  # seed for the random cases; change it only on purpose
EMPTY = "<empty>"


def rule_match(pattern, key):
    """Our understanding: split on '.', keep empty words, '' has zero words;
    '*' = exactly one word, '#' = zero or more words, byte-exact otherwise."""
    p = pattern.split(".") if pattern else []
    k = key.split(".") if key else []

    def m(i, j):
        if i == len(p):
            return j == len(k)
        if p[i] == "#":
            return any(m(i + 1, jj) for jj in range(j, len(k) + 1))
        return j < len(k) and (p[i] == "*" or p[i] == k[j]) and m(i + 1, j + 1)

    return m(0, 0)


# --- hand-picked cases: pattern -> keys ------------------------------------
LONG50 = ".".join("w%02d" % i for i in range(50))
LONG50X = ".".join("w%02d" % i for i in range(49)) + ".x"
A255 = ".".join(["a"] * 128)                # 255 bytes, 128 words
A253 = ".".join(["a"] * 127)                # 253 bytes, 127 words
STAR128 = ".".join(["*"] * 128)             # 255-byte pattern
TC_KEY = "primary.fJ8bZ2qdQpqxkM8nM1Y2yg.0.us-east-1.i-0123.proj-x.win2022.tg1.sched1._"
TC_PAT = "primary." + ".".join(["*"] * 8) + ".#"
tc_words = TC_KEY.split(".")

HAND = {
    # '#' alone
    "#": ["", ".", "..", "a", "a.b", "a.b.c", "#", "*", " ", LONG50],
    # '#' at an end
    "a.#": ["a", "a.", "a.b", "a.b.c", "a..", "b", "", ".", ".a", "b.a", "ab", "A",
            A255],
    "#.a": ["a", ".a", "b.a", "a.a", "..a", "b.c.a", "a.", "a.b", "", "ba", "."],
    "#.": ["", ".", "a", "a.", "a.b.", "..", ".a"],
    ".#": ["", ".", ".a", "a", "..", "a."],
    # '*'
    "*": ["", ".", "a", "a.b", "*", "#", " ", "é", "a."],
    "*.*": [".", "a.", ".b", "a.b", "a", "a.b.c", "", "..", "*.*"],
    "a.*": ["a", "a.", "a.b", "a.b.c", "b.a", "a.."],
    "*.a": [".a", "a", "b.a", "a.a", "..a", "a.b"],
    "*.": [".", "a.", "a", "", "a.b", ".."],
    ".*": [".", ".a", "a", "", "a.b"],
    "a.*.b": ["a..b", "a.x.b", "a.b", "a.x.y.b"],
    # two '#' words
    "#.#": ["", ".", "..", "a", "a.b", "a.b.c", "#.#"],
    "#.a.#": ["a", ".a.", "a.", ".a", "b.a.c", "a.a", "b", "ba.c", "b.c.d.a", "",
              "x.y.a.z.w", "A", A255],
    "a.#.#": ["a", "a.", "a.b", "a.b.c.d", "b", "", "b.a"],
    "#.#.a": ["a", "b.a", "b.c.a", "", "a.b", ".a"],
    "#.*.#": ["", ".", "a", "a.b", "a.b.c"],
    "#.*.*.#": ["", "a", ".", "a.b", "a.b.c"],
    "#.a.#.b": ["a.b", "a.c.b", "c.a.b.b", "b.a", "a", "a.b.c", "x.a.y.z.b"],
    "a.#.b.#": ["a.b", "a.x.b.y", "a.x.y", "b.a.b", "a.b.b"],
    "#.b.#.b": ["b.b", "b", "b.x.b", "x.b.y.b.z", "a.b.b.a"],
    "a.#.*.#": ["a", "a.b", "a.b.c", "b.c"],
    "*.#.*": ["", "a", ".", "a.b", "a.b.c", "a.b.c.d"],
    "#.*.a.#": ["a", "b.a", "a.a.a", "a.b"],
    # '*' next to '#'
    "*.#": ["", "a", ".", "a.b", LONG50],
    "#.*": ["", "a", ".", "a.b", LONG50],
    "*.*.#": ["a", "a.b", ".", "a.b.c"],
    "#.*.*": ["a", "a.b", ".", "a.b.c"],
    # wildcard-looking words are literal
    "a#b": ["a#b", "ab", "a.b", "a.x.b", "axb", "a#b.c"],
    "a*": ["a*", "a", "ab", "a.b", "a*.b"],
    "##": ["##", "", "a", "#", "a.b", "#.#"],
    "**": ["**", "a", "*", "", "a.b"],
    "*a": ["*a", "ba", "a", "b.a", "*"],
    "#a": ["#a", "a", "ba", "b.a", "#"],
    "a.#b": ["a.#b", "a.b", "a.x.b", "a.#.b"],
    "*#": ["*#", "x", "a.b", ""],
    "#*": ["#*", "x", ""],
    "a.*b.c": ["a.*b.c", "a.xb.c", "a.b.c"],
    "a.*.#x": ["a.b.#x", "a.b.x", "a.b.c.x"],
    # empty words and odd dots
    "": ["", ".", "a", " "],
    ".": [".", "", "a", "a.", ".a", ".."],
    "..": ["..", ".", "...", "a.b.c"],
    "a.": ["a.", "a", "a.b", "a.."],
    ".a": [".a", "a", "b.a"],
    "a..b": ["a..b", "a.b", "a.x.b", "a...b"],
    "a.b": ["a.b", "a.b.", ".a.b", "a..b", "ab", "a.b.c"],
    # case sensitivity
    "abc": ["abc", "ABC", "Abc", "abc "],
    "A.#": ["A.b", "a.b", "A"],
    "ß": ["ß", "SS", "ss"],
    # non-ASCII UTF-8
    "héllo.*": ["héllo.wörld", "hello.world", "héllo", "he\u0301llo.x"],
    "日本.#": ["日本.東京", "日本", "日本語", "東京.日本"],
    "*.ü": ["x.ü", "x.u", "x.u\u0308", "ü"],
    "🐇.*.#": ["🐇.a", "🐇", "🐇.a.b", "🐰.a"],
    # long keys and patterns
    "#.x": [LONG50X, LONG50, "x"],
    "#.w49": [LONG50, LONG50X],
    "w00.#": [LONG50, LONG50X],
    "w00.#.w49": [LONG50, LONG50X],
    ".".join(["*"] * 50): [LONG50, LONG50X, ".".join("w%02d" % i for i in range(49))],
    STAR128: [A255, A253],
    # Taskcluster-shaped
    TC_PAT: [TC_KEY, ".".join(tc_words[:9]), ".".join(tc_words[:8]),
             "primary." + "." * 7, "primary." + "." * 8, "secondary" + TC_KEY[7:]],
    "primary.#": [TC_KEY, "primary", "primaryx.a"],
    "primary.#.win2022.#": [TC_KEY, "primary.win2022", "primary.a.win2022x.b"],
    "primary.*.*.*.*.*.proj-x.#": [TC_KEY, "primary.a.b.c.d.e.proj-y.f"],
    "*.*.*.*.*.*.*.*.*.*": [TC_KEY, ".".join(tc_words[:9])],
    "route.index.#": ["route.index.gecko.v2.trunk.latest", "route.index", "route.index.",
                      "route.indexx.a", "route.notify.x", "route.Index.a", "route"],
    "route.#": ["route.index.gecko.v2.trunk.latest", "route", "routes.a"],
    "route.index.gecko.v2.*.latest.#": ["route.index.gecko.v2.trunk.latest",
                                        "route.index.gecko.v2.trunk.latest.x",
                                        "route.index.gecko.v2.a.b.latest"],
    "route.notify.email.*.on-failed": ["route.notify.email.dev@example.com.on-failed",
                                       "route.notify.email.dev@example-com.on-failed"],
}


def random_cases(n, rng):
    """Small-alphabet cases; about half the keys are derived from the pattern
    (wildcards instantiated) so that matches are common too."""
    out = []
    while len(out) < n:
        p = [rng.choice(["a", "b", "", "*", "#"]) for _ in range(rng.randint(0, 5))]
        if p.count("#") > 2:
            continue  # RabbitMQ 3.10 can pin a CPU on many '#'
        if rng.random() < 0.5:
            k = []
            for w in p:
                if w == "#":
                    k += [rng.choice(["a", "b", ""]) for _ in range(rng.randint(0, 2))]
                elif w == "*":
                    k.append(rng.choice(["a", "b", ""]))
                else:
                    k.append(w)
            if rng.random() < 0.3 and k:  # perturb one word
                k[rng.randrange(len(k))] = rng.choice(["a", "b", ""])
        else:
            k = [rng.choice(["a", "b", ""]) for _ in range(rng.randint(0, 5))]
        out.append((".".join(p), ".".join(k)))
    return out


def build_cases():
    cases, seen = [], set()
    for pat, keys in HAND.items():
        for key in keys:
            if (pat, key) not in seen:
                seen.add((pat, key))
                cases.append((pat, key))
    for pat, key in random_cases(60, random.Random(SEED)):
        if (pat, key) not in seen:
            seen.add((pat, key))
            cases.append((pat, key))
    for s in {x for c in cases for x in c}:
        assert len(s.encode()) <= 255 and "\t" not in s and "\n" not in s and s != EMPTY, s
        assert s.split(".").count("#") <= 2, s
    return cases


# --- talking to the broker -------------------------------------------------
def route(ch, patterns, keys):
    """Bind one queue per pattern to a fresh topic exchange, publish each key
    once, drain all queues. Returns {pattern: set(keys received)}."""
    ex = "topic-cases-" + uuid.uuid4().hex
    ch.exchange_declare(ex, "topic", auto_delete=True)
    queues = {}
    for p in patterns:
        q = ch.queue_declare("", exclusive=True, auto_delete=True).method.queue
        ch.queue_bind(q, ex, routing_key=p)
        queues[p] = q
    for i, k in enumerate(keys):  # confirm mode: returns once the broker has routed it
        ch.basic_publish(ex, k, str(i).encode(), pika.BasicProperties(message_id=str(i)))
    got = {}
    for p, q in queues.items():
        got[p] = set()
        while True:
            m, props, body = ch.basic_get(q, auto_ack=True)
            if m is None:
                break
            assert props.message_id == body.decode(), (props.message_id, body)
            got[p].add(keys[int(body)])
        assert ch.queue_declare(q, passive=True).method.message_count == 0
        ch.queue_delete(q)
    ch.exchange_delete(ex)
    return got


def main():
    cases = build_cases()
    conn = pika.BlockingConnection(pika.URLParameters(URL))
    version = conn._impl.server_properties["version"]
    version = version.decode() if isinstance(version, bytes) else version
    ch = conn.channel()
    ch.confirm_delivery()

    patterns = list(dict.fromkeys(p for p, _ in cases))
    keys = list(dict.fromkeys(k for _, k in cases))
    shared = route(ch, patterns, keys)
    isolated = {}
    for p in patterns:
        isolated.update(route(ch, [p], [k for pp, k in cases if pp == p]))
    conn.close()

    verdict = {}
    for p, k in cases:
        a, b = k in shared[p], k in isolated[p]
        if a != b:
            sys.exit("shared/isolated disagree on %r %r: %s vs %s" % (p, k, a, b))
        verdict[(p, k)] = a

    # Full cross product from the shared exchange vs our rules (report only).
    cross = [(p, k) for p in patterns for k in keys if (k in shared[p]) != rule_match(p, k)]
    print("RabbitMQ %s: %d cases, %d patterns x %d keys; cross-product disagreements "
          "with rule_match: %d" % (version, len(cases), len(patterns), len(keys), len(cross)))
    for p, k in cross:
        print("  DISAGREE broker=%s rules=%s pattern=%r key=%r"
              % (k in shared[p], rule_match(p, k), p, k if len(k) < 60 else k[:60] + "..."))

    esc = lambda s: s if s else EMPTY
    today = datetime.date.today().isoformat()
    with open(OUT, "w", encoding="utf-8", newline="\n") as f:
        f.write(
            "# RabbitMQ topic-exchange matching cases: pattern<TAB>routing_key<TAB>match|nomatch\n"
            "# Every verdict was recorded from a real RabbitMQ %s topic exchange on %s by\n"
            "# binding one queue per pattern, publishing each key once and seeing which\n"
            "# bound queue received it (scripts/record-topic-cases.py, random seed %d).\n"
            "# An empty pattern or key is written as the literal token %s.\n"
            "# Comment lines contain no tab; every case line has exactly two tabs.\n"
            "# Text is UTF-8, compared byte for byte; fields are not trimmed (' ' is a key).\n" % (version, today, SEED, EMPTY))
        for p, k in cases:
            f.write("%s\t%s\t%s\n" % (esc(p), esc(k), "match" if verdict[(p, k)] else "nomatch"))
    print("wrote %s" % os.path.normpath(OUT))


if __name__ == "__main__":
    main()
