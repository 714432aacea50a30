#!/usr/bin/env bash
# Packages the three published crates (the derive, the runtime and the `pulse`
# tool) as `cargo publish` would and builds each from its .crate file,
# uploading nothing:
#   scripts/package-check.sh
# First it checks that each package's file list (`cargo package --list`) holds
# the licence texts its licence expression needs (and the runtime its NOTICE,
# which names its Taskcluster-derived files), and fails naming the package and
# the missing file if not.
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

# package: the files its .crate must hold besides the code.
declare -A required=(
  [pulse-binding-derive]="LICENSE-MIT LICENSE-APACHE"
  [pulse-binding]="LICENSE-MIT LICENSE-APACHE LICENSE-MPL-2.0 NOTICE"
  [pulse-binding-cli]="LICENSE-MIT LICENSE-APACHE"
)
missing=0
for package in pulse-binding-derive pulse-binding pulse-binding-cli; do
  list=$(cargo package --list --allow-dirty -p "$package")
  for file in ${required[$package]}; do
    if ! grep -qxF "$file" <<<"$list"; then
      echo "package-check: the $package package lacks $file (not in \`cargo package --list -p $package\`)" >&2
      missing=1
    fi
  done
done
if [[ $missing -ne 0 ]]; then
  echo "package-check: copy the missing files into the package's folder" >&2
  exit 1
fi

cargo package --allow-dirty --all-features -p pulse-binding-derive -p pulse-binding -p pulse-binding-cli

