#!/usr/bin/env bash
# make demo-ppc64: kexboot on an emulated POWER machine (QEMU pseries, TCG) on this terminal,
# with no SLOF: the Open Firmware shim (build/ofshim/ofshim.bin) is the firmware, it starts
# Debian's ppc64el kernel with kexboot's image (.build/ppc64le/initramfs.img, from
# `make ppc64le`), and kexboot's menu comes up on hvc0 (about 5 s) with two disks' entries:
#   disk 1 (GPT, ext4 /boot): Debian's grub.cfg, the default in a submenu chosen by grubenv;
#   disk 2 (MBR): GRUB in a PReP partition, and an ext2 /boot with its grub.cfg. kexboot lists
#   that grub.cfg's entry (kexboot kexecs the kernel itself) and the PReP payload (kexboot
#   boots GRUB through the shim; GRUB shows its own menu, then loads the same kernel).
# The chosen kernel prints a "KEXBOOT-MARKER cmdline=[...]" line and powers off; QEMU exits.
# Leave QEMU earlier with Ctrl-A X. The disks are built by scripts/pseries_disks.py in
# .build/demo-ppc64 and attached with -snapshot (nothing the guest does reaches them).
#
# KEXBOOT_DEMO_APPEND adds to the first kernel's command line (kexboot.timeout=30 is there
# already), e.g. KEXBOOT_DEMO_APPEND=kexboot.autoboot=0 for no countdown.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh qemu-system-ppc grub-common e2fsprogs fdisk cpio gzip python3
{ read -r vmlinux; read -r modules; } < <(initramfs/fetch-kernel.sh --arch ppc64le kernels)
busybox=${KEXBOOT_CACHE:-/var/cache/kexboot}/busybox-ppc64el/bin/busybox
initramfs=.build/ppc64le/initramfs.img
shim=build/ofshim/ofshim.bin
for f in "$initramfs" "$shim" "$busybox"; do
  [ -e "$f" ] || { echo "demo-ppc64.sh: $f is missing: run \`make ppc64le ofshim\` first" >&2; exit 1; }
done

demo=.build/demo-ppc64
mapfile -t disks < <(python3 -B scripts/pseries_disks.py --kernel "$vmlinux" --busybox "$busybox" "$demo")
[ ${#disks[@]} -eq 2 ] || { echo "demo-ppc64.sh: the demo disks were not built" >&2; exit 1; }
append="console=hvc0 quiet kexboot.timeout=30 ${KEXBOOT_DEMO_APPEND:-}"
# The QEMU command line is Tests/ppc64le/pseries.py's (command()), so the demo runs what the tests run.
mapfile -t cmd < <(python3 -B - "$vmlinux" "$initramfs" "$shim" "$append" "${disks[@]}" <<'PY'
import argparse, sys
sys.path.insert(0, "Tests/ppc64le")
import pseries
kernel, initramfs, shim, append, *disks = sys.argv[1:]
args = argparse.Namespace(kernel=kernel, initramfs=initramfs, shim=shim)
print("\n".join(pseries.command(args, append, disks, extra=["-snapshot"])))
PY
)
[ ${#cmd[@]} -gt 0 ] || exit 1

echo "Starting QEMU pseries with the shim as firmware (TCG: kexboot's menu in ~5 s)."
echo "The kernel you boot prints a marker line with its command line, then powers off. Leave with Ctrl-A X."
exec "${cmd[@]}"
