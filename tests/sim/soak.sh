#!/usr/bin/env bash
# The deterministic simulation (tests/sim/) for many schedules: make soak SCHEDULES=100000
#
#   tests/sim/soak.sh BUILD_DIR SCHEDULES
#
# Runs BUILD_DIR/tests/sim_test with VINCULO_SIM_SCHEDULES=SCHEDULES, its shards split across
# SOAK_PROCESSES processes (default 2), all with one seed: VINCULO_SEED when set, else a random
# one, printed so that the run can be replayed. Prints the schedules run, the faults injected by
# kind, writes, syncs, crashes, conflicts and rejections, the time taken, and the result; every
# failing schedule is printed with its seed (and the first ones with a shrunk trace). Exits 0 when
# every schedule passed, 1 when one failed, 2 on a usage or set-up error. The processes' output is
# kept in a directory named at the end when something failed.
set -uo pipefail

if [[ $# -lt 2 ]]; then
  echo "usage: $0 BUILD_DIR SCHEDULES" >&2
  exit 2
fi
build_dir=$1
schedules=$2
processes=${SOAK_PROCESSES:-2}
binary="$build_dir/tests/sim_test"
if [[ ! -x "$binary" ]]; then
  echo "soak: $binary not found: build first (make build BUILD_DIR=$build_dir)" >&2
  exit 2
fi
if ! [[ "$schedules" =~ ^[0-9]+$ && "$processes" =~ ^[1-9][0-9]*$ ]]; then
  echo "soak: SCHEDULES and SOAK_PROCESSES must be whole numbers" >&2
  exit 2
fi
seed=${VINCULO_SEED:-$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')}
logs=$(mktemp -d "${TMPDIR:-/tmp}/vinculo-soak.XXXXXX")

echo "soak: $schedules schedules in $processes processes, VINCULO_SEED=$seed"
start=$(date +%s)
pids=()
for ((i = 0; i < processes; ++i)); do
  VINCULO_SEED=$seed VINCULO_SIM_SCHEDULES=$schedules \
    GTEST_TOTAL_SHARDS=$processes GTEST_SHARD_INDEX=$i \
    "$binary" --gtest_filter='Shards/*' >"$logs/process-$i.log" 2>&1 &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do
  wait "$pid" || status=1
done
seconds=$(($(date +%s) - start))

# Each shard test prints "[ sim ] shard N: key=value ... (key=value ...) ...": sum every count.
cat "$logs"/process-*.log | awk -v seconds="$seconds" '
  /^\[ sim \] shard [0-9]+:/ {
    shards++
    for (i = 5; i <= NF; i++) {
      token = $i
      gsub(/[()]/, "", token)
      split(token, kv, "=")
      if (kv[1] == "" || kv[2] == "" || kv[1] == "seconds") continue
      if (!(kv[1] in sum)) order[++n] = kv[1]
      sum[kv[1]] += kv[2]
    }
  }
  END {
    if (shards == 0) { print "soak: no shard reported (see the logs)"; exit }
    printf "  schedules run:   %d (%d shards), devices %d, steps %d\n", sum["schedules"], shards, sum["devices"], sum["steps"]
    printf "  writes:          %d (deletes %d, restores %d, reassignments %d, refused locally %d)\n", sum["writes"], sum["deletes"], sum["restores"], sum["reassignments"], sum["refused_locally"]
    printf "  syncs:           %d (ended by a fault %d, pages applied %d)\n", sum["syncs"], sum["ended_by_fault"], sum["pages"]
    printf "  echoes:          %d matched the device, %d did not (the page stopped there)\n", sum["echoes"], sum["echoes_missed"]
    printf "  faults injected: %d\n", sum["faults"]
    split("drop_request drop_response duplicate delay truncate device_crash_in_sync server_crash_in_sync late_deliveries", kinds, " ")
    for (k = 1; k <= 8; k++) printf "    %-22s %d\n", kinds[k], sum[kinds[k]]
    printf "    %-22s %d (a cut between two fields parses: cut again inside one)\n", "cuts_that_parse", sum["cuts_that_parse"]
    printf "  crashes:         %d (device %d, server %d)\n", sum["crashes"], sum["device"], sum["server"]
    printf "  conflicts:       %d\n", sum["conflicts"]
    printf "  rejections:      %d (clock_ahead %d, forbidden %d)\n", sum["rejections"], sum["clock_ahead"], sum["forbidden"]
    printf "  failed:          %d schedules\n", sum["failed_schedules"]
    printf "  duration:        %d s\n", seconds
  }'
failed=$(cat "$logs"/process-*.log | grep -c '^\[ sim \] FAILED' || true)
if [[ $status -ne 0 || $failed -ne 0 ]]; then
  echo "  result:          FAIL ($failed failing schedules)"
  grep -h '^\[ sim \] FAILED' "$logs"/process-*.log | sed 's/^/    /'
  echo "  logs (shrunk traces of the first failures): $logs"
  exit 1
fi
echo "  result:          PASS"
rm -rf "$logs"
