#!/usr/bin/env bash
# Runs a command in a new cgroup limited to CPUS of CPU time, as a container with `--cpus CPUS` or
# Kubernetes `limits.cpu` is: the service (in the bench's process) and its mediasoup workers share
# that quota. The bench's load generators (media agents) stand in for remote callers, so
# AgentClient moves them back out (DFD_BENCH_AGENT_CGROUP_PROCS) and they do not spend it.
#
#   sudo bash load-tests/with-cpu-quota.sh 1 npm run bench -- --only capacity ...
#
# Needs root and a writable cgroup hierarchy with the cpu controller (v1 `cpu`, or v2).
set -euo pipefail
cpus="${1:?usage: with-cpu-quota.sh CPUS COMMAND...}"
shift
[ "$#" -gt 0 ] || { echo "usage: with-cpu-quota.sh CPUS COMMAND..." >&2; exit 2; }
period=100000
quota=$(awk -v c="$cpus" -v p="$period" 'BEGIN { if (c + 0 <= 0) exit 1; printf "%d", c * p }') || { echo "CPUS must be a positive number, got '$cpus'" >&2; exit 2; }
# The hierarchy that holds the cpu controller, mounted at its root (mountinfo field 4 is "/").
v1=$(awk '$4 == "/" { for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i+1) == "cgroup" && ("," $(i+3) ",") ~ /,cpu,/) print $5; break } }' /proc/self/mountinfo | head -1)
v2=$(awk '$4 == "/" { for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i+1) == "cgroup2") print $5; break } }' /proc/self/mountinfo | head -1)
if [ -n "$v1" ]; then
  top="$v1"; dir="$v1/dfd-quota-$$"
  mkdir "$dir"; echo "$period" > "$dir/cpu.cfs_period_us"; echo "$quota" > "$dir/cpu.cfs_quota_us"
elif [ -n "$v2" ]; then
  top="$v2"; dir="$v2/dfd-quota-$$"
  grep -qw cpu "$v2/cgroup.subtree_control" || echo +cpu > "$v2/cgroup.subtree_control"
  mkdir "$dir"; echo "$quota $period" > "$dir/cpu.max"
else
  echo "no cgroup hierarchy with the cpu controller is mounted at its root" >&2; exit 1
fi
cleanup() { echo $$ > "$top/cgroup.procs" 2>/dev/null || true; rmdir "$dir" 2>/dev/null || true; }
trap cleanup EXIT
echo $$ > "$dir/cgroup.procs"
echo "with-cpu-quota: $cpus CPUs ($quota/$period us) in $dir" >&2
DFD_BENCH_AGENT_CGROUP_PROCS="$top/cgroup.procs" "$@"
