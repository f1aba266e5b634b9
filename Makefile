# Vínculo — the two commands a new machine needs:
#   make demo   install what is missing, build, and run the end-to-end demo
#   make test   install what is missing, build, and run every test through ctest
# Both work from a fresh Debian 12 clone with no step by hand.

BUILD_DIR  ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS       ?= $(shell nproc)

SCHEDULES  ?= 100000
FUZZ_SECONDS ?= 60

.PHONY: all deps configure build test test-asan soak fuzz demo bench clean

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

test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)

# The whole suite again under AddressSanitizer and UndefinedBehaviorSanitizer, in its own build.
test-asan:
	$(MAKE) test BUILD_DIR=build-asan BUILD_TYPE=Debug CMAKE_EXTRA=-DVINCULO_SANITIZE=ON

# The deterministic simulation for as many schedules as asked: make soak SCHEDULES=100000
soak: build
	./tests/sim/soak.sh $(BUILD_DIR) $(SCHEDULES)

# Each libFuzzer target for FUZZ_SECONDS seconds, built with clang in build-fuzz.
fuzz: deps
	./tests/fuzz/run.sh build-fuzz $(FUZZ_SECONDS)

demo: build
	./deploy/demo.sh $(BUILD_DIR)

bench: build
	./bench/run.sh $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR)
