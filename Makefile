# `make run` and `make test` do all the set-up on a fresh Debian 12 machine.
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
# SANITIZE=address,undefined (or thread) builds with sanitizers; use another BUILD_DIR.
SANITIZE ?=
JOBS ?= $(shell nproc)
MAKEFLAGS += --no-print-directory

CMAKE_FLAGS := -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DOTPP_SANITIZE=$(SANITIZE)

.PHONY: all deps configure build run test bench clean

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

clean:
	rm -rf $(BUILD_DIR)
