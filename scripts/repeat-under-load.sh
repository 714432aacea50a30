#!/usr/bin/env bash
# Runs one broker test over and over while the load test (100,000 messages)
# runs beside it, to bring out races that only a loaded broker shows; prints
# how many runs failed per round and keeps each failure's output.
#   scripts/repeat-under-load.sh FILTER [ROUNDS]
# e.g. scripts/repeat-under-load.sh bodies_that_do_not_decode 3
# Needs the node on 5672 (scripts/rabbitmq.sh start).
set -uo pipefail
cd "$(dirname "$0")/.."
filter=${1:?usage: scripts/repeat-under-load.sh FILTER [ROUNDS]}
rounds=${2:-3}
export PULSE_TEST_URL=${PULSE_TEST_URL:-amqp://guest:guest@127.0.0.1:5672}
out=$(mktemp -d)
run() { cargo test -q -p pulse-binding-tests --all-features --test broker "$@"; }
run --no-run >/dev/null 2>&1 || { echo "the broker tests do not build" >&2; exit 2; }
total=0
for round in $(seq 1 "$rounds"); do
  run -- load:: >"$out/load.log" 2>&1 &
  load=$!
  sleep 3
  runs=0 fails=0
  while kill -0 "$load" 2>/dev/null; do
    runs=$((runs + 1))
    if ! timeout 120 cargo test -q -p pulse-binding-tests --all-features --test broker "$filter" >"$out/run.log" 2>&1; then
      fails=$((fails + 1))
      cp "$out/run.log" "$out/fail-$round-$runs.log"
    fi
  done
  wait "$load"
  total=$((total + fails))
  echo "round $round: $runs runs, $fails failed"
done
echo "failures kept in $out"
[ "$total" -eq 0 ]
