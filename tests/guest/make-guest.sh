#!/usr/bin/env bash
# Build the qlaunch test guest from Debian packages only.
#
# Usage: tests/guest/make-guest.sh OUTDIR
#
# Writes OUTDIR/vmlinuz (the kernel of the package linux-image-amd64 depends on),
# OUTDIR/vmlinux (the same kernel uncompressed: an ELF image QEMU boots through
# its PVH entry point, which spares the bzImage's decompressor, about 4 s under
# TCG; UEFI firmware needs vmlinuz, the kernel's EFI stub) and OUTDIR/initramfs.img (gzip'd newc cpio: busybox-static, the kernel modules
# the guest tests need with their dependencies, and tests/guest/init as /init).
# The .deb files are kept in OUTDIR/cache: a re-run downloads nothing while the
# mirror's candidate versions are the ones cached. `apt-get update` runs once,
# only when apt cannot resolve the packages. Needs apt-get, dpkg-deb, depmod
# (kmod), cpio, gzip, xz; run as root (apt-get update, /dev/console node).
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 OUTDIR" >&2
  exit 2
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p -- "$1"
out=$(cd "$1" && pwd)
cache=$out/cache
work=$out/work
arch=amd64

# Modules the guest loads at boot (their dependencies come from modules.dep).
# PCI-to-PCI bridges, SHPC and PCIe hotplug are built into Debian's kernel
# (CONFIG_HOTPLUG_PCI_SHPC=y, CONFIG_PCIEPORTBUS=y): nothing to load for them.
modules=(
  virtio virtio_ring virtio_pci
  virtio_blk
  virtio_net net_failover failover
  virtio_console
  9pnet 9pnet_virtio netfs 9p
  scsi_mod virtio_scsi sd_mod
  libnvdimm nfit nd_pmem
  vsock vmw_vsock_virtio_transport
  fuse virtiofs
  virtio-rng virtio_balloon
  i6300esb
)
# Modules in the initramfs that a check loads itself (modprobe NAME) because
# they only make sense on some boots: efivarfs needs UEFI firmware.
ondemand_modules=(
  efivarfs
)

say () { printf 'make-guest: %s\n' "$*" >&2; }
die () { say "error: $*"; exit 1; }

for tool in apt-get apt-cache dpkg-deb depmod cpio gzip xz truncate; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found (packages apt, dpkg, kmod, cpio, gzip, xz-utils)"
done

# apt-get download as root into a directory _apt cannot write warns and falls
# back to an unsandboxed download; ask for that directly.
apt_opts=(-q -o APT::Sandbox::User=root -o Dpkg::Use-Pty=0)

updated=0
apt_update ()
{
  [ "$updated" -eq 0 ] || return 1
  updated=1
  say "apt-get update (package lists do not know what the guest needs)"
  apt-get "${apt_opts[@]}" update >&2
}

# The kernel package linux-image-amd64 depends on, e.g. linux-image-6.1.0-56-amd64.
kernel_package ()
{
  { apt-cache depends "linux-image-$arch:$arch" 2>/dev/null || true; } \
    | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { sub(/:.*/, "", $2); print $2; exit }'
}

candidate ()
{
  { apt-cache policy "$1:$arch" 2>/dev/null || true; } | awk '$1 == "Candidate:" { print $2; exit }'
}

# The cached .deb of package $1 at version $2 (apt-get download's file name:
# the version's ':' is written '%3a').
deb_name () { printf '%s/%s_%s_%s.deb' "$cache" "$1" "${2//:/%3a}" "$arch"; }

# The newest cached .deb of package $1, for when apt cannot tell (no lists).
# $1 may be a glob pattern.
cached_deb () { { ls -1 "$cache/"$1_*_"$arch".deb 2>/dev/null || true; } | sort -V | tail -n 1; }

