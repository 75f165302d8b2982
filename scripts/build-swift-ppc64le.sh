#!/usr/bin/env bash
# Builds the Swift runtime for powerpc64le-unknown-linux-gnu from source, for static
# executables: libswiftCore (with reflection and command-line support), _Concurrency with a
# static libdispatch as its executor, SwiftOnoneSupport, Glibc, Synchronization and
# _StringProcessing, laid
# out as a `swift_static` resource directory that the installed toolchain's driver reads
# (`-resource-dir DIR`, or a Swift SDK's `swiftStaticResourcesPath`).
#
# The source is Debian's `swiftlang` source package (the whole Swift release in one
# tarball). The toolchain at /opt/swift (6.3.1) compiles it; it has the PowerPC backend
# but ships no runtime for ppc64le.
#
# Usage: scripts/build-swift-ppc64le.sh     prints the resource directory's path last
#
# Cache: ${KEXBOOT_CACHE:-/var/cache/kexboot}, outside the clone. The tarball is kept as
# src/swiftlang_VERSION.orig.tar.xz; the result in swift-ppc64le-VERSION-KEY, where KEY
# is a digest of this script and the files it compiles from the repository, so a change
# to them rebuilds and a run with nothing to do takes a second. Delete the folder to
# rebuild by hand.
#
# Bumping the source: Debian's `sid` moves on and drops old versions. When the pinned
# file is gone this script stops and names the version the archive has now. Then set
# SWIFT_VERSION and SWIFT_SHA256 below to that version and the sha256 of its
# swiftlang_VERSION.orig.tar.xz (printed by `apt-get source --print-uris`), and run it
# again (a rebuild takes about five minutes on two cores).
#
# What differs from a stock runtime build, and why:
# - 16-byte atomics: QEMU 7.2 never lets `stqcx.` succeed, so a runtime that uses POWER8's
#   `lqarx`/`stqcx.` hangs before `main` under qemu-user and pseries TCG. Everything is
#   built with `-target-feature -quadword-atomics`, which turns them into `__atomic_*_16`
#   calls, served by scripts/ppc64le/atomic16.c (a lock table). The script checks that no
#   `lqarx` is left in any archive.
# - clang has no _Float16 on PowerPC: the runtime's C++ passes Float16 as float
#   (SWIFT_DTOA_PASS_FLOAT16_AS_FLOAT) and compiler-rt's half-precision conversions
#   (__extendhfsf2, __truncsfhf2, __truncdfhf2), which GCC 12's libgcc lacks, are added.
# - libdispatch's build adds -Werror, and one -Wsign-conversion warning fires on ppc64le:
#   the flag is dropped from the extracted copy.
# - Glibc, Synchronization and _StringProcessing are not in Runtimes/Core (6.2): each is
#   one `swiftc -wmo`.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

SWIFT_VERSION=6.2.3
SWIFT_SHA256=aecd40a4ffcc7484ba74d0736d4d520b5b45e405bbe0ec5bad68591f1ec4adab
CMAKE_VERSION=3.31.6        # Runtimes/Core needs >= 3.29; bookworm has 3.25

cache=${KEXBOOT_CACHE:-/var/cache/kexboot}
export PATH="$PATH:/opt/swift/usr/bin"
swiftc=$(command -v swiftc) || { echo "build-swift-ppc64le.sh: no swiftc (install Swift at /opt/swift)" >&2; exit 1; }
toolbin=$(dirname "$(realpath "$swiftc")")
key=$( (cat "$0" scripts/ppc64le/atomic16.c; "$swiftc" --version 2>/dev/null) | sha256sum | cut -c1-12)
out=$cache/swift-ppc64le-$SWIFT_VERSION-$key
if [ -f "$out/linux/libswiftCore.a" ]; then
  echo "$out"
  exit 0
fi

scripts/deps.sh xz-utils ninja-build python3 python3-venv dpkg-dev gcc-powerpc64le-linux-gnu g++-powerpc64le-linux-gnu \
  libc6-dev-ppc64el-cross libstdc++-12-dev-ppc64el-cross binutils >&2
mkdir -p "$cache/src"

