#!/usr/bin/env python3
"""Seconds from QEMU start to kexboot's menu and to the second kernel, beside a baseline
initramfs that runs kexec-tools from a busybox script on the same disk, plus the image
sizes. Usage (from the repo root, as root): bench/boot-bench.py"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "Tests", "e2e"))
import run as e2e  # noqa: E402

UUID = e2e.UUID


def sh(cmd):
    return subprocess.run(cmd, shell=True, check=True, capture_output=True, text=True).stdout


def baseline_initramfs(ours, out):
    """Our image's busybox and modules, kexec-tools and its libraries, and a /init that
    mounts the disk and kexecs the entry a person would have typed in."""
    root = tempfile.mkdtemp()
    sh(f"cd {root} && gzip -dc {ours} | cpio -id --quiet")
    os.remove(f"{root}/bin/kexboot")
    kexec = shutil.which("kexec") or "/sbin/kexec"
    shutil.copy(kexec, f"{root}/bin/kexec")
    for lib in sh(f"ldd {kexec} | awk '/=>/ {{print $3}} !/=>/ && /^\\t\\// {{print $1}}'").split():
        os.makedirs(root + os.path.dirname(lib), exist_ok=True)
        shutil.copy(lib, root + lib)
    with open(f"{root}/init", "w") as f:
        f.write(f"""#!/bin/sh
echo "kexboot: /init started"
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
echo /sbin/modprobe > /proc/sys/kernel/modprobe
find /sys/devices -name modalias -exec cat {{}} + | sort -u | xargs modprobe -a -q
find /sys/devices -name modalias -exec cat {{}} + | sort -u | xargs modprobe -a -q
mkdir -p /mnt; while [ ! -e /dev/vda1 ]; do sleep 0.1; done
mount -t ext4 -o ro /dev/vda1 /mnt
echo "kexboot 0.1 (baseline: no menu)"
kexec -l /mnt/vmlinuz --initrd=/mnt/initrd.img --append='root=UUID={UUID} ro single console=ttyS0 "acpi_osi=Windows 2020" entry=default'
umount /mnt
echo 'kexboot: booting "baseline"'
kexec -e
""")
    os.chmod(f"{root}/init", 0o755)
    sh(f"cd {root} && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | gzip -9 -n > {out}")
    shutil.rmtree(root)


def boot(kernel, initramfs, disk, append):
    work = tempfile.mkdtemp()
    g = e2e.Guest(kernel, initramfs, disk, append, f"{work}/serial.log")
    try:
        g.expect("kexboot: /init started", 120)
        g.expect("kexboot 0.1", 120)
        g.marker()
        total = time.time() - g.started
        return g.seen["kexboot: /init started"], g.seen["kexboot 0.1"], total
    finally:
        g.close()
        shutil.rmtree(work)


def main():
    os.chdir(os.path.join(os.path.dirname(__file__), ".."))
    sh("scripts/deps.sh kexec-tools qemu-system-x86 busybox-static kmod cpio xz-utils")
    vmlinuz, modules = sh("initramfs/fetch-kernel.sh kernels").split()
    work = tempfile.mkdtemp()
    ours = f"{work}/kexboot.gz"
    sizes = {}
    for compress in ["gzip", "xz"]:
        for mods in [modules, "none"]:
            out = f"{work}/size.{compress}.{'mods' if mods != 'none' else 'nomods'}"
            sh(f"initramfs/build.sh --modules {mods} --output {out} --compress {compress}")
            sizes[(compress, mods != "none")] = os.path.getsize(out)
    shutil.copy(f"{work}/size.gzip.mods", ours)
    base = f"{work}/baseline.gz"
    baseline_initramfs(ours, base)
    disk = e2e.make_disk(work, vmlinuz)
    print("+ initramfs/build.sh --modules DIR|none --output F --compress gzip|xz")
    print("| compression | with modules | without modules |\n|---|---|---|")
    for c in ["gzip", "xz"]:
        print(f"| {c} | {sizes[(c, True)]:,} B | {sizes[(c, False)]:,} B |")
    print(f"baseline initramfs (gzip, modules, kexec-tools instead of kexboot): {os.path.getsize(base):,} B")
    # Boots alternate (ours, baseline, ours, …) so a busy host slows both alike; each
    # column is the median of RUNS boots.
    runs = int(os.environ.get("RUNS", "3"))
    # kexboot as shipped (kexec = auto: kexec_file_load), and with kexboot.kexec=load (its
    # own kexec_load boot: no signature pass, no purgatory hashing).
    variants = [("kexboot", ours, "kexboot.timeout=0"), ("kexboot, kexboot.kexec=load", ours, "kexboot.timeout=0 kexboot.kexec=load"),
                ("baseline kexec-tools script", base, "")]
    samples = {name: [] for name, _, _ in variants}
    for _ in range(runs):
        for name, image, append in variants:
            samples[name].append(boot(vmlinuz, image, disk, append))
    rows = []
    for name, runs_of in samples.items():
        med = [statistics.median(s[i] for s in runs_of) for i in range(3)]
        rows.append((name, *med))
    print(f"median of {runs} alternating boots each")
    print("| initramfs | /init starts | menu (baseline: disk mounted) | second kernel's marker |\n|---|---|---|---|")
    for name, init, menu, total in rows:
        print(f"| {name} | {init:.1f} s | {menu:.1f} s (+{menu - init:.1f} s) | {total:.1f} s |")
    print("all totals: " + "; ".join(f"{n}: " + ", ".join(f"{s[2]:.1f}" for s in r) for n, r in samples.items()))
    for row in rows[:-1]:
        ratio = row[3] / rows[-1][3]
        print(f"total time {row[0]} / baseline: {ratio:.2f} (goal ≤ 1.05){'' if ratio <= 1.05 else '  GOAL MISSED'}")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
