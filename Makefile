# histinit: two commands for a fresh clone.
#   make demo   build and run the demo (prints what to open / where results are)
#   make test   install what the tests need, then run every test
#
# Cargo's target directory lives outside the clone so that a re-run after a fresh
# clone (CI right after a session) reuses the build instead of starting over.

SHELL := /bin/bash
export CARGO_TARGET_DIR ?= $(HOME)/.cache/histinit/target
export CARGO_TERM_COLOR ?= never
CARGO ?= cargo
# lavapipe (software Vulkan) for native wgpu, Chromium + chromedriver for browser
# tests (and node with npm for the end-to-end tests, from Debian where none is installed).
# (Not Debian's binaryen: its wasm-opt 108 breaks the module, see BINARYEN_VERSION.)
APT_PACKAGES := mesa-vulkan-drivers chromium chromium-driver fonts-dejavu-core
# The wasm-bindgen CLI must match the wasm-bindgen crate in Cargo.lock exactly.
WASM_BINDGEN_VERSION := $(shell sed -n '/^name = "wasm-bindgen"$$/{n;s/^version = "\(.*\)"$$/\1/p;}' Cargo.lock)
export PATH := $(HOME)/.cargo/bin:$(PATH)
# Builds of Burn go through patches/cargo.sh: burn-flex with patches/burn-flex-*.patch
# (faster CPU kernels, native and wasm32), and for wasm32 builds wgpu with
# patches/wgpu-subgroups.patch; each the registry's source with the patches applied, in a
# fixed place outside the clone (~/.cache/histinit), so that every clone reuses the same
# build; see patches/README.md. The script leaves Cargo.lock in its committed form.
BURN_CARGO := CARGO="$(CARGO)" patches/cargo.sh
WASM_CARGO := $(BURN_CARGO) --wasm
WASM_TARGET := --target wasm32-unknown-unknown

PORT ?= 8000
# wasm-opt for `make web`: binaryen from npm (an Emscripten build run with node), pinned.
# Debian's binaryen 108 breaks the reference-typed table that wasm-bindgen 0.2.130 emits
# (the page fails with "WebAssembly.Table.set(): Argument 1 is invalid for table");
# 132 does not. Installed outside the clone, next to the cargo target directory.
# WASM_OPT=0 skips it (a faster build, a 5.6 MB instead of a 4.0 MB gzipped module).
BINARYEN_VERSION := 132.0.0
BINARYEN_DIR := $(HOME)/.cache/histinit/binaryen-$(BINARYEN_VERSION)
WASM_OPT_JS := $(BINARYEN_DIR)/node_modules/binaryen/bin/wasm-opt
WASM_OPT ?= 1
WASM_OPT_FLAGS := -Oz --enable-simd --enable-reference-types --enable-bulk-memory --enable-nontrapping-float-to-int \
  --enable-sign-ext --enable-mutable-globals --enable-multivalue

.PHONY: demo web web-dev docs site test test-e2e test-release test-slurm slurm-local setup setup-system setup-wasm-bindgen setup-patches setup-binaryen lint fmt-check fuzz-check test-native test-web

## Install what is missing: the wasm target, and (as root on Debian) Mesa's lavapipe
## so the wgpu backend has a software Vulkan device.
setup: setup-system setup-wasm-bindgen setup-patches
	@rustup target list --installed | grep -q wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
	@rustup component list --installed | grep -q clippy || rustup component add clippy
	@rustup component list --installed | grep -q rustfmt || rustup component add rustfmt

setup-system:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	command -v npm >/dev/null || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "warning: missing$$missing (install them with apt-get as root)"; fi; \
	fi

## The patched sources (patches/cargo.sh makes them on first use; this only says so).
setup-patches:
	@$(WASM_CARGO) --version

## The pinned binaryen from npm, if node and npm are there (`make web` says so if not).
setup-binaryen:
	@if [ "$(WASM_OPT)" != 0 ] && [ ! -f $(WASM_OPT_JS) ] && command -v npm >/dev/null && command -v node >/dev/null; then \
	  echo "installing binaryen $(BINARYEN_VERSION) (npm) in $(BINARYEN_DIR)"; \
	  npm install --prefix $(BINARYEN_DIR) --no-audit --no-fund --silent binaryen@$(BINARYEN_VERSION) \
	    || echo "warning: npm could not install binaryen $(BINARYEN_VERSION)"; \
	fi

