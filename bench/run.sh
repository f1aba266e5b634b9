#!/usr/bin/env bash
# Runs every benchmark of an existing build in one go and reports them together:
#
#   bench/run.sh BUILD_DIR [--quick]
#
# Full mode uses the sizes of docs/performance.md (100,000-visit push and pull, 1,000 devices,
# 1,000,000 visits for the supervisor queries) and takes a while; --quick shrinks every size so the
# whole run stays under about three minutes, to check the benchmarks work, not to quote figures.
#
# Each end-to-end driver writes its figures to bench/results/NAME.json ({"bench", "mode",
# "figures": [{"name", "value", "unit", "stat", "p99", "ratio_to_L", "target", "met"}]}); the
# micro-benchmarks are Google Benchmark's JSON. This script joins them into
# bench/results/latest.json and prints one table. Nothing here asserts a time: a missed target is
# shown as "MISSED" and the script still exits 0 — only a benchmark that fails to run makes it fail.
#
# Close other work on the machine first: commits wait on the disk and the drivers use both cores.
set -euo pipefail

build_dir=${1:-build}
shift || true
mode=full
quick=()
for arg in "$@"; do
  case "$arg" in
    --quick) mode=quick; quick=(--quick) ;;
    *) echo "bench/run.sh: unknown argument $arg (usage: bench/run.sh BUILD_DIR [--quick])" >&2; exit 2 ;;
  esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
results="$root/bench/results"
mkdir -p "$results"
rm -f "$results"/{micro,store,sync,load,query,latest}.json

need() {
  if [ ! -x "$build_dir/bench/$1" ]; then
    echo "bench/run.sh: $build_dir/bench/$1 not found; build it first (make bench)" >&2
    exit 1
  fi
}
for b in micro_bench store_bench sync_bench load_bench query_bench; do need "$b"; done

started=$(date +%s)
step() { echo; echo "== $1 ($(( $(date +%s) - started )) s into the run)"; }

# Micro-benchmarks: per-record costs of the pure core and of one store write.
step "micro: merge, encode/decode, store write per record"
micro_flags=(--benchmark_out="$results/micro.json" --benchmark_out_format=json)
if [ "$mode" = quick ]; then micro_flags+=(--benchmark_min_time=0.05); fi
"$build_dir/bench/micro_bench" "${micro_flags[@]}"

# The device store (visit add, caseload over 100,000 visits); the caseload's dataset takes 20-60 s
# to build, so quick mode keeps only the add.
step "device store"
store_flags=(--benchmark_out="$results/store.json" --benchmark_out_format=json)
if [ "$mode" = quick ]; then store_flags+=(--benchmark_filter=VisitAdd --benchmark_repetitions=1); fi
"$build_dir/bench/store_bench" "${store_flags[@]}"

step "sync end to end: L, push, pull, incremental, bytes per visit, client RSS"
"$build_dir/bench/sync_bench" --json-out "$results/sync.json" "${quick[@]}"

step "many devices, and a phone on 2G"
"$build_dir/bench/load_bench" --json-out "$results/load.json" "${quick[@]}"

step "supervisor queries"
"$build_dir/bench/query_bench" --json-out "$results/query.json" "${quick[@]}"

# Google Benchmark's entries become figures like the drivers' (aggregates only when repeated).
google_figures='[.benchmarks[]
  | select((.run_type == "iteration" and (.repetitions // 1) <= 1) or .aggregate_name == "median")
  | {name: ($prefix + .name), value: .real_time, unit: .time_unit, stat: "per iteration"}]'

commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
jq -n \
  --arg mode "$mode" --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg commit "$commit" \
  --arg cpu "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" \
  --argjson cpus "$(nproc)" \
  --argjson mem_mb "$(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo)" \
  --argjson seconds "$(( $(date +%s) - started ))" \
  --slurpfile micro "$results/micro.json" --slurpfile store "$results/store.json" \
  --slurpfile sync "$results/sync.json" --slurpfile load "$results/load.json" \
  --slurpfile query "$results/query.json" \
  "{mode: \$mode, date: \$date, commit: \$commit, run_seconds: \$seconds,
    machine: {cpu: \$cpu, cpus: \$cpus, memory_mb: \$mem_mb},
    figures: ((\$sync[0].figures) + (\$load[0].figures) + (\$query[0].figures)
              + (\$micro[0] | \"micro: \" as \$prefix | $google_figures)
              + (\$store[0] | \"device store: \" as \$prefix | $google_figures)),
    benches: {sync: \$sync[0], load: \$load[0], query: \$query[0],
              micro: \$micro[0], store: \$store[0]}}" > "$results/latest.json"

echo
echo "== Vínculo benchmarks, $mode mode, commit $commit, $(nproc) CPUs, $(( $(date +%s) - started )) s"
jq -r '.figures[] | [
    .name,
    ((.value | if type == "number" then (. * 100 | round / 100 | tostring) else tostring end)
      + " " + (.unit // "")),
    (if .p99 != null then "p99 " + (.p99 * 100 | round / 100 | tostring) else (.stat // "") end),
    (if .ratio_to_L != null then (.ratio_to_L * 100 | round / 100 | tostring) + " x L" else "" end),
    (.target // ""),
    (if .met == true then "met" elif .met == false then "MISSED" else "" end)
  ] | @tsv' "$results/latest.json" |
  awk -F'\t' 'BEGIN { printf "%-52s %18s %16s %10s %22s %7s\n", "figure", "value", "", "ratio", "target", "";
                      printf "%-52s %18s %16s %10s %22s %7s\n", "------", "-----", "", "-----", "------", "" }
              { printf "%-52s %18s %16s %10s %22s %7s\n", $1, $2, $3, $4, $5, $6 }'
echo
echo "wrote $results/latest.json"
