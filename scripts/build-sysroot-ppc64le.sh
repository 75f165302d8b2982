#!/usr/bin/env bash
# The C side of kexboot for ppc64le, and the Swift SDK that builds it:
# - a sysroot of Debian's ppc64el packages (glibc, libgcc, libstdc++, libblkid + libuuid,
#   ncursesw + tinfo, zlib, libcrypt, OpenSSL — every one ships a static archive),
#   downloaded by scripts/apt-foreign.sh: nothing is added to this machine's dpkg
#   architectures or package database;
# - kexboot's small libcurl (scripts/build-curl.sh) cross-built against it;
# - a Swift SDK artifact bundle that names this sysroot and the runtime from
#   scripts/build-swift-ppc64le.sh, with a toolset that links statically with GNU ld
#   (lld does not know the inline-PLT relocations in Debian's ppc64el libcrypt.a) and keeps
#   16-byte atomics out of kexboot's own code (see that script).
# libudev is not here: Debian ships no static libudev, and kexboot reads the kernel's
# uevents and sysfs itself (Sources/KexbootDevices/UdevMonitor.swift).
#
# Usage: scripts/build-sysroot-ppc64le.sh   prints two lines: the SDK bundles' folder (for
#        `swift build --swift-sdks-path`) and the SDK's name (for `--swift-sdk`)
# Cache: ${KEXBOOT_CACHE:-/var/cache/kexboot}/ppc64le-sdk-KEY, KEY a digest of this script,
# build-curl.sh, apt-foreign.sh, the runtime's folder name and the Debian packages' current
# versions; a run with nothing to do takes a second or two.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
cache=${KEXBOOT_CACHE:-/var/cache/kexboot}
export PATH="$PATH:/opt/swift/usr/bin"
name=kexboot-ppc64le
target=powerpc64le-unknown-linux-gnu

runtime=$(scripts/build-swift-ppc64le.sh)
toolbin=$(dirname "$(realpath "$(command -v swiftc)")")
packages=(libc6 libc6-dev linux-libc-dev libgcc-12-dev libgcc-s1 libstdc++-12-dev libstdc++6
  libblkid1 libblkid-dev libuuid1 uuid-dev libncurses-dev libncursesw6 libtinfo6
  zlib1g zlib1g-dev libcrypt1 libcrypt-dev libssl3 libssl-dev)
# The key holds the packages' current versions too: a Debian update (OpenSSL, glibc, all
# linked statically) makes a new SDK.
versions=$(scripts/apt-foreign.sh ppc64el --show --no-all-versions "${packages[@]}" | grep -E '^(Package|Version):')
key=$( (cat "$0" scripts/build-curl.sh scripts/apt-foreign.sh; echo "$runtime"; echo "$versions") | sha256sum | cut -c1-12)
out=$cache/ppc64le-sdk-$key
bundle=$out/$name.artifactbundle
if [ -f "$bundle/info.json" ]; then
  printf '%s\n%s\n' "$out" "$name"
  exit 0
fi

# binutils-powerpc64le-linux-gnu: the toolset links with its GNU ld (see below).
scripts/deps.sh dpkg-dev gcc make pkg-config binutils-powerpc64le-linux-gnu >&2

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
scripts/apt-foreign.sh ppc64el "$work/debs" "${packages[@]}"

rm -rf "$out"
sdk=$bundle/$name
sysroot=$sdk/sysroot
mkdir -p "$sysroot"
for deb in "$work"/debs/*.deb; do
  dpkg-deb -x "$deb" "$sysroot"
done
# Links that point at absolute paths would leave the sysroot: make them relative.
find "$sysroot" -type l | while read -r link; do
  dest=$(readlink "$link")
  case "$dest" in /*) ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$sysroot$dest")" "$link" ;; esac
done
mkdir -p "$sysroot/usr/lib"
ln -s "$runtime" "$sysroot/usr/lib/swift_static"
ln -s swift_static "$sysroot/usr/lib/swift"

# libcurl, cross-built into the sysroot (headers too: the host's are not visible here).
scripts/build-curl.sh --host powerpc64le-linux-gnu --sysroot "$sysroot" --out "$sysroot/usr" >&2

cat > "$sdk/swift-sdk.json" <<EOF
{
  "schemaVersion": "4.0",
  "targetTriples": {
    "$target": {
      "sdkRootPath": "sysroot",
      "swiftResourcesPath": "sysroot/usr/lib/swift",
      "swiftStaticResourcesPath": "sysroot/usr/lib/swift_static",
      "toolsetPaths": ["toolset.json"]
    }
  }
}
EOF
cat > "$sdk/toolset.json" <<'EOF'
{
  "schemaVersion": "1.0",
  "swiftCompiler": {
    "extraCLIOptions": ["-use-ld=bfd", "-Xclang-linker", "-B/usr/powerpc64le-linux-gnu/bin", "-static-executable",
      "-Xcc", "-Xclang", "-Xcc", "-target-feature", "-Xcc", "-Xclang", "-Xcc", "-quadword-atomics"]
  },
  "cCompiler": {
    "extraCLIOptions": ["-Xclang", "-target-feature", "-Xclang", "-quadword-atomics"]
  },
  "linker": {
    "extraCLIOptions": ["-static"]
  }
}
EOF
cat > "$bundle/info.json" <<EOF
{
  "schemaVersion": "1.0",
  "artifacts": {
    "$name": {
      "type": "swiftSDK",
      "version": "$(basename "$runtime")",
      "variants": [{ "path": "$name" }]
    }
  }
}
EOF
# Earlier SDKs (other runtimes or versions of these scripts) are not used again.
for old in "$cache"/ppc64le-sdk-*; do
  [ "$old" = "$out" ] || rm -rf "$old"
done
echo "build-sysroot-ppc64le.sh: the ppc64le sysroot and SDK in $out ($SECONDS s)" >&2
printf '%s\n%s\n' "$out" "$name"