# CMake from PyPI, in a venv of its own.
cmake=$cache/cmake-$CMAKE_VERSION/bin/cmake
if [ ! -x "$cmake" ]; then
  rm -rf "$cache/cmake-$CMAKE_VERSION"
  python3 -m venv "$cache/cmake-$CMAKE_VERSION" >&2
  "$cache/cmake-$CMAKE_VERSION/bin/pip" install -q "cmake==$CMAKE_VERSION" >&2
fi

# The source: Debian's swiftlang from sid, through a private apt source list whose
# mirror is the one this machine's own apt sources name.
tarball=$cache/src/swiftlang_$SWIFT_VERSION.orig.tar.xz
if [ ! -f "$tarball" ] || ! echo "$SWIFT_SHA256  $tarball" | sha256sum -c --quiet 2>/dev/null; then
  apt=$(mktemp -d)
  trap 'rm -rf "$apt"' EXIT
  mirror=""
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] && mirror=$(awk '($1 == "URIs:" || $1 == "deb") && $2 ~ /\/debian\/?$/ {print $2; exit}' "$f")
    [ -z "$mirror" ] || break
  done
  [ -n "$mirror" ] || { echo "build-swift-ppc64le.sh: no Debian mirror in /etc/apt/sources*" >&2; exit 1; }
  mkdir -p "$apt/lists/partial"
  printf 'Types: deb-src\nURIs: %s\nSuites: sid\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$mirror" > "$apt/sid.sources"
  apt_opts=(-o Dir::Etc::sourcelist=/dev/null -o Dir::Etc::sourceparts="$apt" -o Dir::State::Lists="$apt/lists")
  apt-get "${apt_opts[@]}" update -qq >&2
  uris=$(apt-get "${apt_opts[@]}" source --print-uris -qq swiftlang 2>/dev/null || true)
  if ! grep -q "swiftlang_$SWIFT_VERSION.orig.tar.xz" <<<"$uris"; then
    now=$( { grep -oE "swiftlang_[^ ']+\.orig\.tar\.xz [0-9]+ SHA256:[0-9a-f]+" <<<"$uris" || true; } | head -n1)
    echo "build-swift-ppc64le.sh: Debian sid no longer has swiftlang $SWIFT_VERSION." >&2
    echo "  It has now: ${now:-nothing (is sid reachable?)}" >&2
    echo "  Set SWIFT_VERSION and SWIFT_SHA256 in $0 to it and run again." >&2
    exit 1
  fi
  (cd "$apt" && apt-get "${apt_opts[@]}" source --download-only -qq swiftlang >&2)
  echo "$SWIFT_SHA256  $apt/swiftlang_$SWIFT_VERSION.orig.tar.xz" | sha256sum -c --quiet || {
    echo "build-swift-ppc64le.sh: swiftlang_$SWIFT_VERSION.orig.tar.xz does not match the pinned sha256" >&2; exit 1; }
  mv "$apt/swiftlang_$SWIFT_VERSION.orig.tar.xz" "$tarball"
fi

# One build at a time per cache (two CI runs or `make -j` share it).
exec 9> "$cache/.swift-ppc64le.lock"
flock 9
if [ -f "$out/linux/libswiftCore.a" ]; then echo "$out"; exit 0; fi   # built while we waited
work=$cache/swift-ppc64le-build
rm -rf "$work"
mkdir -p "$work"
top=swiftlang-$SWIFT_VERSION
echo "build-swift-ppc64le.sh: extracting the runtime's sources" >&2
tar -xJf "$tarball" -C "$work" "$top/swift/Runtimes" "$top/swift/stdlib" "$top/swift/include" "$top/swift/cmake" \
  "$top/swift/utils" "$top/swift/lib/Demangling" "$top/swift/lib/Threading" "$top/swift-corelibs-libdispatch" \
  "$top/llvm-project/compiler-rt/lib/builtins" "$top/swift-experimental-string-processing/Sources"
src=$work/$top
"$cmake" -P "$src/swift/Runtimes/Resync.cmake" > "$work/resync.log"
sed -i 's/^ *add_compile_options(\$<\$<COMPILE_LANGUAGE:C,CXX>:-Werror>)/# -Werror dropped (ppc64le warns)/' \
  "$src/swift-corelibs-libdispatch/cmake/modules/DispatchCompilerWarnings.cmake"

