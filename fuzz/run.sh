#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60), one after the other at low priority,
# and prints the executions and findings of each. Builds first. A finding is a file libFuzzer
# writes under fuzz/artifacts/<target>/ (crash-*, timeout-*, oom-*); commit it under
# fuzz/findings/<target>/ and `cargo test` replays it (crdt/tests/fuzz_regressions.rs).
#
#   fuzz/run.sh 120                 # every target, two minutes each
#   TARGETS="room_apply" fuzz/run.sh 30
#   SANITIZER=none fuzz/run.sh 600  # no AddressSanitizer: 2-3x the executions, for volume
#
# cargo fuzz needs nightly compiler flags (-Zsanitizer=address); RUSTC_BOOTSTRAP=1 lets the
# stable toolchain accept them.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-60}"
targets="${TARGETS:-frames room_apply room_reload room_apply_old_rules}"
sanitizer="${SANITIZER:-address}"
export RUSTC_BOOTSTRAP=1

for target in $targets; do
  nice -n 10 cargo fuzz build -O -s "$sanitizer" "$target" >/dev/null 2>build.log || { cat build.log >&2; exit 1; }
done
rm -f build.log

summary=()
for target in $targets; do
  mkdir -p "corpus/$target" "artifacts/$target"
  # Empty files are left out: after a fork-mode run with findings libFuzzer also leaves an empty
  # crash file, which replays cleanly.
  before=$(find "artifacts/$target" -type f -size +0 | sort)
  log="artifacts/$target.log"
  # -timeout: an input running 10 s is a hang. -rss_limit_mb: 2 GiB is an out-of-memory.
  # -detect_leaks=0: a room whose yrs call panicked deliberately leaks that transaction (see
  # crdt/src/room/mod.rs), which LeakSanitizer would report on every such input. -fork=1 with
  # -ignore_*: one job at a time that goes on after a finding, so every target runs its time.
  nice -n 10 cargo fuzz run -O -s "$sanitizer" "$target" "corpus/$target" "seeds/$target" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -detect_leaks=0 \
    -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 >"$log" 2>&1 || true
  execs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')
  corpus=$(find "corpus/$target" -type f | wc -l)
  found=$(comm -13 <(echo "$before") <(find "artifacts/$target" -type f -size +0 | sort) | grep -v '^$' || true)
  new=$(echo -n "$found" | grep -c . || true)
  summary+=("$(printf '%-22s %12s execs  %6s corpus  %3s new findings' "$target" "${execs:-?}" "$corpus" "$new")")
  if [ "$new" -gt 0 ]; then
    echo "== $target: (log: fuzz/$log)"
    echo "$found"
  fi
done
printf '%s\n' "${summary[@]}"
