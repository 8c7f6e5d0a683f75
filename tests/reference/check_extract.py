#!/usr/bin/env python3
"""Reference vectors for `histinit extract`, computed independently with numpy.

Writes a small GPT-NeoX-named safetensors file (f32, f16 and bf16 tensors drawn from
differently shaped laws, fused QKV for 2 heads) by hand, and the statistics numpy finds
for every tensor, for the q/k/v split of the fused QKV, and for each role pooled:
count, mean, population std, skewness, excess kurtosis, min, max, and quantiles with
numpy's default (linear) interpolation. crates/histinit-cli/tests/extract.rs runs
`histinit extract` on the file and compares.

    python3 tests/reference/check_extract.py            # regenerate (needs numpy)
    python3 tests/reference/check_extract.py --check    # recompute and compare to the committed JSON
"""

import json
import struct
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OUT_ST = HERE / "extract_reference.safetensors"
OUT_JSON = HERE / "extract_reference.json"
HEADS = 2
WIDTH = 8
PROBS = [0.0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1.0]


def to_bf16_bits(x):
    """f32 -> bf16 bits, round to nearest even (as torch does)."""
    bits = np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounding = ((bits >> 16) & 1) + 0x7FFF
    return ((bits + rounding) >> 16).astype(np.uint16)


def from_bf16_bits(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32)


def make_tensors():
    rng = np.random.default_rng(20240611)
    d = WIDTH
    # name -> (role, dtype, array as stored)
    return {
        "gpt_neox.embed_in.weight": ("embed", "F32", rng.normal(0.0, 0.05, (32, d)).astype(np.float32)),
        "gpt_neox.layers.0.input_layernorm.weight": ("norm_gain", "F32", (1.0 + rng.normal(0, 0.1, d)).astype(np.float32)),
        "gpt_neox.layers.0.input_layernorm.bias": ("norm_bias", "F32", rng.normal(0, 0.02, d).astype(np.float32)),
        "gpt_neox.layers.0.attention.query_key_value.weight": ("qkv", "F16", (rng.standard_t(3, (3 * d, d)) * 0.1).astype(np.float16)),
        "gpt_neox.layers.0.attention.query_key_value.bias": ("bias", "F32", rng.normal(0, 0.01, 3 * d).astype(np.float32)),
        "gpt_neox.layers.0.attention.dense.weight": ("attn_out", "BF16", to_bf16_bits(rng.laplace(0, 0.03, (d, d)))),
        "gpt_neox.layers.0.mlp.dense_h_to_4h.weight": ("mlp_in", "F32", rng.uniform(-0.2, 0.2, (4 * d, d)).astype(np.float32)),
        "gpt_neox.layers.0.mlp.dense_4h_to_h.weight": ("mlp_out", "F16", rng.normal(0, 0.02, (d, 4 * d)).astype(np.float16)),
        "embed_out.weight": ("unembed", "F32", (rng.exponential(0.05, (32, d)) - 0.05).astype(np.float32)),
    }


def as_f64(dtype, array):
    if dtype == "BF16":
        return from_bf16_bits(array).astype(np.float64)
    return array.astype(np.float64)


def stats(values):
    v = np.asarray(values, dtype=np.float64).ravel()
    mean = v.mean()
    d = v - mean
    m2, m3, m4 = (d**2).mean(), (d**3).mean(), (d**4).mean()
    return {
        "count": int(v.size),
        "mean": float(mean),
        "std": float(np.sqrt(m2)),
        "skewness": float(m3 / m2**1.5),
        "excess_kurtosis": float(m4 / m2**2 - 3.0),
        "min": float(v.min()),
        "max": float(v.max()),
        "quantiles": [float(q) for q in np.quantile(v, PROBS)],
    }


def write_safetensors(tensors, path):
    header = {"__metadata__": {"format": "pt", "num_attention_heads": str(HEADS)}}
    blobs = []
    offset = 0
    for name, (_, dtype, array) in tensors.items():
        data = np.ascontiguousarray(array).tobytes()  # little-endian on every CI machine
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def expected(tensors):
    out = {"probs": PROBS, "heads": HEADS, "tensors": {}, "pooled": {}}
    pooled = {}
    for name, (role, dtype, array) in tensors.items():
        values = as_f64(dtype, array)
        out["tensors"][name] = {"role": role, **stats(values)}
        pooled.setdefault(role, []).append(values.ravel())
        if role == "qkv":
            # HF GPT-NeoX: rows are [heads, 3, head_dim].
            per_head = values.reshape(HEADS, 3, WIDTH // HEADS, WIDTH)
            for i, part in enumerate("qkv"):
                part_values = per_head[:, i].ravel()
                out["tensors"][f"{name}#{part}"] = {"role": part, **stats(part_values)}
                pooled.setdefault(part, []).append(part_values)
    for role, parts in pooled.items():
        s = stats(np.concatenate(parts))
        out["pooled"][role] = {k: s[k] for k in ("count", "mean", "std", "skewness", "excess_kurtosis", "min", "max")}
    return out


def main():
    tensors = make_tensors()
    result = expected(tensors)
    if "--check" in sys.argv:
        committed = json.loads(OUT_JSON.read_text())
        for name, want in result["tensors"].items():
            got = committed["tensors"][name]
            for key in ("mean", "std", "skewness", "excess_kurtosis"):
                assert abs(got[key] - want[key]) <= 1e-12 + 1e-9 * abs(want[key]), (name, key)
        print(f"{len(result['tensors'])} tensors agree with {OUT_JSON.name}")
        return
    write_safetensors(tensors, OUT_ST)
    OUT_JSON.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {OUT_ST} ({OUT_ST.stat().st_size} bytes) and {OUT_JSON}")


if __name__ == "__main__":
    main()
