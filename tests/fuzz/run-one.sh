#!/bin/sh
# Runs one libFuzzer harness for SECONDS from its seed corpus; the one runner
# behind scripts/run-fuzz.sh and the meson tests of suite `fuzz`
# (-Dfuzzing=true, tests/fuzz/meson.build).
#
#   run-one.sh HARNESS SECONDS SEEDS WORK CRASHDIR
#
# The corpus grows in WORK/<target> (seeded from SEEDS, which is never
# modified). A crash, leak, timeout, out-of-memory, sanitizer report or
# broken invariant makes it exit 1, with the reproducer and the log copied
# to CRASHDIR/<target>/. Prints one line:
#   <target> <execs/s> <execs> <corpus size> ok|FAILED ...
set -eu

[ $# -eq 5 ] || { echo "usage: run-one.sh HARNESS SECONDS SEEDS WORK CRASHDIR" >&2; exit 2; }
harness=$1 seconds=$2 seeds=$3 work=$4 crashdir=$5
t=$(basename "$harness")
case $seconds in
  ''|*[!0-9]*) echo "run-one.sh: SECONDS must be a number, not '$seconds'" >&2; exit 2 ;;
esac

# UBSan reports are fatal; ASan/LSan already are. Keep GLib quiet and plain.
srcdir=$(cd "$(dirname "$0")/../.." && pwd)
export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:allocator_may_return_null=1
export LSAN_OPTIONS=suppressions=$srcdir/tests/lsan.supp:print_suppressions=0
export G_SLICE=always-malloc G_DEBUG=gc-friendly
export QLAUNCH_PLUGIN_SYSTEM_PATH= QLAUNCH_PLUGIN_PATH=

corpus=$work/$t
artifacts=$work/$t-artifacts
log=$work/$t.log
rm -rf "$artifacts"
mkdir -p "$corpus" "$artifacts"
cp -n "$seeds/"* "$corpus/" 2>/dev/null || true

parallel=
[ "${FUZZ_JOBS:-1}" -gt 1 ] && parallel="-fork=$FUZZ_JOBS"
set +e
"$harness" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 \
  -max_len=65536 -print_final_stats=1 $parallel \
  -artifact_prefix="$artifacts/" "$corpus" > "$log" 2>&1
rc=$?
set -e
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | awk '{s+=$1} END {print s+0}')
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | awk '{s+=$1} END {print s+0}')
size=$(find "$corpus" -type f | wc -l)
if [ $rc -ne 0 ] || grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|qlaunch fuzz' "$log" \
   || [ -n "$(ls -A "$artifacts")" ]; then
  mkdir -p "$crashdir/$t"
  for f in "$artifacts"/*; do
    [ -e "$f" ] && cp "$f" "$crashdir/$t/"
  done
  cp "$log" "$crashdir/$t/$(date +%Y%m%d-%H%M%S).log"
  grep -E 'ERROR:|runtime error:|qlaunch fuzz|^    #[0-9] ' "$log" | head -30 >&2
  printf '%-18s %10s %10s %8s %s\n' "$t" "$rate" "$execs" "$size" "FAILED (exit $rc, log $log)"
  exit 1
fi
printf '%-18s %10s %10s %8s %s\n' "$t" "$rate" "$execs" "$size" ok
