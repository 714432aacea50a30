#!/usr/bin/env bash
# What the `metrics` feature costs a consumer, in instructions: the consumer
# bench (runtime/benches/consumer.rs) built without and with the feature, each
# run under callgrind counting only the drain (`--toggle-collect` on the
# bench's `on`, which runs a path's drain and nothing else; the fill, the
# setup and lapin's I/O thread are not counted). Instruction counts, unlike
# rates, do not move with the machine's load. Per message, each path is run
# with SMALL and LARGE messages (10,000 and 50,000 unless set) and the
# difference is divided by LARGE - SMALL, so the connection's setup drops
# out. Paths: 3 (typed, auto_ack) and 4 (typed, ack() spawned). The two
# builds' totals move by a percent or two from run to run (how deliveries and
# acknowledgements batch depends on timing), so for the build with metrics it
# also prints the instructions spent inside the recording calls themselves
# (`observe::metrics::Meter::*`, inclusive): the feature's own cost, whatever
# the batching. docs/benchmarks.md has the figures.
#   scripts/rabbitmq.sh start
#   PULSE_TEST_URL=amqp://guest:guest@127.0.0.1:5672 scripts/bench-metrics-instructions.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 2; }
bench() {
  cargo bench -p pulse-binding --features "$1" --bench consumer --no-run 2>&1 |
    sed -n 's/.*Executable .*(\(.*\)).*/\1/p'
}
OFF=$(bench client)
ON=$(bench client,metrics)
small=${SMALL:-10000} large=${LARGE:-50000}
export PULSE_TEST_URL=${PULSE_TEST_URL:-amqp://guest:guest@127.0.0.1:5672} BENCH_ROUNDS=1
out=$(mktemp -d)
count() { # exe path messages -> "drain recording": instructions in the drain, and in Meter::*
  BENCH_PATHS=$2 BENCH_MESSAGES=$3 valgrind --tool=callgrind --toggle-collect='consumer::on*' \
    --callgrind-out-file="$out/cg" "$1" >/dev/null 2>"$out/log"
  local drain recording
  drain=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$out/log")
  recording=$(callgrind_annotate --inclusive=yes --threshold=100 "$out/cg" 2>/dev/null |
    { grep 'observe::metrics::Meter::' || true; } | awk '{gsub(",", "", $1); s += $1} END {print s + 0}')
  echo "$drain $recording"
}
for path in 3 4; do
  for which in off on; do
    if [ $which = off ]; then exe=$OFF; else exe=$ON; fi
    read -r a ra < <(count "$exe" $path "$small")
    read -r b rb < <(count "$exe" $path "$large")
    line="path $path $which: $a instructions for $small messages, $b for $large: $(( (b - a) / (large - small) )) per message"
    if [ $which = on ]; then
      line="$line, of which recording metrics $(( (rb - ra) / (large - small) ))"
    fi
    echo "$line"
  done
done
rm -r "$out"
