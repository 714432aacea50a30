#!/usr/bin/env bash
# The whole broker suite, RUNS times in a row, while the load test (100,000
# messages) runs over and over beside it: the successor of
# scripts/repeat-under-load.sh for the suite as a whole. Prints each run's
# verdict and keeps each failed run's output; exits non-zero if any failed.
#   scripts/suite-under-load.sh [RUNS]     # default 20
# The load's own failures do not count (the suite's fault tests restart the
# broker under it); only the suite's do. Needs the node on 5672
# (scripts/rabbitmq.sh start) and the TLS node (scripts/rabbitmq-tls.sh start).
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
export PULSE_TEST_URL=${PULSE_TEST_URL:-amqp://guest:guest@127.0.0.1:5672}
export PULSE_TLS_TEST_URL=${PULSE_TLS_TEST_URL:-amqps://guest:guest@localhost:5671}
export PULSE_TLS_TEST_DIR=${PULSE_TLS_TEST_DIR:-/tmp/pulse-binding-tls}
suite() { cargo test -q -p pulse-binding-tests --all-features --test broker "$@"; }
suite --no-run >/dev/null 2>&1 || { echo "the broker tests do not build" >&2; exit 2; }
out=$(mktemp -d)
( while :; do suite -- load:: >"$out/load.log" 2>&1; done ) &
load=$!
trap 'kill $load 2>/dev/null; pkill -P $load 2>/dev/null' EXIT
failed=0
for run in $(seq 1 "$runs"); do
  started=$SECONDS
  if suite >"$out/run-$run.log" 2>&1; then
    echo "run $run: passed in $((SECONDS - started)) s"
    rm "$out/run-$run.log"
  else
    failed=$((failed + 1))
    echo "run $run: FAILED in $((SECONDS - started)) s ($out/run-$run.log):"
    grep -E "^test .* FAILED|panicked at" -A2 "$out/run-$run.log" | head -12
  fi
done
echo "$((runs - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
