#!/usr/bin/env python3
"""Groups `perf` samples of a CPU training step by op and by kind of leaf code.

    RAYON_NUM_THREADS=1 perf record -F 300 --call-graph dwarf,32768 -o micro.data \\
        $CARGO_TARGET_DIR/debug/histinit bench --presets micro --backends cpu --batch 16 --steps 4 --warmup 1
    perf script -i micro.data -F tid,ip,sym > micro.txt
    python3 benchmarks/perf_ops.py micro.txt [more.txt ...]   # one column per file

DWARF call graphs are needed (the binary has no frame pointers). One rayon thread keeps
most ops on the main thread's stack; matmuls still run inside gemm's rayon jobs, whose
stacks do not show the calling op, so they form one row. Samples where the kernel ran
another process (irq exit, task switch) are counted apart: they measure machine load.
"""
import collections
import re
import sys

# The leaf symbol's kind (self time), first match wins.
LEAF = [
    ("preempted", r"irqentry_exit_to_user_mode|finish_task_switch|_raw_spin_unlock_irqrestore|handle_softirqs|__schedule$"),
    ("matmul kernel (gemm)", r"gemm"),
    ("erf (libm, scalar)", r"erff|erfc2"),
    ("exp (glibc expf)", r"expf|xflowf|with_errnof|__math_"),
    ("memcpy/memset", r"memmove|memcpy|memset"),
    ("strided copy (copy_2d_tiled, into_contiguous)", r"copy_2d_tiled|contiguous|strided"),
    ("page faults / zeroing (kernel)", r"page|fault|folio|lruvec|memcg|mm_|pte|tlb|rmap|mas_walk|charge|anon|alloc_pages|free_unref|__list_del"),
    ("malloc/free", r"malloc|_int_free|free|realloc|munmap|mmap|brk"),
    ("rayon / scheduling", r"rayon|sched|futex|spin|wake|yield"),
    ("SIMD elementwise (macerator)", r"macerator"),
    ("elementwise loops (binary_op, zip, unary)", r"binary_op|scalar_op|unary_op|zip_|simd::|call_once|call_mut|from_iter|spec_extend|fold|from_elem"),
    ("reductions", r"reduce|sum_rows|sum_dim"),
]
# Forward ops, by the first frame (leaf to root) that names one.
FORWARD = [
    ("forward: softmax (attention)", r"softmax_impl$|::softmax$"),
    ("forward: log_softmax + gather (loss)", r"log_softmax|float_gather|::gather"),
    ("forward: gelu", r"gelu"),
    ("forward: layer_norm", r"layer_norm"),
    ("forward: rotary", r"apply_rotary|rotate_half"),
    ("forward: linear (matmul + bias)", r"module::linear"),
    ("forward: attention matmuls (q k^T, p v)", r"::matmul$"),
    ("forward: cat/slice/reshape", r"float_cat|float_slice|reshape|swap_dims"),
    ("forward: embedding", r"embedding"),
    ("forward: other model code", r"NeoxModel::|Block::"),
]
BACKWARD = re.compile(r"::(\w+) as burn_autodiff::ops::backward")


def samples(path):
    frames = []
    for line in open(path, errors="replace"):
        if line.startswith("\t"):
            parts = line.strip().split(None, 1)
            frames.append(parts[1] if len(parts) > 1 else "?")
        elif not line.strip():
            if frames:
                yield frames
            frames = []
        else:
            frames = []
    if frames:
        yield frames


def leaf_kind(frames):
    for name, pattern in LEAF:
        if re.search(pattern, frames[0]):
            return name
    return "other"


def op(frames):
    if any("burn_optim" in f for f in frames):
        return "optimizer (AdamW)"
    if any("GradSquares" in f or "ScaleGrads" in f for f in frames):
        return "grad-norm clipping"
    for f in frames:
        match = BACKWARD.search(f)
        if match:
            return "backward: " + match.group(1)
    if any("backward" in f for f in frames):
        return "backward: graph walk, gradient accumulation"
    for f in frames:
        for name, pattern in FORWARD:
            if re.search(pattern, f):
                return name
    if any("matmul_batched_gemm" in f for f in frames):
        return "matmul in gemm's rayon jobs (forward and backward)"
    if any(re.search(r"histinit_core::(data|recipes)|batch_tensors", f) for f in frames):
        return "host: batches"
    if any("rayon" in f for f in frames):
        return "rayon jobs, other"
    if any("histinit" in f for f in frames):
        return "host: other"
    return "other"


def tally(path):
    kinds, ops, counted, preempted = collections.Counter(), collections.Counter(), 0, 0
    for frames in samples(path):
        kind = leaf_kind(frames)
        if kind == "preempted":
            preempted += 1
            continue
        counted += 1
        kinds[kind] += 1
        ops[op(frames)] += 1
    return kinds, ops, counted, preempted


def main(paths):
    results = [tally(p) for p in paths]
    print("| | " + " | ".join(paths) + " |")
    print("| --- |" + " ---: |" * len(paths))
    print("| samples (preempted, left out) | " + " | ".join(f"{r[2]} ({r[3]})" for r in results) + " |")
    for index, title in ((0, "self time by leaf kind"), (1, "by op")):
        order = collections.Counter()
        for r in results:
            for key, count in r[index].items():
                order[key] += count / max(r[2], 1)
        print(f"| **{title}** |" + " |" * len(paths))
        for key, _ in order.most_common():
            shares = [100 * r[index][key] / max(r[2], 1) for r in results]
            if max(shares) >= 0.4:
                print(f"| {key} | " + " | ".join(f"{s:.1f}%" for s in shares) + " |")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
