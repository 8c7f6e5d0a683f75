#!/usr/bin/env bash
# A histinit sweep spread over a Slurm job array: one shard of the sweep per array
# task, then one aggregate job that starts once every task has succeeded and writes
# summary.json and report.md. Run it from the repository root, in a clone on a file
# system that every node mounts (the shards share out/sweeps/<study>/runs/, where each
# run is its own atomically written file):
#
#   bash experiments/slurm-array.sh experiments/main-nano.toml 8
#   bash experiments/slurm-array.sh experiments/gpu-pythia-70m.toml 32 --backend wgpu
#
# It builds the binary once (or takes a prebuilt one: HISTINIT=/path/to/histinit, which
# every node must be able to run), submits array tasks 1..N, each running
#   histinit sweep CONFIG --shard K/N --out out/sweeps/<study> --jobs 1 [--backend B]
# (K = $SLURM_ARRAY_TASK_ID), then an aggregate job with --dependency=afterok on the
# array, running
#   histinit sweep CONFIG --aggregate --out out/sweeps/<study> [--backend B]
#   histinit report out/sweeps/<study>
# A task that fails can be resubmitted alone (`sbatch --array=K ...`, or run the
# script again: finished runs are kept and skipped); `--aggregate` refuses, listing
# the missing runs, until every shard is done. Every task must run the same commit
# (one clone, built once here): the run files' keys do not include the code.
#
# Slurm options (partition, account, time, GPUs) go in SBATCH_* variables or
# HISTINIT_SBATCH, e.g. HISTINIT_SBATCH="--partition=gpu --gres=gpu:1 --time=04:00:00".
# CPUS (default 2) sets --cpus-per-task and the training threads of each task.
# A one-node Slurm on this machine to try it on: experiments/slurm-local.sh.
set -euo pipefail

if [ "${1:-}" = "--task" ]; then
  # Inside Slurm: `--task shard CONFIG N OUT BACKEND` or `--task aggregate CONFIG OUT BACKEND`.
  stage=$2
  histinit="${HISTINIT:?}"
  case "$stage" in
    shard)
      config=$3 count=$4 out=$5 backend=$6
      export RAYON_NUM_THREADS="${SLURM_CPUS_PER_TASK:-1}"
      exec "$histinit" sweep "$config" --shard "${SLURM_ARRAY_TASK_ID:?}/$count" \
        --out "$out" --jobs 1 --backend "$backend" --quiet
      ;;
    aggregate)
      config=$3 out=$4 backend=$5
      "$histinit" sweep "$config" --aggregate --out "$out" --backend "$backend"
      exec "$histinit" report "$out"
      ;;
  esac
  echo "unknown stage $stage" >&2
  exit 2
fi

if [ $# -lt 2 ]; then
  sed -n '2,26p' "$0"
  exit 2
fi
config=$1
count=$2
shift 2
backend=cpu
while [ $# -gt 0 ]; do
  case "$1" in
    --backend) backend=$2; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
# A prebuilt binary's path as the caller gave it, before the cd below.
if [ -n "${HISTINIT:-}" ]; then
  HISTINIT=$(realpath "$HISTINIT")
  [ -x "$HISTINIT" ] || { echo "HISTINIT=$HISTINIT is not an executable file" >&2; exit 2; }
fi
cd "$(dirname "$0")/.."
study=$(basename "$config" .toml)
out="${OUT:-out/sweeps/$study}"
cpus="${CPUS:-2}"
if [ -z "${HISTINIT:-}" ]; then
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/histinit/target}"
  patches/cargo.sh build --bin histinit
  HISTINIT="$CARGO_TARGET_DIR/debug/histinit"
fi
export HISTINIT
# The binary checks the config and lists its variants before anything is queued.
"$HISTINIT" sweep "$config" --links > /dev/null
mkdir -p "$out/slurm"
# shellcheck disable=SC2086 # HISTINIT_SBATCH is a list of options
array=$(sbatch --parsable ${HISTINIT_SBATCH:-} \
  --job-name="histinit-$study" --array="1-$count" --cpus-per-task="$cpus" \
  --output="$out/slurm/shard-%a.log" --export=ALL \
  "$0" --task shard "$config" "$count" "$out" "$backend")
array=${array%%;*}
# shellcheck disable=SC2086
aggregate=$(sbatch --parsable ${HISTINIT_SBATCH:-} \
  --job-name="histinit-$study-aggregate" --dependency="afterok:$array" \
  --cpus-per-task=1 --output="$out/slurm/aggregate.log" --export=ALL \
  "$0" --task aggregate "$config" "$out" "$backend")
echo "submitted $count shards of $config (job $array) and the aggregate (job ${aggregate%%;*}); results in $out"
