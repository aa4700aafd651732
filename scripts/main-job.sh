#!/usr/bin/env bash
# The main job: install what qlaunch needs, build it, then check and print the
# QEMU command line of every example VM in data/examples/, and start QEMU 7.2
# (TCG, stopped with -S) on each argv to show that QEMU accepts it.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"

say () { printf '\n== %s\n' "$*"; }

say "installing Debian packages (scripts/setup-deps.sh)"
bash scripts/setup-deps.sh

say "building (meson, build/)"
if [ ! -f build/build.ninja ]; then
  meson setup build >/dev/null
fi
meson compile -C build >/dev/null
echo "built: build/core/cli/qlaunch, build/core/libqlaunch-1.so, plugins in build/plugins"

# The example disks live next to the VM file that names them.
[ -f data/examples/server-system.qcow2 ] || qemu-img create -q -f qcow2 data/examples/server-system.qcow2 64M
[ -f data/examples/server-data.img ] || qemu-img create -q -f raw data/examples/server-data.img 16M

qlaunch () { QLAUNCH_PLUGIN_SYSTEM_PATH= build/core/cli/qlaunch --plugin-dir build/plugins "$@"; }

say "qlaunch inspect"
qlaunch inspect

status=0
for vm in data/examples/*.vm; do
  say "qlaunch check $vm"
  qlaunch check "$vm" || { status=1; continue; }
  say "qlaunch args $vm"
  qlaunch args "$vm"

  mapfile -t argv < <(qlaunch args --format lines "$vm")
  # -S keeps the guest stopped; QEMU must stay up (timeout => 124) and print nothing.
  err=$(mktemp)
  rc=0
  timeout 3 "${argv[@]}" -S -display none </dev/null >/dev/null 2>"$err" || rc=$?
  if [ "$rc" -eq 124 ] && ! grep -v 'terminating on signal' "$err" | grep -q .; then
    echo "QEMU $(qemu-system-x86_64 --version | head -1 | awk '{print $4}') accepted this argv: ran 3 s with no error or warning"
  else
    echo "QEMU rejected this argv (exit $rc):"; cat "$err"; status=1
  fi
  rm -f "$err"
done
exit "$status"