# Sets $fetched to the path of the .deb of package $1, downloading it unless
# cached (not a $(...) function: apt_update must see and set $updated).
fetch ()
{
  local pkg=$1 ver deb
  ver=$(candidate "$pkg")
  if [ -z "$ver" ] || [ "$ver" = "(none)" ]; then
    if apt_update; then
      ver=$(candidate "$pkg")
    fi
  fi
  if [ -z "$ver" ] || [ "$ver" = "(none)" ]; then
    deb=$(cached_deb "$pkg")
    [ -n "$deb" ] || die "apt knows no version of '$pkg' and none is cached in $cache"
    say "apt knows no version of '$pkg'; using cached $(basename "$deb")"
    fetched=$deb
    return
  fi
  deb=$(deb_name "$pkg" "$ver")
  if [ ! -s "$deb" ]; then
    say "downloading $pkg $ver"
    if ! (cd "$cache" && apt-get "${apt_opts[@]}" download "$pkg:$arch=$ver" >&2); then
      # Stale lists (the mirror dropped that version): refresh once and retry.
      apt_update || die "apt-get download $pkg=$ver failed"
      ver=$(candidate "$pkg")
      deb=$(deb_name "$pkg" "$ver")
      (cd "$cache" && apt-get "${apt_opts[@]}" download "$pkg:$arch=$ver" >&2) \
        || die "apt-get download $pkg=$ver failed"
    fi
    [ -s "$deb" ] || die "apt-get download did not write $deb"
  else
    say "cached: $(basename "$deb")"
  fi
  fetched=$deb
}

mkdir -p -- "$cache"

kpkg=$(kernel_package)
if [ -z "$kpkg" ]; then
  apt_update || true
  kpkg=$(kernel_package)
fi
if [ -z "$kpkg" ]; then
  # No package lists at all (offline): fall back to a cached kernel.
  kdeb=$(cached_deb 'linux-image-[0-9]*')
  [ -n "$kdeb" ] || die "cannot resolve linux-image-$arch's kernel package and none is cached"
  kpkg=$(basename "$kdeb"); kpkg=${kpkg%%_*}
  say "apt cannot resolve linux-image-$arch; using cached $kpkg"
fi
say "kernel package: $kpkg"

fetch "$kpkg"
kernel_deb=$fetched
fetch busybox-static
busybox_deb=$fetched

rm -rf -- "$work"
mkdir -p -- "$work/kernel" "$work/busybox" "$work/root"
trap 'rm -rf -- "$work"' EXIT

say "extracting $(basename "$kernel_deb")"
dpkg-deb -x "$kernel_deb" "$work/kernel"
dpkg-deb -x "$busybox_deb" "$work/busybox"

vmlinuz=$(ls -1 "$work"/kernel/boot/vmlinuz-* 2>/dev/null | head -n 1)
[ -n "$vmlinuz" ] || die "no boot/vmlinuz-* in $(basename "$kernel_deb")"
kver=${vmlinuz##*/vmlinuz-}
kmods=$work/kernel/lib/modules/$kver
[ -d "$kmods" ] || die "no lib/modules/$kver in $(basename "$kernel_deb")"
[ -x "$work/busybox/bin/busybox" ] || die "no bin/busybox in $(basename "$busybox_deb")"

# The package ships no modules.dep: make one for the whole tree.
depmod -b "$work/kernel" "$kver"

# The modules with every dependency modules.dep lists (it lists the whole
# closure on each line), as paths relative to $kmods.
declare -A want=()
for m in "${modules[@]}" "${ondemand_modules[@]}"; do
  line=$(grep -E "(^|/)${m}\.ko(\.[a-z]+)?:" "$kmods/modules.dep" || true)
  if [ -z "$line" ]; then
    if grep -qE "(^|/)${m}\.ko(\.[a-z]+)?$" "$kmods/modules.builtin" 2>/dev/null; then
      say "$m is built in"
      continue
    fi
    die "module '$m' is neither in modules.dep nor built into $kver"
  fi
  for f in ${line/:/ }; do
    want[$f]=1
  done
done

root=$work/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,mnt,tmp,run,"lib/modules/$kver"}
cp "$work/busybox/bin/busybox" "$root/bin/busybox"
# strip_signature FILE: cuts the signature appended to a module (the data,
# a 12-byte struct module_signature ending with the data's length, big
# endian, then the magic string). Without one the kernel skips checking it
# (0.25 s of each boot under TCG); CONFIG_MODULE_SIG_FORCE is off, so it only
# notes a taint.
sig_magic='~Module signature appended~'
strip_signature ()
{
  local f=$1 size len
  [ "$(tail -c 28 "$f" | head -c 27)" = "$sig_magic" ] || return 0
  size=$(stat -c %s "$f")
  len=$(tail -c 32 "$f" | head -c 4 | od -An -tu1 | awk '{ print (($1 * 256 + $2) * 256 + $3) * 256 + $4 }')
  [ "$len" -gt 0 ] && [ $((len + 40)) -lt "$size" ] || die "$f: bad module signature length '$len'"
  truncate -s $((size - 40 - len)) "$f"
}

declare -A ondemand=()
for m in "${ondemand_modules[@]}"; do
  ondemand[$m]=1
