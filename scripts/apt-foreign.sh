#!/usr/bin/env bash
# Downloads Debian packages of another architecture (ppc64el, …) with a private apt state:
# this machine's dpkg architectures, package lists and database stay as they are.
# Usage: scripts/apt-foreign.sh ARCH DIR PACKAGE...   the .deb files land in DIR
#        scripts/apt-foreign.sh ARCH --show PACKAGE   prints `apt-cache show` for it
# The package lists are kept in ${KEXBOOT_CACHE:-/var/cache/kexboot}/apt-ARCH and renewed
# when older than a day. The sources are this machine's own Debian ones.
set -euo pipefail
arch=${1:?usage: apt-foreign.sh ARCH DIR PACKAGE...}
dest=${2:?usage: apt-foreign.sh ARCH DIR PACKAGE...}
shift 2
state=${KEXBOOT_CACHE:-/var/cache/kexboot}/apt-$arch
mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$state/sources"
rm -f "$state/sources/"*
for f in /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] && grep -q '/debian' "$f" && grep -v '^Architectures:' "$f" > "$state/sources/$(basename "$f")"
done
# One-line sources too, without their [arch=…] restrictions (they would hide this architecture).
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
  [ -f "$f" ] || continue
  grep -E '^deb\s.*/debian' "$f" | sed -E 's/^deb\s+\[[^]]*\]/deb/' >> "$state/sources/main.list" || true
done
[ -s "$state/sources/main.list" ] || rm -f "$state/sources/main.list"
opts=(-q -o APT::Architecture="$arch" -o APT::Architectures::="$arch" -o Dir::Etc::sourcelist=/dev/null
  -o Dir::Etc::sourceparts="$state/sources" -o Dir::State::Lists="$state/lists" -o Dir::State::status=/dev/null
  -o Dir::Cache="$state/cache" -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
# apt dates the lists by the archive's own time: a stamp of ours says when they were read.
if [ -z "$(find "$state/updated" -mmin -1440 2>/dev/null)" ]; then
  apt-get "${opts[@]}" update -qq >&2
  touch "$state/updated"
fi
if [ "$dest" = --show ]; then
  apt-cache "${opts[@]}" show "$@"
  exit
fi
mkdir -p "$dest"
cd "$dest"
apt-get "${opts[@]}" download -qq "$@" >&2