target=powerpc64le-unknown-linux-gnu
noqa="-Xclang -target-feature -Xclang -quadword-atomics"
swift_noqa=(-Xcc -Xclang -Xcc -target-feature -Xcc -Xclang -Xcc -quadword-atomics)
cat > "$work/toolchain.cmake" <<EOF
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR powerpc64le)
set(CMAKE_C_COMPILER $toolbin/clang)
set(CMAKE_CXX_COMPILER $toolbin/clang++)
set(CMAKE_C_COMPILER_TARGET $target)
set(CMAKE_CXX_COMPILER_TARGET $target)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
EOF

echo "build-swift-ppc64le.sh: libdispatch" >&2
"$cmake" -G Ninja -S "$src/swift-corelibs-libdispatch" -B "$work/dispatch" -DCMAKE_TOOLCHAIN_FILE="$work/toolchain.cmake" \
  -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=NO -DBUILD_TESTING=NO -DENABLE_SWIFT=NO \
  -DCMAKE_C_FLAGS="$noqa" -DCMAKE_CXX_FLAGS="$noqa" -DCMAKE_INSTALL_PREFIX="$work/dispatch-install" > "$work/dispatch.log" 2>&1
ninja -C "$work/dispatch" install >> "$work/dispatch.log" 2>&1 || { tail -20 "$work/dispatch.log" >&2; exit 1; }

echo "build-swift-ppc64le.sh: the runtime, stdlib and _Concurrency (a few minutes)" >&2
"$cmake" -G Ninja -S "$src/swift/Runtimes/Core" -B "$work/core" -DCMAKE_TOOLCHAIN_FILE="$work/toolchain.cmake" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_Swift_COMPILER="$swiftc" -DCMAKE_Swift_COMPILER_TARGET=$target \
  -DCMAKE_Swift_COMPILER_WORKS=YES -DCMAKE_Swift_FLAGS="${swift_noqa[*]}" \
  -DCMAKE_C_FLAGS="$noqa -DSWIFT_DTOA_PASS_FLOAT16_AS_FLOAT=1" -DCMAKE_CXX_FLAGS="$noqa -DSWIFT_DTOA_PASS_FLOAT16_AS_FLOAT=1" \
  -DBUILD_SHARED_LIBS=NO -DSwiftCore_ENABLE_REFLECTION=ON -DSwiftCore_ENABLE_COMMANDLINE_SUPPORT=ON \
  -DSwiftCore_ENABLE_CONCURRENCY=ON -DSwiftCore_CONCURRENCY_GLOBAL_EXECUTOR=dispatch \
  -Ddispatch_STATIC=YES -Ddispatch_INCLUDE_DIR="$work/dispatch-install/include" \
  -Ddispatch_LIBRARY="$work/dispatch-install/lib/libdispatch.a" \
  -DCMAKE_INSTALL_PREFIX="$work/core-install" > "$work/core.log" 2>&1
ninja -C "$work/core" install >> "$work/core.log" 2>&1 || { grep -B2 -A8 'error:' "$work/core.log" | head -60 >&2; exit 1; }

# The resource directory: swift_static's layout.
res=$work/res
mkdir -p "$res/linux/powerpc64le"
cp -r "$work/core-install/lib/swift_static/linux/." "$res/linux/"
mv "$res/linux/powerpc64le/"*.a "$res/linux/"
cp "$work/core-install/lib/libswiftCommandLineSupport.a" "$work/dispatch-install/lib/libdispatch.a" \
  "$work/dispatch-install/lib/libBlocksRuntime.a" "$res/linux/"
cp -r "$work/core-install/lib/swift/shims" "$res/shims"
# The compiler's own clang headers (stddef.h, …), as in the toolchain's resource directory.
ln -s "$(realpath "$toolbin/../lib/swift/clang")" "$res/clang"

