#!/usr/bin/env bash
# kexboot for ppc64le: the same sources, cross-built with the Swift SDK that
# scripts/build-sysroot-ppc64le.sh makes (which runs scripts/build-swift-ppc64le.sh):
# a static, stripped .build/ppc64le/kexboot.
# Usage: scripts/build-ppc64le.sh        prints the binary's path last
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"
# GNU ld and strip for ppc64le (the SDK's toolset links with that ld), also when the SDK
# comes from a cache another machine filled.
scripts/deps.sh binutils-powerpc64le-linux-gnu >&2
{ read -r sdks; read -r sdk; } < <(scripts/build-sysroot-ppc64le.sh)
toolbin=$(dirname "$(realpath "$(command -v swiftc)")")
# Package.swift links the sysroot's libcurl when KEXBOOT_CROSS is set; pkg-config (libblkid)
# reads the sysroot's .pc files.
sysroot=$sdks/$sdk.artifactbundle/$sdk/sysroot
export KEXBOOT_CROSS=ppc64le
export PKG_CONFIG_SYSROOT_DIR=$sysroot
export PKG_CONFIG_PATH=$sysroot/usr/lib/powerpc64le-linux-gnu/pkgconfig:$sysroot/usr/share/pkgconfig
export PKG_CONFIG_LIBDIR=$PKG_CONFIG_PATH
swift build -c release --scratch-path .build-ppc64le --swift-sdks-path "$sdks" --swift-sdk "$sdk" \
  --static-swift-stdlib -Xswiftc -gnone --product kexboot >&2
built=.build-ppc64le/release/kexboot
# The runtime's reason for existing: no quadword atomics (they hang under QEMU).
dis=$(mktemp)
trap 'rm -f "$dis"' EXIT
"$toolbin/llvm-objdump" -d "$built" > "$dis" || { echo "build-ppc64le.sh: cannot disassemble $built" >&2; exit 1; }
n=$(grep -c lqarx "$dis" || true)
[ "$n" = 0 ] || { echo "build-ppc64le.sh: $built has $n lqarx instructions" >&2; exit 1; }
mkdir -p .build/ppc64le
powerpc64le-linux-gnu-strip -o .build/ppc64le/kexboot.new "$built"
mv .build/ppc64le/kexboot.new .build/ppc64le/kexboot
echo "$PWD/.build/ppc64le/kexboot"
