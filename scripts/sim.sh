#!/usr/bin/env bash
# More seeds of the deterministic simulation (tests/sim/) than CI runs, or a
# check that it catches a deliberately wrong client:
#   scripts/sim.sh [N [FIRST]]       # N seeds (default 20000) from FIRST (default random)
#   scripts/sim.sh --wrong VARIANT   # seeds 0..2000 against a wrong variant: must fail
# VARIANT is one of ack-on-newer-connection, no-flush-at-shutdown,
# ack-before-retry-confirmed (see docs/testing.md). They are built with
# --cfg pulse_wrong="VARIANT" in target/sim-wrong, never in the normal build.
# A failing seed prints the one command that replays it (SIM_SEED=...).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--wrong" ]; then
  variant=${2:?"--wrong needs a variant"}
  echo "sim.sh: seeds 0..2000 against the wrong variant $variant" >&2
  if RUSTFLAGS="--cfg pulse_wrong=\"$variant\"" CARGO_TARGET_DIR=target/sim-wrong SIM_SEEDS=2000 \
    cargo test -q -p pulse-binding-tests --all-features --test sim -- --nocapture; then
    echo "sim.sh: the simulation did NOT catch $variant" >&2
    exit 1
  fi
  echo "sim.sh: caught $variant (the first failing seed is above)" >&2
  exit 0
fi

count=${1:-20000}
first=${2:-$(( (RANDOM << 15 | RANDOM) * 1000 ))}
echo "sim.sh: $count seed(s) from $first" >&2
SIM_FIRST_SEED=$first SIM_SEEDS=$count \
  cargo test -q -p pulse-binding-tests --all-features --test sim -- --nocapture