# Glibc and Synchronization, one whole-module compile each.
echo "build-swift-ppc64le.sh: Glibc and Synchronization" >&2
gyb=(python3 "$src/swift/utils/gyb")
platform=$src/swift/stdlib/public/Platform
sync=$src/swift/stdlib/public/Synchronization
gen=$work/gen
mkdir -p "$gen"
"${gyb[@]}" -DCMAKE_SDK=LINUX -o "$res/linux/powerpc64le/glibc.modulemap" "$platform/glibc.modulemap.gyb"
"${gyb[@]}" -DCMAKE_SDK=LINUX -o "$res/linux/powerpc64le/SwiftGlibc.h" "$platform/SwiftGlibc.h.gyb"
"${gyb[@]}" -DCMAKE_SDK=LINUX -o "$gen/Glibc.swift" "$platform/Glibc.swift.gyb"
"${gyb[@]}" -DCMAKE_SDK=LINUX -o "$gen/tgmath.swift" "$platform/tgmath.swift.gyb"
"${gyb[@]}" -o "$gen/AtomicIntegers.swift" "$sync/Atomics/AtomicIntegers.swift.gyb"
"${gyb[@]}" -o "$gen/AtomicStorage.swift" "$sync/Atomics/AtomicStorage.swift.gyb"
# The availability macros must reach the frontend itself (the driver drops them otherwise).
availability=()
while IFS= read -r line; do
  availability+=(-Xfrontend -define-availability -Xfrontend "$line")
done < <(grep -vE '^\s*(#|$)' "$src/swift/utils/availability-macros.def")
common=(-target $target -resource-dir "$res" -static-stdlib -wmo -O -parse-as-library -swift-version 5
  "${availability[@]}" "${swift_noqa[@]}" -Xfrontend -disable-implicit-string-processing-module-import)
# SWIFT_STDLIB_HAS_ENVIRON: Glibc's `environ`, as the official Linux build has it.
"$swiftc" "${common[@]}" -D SWIFT_STDLIB_HAS_ENVIRON -module-name Glibc -module-link-name swiftGlibc \
  -emit-module -emit-module-path "$res/linux/Glibc.swiftmodule/$target.swiftmodule" -emit-object -o "$gen/Glibc.o" \
  "$platform/Platform.swift" "$platform/TiocConstants.swift" "$platform/POSIXError.swift" \
  "$gen/Glibc.swift" "$gen/tgmath.swift" 2> "$work/glibc.log" || { cat "$work/glibc.log" >&2; exit 1; }