done
for f in "${!want[@]}"; do
  mkdir -p "$root/lib/modules/$kver/$(dirname "$f")"
  cp "$kmods/$f" "$root/lib/modules/$kver/$f"
  # On-demand modules keep their signature: efivarfs is loaded under UEFI
  # Secure Boot too, where the kernel is locked down and refuses unsigned
  # modules.
  name=${f##*/}; name=${name%%.ko*}
  [ -n "${ondemand[$name]:-}" ] || strip_signature "$root/lib/modules/$kver/$f"
done
for f in modules.order modules.builtin modules.builtin.modinfo; do
  if [ -f "$kmods/$f" ]; then
    cp "$kmods/$f" "$root/lib/modules/$kver/$f"
  fi
done
depmod -b "$root" "$kver"
printf '%s\n' "${modules[@]}" > "$root/etc/qltest-modules"
install -m 0755 "$here/init" "$root/init"
# busybox udhcpc configures the interface through this script (its default
# path): address, netmask, default route and DNS from the lease.
mkdir -p "$root/usr/share/udhcpc"
cat > "$root/usr/share/udhcpc/default.script" <<'SCRIPT'
#!/bin/sh
# udhcpc event script of the qlaunch test guest.
case "$1" in
  deconfig)
    ip -4 addr flush dev "$interface"
    ip link set "$interface" up
    ;;
  bound|renew)
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    if [ -n "$router" ]; then
      ip route replace default via "${router%% *}" dev "$interface"
    fi
    : > /etc/resolv.conf
    for d in $dns; do echo "nameserver $d" >> /etc/resolv.conf; done
    echo "QLTEST-DHCP $interface $ip/${mask:-24} router=${router%% *} dns=$dns"
    ;;
esac
exit 0
SCRIPT
chmod 0755 "$root/usr/share/udhcpc/default.script"
# The kernel opens /dev/console for init before anything is mounted; without
# the node it warns and /init redirects itself once devtmpfs is up.
if [ "$(id -u)" -eq 0 ]; then
  mknod -m 600 "$root/dev/console" c 5 1
fi

# extract_vmlinux BZIMAGE OUT: the uncompressed kernel inside a bzImage whose
# payload is xz-compressed (Debian's CONFIG_KERNEL_XZ), as the kernel's
# scripts/extract-vmlinux finds it: the first xz stream that decompresses to
# an ELF file. QEMU boots it only with a PVH entry point (CONFIG_PVH).
extract_vmlinux ()
{
  local img=$1 dst=$2 offsets off config
  config=$(ls -1 "$work"/kernel/boot/config-* 2>/dev/null | head -n 1)
  [ -n "$config" ] || die "no boot/config-* in $(basename "$kernel_deb")"
  grep -qx 'CONFIG_PVH=y' "$config" \
    || die "$kver has no PVH entry point (CONFIG_PVH): QEMU cannot boot its vmlinux"
  grep -qx 'CONFIG_KERNEL_XZ=y' "$config" \
    || die "$kver's bzImage payload is not xz-compressed (CONFIG_KERNEL_XZ)"
  offsets=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$img" | cut -d: -f1) || true
  for off in $offsets; do
    # xz stops reading after the stream: tail may die of SIGPIPE.
    if { tail -c "+$((off + 1))" "$img" || true; } | xz -dc --single-stream > "$dst" 2>/dev/null \
       && [ "$(head -c 4 "$dst" | od -An -c | tr -d ' ')" = '177ELF' ]; then
      return 0
    fi
  done
  rm -f -- "$dst"
  die "no xz-compressed ELF kernel in $(basename "$img")"
}

say "initramfs: ${#want[@]} module files, $(du -sk "$root" | cut -f1) KiB"
(cd "$root" && find . -print0 | LC_ALL=C sort -z \
   | cpio --null -o -H newc --quiet --owner=0:0 | gzip -1 -n) > "$out/initramfs.img.tmp"
cp "$vmlinuz" "$out/vmlinuz.tmp"
extract_vmlinux "$vmlinuz" "$out/vmlinux.tmp"
mv -f "$out/vmlinuz.tmp" "$out/vmlinuz"
mv -f "$out/vmlinux.tmp" "$out/vmlinux"
mv -f "$out/initramfs.img.tmp" "$out/initramfs.img"
printf '%s\n' "$kver" > "$out/kernel-version"
say "done: $out/vmlinuz, $out/vmlinux ($kver), $out/initramfs.img"
