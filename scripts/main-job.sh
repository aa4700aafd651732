#!/usr/bin/env bash
# The main job: install what qlaunch needs, build it and the test guest, then
# check and print the QEMU command line of every example VM in data/examples/
# and start QEMU 7.2 (TCG, stopped with -S) on each argv to show that QEMU
# accepts it; finally boot data/examples/boot.vm with `qlaunch run`: the
# guest's serial console on this terminal until its init prints QLTEST-READY
# and powers the VM off (QEMU and qlaunch exit 0).
#
# Everything is built in build/ at the top of the source tree: boot.vm names
# the guest there (../../build/tests/guest/, relative to the VM file).
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"
. scripts/trusted-tree.sh
ql_run_from_trusted_tree "$top" scripts/main-job.sh "$@"

say () { printf '\n== %s\n' "$*"; }

say "installing Debian packages (scripts/setup-deps.sh)"
bash scripts/setup-deps.sh

say "building (meson, build/)"
if [ ! -f build/build.ninja ]; then
  meson setup build >/dev/null
fi
meson compile -C build >/dev/null
echo "built: build/core/cli/qlaunch, build/core/libqlaunch-1.so, plugins in build/plugins"

say "building the test guest (meson compile -C build guest)"
# A Debian kernel and a busybox initramfs made from Debian packages by
# tests/guest/make-guest.sh; the .deb files are cached in build/tests/guest/cache.
meson compile -C build guest >/dev/null
echo "built: build/tests/guest/vmlinux ($(cat build/tests/guest/kernel-version)), build/tests/guest/initramfs.img"

# The example disks live next to the VM file that names them.
[ -f data/examples/server-system.qcow2 ] || qemu-img create -q -f qcow2 data/examples/server-system.qcow2 64M
[ -f data/examples/server-data.img ] || qemu-img create -q -f raw data/examples/server-data.img 16M

qlaunch () { QLAUNCH_PLUGIN_SYSTEM_PATH= build/core/cli/qlaunch --plugin-dir build/plugins "$@"; }

say "qlaunch inspect"
qlaunch inspect

# The examples put their QMP sockets in root's runtime directory, which a
# fresh machine (or a reboot: /run is a tmpfs) does not have yet.
if [ "$(id -u)" -eq 0 ]; then
  install -d -m 0700 /run/qlaunch
else
  # Another user cannot create sockets there: check copies of the examples
  # whose sockets are in $XDG_RUNTIME_DIR/qlaunch instead.
  rundir=${XDG_RUNTIME_DIR:?XDG_RUNTIME_DIR is not set}/qlaunch
  install -d -m 0700 "$rundir"
  copies=$(mktemp -d)
  trap 'rm -rf "$copies"' EXIT
  for vm in data/examples/*.vm; do
    # (relative disk paths resolve against the VM file's directory: make them absolute)
    sed -e "s|/run/qlaunch/|$rundir/|g" -e "s|^file = \([^/]\)|file = $PWD/data/examples/\1|" \
      "$vm" >"$copies/${vm##*/}"
  done
fi

status=0
for vm in data/examples/*.vm; do
  [ "$(id -u)" -eq 0 ] || [ "$vm" = data/examples/boot.vm ] || vm=$copies/${vm##*/}
  # boot.vm is booted for real below.
  [ "$vm" != data/examples/boot.vm ] || continue
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
[ "$status" -eq 0 ] || exit "$status"

vm=data/examples/boot.vm
say "qlaunch check $vm"
qlaunch check "$vm"
say "qlaunch args $vm"
qlaunch args "$vm"

say "qlaunch run $vm (the guest's serial console follows; Ctrl-C stops the VM)"
# The console is also kept in a log to check for the ready marker. The
# timeout (SIGTERM to qlaunch, which stops QEMU cleanly) only guards against
# a guest that never powers off; --foreground keeps the terminal usable.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
rc=0
QLAUNCH_PLUGIN_SYSTEM_PATH='' timeout --foreground 300 \
  build/core/cli/qlaunch --plugin-dir build/plugins run "$vm" | tee -i "$log" || rc=$?
if [ -t 1 ]; then
  printf '\033[?7h'   # SeaBIOS's serial console turns line wrapping off
fi
ready=$(tr -d '\r' <"$log" | grep -a -o 'QLTEST-READY.*' | head -n 1 || true)
if [ "$rc" -gt 128 ]; then
  echo "main-job: qlaunch run was stopped by signal $((rc - 128)) (exit $rc)" >&2
  exit "$rc"
fi
if [ "$rc" -ne 0 ] || [ -z "$ready" ]; then
  echo "main-job: the guest did not come up cleanly (qlaunch run exit $rc${ready:+, $ready})" >&2
  exit 1
fi
say "the guest's init said: $ready"
echo "QEMU powered off cleanly: qlaunch run exited 0"
