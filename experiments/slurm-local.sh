#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, from Debian's packages, for trying
# experiments/slurm-array.sh (and for tests/slurm/run.sh) without a real cluster:
#
#   bash experiments/slurm-local.sh         # install, configure and start (or nothing if up)
#   bash experiments/slurm-local.sh stop    # stop the daemons it started
#   bash experiments/slurm-local.sh status  # say whether it is up
#
# As root on Debian: installs slurm-wlm and munge with apt where missing, writes a munge
# key where there is none, writes /etc/slurm/slurm.conf for this host alone (this host's
# `hostname -s`, its CPUs from nproc, its memory from free; no cgroups, no accounting, so
# it works in a container or VM without systemd), then starts munged, slurmctld and
# slurmd as background daemons and waits until sinfo shows the node idle. It never
# overwrites a slurm.conf that it did not write. Logs: /var/log/slurm/.
set -euo pipefail

action=${1:-start}
conf_dir=/etc/slurm
conf=$conf_dir/slurm.conf
marker="# Written by histinit's experiments/slurm-local.sh"
state_dir=/var/lib/slurm
log_dir=/var/log/slurm
munge_key=/etc/munge/munge.key
munged_pid=/run/munge/munged.pid
slurmctld_pid=/run/slurmctld.pid
slurmd_pid=/run/slurmd.pid
node=$(hostname -s)

die() {
  echo "slurm-local: $*" >&2
  exit 1
}

alive() { # pid file (readable without root, unlike kill -0 on a root daemon)
  [ -s "$1" ] && [ -d "/proc/$(cat "$1")" ]
}

node_state() {
  sinfo --noheader --nodes="$node" --format=%t 2>/dev/null | head -n 1
}

show_logs() {
  for log in "$log_dir/slurmctld.log" "$log_dir/slurmd.log"; do
    [ -f "$log" ] && { echo "--- last lines of $log"; tail -n 20 "$log"; }
  done >&2
}

stop_daemon() { # name pid-file
  if alive "$2"; then
    local pid
    pid=$(cat "$2")
    kill "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    echo "stopped $1 (pid $pid)"
  fi
}

case "$action" in
  start | stop | status) ;;
  *) die "unknown action '$action' (start, stop or status)" ;;
esac

if [ "$action" = status ]; then
  state=$(node_state || true)
  if alive "$munged_pid" && alive "$slurmctld_pid" && alive "$slurmd_pid" && [ -n "$state" ]; then
    echo "up: node $node is $state"
    exit 0
  fi
  echo "down"
  exit 1
fi

[ "$(id -u)" = 0 ] || die "run me as root (I install packages, write /etc/slurm and start daemons)"

if [ "$action" = stop ]; then
  stop_daemon slurmd "$slurmd_pid"
  stop_daemon slurmctld "$slurmctld_pid"
  stop_daemon munged "$munged_pid"
  exit 0
fi

if [ ! -f /etc/debian_version ] || ! command -v apt-get >/dev/null; then
  die "this sets up Slurm from Debian's packages; on another system install Slurm and munge yourself"
fi

missing=""
for tool in munged slurmctld slurmd sinfo sbatch; do
  command -v "$tool" >/dev/null || missing=yes
done
if [ -n "$missing" ]; then
  echo "installing slurm-wlm and munge (apt)"
  export DEBIAN_FRONTEND=noninteractive
  # Another apt (make setup's) may hold the lock for a while: wait for it.
  apt-get -qq -o DPkg::Lock::Timeout=600 update
  apt-get -qq -o DPkg::Lock::Timeout=600 install -y --no-install-recommends slurm-wlm munge >/dev/null
fi

if [ ! -s "$munge_key" ]; then
  echo "writing a munge key in $munge_key"
  install -d -o munge -g munge -m 0700 /etc/munge
  dd if=/dev/urandom of="$munge_key" bs=1024 count=1 status=none
  chown munge:munge "$munge_key"
  chmod 0400 "$munge_key"
fi

# This host alone, addressed as 127.0.0.1 so that no name lookup is needed. Memory is not
# a consumable (CR_CPU), so RealMemory only has to be no more than slurmd finds.
cpus=$(nproc)
memory=$(free -m | awk '/^Mem:/ { print $2 }')
wanted="$marker: a one-node cluster on $node.
ClusterName=histinit-local
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$state_dir/slurmctld
SlurmdSpoolDir=$state_dir/slurmd
SlurmctldPidFile=$slurmctld_pid
SlurmdPidFile=$slurmd_pid
SlurmctldLogFile=$log_dir/slurmctld.log
SlurmdLogFile=$log_dir/slurmd.log
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=local Nodes=$node Default=YES MaxTime=INFINITE State=UP"

if [ -f "$conf" ] && ! head -n 1 "$conf" | grep -qF "$marker"; then
  die "$conf exists and was not written by this script: I leave it alone (move it away to use me)"
fi
if [ ! -f "$conf" ] || [ "$(cat "$conf")" != "$wanted" ]; then
  if alive "$slurmctld_pid" || alive "$slurmd_pid"; then
    echo "slurm.conf changed: restarting slurmctld and slurmd"
    stop_daemon slurmd "$slurmd_pid"
    stop_daemon slurmctld "$slurmctld_pid"
  fi
  mkdir -p "$conf_dir"
  printf '%s\n' "$wanted" >"$conf"
  echo "wrote $conf ($node: $cpus CPUs, $memory MiB)"
fi
mkdir -p "$state_dir/slurmctld" "$state_dir/slurmd" "$log_dir"

if ! alive "$munged_pid"; then
  # A munged started by the package's init script has another pid file: reuse it.
  if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    install -d -o munge -g munge -m 0755 /run/munge
    runuser -u munge -- munged --pid-file="$munged_pid"
    echo "started munged"
  fi
fi
# The daemons fork into the background themselves; each writes its pid file.
alive "$slurmctld_pid" || { slurmctld && echo "started slurmctld"; }
alive "$slurmd_pid" || { slurmd && echo "started slurmd"; }

for _ in $(seq 60); do
  state=$(node_state || true)
  case "$state" in
    idle | mix | alloc) echo "slurm is up: node $node is $state (partition local)"; exit 0 ;;
    drain* | down*) scontrol update nodename="$node" state=resume 2>/dev/null || true ;;
  esac
  sleep 1
done
show_logs
die "node $node did not become idle within 60 s (sinfo says '${state:-nothing}')"
