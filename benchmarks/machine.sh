#!/usr/bin/env bash
# Prints the machine a benchmark ran on, so numbers from different machines can be
# compared: CPU model, cores, load, the SIMD extensions the CPU has, and which kernels
# the native CPU backend (Burn's flex) dispatches to on it.
#   benchmarks/machine.sh [HISTINIT_BINARY]
# flex's matmul is the `gemm` crate, which picks AVX-512 kernels only when they were
# compiled in (gemm's `x86-v4` feature, off in Burn's default flex features) and the CPU
# has avx512f, else FMA (AVX2) kernels, else scalar ones. Its elementwise ops use
# `macerator`, which picks x86 level v4 (AVX-512 F/BW/CD/DQ/VL), v3 (AVX2 + FMA) or v2
# at run time. The kernels compiled in are read from the binary's symbols.
set -euo pipefail
binary=${1:-}
flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
has() { [[ $flags == *" $1 "* ]]; }
field() { grep -m1 "^$1[[:space:]]*:" /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'; }
# A VM may name the CPU only by brand ("AMD EPYC"); family/model/stepping tell the generation.
echo "machine: $(field 'model name'), family $(field 'cpu family') model $(field model) stepping $(field stepping), $(nproc --all) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
simd=()
for flag in sse4_2 avx avx2 fma avx512f avx512bw avx512vl avx512_bf16 avx512_vnni amx_tile; do
  has "$flag" && simd+=("$flag")
done
echo "CPU SIMD: ${simd[*]:-none of sse4_2/avx/avx2/fma/avx512*}"
if [ -n "$binary" ] && [ -x "$binary" ] && command -v nm >/dev/null; then
  symbols=$(nm -C "$binary" 2>/dev/null |
    grep -oE 'gemm_f32::microkernel::[a-z0-9_]+::|macerator::backend::x86::v[0-9]::' | sort -u || true)
  compiled() { grep -q "$1" <<<"$symbols"; }
  if compiled 'microkernel::avx512f::' && has avx512f; then matmul="AVX-512 (avx512f)"
  elif compiled 'microkernel::fma::' && has fma && has avx2; then matmul="FMA/AVX2 (fma)"
  else matmul="scalar"; fi
  gemm_kernels=$(grep -oE 'microkernel::[a-z0-9_]+' <<<"$symbols" | sed 's/microkernel:://' | paste -sd, -)
  if compiled 'x86::v4::' && has avx512f && has avx512bw && has avx512vl && has avx512dq && has avx512cd; then
    elementwise="x86-v4 (AVX-512)"
  elif has avx2 && has fma; then elementwise="x86-v3 (AVX2 + FMA)"
  else elementwise="x86-v2 or scalar"; fi
  echo "histinit CPU backend (flex) here: matmul gemm kernels $matmul [compiled: ${gemm_kernels:-none found}], elementwise macerator $elementwise"
fi
