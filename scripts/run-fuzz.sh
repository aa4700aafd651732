#!/bin/sh
# Builds the libFuzzer harnesses (tests/fuzz) with clang, ASan and UBSan
# into build-fuzz and runs each for SECONDS (default 60) from its seed
# corpus. Crashes, leaks, timeouts and sanitizer reports are copied to
# tests/fuzz/crashes/ and make the script exit non-zero. Prints execs/s and
# corpus size per target.
#
#   scripts/run-fuzz.sh [SECONDS] [TARGET...]
#
# Environment: BUILD_DIR (default build-fuzz), FUZZ_JOBS (libFuzzer -fork
# workers per harness, default 1), FUZZ_WORK (the corpora the runs grow; default
# BUILD_DIR/fuzz-work, seeded from tests/fuzz/corpus/TARGET; the checked-in
# seeds are never modified).
set -eu

srcdir=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
[ $# -gt 0 ] && shift
targets=${*:-fuzz-vm-file fuzz-device-spec fuzz-qmp fuzz-argv}
build=${BUILD_DIR:-$srcdir/build-fuzz}
work=${FUZZ_WORK:-$build/fuzz-work}
crashdir=$srcdir/tests/fuzz/crashes
jobs=${FUZZ_JOBS:-1}

case $seconds in
  ''|*[!0-9]*) echo "run-fuzz.sh: SECONDS must be a number, not '$seconds'" >&2; exit 2 ;;
esac

for cc in clang clang-14; do
  if command -v "$cc" >/dev/null 2>&1; then CLANG=$cc; break; fi
done
[ -n "${CLANG:-}" ] || { echo "run-fuzz.sh: clang not found (scripts/setup-deps.sh)" >&2; exit 2; }

if [ ! -f "$build/build.ninja" ]; then
  # fuzzer-no-link instruments the library and the plugins for coverage;
  # the harnesses link libFuzzer (-fsanitize=fuzzer, tests/fuzz/meson.build).
  CC=$CLANG meson setup "$build" "$srcdir" \
    -Dfuzzing=true -Dtests=false -Dintrospection=disabled \
    -Db_sanitize=address,undefined -Db_lundef=false \
    -Dc_args=-fsanitize=fuzzer-no-link -Dc_link_args=-fsanitize=fuzzer-no-link \
    -Dwarning_level=2
fi
ninja -C "$build"   # the harnesses and the plugins they load

# UBSan reports are fatal; ASan/LSan already are. Keep GLib quiet and plain.
export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:allocator_may_return_null=1
export LSAN_OPTIONS=suppressions=$srcdir/tests/lsan.supp:print_suppressions=0
export G_SLICE=always-malloc G_DEBUG=gc-friendly
export QLAUNCH_BUILD_PLUGIN_DIR=$build/plugins
export QLAUNCH_PLUGIN_SYSTEM_PATH= QLAUNCH_PLUGIN_PATH=

status=0
parallel=
[ "$jobs" -gt 1 ] && parallel="-fork=$jobs"
mkdir -p "$work"
printf '%-18s %10s %10s %8s %s\n' target execs/s execs corpus result > "$work/summary"
for t in $targets; do
  corpus=$work/$t
  artifacts=$work/$t-artifacts
  rm -rf "$artifacts"
  mkdir -p "$corpus" "$artifacts"
  cp -n "$srcdir/tests/fuzz/corpus/$t/"* "$corpus/" 2>/dev/null || true
  log=$work/$t.log
  echo "== $t: ${seconds}s"
  set +e
  "$build/tests/fuzz/$t" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 \
    -max_len=65536 -print_final_stats=1 $parallel \
    -artifact_prefix="$artifacts/" "$corpus" > "$log" 2>&1
  rc=$?
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | awk '{s+=$1} END {print s+0}')
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | awk '{s+=$1} END {print s+0}')
  size=$(find "$corpus" -type f | wc -l)
  result=ok
  if [ $rc -ne 0 ] || grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|qlaunch fuzz' "$log" \
     || [ -n "$(ls -A "$artifacts")" ]; then
    result="FAILED (exit $rc, log $log)"
    status=1
    mkdir -p "$crashdir/$t"
    for f in "$artifacts"/*; do
      [ -e "$f" ] && cp "$f" "$crashdir/$t/"
    done
    cp "$log" "$crashdir/$t/$(date +%Y%m%d-%H%M%S).log"
    grep -E 'ERROR:|runtime error:|qlaunch fuzz|^    #[0-9] ' "$log" | head -30 >&2
  fi
  printf '%-18s %10s %10s %8s %s\n' "$t" "$rate" "$execs" "$size" "$result" | tee -a "$work/summary"
done
echo
cat "$work/summary"
exit $status
