#!/usr/bin/env python3
"""Generate GPT-NeoX reference test vectors for histinit-core.

Produces ``crates/histinit-core/tests/data/neox_reference.json`` (path resolved
relative to this script, not the cwd; pass another output path as the only
optional argument).  The file holds a tiny, fully random GPT-NeoX model built
with Hugging Face ``transformers.GPTNeoXForCausalLM`` plus a batch of input
token ids and the logits that transformers computes for them, so that the Rust
implementation can be checked against the reference implementation.

Model: vocab 256, width 32, 2 layers, 4 heads (head_dim 8), MLP 128,
rotary_pct 0.25 (2 rotary dims per head, NeoX "rotate_half" style),
rotary base 10000, context 64, exact erf GELU, LayerNorm eps 1e-5,
parallel residual, untied embed_in / embed_out, attention biases on,
eager attention, float32, dropout 0.

With ``torch.manual_seed(0)`` every parameter is overwritten (in state_dict
order): weights and biases ~ N(0, 0.2); LayerNorm weights ~ 1 + N(0, 0.2);
LayerNorm biases ~ N(0, 0.2).  Then inputs of shape [2, 16] are drawn
uniformly from 0..256 with torch.randint.

JSON layout::

    {"generator": "...",
     "config": {"layers", "width", "heads", "context", "vocab",
                "rotary_pct", "layer_norm_eps"},
     "weights": {"<state_dict name>": {"shape": [...], "values": [...]}, ...},
     "inputs": {"shape": [2, 16], "values": [ints]},
     "logits": {"shape": [2, 16, 256], "values": [...]}}

Only parameters are included (no buffers such as rotary inv_freq), named as
in ``model.state_dict()`` except that transformers >= 5 calls the unembedding
``lm_head.weight``: it is written under its checkpoint name
``embed_out.weight`` (as in Pythia's safetensors files and in the state_dict
of transformers 4.x; transformers 5 renames it on load).  Matrices
are in PyTorch's [out, in] layout, flattened row-major.  Floats are written as
the shortest decimal string that round-trips to the same float32 value.

Layout note (transformers GPTNeoXAttention): the output of
``attention.query_key_value`` (3*width rows) is grouped per head as
[heads, 3, head_dim]: for each head, q then k then v (NOT [3, heads, head_dim]).
The script also runs an independent numpy forward pass that relies on this
layout and asserts that it matches the transformers logits.

Setup (CPU is enough)::

    pip install torch transformers      # exact: torch==2.15.0 transformers==5.24.0
    # (or: pip install torch --index-url https://download.pytorch.org/whl/cpu)
    python3 tests/reference/make_neox_vectors.py [OUTPUT.json]

Generated with: Python 3.11.7, torch 2.15.0 (PyPI, +cu132 build, run on CPU),
transformers 5.24.0, numpy 2.4.6.
"""

import json
import math
import os
import sys

import numpy as np
import torch
import transformers
from transformers import GPTNeoXConfig, GPTNeoXForCausalLM

SCRIPT_DIR = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.normpath(
    os.path.join(SCRIPT_DIR, "..", "..", "crates", "histinit-core", "tests", "data", "neox_reference.json")
)
SCRIPT_REL = "tests/reference/make_neox_vectors.py"

VOCAB = 256
WIDTH = 32
LAYERS = 2
HEADS = 4
MLP = 128
ROTARY_PCT = 0.25
ROTARY_BASE = 10000
CONTEXT = 64
EPS = 1e-5
BATCH, SEQ = 2, 16
STD = 0.2


def build_config():
    kwargs = dict(
        vocab_size=VOCAB,
        hidden_size=WIDTH,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        intermediate_size=MLP,
        max_position_embeddings=CONTEXT,
        hidden_act="gelu",  # exact erf GELU (torch.nn.functional.gelu)
        layer_norm_eps=EPS,
        use_parallel_residual=True,
        tie_word_embeddings=False,
        attention_bias=True,
        attention_dropout=0.0,
        hidden_dropout=0.0,
        attn_implementation="eager",
        # transformers 4.x reads these directly; 5.x moves them into
        # config.rope_parameters (partial_rotary_factor / rope_theta).
        rotary_pct=ROTARY_PCT,
        rotary_emb_base=ROTARY_BASE,
    )
    cfg = GPTNeoXConfig(**kwargs)
    rp = getattr(cfg, "rope_parameters", None)
    if isinstance(rp, dict):
        rp["partial_rotary_factor"] = ROTARY_PCT
        rp["rope_theta"] = float(ROTARY_BASE)
    return cfg


