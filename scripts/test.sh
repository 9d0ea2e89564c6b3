#!/usr/bin/env bash
# Runs Pinwheel's whole test suite: formatting, lints, every Rust test (unit, integration,
# multi-process, against a real QuestDB), the LOBSTER check, the fuzz targets (short run), and
# the browser test.
# Usage: ./scripts/test.sh        (from the repository root; installs what it needs)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

step() { printf '\n==> %s\n' "$*"; }

step "toolchain and packages"
./scripts/setup.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets -- -D warnings

step "build"
cargo build --workspace --all-targets

step "QuestDB jar (tests start their own QuestDB instances with it)"
./scripts/questdb.sh fetch

step "cargo test (unit, integration, multi-process, QuestDB)"
# Two cores: the heavy multi-process tests bound their own threads; keep the harness at 2.
cargo test --workspace -- --test-threads=2

step "loom: the ring's cursor protocols under every interleaving loom explores"
RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom cargo test -p pinwheel-ring --lib --release loom_model

step "miri: the ring's record access and cursor code"
if rustup toolchain list 2>/dev/null | grep -q '^nightly' \
   || rustup toolchain install nightly --profile minimal --component miri,rust-src; then
  rustup component add --toolchain nightly miri rust-src >/dev/null 2>&1 || true
  cargo +nightly miri test -p pinwheel-ring --lib
else
  echo "!!! WARNING: the nightly toolchain with miri could not be installed here; miri was NOT run !!!"
fi

step "fuzz: every decoder of outside bytes, 15 s per target from the committed seed corpus"
# scripts/setup.sh installed cargo-fuzz; the nightly toolchain is the one miri uses.
./scripts/fuzz.sh --seconds 15

step "browser test (headless Chromium)"
(cd web && npm ci --no-audit --no-fund && PINWHEEL_BIN="$root/target/debug/pinwheel" node --test tests/)

step "all tests passed"
