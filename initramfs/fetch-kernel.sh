#!/usr/bin/env bash
# Downloads one Debian kernel package into DIR (once; later calls reuse it) and prints two
# lines: the kernel image's path and the module tree's path.
# Usage: initramfs/fetch-kernel.sh [--arch x86_64|ppc64le] DIR
#   x86_64 (amd64): boot/vmlinuz-VERSION. ppc64le (ppc64el, for pseries): boot/vmlinux-VERSION,
#   fetched through scripts/apt-foreign.sh, so this machine's dpkg state stays as it is.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
arch=$(uname -m)
if [ "${1:-}" = --arch ]; then arch=${2:?usage: fetch-kernel.sh [--arch x86_64|ppc64le] DIR}; shift 2; fi
dir=${1:?usage: fetch-kernel.sh [--arch x86_64|ppc64le] DIR}
case "$arch" in
  x86_64|amd64) flavour=amd64 image=vmlinuz ;;
  ppc64le|ppc64el) flavour=powerpc64le image=vmlinux ;;
  *) echo "fetch-kernel.sh: no Debian kernel for architecture $arch (x86_64 or ppc64le)" >&2; exit 2 ;;
esac
mkdir -p "$dir"
dir=$(realpath "$dir")

# One exact version, so every run boots the same kernel; if the archive has moved on,
# the version linux-image-FLAVOUR points at now.
pinned=6.1.0-56-$flavour

existing=$(ls -d "$dir"/kernel-*-"$flavour"/lib/modules/* 2>/dev/null | head -n1 || true)
if [ -z "$existing" ]; then
  command -v apt-get >/dev/null || { echo "fetch-kernel.sh needs apt-get (Debian)" >&2; exit 1; }
  work=$(mktemp -d "$dir/.download.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  if [ "$flavour" = amd64 ] && [ "$(dpkg --print-architecture)" = amd64 ]; then
    ( cd "$work"
      if ! apt-get download -q "linux-image-$pinned" >/dev/null 2>&1; then
        apt-get update -qq >/dev/null 2>&1 || true
        apt-get download -q "linux-image-$pinned" >/dev/null 2>&1 || {
          current=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
          [ -n "$current" ] || { echo "no Debian kernel package found" >&2; exit 1; }
          apt-get download -q "$current" >/dev/null
        }
      fi )
  else
    foreign=$(case "$flavour" in powerpc64le) echo ppc64el ;; *) echo amd64 ;; esac)
    "$here/../scripts/apt-foreign.sh" "$foreign" "$work" "linux-image-$pinned" 2>/dev/null || {
      current=$("$here/../scripts/apt-foreign.sh" "$foreign" --show --no-all-versions "linux-image-$flavour" \
        | awk '/^Depends: linux-image-[0-9]/ {print $2; exit}')
      [ -n "$current" ] || { echo "no Debian $flavour kernel package found" >&2; exit 1; }
      "$here/../scripts/apt-foreign.sh" "$foreign" "$work" "$current"
    }
  fi
  deb=$(ls "$work"/linux-image-*.deb | head -n1)
  version=$(basename "$deb" | sed -E 's/^linux-image-([^_]+)_.*/\1/')
  # Unpacked beside, then moved: an interrupted unpack never passes for a kernel.
  dpkg-deb -x "$deb" "$work/tree"
  rm -rf "$dir/kernel-$version"
  mv "$work/tree" "$dir/kernel-$version"
  existing="$dir/kernel-$version/lib/modules/$version"
fi
version=$(basename "$existing")
root=$(dirname "$(dirname "$(dirname "$existing")")")
echo "$root/boot/$image-$version"
echo "$existing"
