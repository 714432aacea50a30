#!/usr/bin/env bash
# The chaos soak (tests/soak/main.rs) on the 3-node loopback cluster:
#   scripts/soak.sh [--minutes M] [--rate R] [--seed S]
# Starts the cluster (scripts/rabbitmq-cluster.sh), runs the soak for M minutes
# (default 10) at R messages a second (default 100), prints its report and
# exits non-zero when a check failed. The cluster stays up (stop it with
# scripts/rabbitmq-cluster.sh stop).
set -euo pipefail
cd "$(dirname "$0")/.."

minutes=10 rate=100 seed=1
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) minutes=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    *) echo "usage: scripts/soak.sh [--minutes M] [--rate R] [--seed S]" >&2; exit 2 ;;
  esac
done

eval "export $(scripts/rabbitmq-cluster.sh start | grep '^PULSE_CLUSTER_URLS=')"
cargo build -q -p pulse-binding-tests --all-features --test soak
SOAK_MINUTES=$minutes SOAK_RATE=$rate SOAK_SEED=$seed \
  cargo test -q -p pulse-binding-tests --all-features --test soak
