#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan + coverage) in BUILD_DIR and runs each for
# SECONDS over its seed corpus and regression inputs. `make fuzz FUZZ_SECONDS=N` calls it.
#
#   tests/fuzz/run.sh BUILD_DIR SECONDS [TARGET...]     (targets: sync_core sync_api login_api cli_json)
#
# New interesting inputs go to BUILD_DIR/fuzz-corpus/TARGET (kept between runs, never committed);
# a crash, leak, timeout or broken oracle leaves its input in BUILD_DIR/fuzz-artifacts/TARGET/ and
# makes this script exit 1. To keep a finding fixed: reproduce it with
#   BUILD_DIR/tests/fuzz/TARGET_fuzzer ARTIFACT
# fix the code, and copy the input to tests/fuzz/regressions/TARGET/ — every `make test` replays it.
#
# Environment: JOBS (parallel compile jobs, default nproc); FUZZ_FLAGS (more libFuzzer flags).
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 BUILD_DIR SECONDS [TARGET...]" >&2
  exit 2
fi
cd "$(dirname "$0")/../.."
build_dir=$1
seconds=$2
shift 2
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then targets=(sync_core sync_api login_api cli_json); fi

# clang and its libFuzzer runtime (`make deps` leaves them out unless asked).
VINCULO_WITH_FUZZ=1 ./deploy/install-build-deps.sh

# -O1 -g without NDEBUG: assertions stay on, stacks stay readable.
if [ ! -f "$build_dir/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S . -B "$build_dir" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
    -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DVINCULO_FUZZ=ON
fi
cmake --build "$build_dir" -j "${JOBS:-$(nproc)}" --target "${targets[@]/%/_fuzzer}"

failed=()
for t in "${targets[@]}"; do
  corpus="$build_dir/fuzz-corpus/$t"
  artifacts="$build_dir/fuzz-artifacts/$t/"
  mkdir -p "$corpus" "$artifacts"
  dict=()
  if [ -f "tests/fuzz/$t.dict" ]; then dict=(-dict="tests/fuzz/$t.dict"); fi
  echo "== $t: ${seconds}s"
  # -timeout: one input taking over 10 s is a finding; -rss_limit_mb: so is 2 GB of memory.
  if ! "$build_dir/tests/fuzz/${t}_fuzzer" "$corpus" "tests/fuzz/corpus/$t" \
      "tests/fuzz/regressions/$t" "${dict[@]}" -max_total_time="$seconds" -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts" \
      ${FUZZ_FLAGS:-} 2>"$build_dir/fuzz-$t.log"; then
    failed+=("$t")
    tail -n 60 "$build_dir/fuzz-$t.log"
  fi
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)|cov: ' \
    "$build_dir/fuzz-$t.log" | tail -n 4 || true
done

if [ ${#failed[@]} -ne 0 ]; then
  echo "FINDINGS in: ${failed[*]} (inputs under $build_dir/fuzz-artifacts/)" >&2
  exit 1
fi
echo "no findings"