# state_dict name -> name written to the JSON (GPT-NeoX checkpoint names).
CHECKPOINT_NAMES = {"lm_head.weight": "embed_out.weight"}


def is_layernorm(name):
    return "layernorm" in name or "layer_norm" in name


def randomize(model):
    torch.manual_seed(0)
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name in model.state_dict().keys():
            if name not in params:
                continue  # buffer
            p = params[name]
            noise = torch.randn(p.shape, dtype=torch.float32) * STD
            if is_layernorm(name) and name.endswith(".weight"):
                p.copy_(1.0 + noise)
            else:
                p.copy_(noise)


def fmt_float(x):
    s = str(np.float32(x))  # shortest string that round-trips to this float32
    assert np.float32(float(s)) == np.float32(x) and math.isfinite(float(s)), s
    return s


def tensor_json(t, ints=False):
    arr = t.detach().cpu().contiguous().numpy()
    flat = arr.reshape(-1).tolist()
    vals = ",".join(str(int(v)) for v in flat) if ints else ",".join(fmt_float(v) for v in flat)
    return '{"shape":%s,"values":[%s]}' % (json.dumps(list(arr.shape)), vals)


def numpy_reference(weights, ids):
    """Independent float64 forward pass; documents the semantics for Rust."""
    W = {k: v.astype(np.float64) for k, v in weights.items()}
    hd = WIDTH // HEADS
    rot = int(hd * ROTARY_PCT)
    from math import erf

    gelu = np.vectorize(lambda x: 0.5 * x * (1.0 + erf(x / math.sqrt(2.0))))

    def ln(x, w, b):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + EPS) * w + b

    inv_freq = 1.0 / (ROTARY_BASE ** (np.arange(0, rot, 2, dtype=np.float64) / rot))
    pos = np.arange(SEQ, dtype=np.float64)
    ang = np.concatenate([np.outer(pos, inv_freq)] * 2, axis=-1)  # [T, rot]
    cos, sin = np.cos(ang), np.sin(ang)

    def rope(x):  # x: [B, H, T, hd]
        xr, xp = x[..., :rot], x[..., rot:]
        half = rot // 2
        rh = np.concatenate([-xr[..., half:], xr[..., :half]], axis=-1)
        return np.concatenate([xr * cos + rh * sin, xp], axis=-1)

    h = W["gpt_neox.embed_in.weight"][ids]  # [B, T, C]
    mask = np.triu(np.full((SEQ, SEQ), -np.inf), k=1)
    for l in range(LAYERS):
        p = "gpt_neox.layers.%d." % l
        x = ln(h, W[p + "input_layernorm.weight"], W[p + "input_layernorm.bias"])
        qkv = x @ W[p + "attention.query_key_value.weight"].T + W[p + "attention.query_key_value.bias"]
        qkv = qkv.reshape(BATCH, SEQ, HEADS, 3, hd).transpose(0, 2, 1, 3, 4)  # per head: q, k, v
        q, k, v = rope(qkv[..., 0, :]), rope(qkv[..., 1, :]), qkv[..., 2, :]
        s = q @ k.transpose(0, 1, 3, 2) / math.sqrt(hd) + mask
        s = np.exp(s - s.max(-1, keepdims=True))
        a = (s / s.sum(-1, keepdims=True)) @ v  # [B, H, T, hd]
        a = a.transpose(0, 2, 1, 3).reshape(BATCH, SEQ, WIDTH)
        attn = a @ W[p + "attention.dense.weight"].T + W[p + "attention.dense.bias"]
        y = ln(h, W[p + "post_attention_layernorm.weight"], W[p + "post_attention_layernorm.bias"])
        m = gelu(y @ W[p + "mlp.dense_h_to_4h.weight"].T + W[p + "mlp.dense_h_to_4h.bias"])
        m = m @ W[p + "mlp.dense_4h_to_h.weight"].T + W[p + "mlp.dense_4h_to_h.bias"]
        h = h + attn + m  # parallel residual
    h = ln(h, W["gpt_neox.final_layer_norm.weight"], W["gpt_neox.final_layer_norm.bias"])
    return h @ W["embed_out.weight"].T  # checkpoint name (lm_head.weight in transformers 5)


