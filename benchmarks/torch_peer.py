#!/usr/bin/env python3
"""PyTorch peer for histinit's throughput benchmark.

Trains Hugging Face's GPTNeoXForCausalLM (the reference implementation of the
architecture histinit uses) with the same preset shape, byte vocabulary, batch and
context, AdamW, on the CPU (or a GPU with --device cuda), and prints JSON lines of
tokens/s. Random token batches: throughput does not depend on the text.

    pip install torch transformers
    python3 benchmarks/torch_peer.py --presets micro,pythia-14m --batch 16 --threads 2
    python3 benchmarks/torch_peer.py --device cuda --presets pythia-70m   # benchmarks/gpu.sh
"""
import argparse
import json
import time

PRESETS = {
    "nano": (2, 64, 4, 64),
    "micro": (4, 128, 4, 128),
    "pythia-14m": (6, 128, 4, 256),
    "pythia-31m": (6, 256, 8, 256),
    "pythia-70m": (6, 512, 8, 256),
}


def measure(torch, transformers, preset, batch, steps, warmup, device):
    layers, width, heads, context = PRESETS[preset]
    config = transformers.GPTNeoXConfig(
        vocab_size=256,
        hidden_size=width,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=4 * width,
        rotary_pct=0.25,
        max_position_embeddings=context,
        hidden_act="gelu",
        use_parallel_residual=True,
        tie_word_embeddings=False,
        hidden_dropout=0.0,
        attention_dropout=0.0,
    )
    model = transformers.GPTNeoXForCausalLM(config).to(device)
    model.train()
    optim = torch.optim.AdamW(model.parameters(), lr=3e-3, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
    gen = torch.Generator().manual_seed(1)
    first = None
    start = time.perf_counter()
    timed_from = start
    for step in range(steps + warmup):
        tokens = torch.randint(0, 256, (batch, context + 1), generator=gen).to(device)
        out = model(input_ids=tokens[:, :-1], labels=tokens[:, :-1])
        optim.zero_grad(set_to_none=True)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optim.step()
        loss = out.loss.item()  # read back every step, as histinit does
        assert loss == loss, "non-finite loss"
        if step == 0:
            first = time.perf_counter() - start
        if step + 1 == warmup:
            timed_from = time.perf_counter()
    elapsed = time.perf_counter() - timed_from
    return {
        "preset": preset,
        "backend": f"pytorch-{device}",
        "batch": batch,
        "context": context,
        "steps": steps,
        "first_step_s": first,
        "tokens_per_s": steps * batch * context / elapsed,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="micro,pythia-14m")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu", help="cpu, or cuda on a GPU machine")
    args = parser.parse_args()
    import torch
    import transformers

    torch.set_num_threads(args.threads)
    for preset in args.presets.split(","):
        result = measure(torch, transformers, preset, args.batch, args.steps, max(args.warmup, 1), args.device)
        result["threads"] = args.threads
        result["torch"] = torch.__version__
        if args.device == "cpu":  # the SIMD level ATen's CPU kernels dispatch to
            result["cpu_capability"] = torch.backends.cpu.get_cpu_capability()
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
