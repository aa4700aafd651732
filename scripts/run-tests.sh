#!/usr/bin/env bash
# Build qlaunch and run the whole test suite.
#
# Usage: scripts/run-tests.sh [-B DIR] [--wipe] [--no-deps] [-D...]... [-- MESON_TEST_ARGS...]
#
#   -B, --builddir DIR   build directory, relative to the source root (default: build);
#                        an already configured one is reused
#   --wipe               delete DIR first and configure from scratch
#   --no-deps            do not run scripts/setup-deps.sh
#   -D...                meson setup options (e.g. -Dwerror=true); applied with
#                        --reconfigure when DIR is already configured
#   -- ARGS...           passed to `meson test` (e.g. -- --suite core)
#
# The last line printed is always `N passed, N failed, N skipped` (from
# DIR/meson-logs/testlog.json, counted by scripts/count-tests.py), also when a
# step fails. Exit status: 0 if every step succeeded and no test failed, else 1.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"
. scripts/trusted-tree.sh
ql_run_from_trusted_tree "$top" scripts/run-tests.sh "$@"

builddir=build
wipe=0
deps=1
setup_args=()
test_args=()

usage () { sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}"; }

while [ $# -gt 0 ]; do
  case "$1" in
    -B|--builddir) [ $# -ge 2 ] || { usage >&2; exit 2; }; builddir=$2; shift 2 ;;
    --builddir=*) builddir=${1#*=}; shift ;;
    --wipe) wipe=1; shift ;;
    --no-deps) deps=0; shift ;;
    -D?*) setup_args+=("$1"); shift ;;
    --) shift; test_args=("$@"); break ;;
    -h|--help) usage; exit 0 ;;
    *) printf 'run-tests: unknown argument %s\n' "$1" >&2; usage >&2; exit 2 ;;
  esac
done

say () { printf 'run-tests: %s\n' "$*"; }

# Elapsed time since $1 (a value of EPOCHREALTIME), as seconds with one decimal.
elapsed ()
{
  local t0=${1/[.,]/} t1=${EPOCHREALTIME/[.,]/}
  local d=$(( (t1 - t0) / 100000 ))
  printf '%d.%ds' $(( d / 10 )) $(( d % 10 ))
}

status=0
testlog="$builddir/meson-logs/testlog.json"

# Runs "$@" as the step called $name, reports its time; returns its status.
step ()
{
  local name=$1; shift
  local t0=$EPOCHREALTIME rc=0
  "$@" || rc=$?
  if [ "$rc" -eq 0 ]; then
    say "$name: $(elapsed "$t0")"
  else
    say "$name: FAILED (exit $rc) after $(elapsed "$t0")"
  fi
  return "$rc"
}

# shellcheck disable=SC2317  # called through step
configure ()
{
  if [ "$wipe" -eq 1 ] && [ -e "$builddir" ]; then
    local real
    real=$(cd "$builddir" && pwd)
    # Only ever delete something that is a meson build directory.
    if [ "$real" = "$top" ] || [ "$real" = / ] \
       || { [ ! -d "$builddir/meson-private" ] && [ -n "$(ls -A "$builddir")" ]; }; then
      say "refusing to wipe '$builddir': not a meson build directory" >&2
      return 1
    fi
    rm -rf -- "$builddir"
  fi
  if [ -f "$builddir/meson-private/coredata.dat" ]; then
    if [ "${#setup_args[@]}" -gt 0 ]; then
      meson setup --reconfigure "$builddir" "${setup_args[@]}"
    fi
  else
    meson setup "$builddir" "${setup_args[@]}"
  fi
}

# A log left by an earlier run must not be counted if this one fails early.
rm -f -- "$testlog"

if [ "$deps" -eq 1 ]; then
  step deps bash scripts/setup-deps.sh || status=1
fi
if [ "$status" -eq 0 ]; then
  step "configure $builddir" configure || status=1
fi
if [ "$status" -eq 0 ]; then
  step "compile $builddir" meson compile -C "$builddir" || status=1
fi
if [ "$status" -eq 0 ]; then
  step "test $builddir" meson test -C "$builddir" --no-rebuild --print-errorlogs \
    "${test_args[@]}" || status=1
fi

if command -v python3 >/dev/null 2>&1; then
  python3 scripts/count-tests.py "$testlog" || status=1
else
  # Without python3 meson cannot have run either.
  echo "0 passed, 0 failed, 0 skipped"
  status=1
fi
exit "$status"
