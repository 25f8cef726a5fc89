#!/usr/bin/env bash
# Runs every check CI runs: formatting, lints (native and wasm32), native tests (the wgpu
# example's among them, rendered on lavapipe), a short soak, a short fuzz run of every fuzz
# target, the wasm parity test, the dependency-graph check, the TypeScript consumer check,
# the benchmarks' arithmetic (node --test), the Playwright browser suite (Chromium) and the
# Firefox leg.
#
# Every cargo step builds the release profile, so the native build scripts (the C encoders),
# the proc macros and the dependencies are compiled once for all of them; nothing here
# builds the dev profile. Each step's wall time is printed at the end (also on failure).
set -euo pipefail
cd "$(dirname "$0")/.."

STEP_NAMES=()
STEP_SECONDS=()
current_step=""
step_started=$SECONDS
end_step() {
  if [ -n "$current_step" ]; then
    STEP_NAMES+=("$current_step")
    STEP_SECONDS+=($((SECONDS - step_started)))
    current_step=""
  fi
}
step() {
  end_step
  current_step="$*"
  step_started=$SECONDS
  printf '\n\033[1m== %s\033[0m\n' "$*"
}
timings() {
  local status=$?
  end_step
  printf '\n\033[1m== wall time per step (s)\033[0m\n'
  for i in "${!STEP_NAMES[@]}"; do
    printf '%6d  %s\n' "${STEP_SECONDS[$i]}" "${STEP_NAMES[$i]}"
  done
  printf '%6d  total%s\n' "$SECONDS" "$([ "$status" -eq 0 ] || echo " (FAILED, exit $status)")"
}
trap timings EXIT

step "setup (scripts/setup.sh: installs what is missing, builds the viewer)"
# target/release/rfb comes from the native test step below, built with the workspace's
# features (the soak, Playwright and Firefox steps run that binary).
RFB_SETUP_SKIP_RFB_BUILD=1 ./scripts/setup.sh

step "cargo fmt --check"
cargo fmt --all -- --check
cargo fmt --manifest-path fuzz/Cargo.toml -- --check

step "clippy (native, warnings are errors)"
cargo clippy --release --workspace --all-targets -- -D warnings

step "clippy (wasm32: protocol and viewer)"
cargo clippy --release --target wasm32-unknown-unknown -p rfb-protocol -p rfb-viewer -p rfb-fixtures -- -D warnings

step "native tests (release: the same build the Playwright suite and the demo use)"
cargo test --release --workspace

step "docs: every public item documented, no broken links (rustdoc warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --release --no-deps --all-features -p rfb -p rfb-protocol -p rfb-access

step "dependency policy: licences, bans, sources (deny.toml)"
cargo deny check licenses bans sources

step "soak (short): connection churn back to zero, flat memory under a stalled viewer"
./target/release/rfb soak --cycles 1000 --stall-seconds 10 --stall-size 1280x720 --stall-fps 30 2>/dev/null

step "fuzz smoke (every target 15 s: scripts/fuzz.sh)"
./scripts/fuzz.sh 15

step "no native dependency in the wasm graph"
./scripts/check-wasm-deps.sh

step "wasm tests (golden fixtures decode identically on wasm32)"
wasm-pack test --node --release client-wasm

step "TypeScript: a strict consumer of the package's declarations (tests/types, tsc --noEmit)"
npm run --silent test:types

step "bench arithmetic (node --test bench/lib/: the floor report's overhead and its attribution, latency pairing)"
npm run --silent test:bench

step "Playwright (headless Chromium)"
npx playwright test

step "Firefox leg (headless firefox-esr over WebDriver BiDi)"
npm run --silent test:firefox
