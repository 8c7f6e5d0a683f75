#!/usr/bin/env bash
# Usage: patches/patched-wgpu.sh VERSION PATCH DEST   (run from the repository root)
#
# Makes DEST the crates.io source of wgpu VERSION (as cargo unpacks it, without its
# Cargo.lock) with PATCH applied; see patches/README.md. DEST.stamp records the version and
# the patch's sha256: while it matches, nothing is done. Otherwise the patched source is
# built in a temporary folder and replaces DEST only if its content differs, because cargo
# rebuilds a path dependency (and all of Burn above it) whenever its files look new.
set -euo pipefail

version=$1 patch_file=$2 dest=$3
stamp="wgpu $version + $(basename "$patch_file") sha256 $(sha256sum < "$patch_file" | cut -d' ' -f1)"

mkdir -p "$(dirname "$dest")"
exec 9> "$dest.lock"
flock 9 # several clones may run `make setup` at the same time
if [ -d "$dest" ] && [ "$(cat "$dest.stamp" 2> /dev/null)" = "$stamp" ]; then exit 0; fi

registry=${CARGO_HOME:-$HOME/.cargo}/registry
# Cargo writes .cargo-ok last when it unpacks a crate.
unpacked() { for d in "$registry"/src/*/"wgpu-$version"; do [ -s "$d/.cargo-ok" ] && echo "$d" && return; done; true; }
src=$(unpacked)
if [ -z "$src" ]; then
  # Nothing built yet on this machine: cargo downloads and unpacks what the wasm build needs.
  "${CARGO:-cargo}" fetch -q --target wasm32-unknown-unknown || echo "warning: cargo fetch failed" >&2
  src=$(unpacked)
fi

tmp=$(mktemp -d "$dest.new.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
if [ -n "$src" ]; then
  cp -r "$src" "$tmp/wgpu"
else
  crate=$(ls "$registry"/cache/*/"wgpu-$version.crate" 2> /dev/null | head -n 1) || true
  if [ -z "$crate" ]; then
    echo "error: no wgpu $version source under $registry (cargo fetch could not download it)" >&2
    exit 1
  fi
  tar -xzf "$crate" -C "$tmp"
  mv "$tmp/wgpu-$version" "$tmp/wgpu"
fi
# A dependency's Cargo.lock is unused; the VCS info names the upstream commit, not this copy.
rm -f "$tmp/wgpu/Cargo.lock" "$tmp/wgpu/.cargo_vcs_info.json"
if ! patch -d "$tmp/wgpu" -p1 --batch --fuzz=0 --no-backup-if-mismatch --quiet < "$patch_file"; then
  echo "error: $patch_file does not apply to wgpu $version" >&2
  exit 1
fi

if diff -r "$tmp/wgpu" "$dest" > /dev/null 2>&1; then
  echo "$dest already holds wgpu $version with $(basename "$patch_file"); files left as they are"
else
  echo "writing wgpu $version with $(basename "$patch_file") to $dest"
  rm -rf "$dest"
  mv "$tmp/wgpu" "$dest"
fi
echo "$stamp" > "$dest.stamp"
