#!/usr/bin/env bash
# histinit with Burn's LibTorch backend (burn-tch: PyTorch's own kernels), for big CPU or
# CUDA runs and for benchmarks (issue 14; numbers in docs/benchmarks.md). Never part of
# `make test`: it needs LibTorch 2.9.0 exactly (Cargo.lock's tch 0.22.0 binds that release)
# and is a build of its own (~19 minutes on 2 cores).
#   benchmarks/libtorch.sh build       torch==2.9.0 from PyPI into $VENV (about 7 GB with its
#                                      CUDA libraries) where missing, then the CLI with
#                                      `--features libtorch` (without wgpu) into $TARGET
#   benchmarks/libtorch.sh ARGS...     that binary with LibTorch's libraries found, e.g.
#     benchmarks/libtorch.sh run --link '...' --backend libtorch
#     benchmarks/libtorch.sh bench --backends cpu,libtorch
#   benchmarks/libtorch.sh path        prints the binary's path and the LD_LIBRARY_PATH it
#                                      needs (for HISTINIT_BIN=... benchmarks/run.sh)
# `--backend libtorch` takes LibTorch's first CUDA device where it sees one, else its CPU;
# OMP_NUM_THREADS sets its CPU threads.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-$HOME/.cache/histinit/venv-torch29}
TARGET=${TARGET:-$HOME/.cache/histinit/target-tch}
TORCH_VERSION=2.9.0
binary=$TARGET/debug/histinit
torch_lib() { "$VENV/bin/python" -c 'import torch, pathlib; print(pathlib.Path(torch.__file__).parent / "lib")'; }
case "${1:-}" in
  build)
    if ! "$VENV/bin/python" -c "import torch; assert torch.__version__.split('+')[0] == '$TORCH_VERSION'" 2>/dev/null; then
      python3 -m venv "$VENV"
      "$VENV/bin/pip" install "torch==$TORCH_VERSION"
    fi
    # torch-sys finds LibTorch through the venv's python (LIBTORCH_USE_PYTORCH).
    PATH="$VENV/bin:$PATH" LIBTORCH_USE_PYTORCH=1 CARGO_TARGET_DIR=$TARGET \
      patches/cargo.sh build --bin histinit -p histinit-cli --no-default-features --features libtorch
    echo "built $binary"
    ;;
  path)
    echo "HISTINIT_BIN=$binary LD_LIBRARY_PATH=$(torch_lib)"
    ;;
  "")
    sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
    ;;
  *)
    [ -x "$binary" ] || { echo "no $binary: run benchmarks/libtorch.sh build first" >&2; exit 1; }
    LD_LIBRARY_PATH="$(torch_lib)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" exec "$binary" "$@"
    ;;
esac
