#!/usr/bin/env bash
# Times `kexboot probe` on a 16-partition GPT image (8 ext4 filesystems with a grub.cfg,
# 8 empty partitions) against what a shell script would do: blkid -p on every partition,
# then a read-only mount of each filesystem to read its config.
# Usage: bench/probe-bench.sh [KEXBOOT_BINARY]   (as root: loop devices and mounts)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-.build/release/kexboot}")
[ -x "$bin" ] || { echo "build it first: make release" >&2; exit 1; }
work=$(mktemp -d /tmp/kexboot-probe-bench.XXXXXX)
trap 'umount -q "$work"/m 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"

echo "== Setup (in $work)"
truncate -s 600M disk.img
{ echo "label: gpt"; for i in $(seq 1 16); do echo "size=32M, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=p$i"; done; } | sfdisk -q disk.img
for i in 1 3 5 7 9 11 13 15; do
  mkdir -p "t$i/boot/grub"
  printf 'set timeout=5\nmenuentry "System %s" { linux /boot/vmlinuz root=/dev/vda%s ro quiet; initrd /boot/initrd.img; }\n' "$i" "$i" > "t$i/boot/grub/grub.cfg"
  truncate -s 32M "fs$i.ext4" && mkfs.ext4 -q -F -L "sys$i" -d "t$i" "fs$i.ext4"
  start=$(sfdisk -d disk.img | awk -v n="disk.img$i" '$1 == n {gsub(",", "", $4); print $4}')
  dd if="fs$i.ext4" of=disk.img bs=512 seek="$start" conv=notrunc status=none
done

cat > shell-probe.sh <<'SH'
#!/usr/bin/env bash
# The baseline: what a boot script would do by hand.
set -u
loop=$(losetup -r -P -f --show disk.img)
name=${loop#/dev/}
[ -e "/sys/block/$name/${name}p1" ] || partx -a "$loop"
mkdir -p m
for part in /sys/block/$name/${name}p*; do
  dev=/dev/$(basename "$part")
  type=$(blkid -p -o value -s TYPE "$dev" || true)
  [ -n "$type" ] || continue
  opts=ro,nodev,nosuid,noexec; [ "$type" = ext4 ] && opts=$opts,noload
  mount -t "$type" -o "$opts" "$dev" m && { cat m/boot/grub/grub.cfg > /dev/null 2>&1; umount m; }
done
losetup -d "$loop"
SH
chmod +x shell-probe.sh
sha_before=$(sha256sum < disk.img)

echo "== Check"
"$bin" probe disk.img | head -3
echo "== Time (hyperfine)"
set -x
hyperfine --warmup 2 --min-runs 10 --export-markdown probe.md "$bin probe --json disk.img > /dev/null" "./shell-probe.sh"
set +x
cat probe.md
[ "$(sha256sum < disk.img)" = "$sha_before" ] && echo "disk.img unchanged"
