#!/usr/bin/env bash
# Runs every fuzz target (fuzz/fuzz_targets/, cargo-fuzz + libFuzzer, nightly) for N seconds
# each, from the committed seed corpus, and prints per target the inputs executed and the
# crashes found (an input that panics, overflows, hangs past 10 s or trips AddressSanitizer),
# then one summary line. Exits 1 if any target crashed; the crashing inputs are kept in
# fuzz/artifacts/<target>/ (replay one: fuzz/target/x86_64-unknown-linux-gnu/release/<target> FILE).
# Usage: ./scripts/fuzz.sh [--seconds N] [TARGET...]     (default 20 s, every target)
# Needs: the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz --locked --version 0.13.2`).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds=20
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=${2:?--seconds needs a number}; shift 2 ;;
    --seconds=*) seconds=${1#--seconds=}; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "--seconds takes whole seconds, not $seconds" >&2; exit 2; }

# Debug assertions on: overflow checks and the engine's invariant check after every command.
cargo +nightly fuzz build -O --debug-assertions
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo +nightly fuzz list)
bin_dir=target/x86_64-unknown-linux-gnu/release

base=/dev/shm
[ -d "$base" ] && [ -w "$base" ] || base=${TMPDIR:-/tmp}
scratch=$(mktemp -d "$base/pinwheel-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

total_inputs=0
total_crashes=0
printf '%-18s %14s %8s\n' target inputs crashes
for target in "${targets[@]}"; do
  [ -d "corpus/$target" ] || { echo "no seed corpus in fuzz/corpus/$target" >&2; exit 1; }
  mkdir -p "$scratch/corpus/$target" "$scratch/files" "artifacts/$target"
  before=$(find "artifacts/$target" -type f | wc -l)
  log="$scratch/$target.log"
  # New inputs go to the scratch corpus (first directory); the committed seeds stay as they are.
  PINWHEEL_FUZZ_SCRATCH="$scratch/files" "$bin_dir/$target" \
    "$scratch/corpus/$target" "corpus/$target" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="artifacts/$target/" >"$log" 2>&1 || true
  inputs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  crashes=$(( $(find "artifacts/$target" -type f | wc -l) - before ))
  if [ -z "$inputs" ]; then
    # No final stats: the target died before reporting (the log says why).
    inputs=0
    [ "$crashes" -gt 0 ] || crashes=1
  fi
  printf '%-18s %14s %8s\n' "$target" "$inputs" "$crashes"
  if [ "$crashes" -gt 0 ]; then
    grep -m1 -B2 -A12 -E 'panicked|ERROR: |deadly signal|timeout' "$log" | sed 's/^/    /' || tail -20 "$log"
  fi
  total_inputs=$((total_inputs + inputs))
  total_crashes=$((total_crashes + crashes))
done
echo "fuzz: ${#targets[@]} targets, ${seconds} s each, $total_inputs inputs executed, $total_crashes crashes"
[ "$total_crashes" -eq 0 ]
