#!/usr/bin/env bash
# Install every Debian 12 package qlaunch needs to build and test.
#
# Idempotent: only packages that are not installed yet are passed to apt-get,
# and `apt-get update` runs only when something has to be installed and the
# package lists do not know it (or the first install attempt fails).
# A run with everything present does no network access and takes well under
# a second.
#
# Usage: scripts/setup-deps.sh   (as root, or with sudo available)
set -euo pipefail

packages=(
  # build
  meson ninja-build pkg-config gcc
  libglib2.0-dev libjson-glib-dev
  # QEMU (qemu-system-common ships qemu-storage-daemon)
  qemu-system-x86 qemu-utils qemu-system-common
  # test tools
  iproute2 socat python3 python3-gi gir1.2-glib-2.0 jq
  # GObject Introspection (Qlaunch-1.0.gir/.typelib) and the gi-docgen API reference
  gobject-introspection libgirepository1.0-dev gir1.2-json-1.0 gi-docgen
  # sanitizers, fuzzing, memory checks
  clang libclang-rt-14-dev valgrind
  # guest image (kernel modules + busybox initramfs)
  kmod cpio xz-utils busybox-static
  # helper processes of devices (virtio-fs: virtiofsd ships with qemu-system-common; passt; swtpm)
  passt swtpm swtpm-tools
  # UEFI firmware (OVMF code and variable templates, with firmware descriptors)
  ovmf
)

say () { printf 'setup-deps: %s\n' "$*"; }

# Prints the packages of "$@" that are not fully installed.
missing_packages ()
{
  local installed
  # dpkg-query exits 1 when a name is unknown to dpkg; that just means
  # "not installed", so ignore the status and compare names.
  installed=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "$@" 2>/dev/null \
                | awk '$2 == "installed" { print $1 }' || true)
  local p
  for p in "$@"; do
    grep -qxF -- "$p" <<<"$installed" || printf '%s\n' "$p"
  done
}

# True if apt knows an installation candidate for every package in "$@".
have_candidates ()
{
  local p cand
  for p in "$@"; do
    cand=$(apt-cache policy -- "$p" 2>/dev/null | awk '/Candidate:/ { print $2 }')
    [ -n "$cand" ] && [ "$cand" != "(none)" ] || return 1
  done
}

if ! command -v dpkg-query >/dev/null 2>&1; then
  say "dpkg-query not found: this script supports Debian 12 only" >&2
  exit 1
fi

mapfile -t missing < <(missing_packages "${packages[@]}")
if [ "${#missing[@]}" -eq 0 ]; then
  say "all ${#packages[@]} packages already installed"
  exit 0
fi
say "missing: ${missing[*]}"

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
  else
    say "must run as root (or have sudo) to install packages" >&2
    exit 1
  fi
fi

apt_get=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -y
         -o Dpkg::Use-Pty=0)

updated=0
if ! have_candidates "${missing[@]}"; then
  say "apt-get update (package lists do not know every missing package)"
  "${apt_get[@]}" update >/dev/null
  updated=1
fi

say "apt-get install ${#missing[@]} package(s)"
if ! "${apt_get[@]}" install --no-install-recommends "${missing[@]}"; then
  if [ "$updated" -eq 1 ]; then
    say "apt-get install failed" >&2
    exit 1
  fi
  # Stale lists (e.g. a 404 on a superseded version): refresh once and retry.
  say "install failed; apt-get update and retry"
  "${apt_get[@]}" update >/dev/null
  "${apt_get[@]}" install --no-install-recommends "${missing[@]}"
fi

mapfile -t still < <(missing_packages "${packages[@]}")
if [ "${#still[@]}" -ne 0 ]; then
  say "still missing after install: ${still[*]}" >&2
  exit 1
fi
say "done: installed ${missing[*]}"
