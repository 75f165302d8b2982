#!/usr/bin/env bash
# Builds kexboot's initramfs.
# Usage: initramfs/build.sh --modules DIR --output FILE [--compress gzip|xz|zstd|none]
#   DIR: a kernel's module tree, .../lib/modules/<version> (or "none" for no modules).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
modules="" output="" compress=gzip
while [ $# -gt 0 ]; do
  case "$1" in
    --modules) modules=$2; shift 2 ;;
    --output) output=$2; shift 2 ;;
    --compress) compress=$2; shift 2 ;;
    *) echo "usage: build.sh --modules DIR --output FILE [--compress gzip|xz|zstd|none]" >&2; exit 2 ;;
  esac
done
[ -n "$modules" ] && [ -n "$output" ] || { echo "usage: build.sh --modules DIR --output FILE [--compress gzip|xz|zstd|none]" >&2; exit 2; }

need=()
command -v busybox >/dev/null && busybox --list >/dev/null 2>&1 && [ -x /bin/busybox ] || need+=(busybox-static)
command -v cpio >/dev/null || need+=(cpio)
command -v depmod >/dev/null || need+=(kmod)
[ -f /usr/share/terminfo/x/xterm ] || [ -f /lib/terminfo/x/xterm ] || need+=(ncurses-base)
[ -f /etc/ssl/certs/ca-certificates.crt ] || need+=(ca-certificates)
case "$compress" in xz) command -v xz >/dev/null || need+=(xz-utils) ;; zstd) command -v zstd >/dev/null || need+=(zstd) ;; esac
if [ ${#need[@]} -gt 0 ]; then
  echo "build.sh needs these Debian packages: ${need[*]} (apt-get install ${need[*]})" >&2
  exit 1
fi
file /bin/busybox 2>/dev/null | grep -q "statically linked" || [ "$(ldd /bin/busybox 2>&1 | grep -c 'not a dynamic')" = 1 ] || {
  echo "build.sh needs busybox-static (/bin/busybox is dynamic)" >&2; exit 1; }

# kexboot itself: release, stripped, static Swift runtime.
bin="$repo/.build/release/kexboot"
if [ ! -x "$bin" ] || [ -n "$(find "$repo/Sources" "$repo/Package.swift" -newer "$bin" -print -quit)" ]; then
  (cd "$repo" && make -s release >&2)
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,run,tmp,mnt,lib,lib64,usr/share/terminfo,etc/ssl/certs}
cp /bin/busybox "$root/bin/busybox"
# On POWER, the Open Firmware shim (`make ofshim`) that `kexboot boot --elf` starts
# GRUB, FreeBSD or AIX through.
case "$(uname -m)" in ppc64*)
  (cd "$repo" && make -s ofshim >&2)
  mkdir -p "$root/lib/kexboot"
  cp "$repo/build/ofshim/ofshim.elf" "$repo/build/ofshim/kexec-entry.bin" "$root/lib/kexboot/" ;;
esac
for applet in $("$root/bin/busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done
ln -sf ../bin/busybox "$root/sbin/modprobe"
strip -o "$root/bin/kexboot" "$bin"
# The shared libraries kexboot links (libblkid, libudev, libc, …) and the loader.
for lib in $(ldd "$bin" | awk '/=>/ {print $3} !/=>/ && /^\t\// {print $1}'); do
  [ -f "$lib" ] || continue
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
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

if [ "$modules" != none ]; then
  modules=$(realpath "$modules")
  version=$(basename "$modules")
  base=$(dirname "$(dirname "$(dirname "$modules")")")
  [ -f "$modules/modules.dep" ] || depmod -b "$base" "$version"
  wanted="crc32c_generic crc32c_intel libcrc32c xxhash_generic virtio_pci virtio_blk virtio_scsi virtio_net sd_mod sr_mod ahci nvme e1000 e1000e ext4 xfs btrfs vfat isofs squashfs nls_cp437 nls_ascii nls_iso8859_1 nls_utf8"
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
