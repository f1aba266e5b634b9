# Vínculo — the two commands a new machine needs:
#   make demo   install what is missing, build, and run the end-to-end demo
#   make test   install what is missing, build, and run every test: the suite, the suite again
#               under ASan and UBSan, and each libFuzzer target briefly (what CI runs)
# Both work from a fresh Debian 12 clone with no step by hand.

BUILD_DIR  ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS       ?= $(shell nproc)

SCHEDULES  ?= 100000
FUZZ_SECONDS ?= 60
CI_FUZZ_SECONDS ?= 20

.PHONY: all deps configure build check test test-asan soak fuzz fuzz-ci demo bench clean

all: build

deps:
	@./deploy/install-build-deps.sh

$(BUILD_DIR)/build.ninja: CMakeLists.txt
	cmake -S . -B $(BUILD_DIR) -G Ninja \
	  -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
	  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache $(CMAKE_EXTRA)

configure: deps $(BUILD_DIR)/build.ninja

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

# One build's suite through ctest: the quick check while working (a few minutes).
check: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)

# Every test, as CI runs it (.ci/run): the suite, then the same suite under the sanitizers, then
# each fuzz target for CI_FUZZ_SECONDS.
test: check
	$(MAKE) test-asan
	$(MAKE) fuzz-ci

# The whole suite again under AddressSanitizer and UndefinedBehaviorSanitizer, in its own build;
# any finding, undefined behaviour included, fails the test that hit it.
test-asan:
	$(MAKE) check BUILD_DIR=build-asan BUILD_TYPE=Debug CMAKE_EXTRA=-DVINCULO_SANITIZE=ON

# Each libFuzzer target briefly, from a fixed seed so that a finding replays the same way.
fuzz-ci: deps
	FUZZ_FLAGS="-seed=1" ./tests/fuzz/run.sh build-fuzz $(CI_FUZZ_SECONDS)

# The deterministic simulation for as many schedules as asked: make soak SCHEDULES=100000
soak: build
	./tests/sim/soak.sh $(BUILD_DIR) $(SCHEDULES)

# Each libFuzzer target for FUZZ_SECONDS seconds, built with clang in build-fuzz.
fuzz: deps
	./tests/fuzz/run.sh build-fuzz $(FUZZ_SECONDS)

demo: build
	./deploy/demo.sh $(BUILD_DIR)

# Every benchmark in one run, table printed and bench/results/latest.json written; QUICK=1 for the
# three-minute version (docs/performance.md).
bench: build
	./bench/run.sh $(BUILD_DIR) $(if $(QUICK),--quick)

clean:
	rm -rf $(BUILD_DIR)
