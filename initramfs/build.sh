#!/usr/bin/env bash
# Builds kexboot's initramfs.
# Usage: initramfs/build.sh --modules DIR --output FILE [--compress gzip|xz|zstd|none]
#                           [--arch x86_64|ppc64le]
#   DIR: a kernel's module tree, .../lib/modules/<version> (or "none" for no modules).
#   --arch: the machine the image is for (default: this one's). ppc64le on an x86_64
#   machine cross-builds kexboot (`make ppc64le`) and takes Debian's ppc64el busybox-static.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
usage="usage: build.sh --modules DIR --output FILE [--compress gzip|xz|zstd|none] [--arch x86_64|ppc64le]"
modules="" output="" compress=gzip arch=$(uname -m)
while [ $# -gt 0 ]; do
  case "$1" in
    --modules) modules=$2; shift 2 ;;
    --output) output=$2; shift 2 ;;
    --compress) compress=$2; shift 2 ;;
    --arch) arch=$2; shift 2 ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
done
[ -n "$modules" ] && [ -n "$output" ] || { echo "$usage" >&2; exit 2; }
case "$arch" in
  x86_64|amd64) arch=x86_64 ;;
  ppc64le|ppc64el) arch=ppc64le ;;
  *) echo "build.sh: unknown architecture $arch (x86_64 or ppc64le)" >&2; exit 2 ;;
esac
cross=no
if [ "$arch" != "$(uname -m)" ]; then
  [ "$arch" = ppc64le ] && [ "$(uname -m)" = x86_64 ] || {
    echo "build.sh: cannot build a $arch image on $(uname -m) (x86_64 builds x86_64 and ppc64le images)" >&2; exit 2; }
  cross=yes
fi

