#!/usr/bin/env bash
# A sweep through a real Slurm gives what one process gives: sets up (or reuses) the
# one-node Slurm of experiments/slurm-local.sh, runs a tiny sweep through
# experiments/slurm-array.sh as a job array of 3 shards and an aggregate job, runs the
# same config in one process, and compares summary.json and every table byte for byte.
#
#   HISTINIT=path/to/histinit tests/slurm/run.sh    (make test-slurm; root on Debian)
#
# Both the aggregate job and the one process run in this checkout (Slurm starts a job in
# the directory it was submitted from, which slurm-array.sh makes the repository root),
# so the summary's `commit` is the same for both; the summary holds no timestamp and no
# path, and its `config` is the text of the one config file both read. Nothing is left
# out of the comparison. The daemons are left running; the scratch directory is removed.
set -euo pipefail

cd "$(dirname "$0")/../.."
histinit=${HISTINIT:-${CARGO_TARGET_DIR:-$HOME/.cache/histinit/target}/debug/histinit}
timeout_s=${SLURM_TEST_TIMEOUT:-240} # for the jobs, after the set-up
shards=3
started=$(date +%s)

fail() {
  echo "FAIL (tests/slurm): $*" >&2
  exit 1
}

[ -x "$histinit" ] || fail "no histinit binary at $histinit: build it (cargo build --bin histinit) or set HISTINIT"
histinit=$(realpath "$histinit")
bash experiments/slurm-local.sh status >/dev/null 2>&1 || bash experiments/slurm-local.sh
submitted_at=$(date +%s)

scratch=$(mktemp -d /tmp/histinit-slurm-test.XXXXXX)
jobs=""
cleanup() {
  # Jobs still queued or running would write into the removed directory.
  # shellcheck disable=SC2086
  [ -n "$jobs" ] && scancel $jobs 2>/dev/null
  rm -rf "$scratch"
}
trap cleanup EXIT

# 2 warmups x 2 inits x 2 seeds = 8 runs over 3 shards (3, 3 and 2 runs).
config=$scratch/slurm-test.toml
cat >"$config" <<'EOF'
name = "slurm-test"
baseline = "kaiming"

[base]
preset = "nano"
inits = ["kaiming", "pythia"]
seed = 7
seeds = 2

[base.train]
steps = 6
batch = 2
context = 16
lr = 0.004
warmup = 2
eval_every = 3
eval_batches = 1

[grid]
warmup = [2, 0]
EOF

# One CPU per shard, so that two shards train at once on a 2-core machine.
submitted=$(HISTINIT=$histinit OUT=$scratch/slurm CPUS=1 \
  bash experiments/slurm-array.sh "$config" "$shards")
echo "$submitted"
array=$(sed -n 's/.*shards of .* (job \([0-9]*\)) and the aggregate.*/\1/p' <<<"$submitted")
aggregate=$(sed -n 's/.*and the aggregate (job \([0-9]*\)).*/\1/p' <<<"$submitted")
if [ -z "$array" ] || [ -z "$aggregate" ]; then fail "no job ids in slurm-array.sh's output"; fi
jobs="$array $aggregate"

slurm_failure() {
  for job in $array $aggregate; do
    echo "--- scontrol show job $job" >&2
    scontrol show job "$job" >&2 || true
  done
  for log in "$scratch"/slurm/slurm/*.log /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log; do
    [ -f "$log" ] && { echo "--- last lines of $log"; tail -n 30 "$log"; } >&2
  done
  fail "$@"
}

# No accounting database here (sacct has none to read): scontrol shows a finished job
# for MinJobAge (300 s by default), longer than this waits.
state=""
while :; do
  line=$(scontrol show job --oneliner "$aggregate") || slurm_failure "scontrol lost job $aggregate"
  state=$(sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' <<<"$line")
  reason=$(sed -n 's/.*Reason=\([^ ]*\).*/\1/p' <<<"$line")
  case "$state" in
    COMPLETED) break ;;
    PENDING | CONFIGURING | RUNNING | COMPLETING) ;;
    *) slurm_failure "the aggregate job $aggregate ended $state" ;;
  esac
  [ "$reason" = DependencyNeverSatisfied ] && slurm_failure "a shard failed: the aggregate job can never start"
  [ $(($(date +%s) - submitted_at)) -lt "$timeout_s" ] || slurm_failure "the aggregate job was still $state after $timeout_s s"
  sleep 1
done
slurm_done=$(date +%s)
jobs=""

# Each array task trained its own shard, from scratch: 3, 3 and 2 of the 8 runs.
for k in $(seq "$shards"); do
  log=$scratch/slurm/slurm/shard-$k.log
  mine=$(( k <= 8 % shards ? 8 / shards + 1 : 8 / shards ))
  grep -qF "shard $k/$shards: $mine of the 8 distinct runs (0 already finished)" "$log" ||
    { cat "$log" >&2; fail "array task $k did not train shard $k/$shards ($mine runs)"; }
done
[ -f "$scratch/slurm/report.md" ] || fail "the aggregate job wrote no report.md"

"$histinit" sweep "$config" --out "$scratch/single" --jobs 1 --quiet >/dev/null

runs() { find "$1/runs" -type f -name '*.json' | wc -l; }
[ "$(runs "$scratch/slurm")" = 8 ] || fail "the shards wrote $(runs "$scratch/slurm") run files, not 8"
for file in summary.json runs.csv curves.csv distances.csv comparisons.csv; do
  cmp "$scratch/slurm/$file" "$scratch/single/$file" ||
    { diff "$scratch/slurm/$file" "$scratch/single/$file" | head -n 40 >&2 || true
      fail "$file from Slurm differs from one process's"; }
done
echo "tests/slurm: 8 runs in $shards Slurm shards aggregate to one process's summary.json" \
  "and tables, byte for byte (set-up $((submitted_at - started)) s, Slurm jobs" \
  "$((slurm_done - submitted_at)) s, all $(($(date +%s) - started)) s)"
