#!/usr/bin/env bash
# Runs every study of docs/FINDINGS.md and writes its report, from the repository root:
#   bash experiments/run-all.sh            # all studies, in the order below
#   bash experiments/run-all.sh lr depth   # some of them
#   bash experiments/run-all.sh --backend wgpu gpu-14m   # on a GPU (not in the default list)
# A study that was interrupted resumes where it stopped (finished runs are kept).
# Results go to out/sweeps/<study>/; `--publish` also copies each report, its charts,
# summary.json and config to docs/results/<study>/.
set -euo pipefail
cd "$(dirname "$0")/.."
publish=0
backend=cpu
studies=()
while [ $# -gt 0 ]; do
  case "$1" in
    --publish) publish=1 ;;
    --backend) backend=$2; shift ;;
    *) studies+=("$1") ;;
  esac
  shift
done
if [ ${#studies[@]} -eq 0 ]; then
  studies=(main-nano transfer lr norm-nano ablation-nano main-micro depth tune-nano tuned-nano tuned-micro shape-nano schedule-nano warmup-stress-nano nonorm-nano nonorm-deep tune-micro tuned2-micro
    tune-both-nano-1 tune-both-nano-2 tune-both-nano-3 fair-nano fair-nano-vs-pythia warmup-factorial-nano shape20-nano tune-both-micro-1 tune-both-micro-2 tune-both-micro-3 fair-micro fair-micro-vs-gaussian heldout-nano tune-long-nano long-nano published-70m)
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/histinit/target}"
patches/cargo.sh build --bin histinit
histinit="$CARGO_TARGET_DIR/debug/histinit"
for study in "${studies[@]}"; do
  if [ "$study" = fair-nano-vs-pythia ] || [ "$study" = fair-micro-vs-gaussian ]; then
    # Post hoc: the decisive study's runs with another baseline; it trains nothing of its own.
    mkdir -p "out/sweeps/$study/runs"
    cp -n "out/sweeps/${study%-vs-*}/runs/"*.json "out/sweeps/$study/runs/"
  fi
  corpus=()
  # A study on its own text names the file in its config; the file is under data/.
  if [ "$study" = heldout-nano ]; then corpus=(--corpus data/jargon.txt); fi
  "$histinit" sweep "experiments/$study.toml" --out "out/sweeps/$study" --backend "$backend" --quiet "${corpus[@]}"
  "$histinit" report "out/sweeps/$study"
  if [ "$publish" = 1 ]; then
    mkdir -p "docs/results/$study"
    cp out/sweeps/"$study"/{report.md,summary.json,runs.csv,comparisons.csv,config.toml} out/sweeps/"$study"/*.png "docs/results/$study/"
  fi
done