need=()
[ "$cross" = yes ] || { command -v busybox >/dev/null && busybox --list >/dev/null 2>&1 && [ -x /bin/busybox ]; } || need+=(busybox-static)
command -v cpio >/dev/null || need+=(cpio)
command -v depmod >/dev/null || need+=(kmod)
[ -f /usr/share/terminfo/x/xterm ] || [ -f /lib/terminfo/x/xterm ] || need+=(ncurses-base)
[ -f /etc/ssl/certs/ca-certificates.crt ] || need+=(ca-certificates)
case "$compress" in xz) command -v xz >/dev/null || need+=(xz-utils) ;; zstd) command -v zstd >/dev/null || need+=(zstd) ;; esac
if [ ${#need[@]} -gt 0 ]; then
  echo "build.sh needs these Debian packages: ${need[*]} (apt-get install ${need[*]})" >&2
  exit 1
fi
[ "$cross" = no ] || command -v qemu-ppc64le-static >/dev/null || need+=(qemu-user-static)
if [ ${#need[@]} -gt 0 ]; then
  echo "build.sh needs these Debian packages: ${need[*]} (apt-get install ${need[*]})" >&2
  exit 1
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,run,tmp,mnt,lib,lib64,usr/share/terminfo,etc/ssl/certs}

if [ "$cross" = no ]; then
  file /bin/busybox 2>/dev/null | grep -q "statically linked" || [ "$(ldd /bin/busybox 2>&1 | grep -c 'not a dynamic')" = 1 ] || {
    echo "build.sh needs busybox-static (/bin/busybox is dynamic)" >&2; exit 1; }
  cp /bin/busybox "$root/bin/busybox"
  run=()
  # kexboot itself: release, stripped, static Swift runtime.
  bin="$repo/.build/release/kexboot"
  if [ ! -x "$bin" ] || [ -n "$(find "$repo/Sources" "$repo/Package.swift" -newer "$bin" -print -quit)" ]; then
    (cd "$repo" && make -s release >&2)
  fi
else
  # Debian's ppc64el busybox-static, kept beside the other ppc64el downloads.
  bbdir=${KEXBOOT_CACHE:-/var/cache/kexboot}/busybox-ppc64el
  if [ ! -x "$bbdir/bin/busybox" ]; then
    rm -rf "$bbdir.tmp" && mkdir -p "$bbdir.tmp"
    "$repo/scripts/apt-foreign.sh" ppc64el "$bbdir.tmp/deb" busybox-static
    dpkg-deb -x "$bbdir.tmp"/deb/busybox-static_*.deb "$bbdir.tmp/x"
    mkdir -p "$bbdir.tmp/bin" && cp "$bbdir.tmp/x/bin/busybox" "$bbdir.tmp/bin/busybox"
    rm -rf "$bbdir" "$bbdir.tmp/deb" "$bbdir.tmp/x" && mv "$bbdir.tmp" "$bbdir"
  fi
  cp "$bbdir/bin/busybox" "$root/bin/busybox"
  run=(qemu-ppc64le-static)
  # kexboot cross-built: static and stripped already (scripts/build-ppc64le.sh).
  bin="$repo/.build/ppc64le/kexboot"
  # scripts/build-ppc64le.sh does nothing it need not do (the SDK is cached, swift build is
  # incremental), so it always runs: a change to the SDK's scripts reaches the image too.
  "$repo/scripts/build-ppc64le.sh" >&2
fi
# On POWER, the Open Firmware shim (`make ofshim`) that `kexboot boot --elf` starts
# GRUB, FreeBSD or AIX through.
if [ "$arch" = ppc64le ]; then
  (cd "$repo" && make -s ofshim >&2)
  mkdir -p "$root/lib/kexboot"
  cp "$repo/build/ofshim/ofshim.elf" "$repo/build/ofshim/kexec-entry.bin" "$root/lib/kexboot/"
fi
for applet in $("${run[@]}" "$root/bin/busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done
ln -sf ../bin/busybox "$root/sbin/modprobe"
if [ "$cross" = no ]; then strip -o "$root/bin/kexboot" "$bin"; else cp "$bin" "$root/bin/kexboot"; fi
# The shared libraries kexboot links (libblkid, libc, …) and the loader; none when it is
# static, as the ppc64le build is.
if [ "$cross" = no ]; then
  for lib in $(ldd "$bin" | awk '/=>/ {print $3} !/=>/ && /^\t\// {print $1}'); do
    [ -f "$lib" ] || continue
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
fi
for t in l/linux v/vt100 v/vt220 x/xterm x/xterm-256color; do
  for d in /lib/terminfo /usr/share/terminfo; do
    [ -f "$d/$t" ] && { mkdir -p "$root/usr/share/terminfo/$(dirname "$t")"; cp "$d/$t" "$root/usr/share/terminfo/$t"; break; }
  done
done
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
# A UTF-8 locale for the menu's titles (glibc's C.UTF-8, about 400 KB).
[ -d /usr/lib/locale/C.utf8 ] && { mkdir -p "$root/usr/lib/locale"; cp -r /usr/lib/locale/C.utf8 "$root/usr/lib/locale/"; }
echo "root:x:0:0:root:/root:/bin/sh" > "$root/etc/passwd"
echo "root:x:0:" > "$root/etc/group"
# The daemon's settings: the commented example, every line at its default.
mkdir -p "$root/etc/kexboot"
[ -f "$repo/Configs/kexboot.conf" ] && cp "$repo/Configs/kexboot.conf" "$root/etc/kexboot/kexboot.conf"
cp "$here/init" "$root/init"
chmod 755 "$root/init"
mkdir -p "$root/lib/kexboot"
cp "$here/menu-loop.sh" "$root/lib/kexboot/menu-loop.sh"

if [ "$modules" != none ]; then
  modules=$(realpath "$modules")
  version=$(basename "$modules")
  base=$(dirname "$(dirname "$(dirname "$modules")")")
  [ -f "$modules/modules.dep" ] || depmod -b "$base" "$version"
  wanted="crc32c_generic libcrc32c xxhash_generic virtio_pci virtio_blk virtio_scsi virtio_net sd_mod sr_mod nvme ext4 xfs btrfs vfat isofs squashfs nls_cp437 nls_ascii nls_iso8859_1 nls_utf8"
  case "$arch" in
    x86_64) wanted="$wanted crc32c_intel ahci e1000 e1000e" ;;
    # pseries: its virtual SCSI and Ethernet (PAPR), and the crc32c that uses VMX.
    ppc64le) wanted="$wanted crc32c_vpmsum ibmvscsi ibmveth" ;;
  esac
  for m in $wanted; do
    modprobe -d "$base" -S "$version" --show-depends "$m" 2>/dev/null | awk '$1 == "insmod" {print $2}'
  done | sort -u | while read -r ko; do
    rel=${ko#"$base"}
    mkdir -p "$root$(dirname "$rel")"
    cp "$ko" "$root$rel"
  done
  cp "$modules"/modules.builtin* "$modules"/modules.order "$root/lib/modules/$version/" 2>/dev/null || true
  depmod -b "$root" "$version"
fi

output=$(realpath -m "$output")
mkdir -p "$(dirname "$output")"
( cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 ) > "$output.cpio"
case "$compress" in
  gzip) gzip -9 -n < "$output.cpio" > "$output" ;;
  xz) xz --check=crc32 -9 < "$output.cpio" > "$output" ;;
  zstd) zstd -q -19 < "$output.cpio" > "$output" ;;
  none) cp "$output.cpio" "$output" ;;
  *) echo "unknown compression $compress" >&2; exit 2 ;;
esac
rm -f "$output.cpio"
echo "$output"
