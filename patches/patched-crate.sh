#!/usr/bin/env bash
# Usage: patches/patched-crate.sh CRATE VERSION DEST PATCH...   (run from the repository root)
#
# Makes DEST the crates.io source of CRATE VERSION (as cargo unpacks it, without its
# Cargo.lock) with the PATCHes applied in order; see patches/README.md. DEST.stamp records
# the version and each patch's sha256: while it matches, nothing is done. Otherwise the
# patched source is built in a temporary folder and replaces DEST only if its content
# differs, because cargo rebuilds a path dependency (and all of Burn above it) whenever its
# files look new.
set -euo pipefail

crate=$1 version=$2 dest=$3
shift 3
stamp="$crate $version"
for patch_file in "$@"; do
  stamp="$stamp + $(basename "$patch_file") sha256 $(sha256sum < "$patch_file" | cut -d' ' -f1)"
done

mkdir -p "$(dirname "$dest")"
exec 9> "$dest.lock"
flock 9 # several clones may run `make setup` at the same time
if [ -d "$dest" ] && [ "$(cat "$dest.stamp" 2> /dev/null)" = "$stamp" ]; then exit 0; fi

registry=${CARGO_HOME:-$HOME/.cargo}/registry
# Cargo writes .cargo-ok last when it unpacks a crate.
unpacked() { for d in "$registry"/src/*/"$crate-$version"; do [ -s "$d/.cargo-ok" ] && echo "$d" && return; done; true; }
src=$(unpacked)
if [ -z "$src" ]; then
  # Nothing built yet on this machine: cargo downloads and unpacks what the builds need
  # (for every target, so the wasm-only wgpu too).
  ${CARGO:-cargo} fetch -q || echo "warning: cargo fetch failed" >&2
  src=$(unpacked)
fi

tmp=$(mktemp -d "$dest.new.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
if [ -n "$src" ]; then
  cp -r "$src" "$tmp/$crate"
else
  archive=$(ls "$registry"/cache/*/"$crate-$version.crate" 2> /dev/null | head -n 1) || true
  if [ -z "$archive" ]; then
    echo "error: no $crate $version source under $registry (cargo fetch could not download it)" >&2
    exit 1
  fi
  tar -xzf "$archive" -C "$tmp"
  mv "$tmp/$crate-$version" "$tmp/$crate"
fi
# A dependency's Cargo.lock is unused; the VCS info names the upstream commit, not this copy.
rm -f "$tmp/$crate/Cargo.lock" "$tmp/$crate/.cargo_vcs_info.json"
for patch_file in "$@"; do
  if ! patch -d "$tmp/$crate" -p1 --batch --fuzz=0 --no-backup-if-mismatch --quiet < "$patch_file"; then
    echo "error: $patch_file does not apply to $crate $version" >&2
    exit 1
  fi
done

names=$(for p in "$@"; do basename "$p"; done | paste -sd' ')
if diff -r "$tmp/$crate" "$dest" > /dev/null 2>&1; then
  echo "$dest already holds $crate $version with $names; files left as they are"
else
  echo "writing $crate $version with $names to $dest"
  rm -rf "$dest"
  mv "$tmp/$crate" "$dest"
fi
echo "$stamp" > "$dest.stamp"
