# `make run` and `make test` do all the set-up on a fresh Debian 12 machine.
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
# SANITIZE=address,undefined (or thread) builds with sanitizers; use another BUILD_DIR.
SANITIZE ?=
JOBS ?= $(shell nproc)
# make install PREFIX=...: where the package goes.
PREFIX ?= /usr/local
MAKEFLAGS += --no-print-directory

CMAKE_FLAGS := -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DOTPP_SANITIZE=$(SANITIZE)

.PHONY: all deps configure build run test bench fuzz install deb clean

all: build

deps:
	@scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD_DIR) $(CMAKE_FLAGS) >/dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

run: build
	$(BUILD_DIR)/apps/otpp-node config/example.toml

test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)

bench: build
	$(BUILD_DIR)/apps/otpp-bench

# The fuzz targets of tests/fuzz, built with clang's libFuzzer under ASan and
# UBSan in FUZZ_BUILD_DIR, each run for FUZZ_SECONDS; fails on any finding
# and names the input. Needs the Debian packages clang and libclang-rt-14-dev.
FUZZ_SECONDS ?= 600
FUZZ_BUILD_DIR ?= build-fuzz
FUZZ_TARGETS ?= loader http
fuzz: deps
	@command -v clang++ >/dev/null && test -f "$$(clang++ -print-resource-dir)/lib/linux/libclang_rt.fuzzer-$$(uname -m).a" \
	  || { echo "make fuzz: needs clang's libFuzzer: apt-get install clang libclang-rt-14-dev" >&2; exit 1; }
	@CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DOTPP_FUZZ=ON \
	  -DOTPP_SANITIZE=address,undefined >/dev/null
	@cmake --build $(FUZZ_BUILD_DIR) -j $(JOBS) --target $(FUZZ_TARGETS:%=otpp-fuzz-%)
	@tests/fuzz/run.sh $(FUZZ_BUILD_DIR) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# Headers, libraries, CMake and pkg-config files and otpp-node under PREFIX.
install: build
	@cmake --install $(BUILD_DIR) --prefix $(PREFIX)

# The Debian package, otpp_VERSION_ARCH.deb in BUILD_DIR.
deb: build
	@cd $(BUILD_DIR) && cpack -G DEB

clean:
	rm -rf $(BUILD_DIR)
