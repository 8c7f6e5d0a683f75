#!/usr/bin/env bash
# On a GPU machine (it needs no Rust toolchain, only a built `histinit` and Python with
# PyTorch and transformers): native throughput of histinit's wgpu backend on the real GPU
# against PyTorch on CUDA, both measured in this run, then the `gpu-14m` study until a
# deadline (resumable: rerun with the same OUT to go on). Record the output in
# docs/benchmarks.md.
#   benchmarks/gpu.sh HISTINIT_BINARY OUT_DIR [DEADLINE_SECONDS]
set -uo pipefail
bin=$1 out=$2 deadline=${3:-540}
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
left=$((deadline - SECONDS))
echo "study: ${left} s left"
if [ "$left" -gt 30 ]; then
  timeout "$left" "$bin" sweep experiments/gpu-14m.toml --out "$out/gpu-14m" --backend wgpu --quiet
  echo "sweep exit: $?"
fi
