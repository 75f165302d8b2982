#!/usr/bin/env bash
# The end-to-end boots: fetch the Debian kernel (cached in kernels/), build the initramfs,
# boot QEMU and kexec. Part of `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh qemu-system-x86 busybox-static kmod cpio gzip ncurses-base ca-certificates python3 fdisk e2fsprogs dosfstools mtools
{ read -r vmlinuz; read -r modules; } < <(initramfs/fetch-kernel.sh kernels)
mkdir -p .build/e2e
initramfs/build.sh --modules "$modules" --output .build/e2e/initramfs.gz > /dev/null
python3 Tests/e2e/run.py --kernel "$vmlinuz" --initramfs .build/e2e/initramfs.gz
