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
  [ -f "$f" ] && grep -q '/debian' "$f" && cp "$f" "$state/sources/"
done
if [ -f /etc/apt/sources.list ]; then
  grep -E '^deb\s.*/debian' /etc/apt/sources.list > "$state/sources/main.list" || rm -f "$state/sources/main.list"
fi
opts=(-q -o APT::Architecture="$arch" -o APT::Architectures::="$arch" -o Dir::Etc::sourcelist=/dev/null
  -o Dir::Etc::sourceparts="$state/sources" -o Dir::State::Lists="$state/lists" -o Dir::State::status=/dev/null
  -o Dir::Cache="$state/cache" -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
if [ -z "$(find "$state/lists" -maxdepth 1 -name '*Packages*' -mmin -1440 -print -quit)" ]; then
  apt-get "${opts[@]}" update -qq >&2
fi
if [ "$dest" = --show ]; then
  apt-cache "${opts[@]}" show "$@"
  exit
fi
mkdir -p "$dest"
cd "$dest"
apt-get "${opts[@]}" download -qq "$@" >&2
