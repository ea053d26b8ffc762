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

.PHONY: all deps configure build run test bench install deb clean

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

# Headers, libraries, CMake and pkg-config files and otpp-node under PREFIX.
install: build
	@cmake --install $(BUILD_DIR) --prefix $(PREFIX)

# The Debian package, otpp_VERSION_ARCH.deb in BUILD_DIR.
deb: build
	@cd $(BUILD_DIR) && cpack -G DEB

clean:
	rm -rf $(BUILD_DIR)
