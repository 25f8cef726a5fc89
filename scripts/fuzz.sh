#!/usr/bin/env bash
# Runs the coverage-guided fuzz targets in fuzz/ (cargo-fuzz, libFuzzer) for SECONDS each
# (default 60), one after another, and prints per target the executions, coverage and
# whether anything crashed. Exits non-zero when a target crashed (the input that did it
# is in fuzz/artifacts/TARGET/).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]      targets: client_message hello server_message http_request
#
# Stable Rust: built with `--sanitizer none` (AddressSanitizer needs nightly's
# -Zsanitizer; the code under test has no `unsafe`, so libFuzzer's coverage guidance,
# Rust's own bounds checks, debug assertions and overflow checks do the finding).
# Corpora grow in fuzz/corpus/TARGET (not committed), seeded every run from the golden
# fixtures and fuzz/seeds/. `cargo install --locked cargo-fuzz` (scripts/setup.sh) first.
set -euo pipefail
cd "$(dirname "$0")/.."

ALL_TARGETS=(client_message hello server_message http_request)
SECONDS_EACH=${1:-60}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=("${ALL_TARGETS[@]}")
if ! [[ "$SECONDS_EACH" =~ ^[0-9]+$ ]] || [ "$SECONDS_EACH" -lt 1 ]; then
  echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]" >&2
  exit 2
fi
for t in "${TARGETS[@]}"; do
  [[ " ${ALL_TARGETS[*]} " == *" $t "* ]] || { echo "unknown target $t (have: ${ALL_TARGETS[*]})" >&2; exit 2; }
done
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "cargo-fuzz is missing: run scripts/setup.sh (or cargo install --locked cargo-fuzz)" >&2
  exit 2
fi

FUZZ_TARGET_DIR=${FUZZ_TARGET_DIR:-$PWD/target/fuzz}
FUZZ_FLAGS=(--sanitizer none --target-dir "$FUZZ_TARGET_DIR")
LOGS="$FUZZ_TARGET_DIR/logs"
mkdir -p "$LOGS"

# A server_message record: op 0 (a WebSocket message), u16 little-endian length, bytes.
frame() {
  local n
  n=$(stat -c %s "$1")
  printf "\\x00\\x$(printf %02x $((n & 255)))\\x$(printf %02x $((n >> 8)))"
  cat "$1"
}

# Seeds: every run copies them in (cheap, and those from the fixtures follow the wire
# format when it changes); libFuzzer keeps what it learns in the same folder.
seed() {
  local target=$1 corpus=fuzz/corpus/$1 g=fixtures/golden
  mkdir -p "$corpus"
  case $target in
    client_message | hello)
      cp $g/client_*.bin "$corpus"/
      ;;
    server_message)
      for f in $g/server_*.bin; do frame "$f" >"$corpus/$(basename "$f" .bin)"; done
      # Whole sessions: configure, frames, decoder outputs (op 2) and a failure (op 3).
      { frame $g/server_config_h264.bin; frame $g/server_video_chunk.bin
        printf '\x02\x00'; frame $g/server_stats.bin; frame $g/server_set_quality.bin
        frame $g/server_video_chunk.bin; printf '\x03\xff'; frame $g/server_error.bin
      } >"$corpus/session_video"
      { frame $g/server_config_png_p3.bin; frame $g/server_image_frame.bin
        frame $g/server_image_frame.bin; printf '\x02\x01\x03\x00'; frame $g/server_role_view.bin
        frame $g/server_heartbeat.bin; frame $g/server_clipboard.bin
      } >"$corpus/session_image"
      ;;
  esac
  # Hand-made inputs, and inputs that once found a bug.
  if [ -d "fuzz/seeds/$target" ]; then cp "fuzz/seeds/$target"/* "$corpus"/; fi
}

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "building the fuzz targets (cargo fuzz build ${FUZZ_FLAGS[*]})"
build_start=$(date +%s)
cargo fuzz build "${FUZZ_FLAGS[@]}" "${TARGETS[@]:0:1}" >/dev/null
for t in "${TARGETS[@]:1}"; do cargo fuzz build "${FUZZ_FLAGS[@]}" "$t" >/dev/null; done
echo "built in $(($(date +%s) - build_start)) s"

failed=()
summary=()
for t in "${TARGETS[@]}"; do
  step "fuzzing $t for ${SECONDS_EACH} s"
  seed "$t"
  log="$LOGS/$t.log"
  status=0
  # -timeout: an input taking over 10 s counts as a hang (a crash). The RSS limit stays
  # libFuzzer's 2048 MB, so unbounded memory is a crash too.
  # CPU seconds next to wall time: on a shared machine a run gets less than a core.
  TIMEFORMAT='%0U'
  cpu=$( { time cargo fuzz run "${FUZZ_FLAGS[@]}" "$t" "fuzz/corpus/$t" -- \
    -max_total_time="$SECONDS_EACH" -timeout=10 -print_final_stats=1 >"$log" 2>&1; } 2>&1 ) ||
    status=$?
  # The final stats when the run ends normally; after a crash, libFuzzer's last status line.
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  runs=${runs:-$(sed -n 's/^#\([0-9]*\).*/\1/p' <<<"$last")}
  rate=${rate:-$(sed -n 's/.* exec\/s: \([0-9]*\).*/\1/p' <<<"$last")}
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
  if [ "$status" -eq 0 ]; then
    verdict="no crash"
  else
    verdict="CRASH (exit $status; see $log and fuzz/artifacts/$t/)"
    failed+=("$t")
    grep -E '^(thread .* panicked|==[0-9]+== ERROR|SUMMARY|Test unit written)' "$log" | head -5 || true
  fi
  line=$(printf '%-15s %10s runs %8s exec/s %5s cpu-s  cov %5s  ft %6s  corpus %5s  %s' \
    "$t" "${runs:-?}" "${rate:-?}" "${cpu:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$verdict")
  echo "$line"
  summary+=("$line")
done

step "fuzzing summary (${SECONDS_EACH} s per target; logs in $LOGS)"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "crashed: ${failed[*]}" >&2
  exit 1
fi
