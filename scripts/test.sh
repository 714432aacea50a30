#!/usr/bin/env bash
# Every test of the workspace, on a fresh machine: installs and starts the
# loopback RabbitMQ nodes the broker tests need, then runs the test suite
# against them. Extra arguments go to `cargo test`.
#   scripts/test.sh                 # everything
#   scripts/test.sh --test broker   # one test binary
# The nodes: rabbit@localhost on 5672 (scripts/rabbitmq.sh) and a TLS node on
# 5671 (scripts/rabbitmq-tls.sh), which stay up for the next run (stop them
# with each script's `stop`), and a 3-node cluster on 5673-5675
# (scripts/rabbitmq-cluster.sh), started fresh for the cluster tests and the
# 3-minute chaos soak (scripts/soak.sh) and stopped after them.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/rabbitmq.sh start >/dev/null
scripts/rabbitmq-tls.sh start >/dev/null
export PULSE_TEST_URL=amqp://guest:guest@127.0.0.1:5672
export PULSE_TLS_TEST_URL=amqps://guest:guest@localhost:5671
export PULSE_TLS_TEST_DIR=${PULSE_TLS_DIR:-/tmp/pulse-binding-tls}
cargo test --workspace --all-features "$@"

# The cluster tests (`test = false`: they kill nodes, so they run on their
# own nodes, after the rest), unless a single test binary was asked for.
if [ $# -eq 0 ]; then
  eval "export $(scripts/rabbitmq-cluster.sh start | grep '^PULSE_CLUSTER_URLS=')"
  cargo test -p pulse-binding-tests --all-features --test cluster
  # The chaos soak, short (docs/soak.md): kill -9, SIGSTOP, closed
  # connections and a password change under handler-mode retries.
  scripts/soak.sh --minutes 3
  scripts/rabbitmq-cluster.sh stop >/dev/null
fi
