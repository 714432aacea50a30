#!/usr/bin/env bash
# Paired rounds of the consumer bench built without and with the `metrics`
# feature (which then records to a Prometheus recorder): one round of the
# typed auto-ack and ack()-spawned paths each, alternating which build goes
# first, PAIRS times (10 unless set). docs/benchmarks.md has the figures.
#   scripts/rabbitmq.sh start
#   PULSE_TEST_URL=amqp://guest:guest@127.0.0.1:5672 scripts/bench-metrics-pairs.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bench() {
  cargo bench -p pulse-binding --features "$1" --bench consumer --no-run 2>&1 |
    sed -n 's/.*Executable .*(\(.*\)).*/\1/p'
}
OFF=$(bench client)
ON=$(bench client,metrics)
export PULSE_TEST_URL=${PULSE_TEST_URL:-amqp://guest:guest@127.0.0.1:5672} BENCH_ROUNDS=1 BENCH_PATHS=3,4
for i in $(seq 1 ${PAIRS:-10}); do
  if [ $((i % 2)) = 1 ]; then order="off on"; else order="on off"; fi
  for which in $order; do
    if [ $which = off ]; then exe=$OFF; else exe=$ON; fi
    "$exe" 2>&1 | grep -E '^  typed' | sed "s/^/pair $i $which /"
  done
done
