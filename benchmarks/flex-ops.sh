#!/usr/bin/env bash
# Accuracy and speed of burn-flex 0.22.1 before/after patches/burn-flex-empty-once.patch and
# patches/burn-flex-vector-exp-erf.patch, in one process (benchmarks/flex-ops/main.rs).
#   benchmarks/flex-ops.sh            prints a markdown report; exits non-zero when an
#                                     accuracy bound fails
# Builds a throwaway cargo project in a temp folder with the registry crate as `flex_before`
# and the patched copy the project's builds use (~/.cache/histinit/burn-flex-*-patched,
# patches/patched-crate.sh) as `flex_after`, release mode, into its own target folder
# ($TARGET, default ~/.cache/histinit/target-flex-ops) so the project's build is untouched.
# Single thread (RAYON_NUM_THREADS=1) unless RAYON_NUM_THREADS is set.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${TARGET:-$HOME/.cache/histinit/target-flex-ops}
version=$(sed -n '/^name = "burn-flex"$/{n;s/^version = "\(.*\)"$/\1/p;}' "$repo/Cargo.lock")

tmp=$(mktemp -d "${TMPDIR:-/tmp}/flex-ops.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bench/src"

manifest() { # $1: extra dependency lines
  cat > "$tmp/bench/Cargo.toml" <<EOF
[package]
name = "flex-ops"
version = "0.0.0"
edition = "2024"
publish = false

# Not part of any workspace above the temp folder.
[workspace]

[dependencies]
flex_before = { package = "burn-flex", version = "=$version" }
burn-backend = "=$version"
$1
[profile.release]
opt-level = 3
EOF
}

# The patched copy the builds use (patches/cargo.sh): made here if it is not there yet.
patched=$HOME/.cache/histinit/burn-flex-$version-patched
(cd "$repo" && patches/patched-crate.sh burn-flex "$version" "$patched" patches/burn-flex-empty-once.patch patches/burn-flex-vector-exp-erf.patch)

manifest "flex_after = { package = \"burn-flex\", path = \"$patched\" }"
cp "$repo/benchmarks/flex-ops/main.rs" "$tmp/bench/src/main.rs"
# Same versions of the shared dependencies as the project where it has a lock file.
[ -f "$repo/Cargo.lock" ] && cp "$repo/Cargo.lock" "$tmp/bench/Cargo.lock"

cd "$tmp/bench"
export CARGO_TARGET_DIR=$TARGET
export RAYON_NUM_THREADS=${RAYON_NUM_THREADS:-1}
nice -n 5 cargo build --release --quiet
echo "# burn-flex $version: before/after patches (benchmarks/flex-ops.sh)"
echo
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || uname -m)"
echo
"$TARGET/release/flex-ops"
