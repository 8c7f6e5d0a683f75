#!/usr/bin/env bash
# On a GPU machine (it needs no Rust toolchain, only a built `histinit` and Python with
# PyTorch and transformers): native throughput of histinit's wgpu backend on the real GPU
# against PyTorch on CUDA, both measured in this run, then the `gpu-14m` study until a
# deadline (resumable: rerun with the same OUT to go on). Record the output in
# docs/benchmarks.md.
#   benchmarks/gpu.sh HISTINIT_BINARY OUT_DIR [DEADLINE_SECONDS] [FUSED_BINARY]
# FUSED_BINARY: a histinit built with Burn's fusion and autotune
# (`cargo build --bin histinit --features histinit-core/fusion,histinit-core/autotune`
# in its own CARGO_TARGET_DIR), measured the same way right after the plain one.
set -uo pipefail
bin=$1 out=$2 deadline=${3:-540} fused=${4:-}
mkdir -p "$out"
presets=nano,micro,pythia-14m,pythia-31m,pythia-70m
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
echo "cpus: $(nproc)"
# Fail fast when wgpu finds no GPU adapter.
timeout 120 "$bin" bench --presets nano --backends wgpu --batch 16 --steps 2 --warmup 1 || exit 1
timeout 240 "$bin" bench --presets "$presets" --backends wgpu --batch 16 --steps 20 --warmup 3 \
  --json "$out/histinit-wgpu.json"
timeout 120 python3 benchmarks/torch_peer.py --device cuda --presets "$presets" --batch 16 \
  --steps 20 --warmup 3 | tee "$out/torch-cuda.jsonl"
python3 benchmarks/ratios.py "$out/histinit-wgpu.json" "$out/torch-cuda.jsonl"
if [ -n "$fused" ]; then
  echo "fusion + autotune:"
  timeout 600 "$fused" bench --presets "$presets" --backends wgpu --batch 16 --steps 20 --warmup 3 \
    --json "$out/histinit-wgpu-fused.json"
  python3 benchmarks/ratios.py "$out/histinit-wgpu-fused.json" "$out/torch-cuda.jsonl"
fi
left=$((deadline - SECONDS))
echo "study: ${left} s left"
if [ "$left" -gt 30 ]; then
  timeout "$left" "$bin" sweep experiments/gpu-14m.toml --out "$out/gpu-14m" --backend wgpu --quiet
  echo "sweep exit: $?"
fi