"$swiftc" "${common[@]}" -module-name Synchronization -module-link-name swiftSynchronization \
  -enable-builtin-module -enable-experimental-feature RawLayout -enable-experimental-feature StaticExclusiveOnly \
  -enable-experimental-feature Extern -strict-memory-safety -Xfrontend -enable-ossa-modules \
  -emit-module -emit-module-path "$res/linux/Synchronization.swiftmodule/$target.swiftmodule" \
  -emit-object -o "$gen/Synchronization.o" \
  "$sync"/Atomics/*.swift "$sync/Cell.swift" "$sync/Mutex/LinuxImpl.swift" "$sync/Mutex/Mutex.swift" \
  "$sync/Mutex/SpinLoopHint.swift" "$gen/AtomicIntegers.swift" "$gen/AtomicStorage.swift" 2> "$work/sync.log" \
  || { cat "$work/sync.log" >&2; exit 1; }
ar=$toolbin/llvm-ar
"$ar" rcs "$res/linux/libswiftGlibc.a" "$gen/Glibc.o"
"$ar" rcs "$res/linux/libswiftSynchronization.a" "$gen/Synchronization.o"

# _StringProcessing (String's firstRange(of:), ranges(of:), split(separator: "::"), regexes),
# which every Swift file imports implicitly, and the _RegexParser it is built on.
echo "build-swift-ppc64le.sh: _RegexParser and _StringProcessing" >&2
sp=$src/swift-experimental-string-processing/Sources
"$swiftc" "${common[@]}" -Xfrontend -disable-implicit-concurrency-module-import \
  -module-name _RegexParser -module-link-name swift_RegexParser \
  -emit-module -emit-module-path "$res/linux/_RegexParser.swiftmodule/$target.swiftmodule" \
  -emit-object -o "$gen/RegexParser.o" $(find "$sp/_RegexParser" -name '*.swift' | sort) 2> "$work/regex.log" \
  || { cat "$work/regex.log" >&2; exit 1; }
"$swiftc" "${common[@]}" -Xfrontend -disable-implicit-concurrency-module-import \
  -module-name _StringProcessing -module-link-name swift_StringProcessing \
  -emit-module -emit-module-path "$res/linux/_StringProcessing.swiftmodule/$target.swiftmodule" \
  -emit-object -o "$gen/StringProcessing.o" $(find "$sp/_StringProcessing" -name '*.swift' | sort) 2> "$work/sp.log" \
  || { cat "$work/sp.log" >&2; exit 1; }
for f in UnicodeData UnicodeScalarProps; do
  "$toolbin/clang" --target=$target -O2 -fPIC $noqa -I "$sp/_CUnicode/include" -c "$sp/_CUnicode/$f.c" -o "$gen/$f.o"
done
"$ar" rcs "$res/linux/libswift_RegexParser.a" "$gen/RegexParser.o"
"$ar" rcs "$res/linux/libswift_StringProcessing.a" "$gen/StringProcessing.o" "$gen/UnicodeData.o" "$gen/UnicodeScalarProps.o"

# 16-byte atomics and half-precision conversions.
builtins=$src/llvm-project/compiler-rt/lib/builtins
for f in extendhfsf2 truncsfhf2 truncdfhf2; do
  "$toolbin/clang" --target=$target -O2 -fPIC -c "$builtins/$f.c" -o "$gen/$f.o"
done
"$toolbin/clang" --target=$target -O2 -fPIC -Wall -Wextra -Werror $noqa -c "$repo/scripts/ppc64le/atomic16.c" -o "$gen/atomic16.o"
"$ar" rcs "$res/linux/libkexboot_ppc64le_rt.a" "$gen"/extendhfsf2.o "$gen"/truncsfhf2.o "$gen"/truncdfhf2.o "$gen/atomic16.o"

# What the driver adds when linking with -static-executable / -static-stdlib. The objects
# of a program name _StringProcessing (imported implicitly), but not the _RegexParser it
# uses, and GNU ld reads archives in order: both are named here, before the core.
cat > "$res/linux/static-executable-args.lnk" <<'EOF'
-static
-lswift_StringProcessing
-lswift_RegexParser
-lswiftCore
-lswiftCommandLineSupport
-Xlinker
-undefined=pthread_self
-Xlinker
-undefined=pthread_once
-Xlinker
-undefined=pthread_key_create
-ldispatch
-lBlocksRuntime
-lkexboot_ppc64le_rt
-lpthread
-ldl
-lstdc++
-lm
EOF
cat > "$res/linux/static-stdlib-args.lnk" <<'EOF'
-ldl
-lpthread
-lswift_StringProcessing
-lswift_RegexParser
-lswiftCore
-lswiftCommandLineSupport
-ldispatch
-lBlocksRuntime
-lkexboot_ppc64le_rt
-lstdc++
-lm
-Xlinker -export-dynamic
-Xlinker --exclude-libs
-Xlinker ALL
EOF

# The check the whole build exists for: no quadword atomics anywhere.
for a in "$res"/linux/*.a; do
  "$toolbin/llvm-objdump" -d "$a" > "$work/disassembly.txt" || { echo "build-swift-ppc64le.sh: cannot disassemble $a" >&2; exit 1; }
  n=$(grep -c 'lqarx' "$work/disassembly.txt" || true)
  [ "$n" = 0 ] || { echo "build-swift-ppc64le.sh: $(basename "$a") has $n lqarx instructions" >&2; exit 1; }
done

rm -rf "$out"
mv "$res" "$out"
rm -rf "$work"
# Earlier builds (other versions of this script) are not used again.
for old in "$cache"/swift-ppc64le-[0-9]*; do
  [ "$old" = "$out" ] || rm -rf "$old"
done
echo "build-swift-ppc64le.sh: built the Swift $SWIFT_VERSION runtime for ppc64le in $SECONDS s" >&2
echo "$out"
