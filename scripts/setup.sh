#!/usr/bin/env bash
# Installs what building and testing rfb needs, skipping whatever is already there:
# Debian packages, the wasm32 target, wasm-pack, cargo-fuzz, npm packages, and the viewer
# package.
# Safe to run any number of times.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

# nasm: openh264's and libjpeg-turbo's assembly (halves encode time); cmake: libjpeg-turbo;
# chromium: the Playwright browser; firefox-esr: the Firefox leg (puppeteer-core over
# WebDriver BiDi); ffmpeg: independent MP4 checks; procps: `kill`, which the recording
# tests signal `rfb` with (absent from slim images); mesa-vulkan-drivers and libvulkan1:
# lavapipe (Mesa's software Vulkan) and the Vulkan loader, for the wgpu example's test on
# machines without a GPU; nats-server: the relay tests (origin -> NATS -> edges; each test
# starts its own on a free loopback port). (wasm-opt comes from npm's binaryen: Debian's
# version 108 breaks wasm-bindgen 0.2.130 output.)
APT_PACKAGES=(nasm cmake pkg-config chromium firefox-esr ffmpeg procps mesa-vulkan-drivers libvulkan1 nats-server)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if ! command -v wasm-pack >/dev/null 2>&1; then
  log "installing wasm-pack (about 4 minutes, once)"
  cargo install wasm-pack --locked
fi

if ! command -v cargo-deny >/dev/null 2>&1; then
  log "installing cargo-deny (the dependency policy check; a few minutes, once)"
  cargo install --locked cargo-deny
fi

if ! command -v cargo-fuzz >/dev/null 2>&1; then
  log "installing cargo-fuzz (about 2 minutes, once)"
  cargo install --locked cargo-fuzz
fi

if [ ! -d node_modules/@playwright/test ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm packages"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
fi

log "building the viewer package (client-wasm/pkg: wasm-pack, then wasm-opt)"
export PATH="$HOME/.cargo/bin:$PATH"
npm run --silent build:viewer

# scripts/test.sh skips this: its `cargo test --release --workspace` builds the same binary
# with the whole workspace's features, and building it here first with fewer features
# would make that step compile rfb and its dependents a second time.
if [ "${RFB_SETUP_SKIP_RFB_BUILD:-0}" != 1 ]; then
  log "building rfb (release)"
  cargo build --release -p rfb --features cli --bin rfb
fi
