#!/usr/bin/env bash
# A small static libcurl for kexboot: only file, ftp(s), http(s) and tftp, OpenSSL for TLS,
# nothing else. Debian's libcurl4 links gnutls (through librtmp), krb5, ldap, ssh2, psl,
# idn2, brotli, zstd and nghttp2 — 16 MB of libraries the initramfs would have to carry
# for protocols a boot manager never speaks. Package.swift links .build/curl/lib/libcurl.a
# when it exists (else the system's libcurl); the headers stay the system's (same version).
# Usage: scripts/build-curl.sh   (does nothing when the library is already built)
#        scripts/build-curl.sh --host powerpc64le-linux-gnu --sysroot DIR --out DIR/usr
#          cross-builds it with the Swift toolchain's clang against a Debian sysroot
#          (scripts/build-sysroot-ppc64le.sh) and installs lib/TRIPLE/libcurl.a and
#          include/curl there, since the host's headers are not seen through a sysroot.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$PWD/.build/curl host="" sysroot=""
while [ $# -gt 0 ]; do
  case "$1" in
    --host) host=$2; shift 2 ;;
    --sysroot) sysroot=$(realpath "$2"); shift 2 ;;
    --out) out=$(realpath -m "$2"); shift 2 ;;
    *) echo "usage: build-curl.sh [--host TRIPLE --sysroot DIR --out DIR]" >&2; exit 2 ;;
  esac
done
libdir=$out/lib${host:+/$host}
[ -f "$libdir/libcurl.a" ] && exit 0
scripts/deps.sh dpkg-dev gcc make libssl-dev libcurl4-openssl-dev >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The source of the very libcurl Debian ships (the headers the build uses are its own).
mkdir -p "$work/apt/lists/partial"
cat > "$work/apt/src.sources" <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
apt_opts=(-o Dir::Etc::sourcelist=/dev/null -o Dir::Etc::sourceparts="$work/apt" -o Dir::State::Lists="$work/apt/lists")
apt-get "${apt_opts[@]}" update -qq >&2
version=$(dpkg-query -W -f '${source:Upstream-Version}' libcurl4-openssl-dev 2>/dev/null || true)
(cd "$work" && apt-get "${apt_opts[@]}" source --download-only -qq "curl" >&2)
tarball=$(ls "$work"/curl_*.orig.tar.gz | head -1)
tar -xzf "$tarball" -C "$work"
src=$(ls -d "$work"/curl-*/ | head -1)
[ -z "$version" ] || [ "$(basename "$src")" = "curl-$version" ] || echo "build-curl.sh: source $(basename "$src"), headers $version" >&2
cross=()
if [ -n "$host" ]; then
  clang=$(dirname "$(realpath "$(command -v swiftc || echo /opt/swift/usr/bin/swiftc)")")/clang
  cross=(--host="$host" CC="$clang --target=$host --sysroot=$sysroot" AR="$(dirname "$clang")/llvm-ar"
    RANLIB="$(dirname "$clang")/llvm-ranlib" PKG_CONFIG_LIBDIR="$sysroot/usr/lib/$host/pkgconfig:$sysroot/usr/share/pkgconfig"
    PKG_CONFIG_SYSROOT_DIR="$sysroot")
fi
(cd "$src" && ./configure --quiet "${cross[@]}" --disable-shared --enable-static --with-pic \
  --with-openssl --with-ca-bundle=/etc/ssl/certs/ca-certificates.crt --without-ca-path \
  --enable-file --enable-ftp --enable-http --enable-tftp \
  --disable-dict --disable-gopher --disable-imap --disable-ldap --disable-ldaps --disable-mqtt --disable-pop3 \
  --disable-rtsp --disable-smb --disable-smtp --disable-telnet --disable-alt-svc --disable-manual --disable-netrc \
  --disable-ntlm --disable-unix-sockets \
  --without-zlib --without-brotli --without-zstd --without-libidn2 --without-libpsl --without-nghttp2 \
  --without-nghttp3 --without-ngtcp2 --without-libssh2 --without-libssh --without-librtmp --without-gssapi >&2
  make -s -j"$(nproc)" -C lib >&2)
mkdir -p "$libdir"
if [ -n "$host" ]; then
  mkdir -p "$out/include"
  rm -rf "$out/include/curl"
  cp -r "$src/include/curl" "$out/include/curl"
fi
cp "$src/lib/.libs/libcurl.a" "$libdir/libcurl.a.new"
mv "$libdir/libcurl.a.new" "$libdir/libcurl.a"
echo "$libdir/libcurl.a"
