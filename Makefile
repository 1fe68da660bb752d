# weft — the commands a newcomer types.  Every target runs scripts/setup.sh first (idempotent), then
# drives CMake presets (CMakePresets.json); build trees live in build/<preset>/.
#
#   make test     build dev + asan, run every test of both through ctest (unit, fuzz-corpus replay, ...)
#   make devnet   a fresh local network (4 connected nodes) with live status until Ctrl-C (DEVNET_DIR,
#                 DEVNET_NODES=4, DEVNET_ARGS="--t0 3200" ...; see README)
#   make build    dev build only             make release   optimized build
#   make fuzz     libFuzzer run of every target for FUZZ_SECONDS (default 30) each
#   make bench    release build, then run every benchmark
#   make format   clang-format the tree       make clean     remove build/

SHELL := /bin/bash
FUZZ_SECONDS ?= 30
CTEST_ARGS ?=

.PHONY: all setup build release test test-dev test-asan devnet fuzz bench format clean

all: build

setup:
	@bash scripts/setup.sh

build: setup
	@cmake --preset dev >/dev/null && cmake --build --preset dev

release: setup
	@cmake --preset release >/dev/null && cmake --build --preset release

test-dev: setup
	@cmake --preset dev >/dev/null && cmake --build --preset dev
	@echo "== ctest: dev (gcc, Debug, -Werror, WEFT_VERIFY) =="
	@ctest --preset dev $(CTEST_ARGS)

test-asan: setup
	@cmake --preset asan >/dev/null && cmake --build --preset asan
	@echo "== ctest: asan (clang, AddressSanitizer + UndefinedBehaviorSanitizer) =="
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		ctest --preset asan $(CTEST_ARGS)

test: test-dev test-asan

devnet: release
	@d="$${DEVNET_DIR:-build/devnet}"; \
	if [ -f "$$d/devnet.json" ]; then \
		build/release/app/weft devnet stop --dir "$$d" >/dev/null 2>&1 || true; rm -rf "$$d"; \
	fi; \
	build/release/app/weft devnet --nodes $${DEVNET_NODES:-4} --dir "$$d" $(DEVNET_ARGS)

fuzz: setup
	@cmake --preset fuzz >/dev/null && cmake --build --preset fuzz
	@set -e; for d in fuzz/*/; do t=$$(basename $$d); \
		[ -f $$d/fuzz.c ] || continue; \
		mkdir -p build/fuzz/corpus/$$t; \
		echo "== fuzz $$t ($(FUZZ_SECONDS) s) =="; \
		build/fuzz/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			build/fuzz/corpus/$$t $$d/corpus 2>&1 | tail -n 12; \
	done

bench: release
	@for b in build/release/bench/*; do \
		[ -x "$$b" ] && [ -f "$$b" ] || continue; echo "== $$(basename $$b) =="; "$$b"; \
	done

format:
	@git ls-files '*.c' '*.h' | xargs clang-format -i

clean:
	rm -rf build