## `cargo install --locked` fails against this registry (a yanked lock entry), so not locked.
setup-wasm-bindgen:
	@if ! wasm-bindgen --version 2>/dev/null | grep -qF "$(WASM_BINDGEN_VERSION)"; then \
	  echo "installing wasm-bindgen-cli $(WASM_BINDGEN_VERSION)"; \
	  $(CARGO) install -q wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION); \
	fi

## The playground: the shipped (size-optimized) module, then a static server on 127.0.0.1.
demo: web
	$(BIN_BUILD_ENV) $(BURN_CARGO) build --bin histinit
	$(CARGO_TARGET_DIR)/debug/histinit serve --dir . --port $(PORT)

## The study's Markdown (docs/**/*.md) as HTML pages beside it ("Read the findings"),
## by histinit-site (crates/histinit-files: no Burn, so seconds, not a Burn build).
docs:
	$(BIN_BUILD_ENV) $(CARGO) build --bin histinit-site
	$(CARGO_TARGET_DIR)/debug/histinit-site docs

## A self-contained static folder for any static host (GitHub Pages: .github/workflows/pages.yml):
## the shipped module (`make web`), the page, histograms, rendered docs and a _headers file.
SITE_DIR ?= site
site: web
	$(CARGO_TARGET_DIR)/debug/histinit-site site --out $(SITE_DIR)

## www/pkg: the web crate for wasm32 in the web-release profile, wasm-bindgen, then
## wasm-opt -Oz from the pinned npm binaryen (minutes on 2 cores; WASM_OPT=0 skips it).
## Without node/npm, or if wasm-opt fails, the unoptimized module stays, with a warning.
web: setup setup-binaryen docs
	$(WASM_CARGO) build -p histinit-web $(WASM_TARGET) --profile web-release
	$(call bindgen,web-release)
	@if [ "$(WASM_OPT)" = 0 ]; then echo "wasm-opt skipped (WASM_OPT=0)"; else \
	  if [ -f $(WASM_OPT_JS) ] && command -v node >/dev/null; then \
	    echo "wasm-opt (binaryen $(BINARYEN_VERSION) under node, takes minutes) $(WASM_OPT_FLAGS)"; \
	    start=$$(date +%s); \
	    if node $(WASM_OPT_JS) $(WASM_OPT_FLAGS) www/pkg/histinit_web_bg.wasm -o www/pkg/histinit_web_bg.opt.wasm; then \
	      mv www/pkg/histinit_web_bg.opt.wasm www/pkg/histinit_web_bg.wasm; \
	      echo "wasm-opt took $$(( $$(date +%s) - start )) s"; \
	    else rm -f www/pkg/histinit_web_bg.opt.wasm; \
	      echo "warning: wasm-opt failed; www/pkg keeps the unoptimized module (it works, ~5.6 MB gzipped)"; fi; \
	  else echo "warning: wasm-opt skipped: binaryen $(BINARYEN_VERSION) needs node and npm (npm install"; \
	    echo "  --prefix $(BINARYEN_DIR) binaryen@$(BINARYEN_VERSION)); www/pkg keeps the unoptimized module"; fi; \
	fi
	@echo "www/pkg/histinit_web_bg.wasm: $$(stat -c %s www/pkg/histinit_web_bg.wasm) bytes, $$(gzip -9 -c www/pkg/histinit_web_bg.wasm | wc -c) gzipped (-9)"

## The same page from the dev profile, which shares its compiled dependencies with the
## browser tests (the e2e tests use it: minutes instead of a second 10-minute build).
web-dev: setup docs
	$(WASM_CARGO) build -p histinit-web $(WASM_TARGET)
	$(call bindgen,debug)

define bindgen
	rm -rf www/pkg
	wasm-bindgen --target web --no-typescript --out-dir www/pkg \
	  $(CARGO_TARGET_DIR)/wasm32-unknown-unknown/$(1)/histinit_web.wasm
