#!/usr/bin/env bash
# Usage: patches/cargo.sh [--wasm] CARGO-ARGUMENTS...
#
# cargo with histinit's patched dependencies (patches/README.md): burn-flex (natively
# with both of its patches, with --wasm with the first), and with --wasm also wgpu with
# patches/wgpu-subgroups.patch (wasm32 builds only). Each patched source is made once in
# ~/.cache/histinit (patched-crate.sh; a few milliseconds once made), outside the clone and
# at a fixed path so that every clone shares one build. The Makefile and the scripts build through here; a plain `cargo`
# builds the registry's burn-flex instead (it works, slower, in its own artifacts).
#
# A patch given with --config rewrites Cargo.lock's entry to the path form; a plain
# `cargo fetch` (instant: everything is downloaded by then) writes the committed registry
# form back, also when the command failed.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cargo=${CARGO:-cargo}
cache=$HOME/.cache/histinit
locked_version() { sed -n "/^name = \"$1\"\$/{n;s/^version = \"\(.*\)\"\$/\1/p;}" "$root/Cargo.lock"; }

config=()
# burn-flex's patches, in order. The page's module (--wasm) leaves out the vectorized exp
# and erf: it is built at opt-level "z", where LLVM does not vectorize loops, and the
# branch-free formulas one float at a time made the page's step 20-25% slower than libm's
# (patches/README.md); it keeps one allocation per output.
flex_patches=(burn-flex-empty-once.patch burn-flex-vector-exp-erf.patch)
flex_folder=patched
wasm=false
if [ "${1:-}" = --wasm ]; then
  shift
  wasm=true
  flex_patches=(burn-flex-empty-once.patch)
  flex_folder=patched-wasm
fi
flex_version=$(locked_version burn-flex)
flex_dest=$cache/burn-flex-$flex_version-$flex_folder
CARGO=$cargo "$root/patches/patched-crate.sh" burn-flex "$flex_version" "$flex_dest" "${flex_patches[@]/#/$root/patches/}" || exit
config+=(--config "patch.crates-io.burn-flex.path=\"$flex_dest\"")
if $wasm; then
  wgpu_version=$(locked_version wgpu)
  wgpu_dest=$cache/wgpu-$wgpu_version-subgroups
  CARGO=$cargo "$root/patches/patched-crate.sh" wgpu "$wgpu_version" "$wgpu_dest" "$root/patches/wgpu-subgroups.patch" || exit
  config+=(--config "patch.crates-io.wgpu.path=\"$wgpu_dest\"")
fi

$cargo "${config[@]}" "$@"
status=$?
(cd "$root" && $cargo fetch -q) || true
exit $status
