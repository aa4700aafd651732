#!/bin/sh
# Builds the libFuzzer harnesses (tests/fuzz) with clang, ASan and UBSan
# into build-fuzz and runs each for SECONDS (default 60) from its seed
# corpus (tests/fuzz/run-one.sh, the runner the meson tests of suite `fuzz`
# use too). Crashes, leaks, timeouts and sanitizer reports are copied to
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

export QLAUNCH_BUILD_PLUGIN_DIR=$build/plugins

status=0
mkdir -p "$work"
printf '%-18s %10s %10s %8s %s\n' target execs/s execs corpus result > "$work/summary"
for t in $targets; do
  echo "== $t: ${seconds}s"
  if ! line=$("$srcdir/tests/fuzz/run-one.sh" "$build/tests/fuzz/$t" "$seconds" \
                "$srcdir/tests/fuzz/corpus/$t" "$work" "$crashdir"); then
    status=1
  fi
  echo "$line" | tee -a "$work/summary"
done
echo
cat "$work/summary"
exit $status
