#!/usr/bin/env bash
# Runs the benchmarks of an existing build: bench/run.sh BUILD_DIR [benchmark flags...]
# Prints the console table and writes bench/results/store.json. docs/performance.md says how to
# read the figures; close other work on the machine first, since commits wait on the disk.
set -euo pipefail

build_dir=${1:-build}
shift || true
root=$(cd "$(dirname "$0")/.." && pwd)
bench="$build_dir/bench/store_bench"
if [ ! -x "$bench" ]; then
  echo "bench/run.sh: $bench not found; build it first (make bench, or cmake --build $build_dir --target store_bench)" >&2
  exit 1
fi
mkdir -p "$root/bench/results"
"$bench" --benchmark_format=console \
  --benchmark_out="$root/bench/results/store.json" --benchmark_out_format=json "$@"
echo "wrote $root/bench/results/store.json"
