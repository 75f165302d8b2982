#!/usr/bin/env bash
# Downloads one Debian x86_64 kernel package into DIR (once; later calls reuse it) and
# prints two lines: the vmlinuz path and the module tree path.
# Usage: initramfs/fetch-kernel.sh DIR
set -euo pipefail
dir=${1:?usage: fetch-kernel.sh DIR}
mkdir -p "$dir"
dir=$(realpath "$dir")

# One exact version, so every run boots the same kernel; if the archive has moved on,
# the version linux-image-amd64 points at now.
pinned=6.1.0-56-amd64

existing=$(ls -d "$dir"/kernel-*/lib/modules/* 2>/dev/null | head -n1 || true)
if [ -z "$existing" ]; then
  command -v apt-get >/dev/null || { echo "fetch-kernel.sh needs apt-get (Debian)" >&2; exit 1; }
  work=$(mktemp -d "$dir/.download.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  ( cd "$work"
    if ! apt-get download -q "linux-image-$pinned" >/dev/null 2>&1; then
      apt-get update -qq >/dev/null 2>&1 || true
      apt-get download -q "linux-image-$pinned" >/dev/null 2>&1 || {
        current=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
        [ -n "$current" ] || { echo "no Debian kernel package found" >&2; exit 1; }
        apt-get download -q "$current" >/dev/null
      }
    fi )
  deb=$(ls "$work"/linux-image-*.deb | head -n1)
  version=$(basename "$deb" | sed -E 's/^linux-image-([^_]+)_.*/\1/')
  mkdir -p "$dir/kernel-$version"
  dpkg-deb -x "$deb" "$dir/kernel-$version"
  existing="$dir/kernel-$version/lib/modules/$version"
fi
version=$(basename "$existing")
root=$(dirname "$(dirname "$(dirname "$existing")")")
echo "$root/boot/vmlinuz-$version"
echo "$existing"