def main():
    out = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT

    cfg = build_config()
    model = GPTNeoXForCausalLM(cfg).to(torch.float32).eval()

    attn0 = model.gpt_neox.layers[0].attention
    rot_dims = attn0.rotary_ndims
    inv_freq = model.gpt_neox.rotary_emb.inv_freq
    print("head_size:", attn0.head_size, "rotary_ndims:", rot_dims, "inv_freq:", inv_freq.tolist())
    print("attn_implementation:", model.config._attn_implementation, "hidden_act:", model.config.hidden_act)
    assert rot_dims == int(8 * ROTARY_PCT) == 2, rot_dims
    assert inv_freq.numel() == rot_dims // 2
    assert model.config._attn_implementation == "eager"
    assert model.config.use_parallel_residual and not model.config.tie_word_embeddings

    randomize(model)
    ids = torch.randint(0, VOCAB, (BATCH, SEQ), dtype=torch.long)

    with torch.no_grad():
        logits = model(input_ids=ids).logits.float()
    assert tuple(logits.shape) == (BATCH, SEQ, VOCAB)

    params = dict(model.named_parameters())
    names = [n for n in model.state_dict().keys() if n in params]
    assert len(names) == len(params), "parameter missing from state_dict"
    print("parameters (%d):" % len(names))
    for n in names:
        print("  %-52s %-12s -> %s" % (n, list(params[n].shape), CHECKPOINT_NAMES.get(n, n)))

    out_names = [CHECKPOINT_NAMES.get(n, n) for n in names]
    assert len(set(out_names)) == len(out_names)
    weights_np = {o: params[n].detach().numpy().copy() for n, o in zip(names, out_names)}
    ref = numpy_reference(weights_np, ids.numpy())
    diff = np.abs(ref - logits.numpy().astype(np.float64)).max()
    print("numpy reference max |diff|: %.3g (logits max |x| %.3g)" % (diff, np.abs(ref).max()))
    assert diff < 1e-3, diff

    generator = "%s (transformers %s, torch %s)" % (SCRIPT_REL, transformers.__version__, torch.__version__)
    config = {
        "layers": LAYERS,
        "width": WIDTH,
        "heads": HEADS,
        "context": CONTEXT,
        "vocab": VOCAB,
        "rotary_pct": ROTARY_PCT,
        "layer_norm_eps": EPS,
    }
    parts = ['{\n"generator":%s,\n"config":%s,\n"weights":{\n' % (json.dumps(generator), json.dumps(config))]
    parts.append(",\n".join("%s:%s" % (json.dumps(o), tensor_json(params[n])) for n, o in zip(names, out_names)))
    parts.append('\n},\n"inputs":%s,\n"logits":%s\n}\n' % (tensor_json(ids, ints=True), tensor_json(logits)))
    text = "".join(parts)

    # Sanity: valid JSON and round-trips exactly.
    data = json.loads(text)
    assert list(data["weights"].keys()) == out_names
    for n in out_names:
        back = np.array(data["weights"][n]["values"], dtype=np.float32).reshape(data["weights"][n]["shape"])
        assert np.array_equal(back, weights_np[n]), n
    assert np.array_equal(
        np.array(data["logits"]["values"], dtype=np.float32).reshape(BATCH, SEQ, VOCAB), logits.numpy()
    )

    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        f.write(text)
    print("wrote %s (%d bytes)" % (out, os.path.getsize(out)))


if __name__ == "__main__":
    main()
