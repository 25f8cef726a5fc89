#!/usr/bin/env bash
# Starts the demo: `rfb serve` publishing the test card with the viewer page at
# http://127.0.0.1:8765/. Extra arguments go to `rfb serve` (see `rfb serve --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec ./target/release/rfb serve "$@"
