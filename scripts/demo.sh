#!/usr/bin/env bash
# make demo: boots kexboot in QEMU on this terminal. It fetches a Debian kernel, builds the
# initramfs and a demo disk (a GRUB /boot and a Fedora-style BLS /boot), then starts QEMU.
# Choose an entry: kexboot kexecs into a kernel that prints a banner. Leave QEMU: Ctrl-A X.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh qemu-system-x86 busybox-static kmod cpio gzip ncurses-base ca-certificates fdisk e2fsprogs
{ read -r vmlinuz; read -r modules; } < <(initramfs/fetch-kernel.sh kernels)
demo=.build/demo
mkdir -p "$demo"
initramfs/build.sh --modules "$modules" --output "$demo/initramfs.gz" > /dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The demo kernel's initrd: a banner with the command line it was given, then a shell.
mkdir -p "$work/banner/bin" "$work/banner/proc"
cp /bin/busybox "$work/banner/bin/"
cat > "$work/banner/init" <<'SH'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s /bin
echo
echo "=============================================================="
echo "  Booted by kexboot with kexec."
echo "  Command line: $(cat /proc/cmdline)"
echo "  This is a shell in the demo kernel; leave QEMU with Ctrl-A X."
echo "=============================================================="
exec setsid -c sh
SH
chmod +x "$work/banner/init"
(cd "$work/banner" && find . | cpio -o -H newc --quiet -R 0:0 | gzip -n > "$work/banner.img")

# Partition 1: a Debian-style GRUB /boot. Partition 2: a Fedora-style BLS /boot.
mkdir -p "$work/grub/grub" "$work/bls/grub2" "$work/bls/loader/entries"
cp "$vmlinuz" "$work/grub/vmlinuz"; cp "$work/banner.img" "$work/grub/initrd.img"
cp "$vmlinuz" "$work/bls/vmlinuz-6.1-demo"; cp "$work/banner.img" "$work/bls/initramfs-6.1-demo.img"
cat > "$work/grub/grub/grub.cfg" <<'CFG'
set default="0"
set timeout=30
menuentry 'Debian GNU/Linux (demo)' --id debian {
	search --no-floppy --fs-uuid --set=root d3b1a0d3-0000-4000-8000-000000000001
	linux /vmlinuz root=/dev/vda3 ro console=ttyS0 quiet demo=grub
	initrd /initrd.img
}
submenu 'Advanced options for Debian GNU/Linux' {
	menuentry 'Debian GNU/Linux (recovery mode)' {
		linux /vmlinuz root=/dev/vda3 ro single console=ttyS0 quiet demo=grub-recovery
		initrd /initrd.img
	}
}
menuentry 'UEFI Firmware Settings' { fwsetup }
CFG
cat > "$work/bls/loader/entries/demo-6.1-demo.conf" <<'BLS'
title Fedora Linux (6.1-demo) 39 (BLS demo)
version 6.1-demo
linux /vmlinuz-6.1-demo
initrd /initramfs-6.1-demo.img
options root=/dev/vda3 ro console=ttyS0 quiet demo=bls
BLS
truncate -s 48M "$work/p1.ext4" "$work/p2.ext4"
mkfs.ext4 -q -F -U d3b1a0d3-0000-4000-8000-000000000001 -L debian-boot -d "$work/grub" "$work/p1.ext4"
mkfs.ext4 -q -F -L fedora-boot -d "$work/bls" "$work/p2.ext4"
disk="$demo/disk.img"
rm -f "$disk"; truncate -s 112M "$disk"
printf 'label: gpt\nstart=2048, size=48M, name=debian-boot\nsize=48M, name=fedora-boot\n' | sfdisk -q "$disk"
dd if="$work/p1.ext4" of="$disk" bs=512 seek=2048 conv=notrunc status=none
dd if="$work/p2.ext4" of="$disk" bs=512 seek=$((2048 + 98304)) conv=notrunc status=none

echo "Starting QEMU (TCG: the first kernel takes ~10 s). Leave with Ctrl-A X."
exec qemu-system-x86_64 -accel tcg -m 1024 -nographic -no-reboot \
  -kernel "$vmlinuz" -initrd "$demo/initramfs.gz" -append "console=ttyS0 quiet kexboot.timeout=30" \
  -drive "file=$disk,if=virtio,format=raw,snapshot=on"
