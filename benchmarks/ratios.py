#!/usr/bin/env python3
"""Prints histinit's throughput against its PyTorch peer, preset by preset.

    python3 benchmarks/ratios.py HISTINIT_JSON PEER_JSONL

HISTINIT_JSON: `histinit bench --json` output; PEER_JSONL: `torch_peer.py` output.
"""
import json
import sys

ours = json.load(open(sys.argv[1]))
peer = {r["preset"]: r for r in map(json.loads, open(sys.argv[2]))}
for r in list(peer.values())[:1]:
    print(f"\npeer: PyTorch {r.get('torch')}, {r.get('threads')} threads, CPU capability {r.get('cpu_capability', '-')}")
print(f"\n{'preset':<12} {'histinit':<10} {'tok/s':>10} {'peer':<14} {'tok/s':>10} {'ratio':>7}")
for r in ours:
    p = peer.get(r["preset"])
    if p:
        ratio = r["tokens_per_s"] / p["tokens_per_s"]
        print(f"{r['preset']:<12} {r['backend']:<10} {r['tokens_per_s']:>10.0f} {p['backend']:<14} {p['tokens_per_s']:>10.0f} {ratio:>7.2f}")
