#!/usr/bin/env bash
# Packages the three published crates (the derive, the runtime and the `pulse`
# tool) as `cargo publish` would and builds each from its .crate file,
# uploading nothing:
#   scripts/package-check.sh
# pulse-binding pins pulse-binding-derive `=x.y.z` from crates.io, where this
# version is not published yet, so `cargo package -p pulse-binding` alone fails
# ("no matching package named `pulse-binding-derive`"), and likewise the tool,
# which pins pulse-binding. Packaging them in one command makes cargo verify
# each against the freshly packaged others (through a temporary local registry
# under target/package/). `--all-features`
# also builds the packaged `client` module. `--allow-dirty` lets it run on a
# work tree with uncommitted changes (a fresh clone, as in CI, has none).
# Needs the crates.io index (to resolve the packaged crates' dependencies).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo package --allow-dirty --all-features -p pulse-binding-derive -p pulse-binding -p pulse-binding-cli

