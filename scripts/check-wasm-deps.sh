#!/usr/bin/env bash
# Fails when a native-only crate (openh264, tokio, turbojpeg...) enters the dependency
# graph of the crates that build for the browser.
set -euo pipefail
cd "$(dirname "$0")/.."
forbidden='^(openh264|openh264-sys2|tokio|turbojpeg|turbojpeg-sys|axum|tokio-tungstenite|mio)$'
for crate in rfb-protocol rfb-viewer rfb-fixtures; do
  deps=$(cargo tree --target wasm32-unknown-unknown -p "$crate" -e normal --prefix none --format '{p}' | awk '{print $1}' | sort -u)
  if bad=$(grep -E "$forbidden" <<<"$deps"); then
    echo "native-only crates in the wasm graph of $crate: $bad" >&2
    exit 1
  fi
done
echo "wasm dependency graphs are clean"
