# Vínculo — the two commands a new machine needs:
#   make demo   install what is missing, build, and run the end-to-end demo
#   make test   install what is missing, build, and run every test through ctest
# Both work from a fresh Debian 12 clone with no step by hand.

BUILD_DIR  ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS       ?= $(shell nproc)

.PHONY: all deps configure build test demo bench clean

all: build

deps:
	@./deploy/install-build-deps.sh

$(BUILD_DIR)/build.ninja: CMakeLists.txt
	cmake -S . -B $(BUILD_DIR) -G Ninja \
	  -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
	  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache

configure: deps $(BUILD_DIR)/build.ninja

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)

demo: build
	./deploy/demo.sh $(BUILD_DIR)

bench: build
	./bench/run.sh $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR)
