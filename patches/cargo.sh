#!/usr/bin/env bash
# Usage: patches/cargo.sh [--wasm] CARGO-ARGUMENTS...
#
# cargo with histinit's patched dependencies (patches/README.md): burn-flex with every
# patches/burn-flex-*.patch (native and wasm32 builds alike: the page's CPU fallback is the
# same flex code), and with --wasm also wgpu with patches/wgpu-subgroups.patch (wasm32
# only). Each patched source is made once in ~/.cache/histinit (patched-crate.sh; a few
# milliseconds once made), outside the clone and at a fixed path so that every clone
# shares one build. The Makefile and the scripts build through here; a plain `cargo`
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
flex_patches=("$root"/patches/burn-flex-*.patch)
if [ -e "${flex_patches[0]}" ]; then
  flex_version=$(locked_version burn-flex)
  flex_dest=$cache/burn-flex-$flex_version-patched
  CARGO=$cargo "$root/patches/patched-crate.sh" burn-flex "$flex_version" "$flex_dest" "${flex_patches[@]}" || exit
  config+=(--config "patch.crates-io.burn-flex.path=\"$flex_dest\"")
fi
if [ "${1:-}" = --wasm ]; then
  shift
  wgpu_version=$(locked_version wgpu)
  wgpu_dest=$cache/wgpu-$wgpu_version-subgroups
  CARGO=$cargo "$root/patches/patched-crate.sh" wgpu "$wgpu_version" "$wgpu_dest" "$root/patches/wgpu-subgroups.patch" || exit
  config+=(--config "patch.crates-io.wgpu.path=\"$wgpu_dest\"")
fi

$cargo "${config[@]}" "$@"
status=$?
if [ ${#config[@]} -gt 0 ]; then (cd "$root" && $cargo fetch -q) || true; fi
exit $status