endef

## Formatting, then clippy over every target. `cargo clippy` is a check build of its own
## (7 minutes of dependencies on a fresh machine), so `make test` does not run it: its
## test build compiles the workspace with clippy-driver instead (test-native).
lint: fmt-check
	$(BURN_CARGO) clippy --workspace --all-targets -- -D warnings

fmt-check:
	$(CARGO) fmt --all --check

# clippy-driver as the compiler of the workspace's own crates only (dependencies keep rustc,
# so they are the test build's and the e2e build's), with `-D warnings` passed the way
# `cargo clippy` passes it. The workspace has no benches or examples, so `cargo test
# --workspace` compiles every target `cargo clippy --all-targets` checks. A crate compiled
# earlier without the wrapper would count as fresh and go unlinted: test-native cleans them.
WORKSPACE_PACKAGES := histinit-histogram histinit-files histinit-core histinit-charts histinit-studies histinit-web histinit-cli
LINTED := RUSTC_WORKSPACE_WRAPPER=clippy-driver CLIPPY_ARGS=-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__
# Within `make test` every build of the CLI is linted the same way, or each would rebuild
# the workspace after the other (cargo tracks CLIPPY_ARGS).
BIN_BUILD_ENV :=
test: BIN_BUILD_ENV = $(LINTED)

## The fuzz crate (fuzz/, its own workspace and Cargo.lock) still builds: every target
## type-checked on stable, without libFuzzer's C++ and without Burn (it needs only the
## format crate and checkpoint.rs): 23-36 s cold on 2 busy cores, 0.05 s warm. Its kept inputs
## (fuzz/seeds, fuzz/regressions) are replayed by test-native.
fuzz-check:
	$(CARGO) check --manifest-path fuzz/Cargo.toml --locked --bins --no-default-features

## Native tests, the workspace linted by clippy as it compiles (see LINTED).
test-native:
	$(CARGO) clean -q $(addprefix -p ,$(WORKSPACE_PACKAGES))
	$(LINTED) $(BURN_CARGO) test --workspace

## A one-node Slurm on this machine (root on Debian: slurm-wlm and munge from apt, daemons
## started without systemd; `bash experiments/slurm-local.sh stop` stops them).
slurm-local:
	bash experiments/slurm-local.sh

## A tiny sweep through experiments/slurm-array.sh on that Slurm, its aggregate compared
## byte for byte with one process's sweep (tests/slurm/run.sh).
test-slurm:
	$(BIN_BUILD_ENV) $(BURN_CARGO) build --bin histinit
	HISTINIT=$(CARGO_TARGET_DIR)/debug/histinit bash tests/slurm/run.sh

## Browser tests: the web crate built for wasm32 and run in headless Chromium, training
## on WebGPU (SwiftShader) and on the CPU backend.
test-web: setup-patches
	export CHROMEDRIVER=/usr/bin/chromedriver WASM_BINDGEN_TEST_TIMEOUT=1200; \
	  $(WASM_CARGO) test -p histinit-web $(WASM_TARGET) -- --nocapture

## End to end: the served page in headless Chromium (playwright-core).
test-e2e: web-dev
	$(BIN_BUILD_ENV) $(BURN_CARGO) build --bin histinit
	cd tests/e2e && npm ci --no-audit --no-fund --silent
	HISTINIT_BIN=$(CARGO_TARGET_DIR)/debug/histinit node tests/e2e/run.mjs

## The shipped module end to end: `make web` (web-release + wasm-opt), then the CPU
## training check against it. Not part of `make test`: the web-release build and wasm-opt
## take 15-20 minutes on 2 cores (see docs/benchmarks.md, "Size of the shipped module").
test-release: web
	$(BIN_BUILD_ENV) $(BURN_CARGO) build --bin histinit
	cd tests/e2e && npm ci --no-audit --no-fund --silent
	E2E_ONLY="CPU run" HISTINIT_BIN=$(CARGO_TARGET_DIR)/debug/histinit node tests/e2e/run.mjs --real

test: setup fmt-check fuzz-check test-native test-slurm test-web test-e2e
	@echo "all tests passed"
