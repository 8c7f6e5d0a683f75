#!/usr/bin/env bash
# Training throughput of histinit (CPU backend, and wgpu where a device exists) against
# PyTorch on the CPU, measured in the same run; prints ratios. Not a test: record the
# output in docs/benchmarks.md.
#   benchmarks/run.sh [--backends cpu,wgpu] [--batch 16] [--steps 10] [--threads N]
#     --threads N: both sides on N threads (RAYON_NUM_THREADS, OMP_NUM_THREADS for LibTorch,
#     and torch.set_num_threads;
#     default: all cores). On a machine shared with other work, 1 thread each is the
#     steadier comparison: PyTorch's OpenMP threads slow down badly when a core is taken.
#   The machine (CPU model, SIMD, the kernels flex uses) is printed first: benchmarks/machine.sh.
#   HISTINIT_BIN=path: measure that histinit binary (e.g. one built before a change) instead
#   of building this checkout's.
#   --backends cpu,libtorch with HISTINIT_BIN=a build with `--features libtorch` adds Burn's
#   LibTorch backend (docs/benchmarks.md, "A LibTorch backend"; its LibTorch's lib folder
#   on LD_LIBRARY_PATH).
#   benchmarks/run.sh --page [options]   the playground page against the native CLI
#     (issue 5; options in benchmarks/page-vs-native.mjs). Serves www/pkg as built by
#     `make web` or `make web-dev`; needs `npm ci` in tests/e2e (playwright-core).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/histinit/target}"
if [ "${1:-}" = --page ]; then
  shift
  patches/cargo.sh build -q --bin histinit
  benchmarks/machine.sh "$CARGO_TARGET_DIR/debug/histinit"
  exec node benchmarks/page-vs-native.mjs "$@"
fi
backends=cpu batch=16 steps=10 threads=$(nproc)
while [ $# -gt 0 ]; do
  case "$1" in
    --backends) backends=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --threads) threads=$2; export RAYON_NUM_THREADS=$2 OMP_NUM_THREADS=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
out=$(mktemp -d)
if [ -z "${HISTINIT_BIN:-}" ]; then
  patches/cargo.sh build -q --workspace
  HISTINIT_BIN=$CARGO_TARGET_DIR/debug/histinit
fi
benchmarks/machine.sh "$HISTINIT_BIN"
"$HISTINIT_BIN" bench --presets micro,pythia-14m --backends "$backends" \
  --batch "$batch" --steps "$steps" --json "$out/histinit.json"
PYTHON="${PYTHON:-python3}"
if "$PYTHON" -c 'import torch, transformers' 2>/dev/null; then
  "$PYTHON" benchmarks/torch_peer.py --presets micro,pythia-14m --batch "$batch" --steps "$steps" --threads "$threads" \
    | tee "$out/torch.jsonl"
else
  echo "PyTorch not installed (pip install torch transformers): no peer, no ratios"
  exit 0
fi
python3 benchmarks/ratios.py "$out/histinit.json" "$out/torch.jsonl"
