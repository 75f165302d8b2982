#!/usr/bin/env python3
"""pseries boot: kexboot with the Open Firmware shim as firmware beside stock SLOF → GRUB.

One disk for both (scripts/pseries_disks.py → Tests/ppc64le/pseries.py's prep_disk): GRUB's
core.elf in a PReP partition, and an ext2 /boot holding Debian's ppc64el vmlinux, the marker
initrd and a grub.cfg (timeout=1, one entry "Linux from GRUB") that GRUB and kexboot both read.
The same kernel and initrd are booted either way:

  kexboot  QEMU -bios ofshim.bin -kernel vmlinux -initrd kexboot's image: the shim starts
           Linux, kexboot lists the disk's grub.cfg on hvc0 and autoboots it after
           kexboot.timeout=1 (kexec of the vmlinux and marker initrd);
  SLOF     QEMU's own firmware, no -kernel: SLOF loads GRUB from the PReP partition, GRUB
           shows its menu, boots the entry after its timeout=1.

Measured (wall clock from starting QEMU, TCG), median of N runs alternating the two paths:
  menu    the menu's title: kexboot's "boot menu" / GRUB's "GNU GRUB";
  entry   the entry "Linux from GRUB" listed in that menu (kexboot: the disk has been probed);
  marker  the second kernel's /init prints "KEXBOOT-MARKER" (then powers off).
Both paths wait 1 s on their menu; the marker figures include it.

Usage: python3 bench/pseries-bench.py [--runs 3] [--kernel VMLINUX] [--initramfs IMG]
       [--shim ofshim.bin] [--busybox BUSYBOX]   (after `make ppc64le ofshim`)
"""
import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.dont_write_bytecode = True  # no __pycache__ in scripts/ and Tests/
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import pseries_disks  # noqa: E402
from pseries_disks import pseries  # noqa: E402

TITLE = "Linux from GRUB"
APPEND = "console=hvc0 quiet entry=bench"
CFG = pseries_disks.grub_cfg(TITLE, 1, APPEND)


def defaults(args):
    if not args.kernel:
        out = subprocess.run([os.path.join(ROOT, "initramfs", "fetch-kernel.sh"), "--arch", "ppc64le",
                              os.path.join(ROOT, "kernels")], capture_output=True, text=True, check=True).stdout
        args.kernel = out.splitlines()[0]
    cache = os.environ.get("KEXBOOT_CACHE", "/var/cache/kexboot")
    args.initramfs = args.initramfs or os.path.join(ROOT, ".build", "ppc64le", "initramfs.img")
    args.shim = args.shim or os.path.join(ROOT, "build", "ofshim", "ofshim.bin")
    args.busybox = args.busybox or os.path.join(cache, "busybox-ppc64el", "bin", "busybox")
    for f in (args.kernel, args.initramfs, args.shim, args.busybox):
        if not os.path.exists(f):
            sys.exit(f"pseries-bench.py: {f} is missing: run `make ppc64le ofshim` first")


def slof_command(args, disk):
    """pseries.command() under stock SLOF without -kernel, -initrd and -append: SLOF boots
    the disk (GRUB in its PReP partition) itself. Everything else is the same command line."""
    cmd = pseries.command(args, "", [disk], firmware=False)
    out, i = [], 0
    while i < len(cmd):
        if cmd[i] in ("-kernel", "-initrd", "-append"):
            i += 2
            continue
        out.append(cmd[i])
        i += 1
    return out


def run(path, cmd, work, n):
    """One boot; returns the seconds to the menu's title, to the entry and to the marker."""
    log = f"{work}/{path}-{n}.log"
    with pseries.Guest(None, None, None, None, log, command=cmd) as g:
        try:
            if path == "kexboot":
                menu = "boot menu"
                g.expect(menu, 180)
                g.expect(TITLE, 180)
                g.expect(f'kexboot: booting "{TITLE}"', 120)
            else:
                # SLOF loads the PReP partition's ELF (GRUB) from the disk.
                g.expect("Successfully loaded", 120)
                menu = "GNU GRUB"
                g.expect(menu, 120)
                g.expect(TITLE, 60)
            line = g.marker(300)
        finally:
            g.proc.kill()
    out = open(log, errors="replace").read()
    if "entry=bench]" not in line:
        sys.exit(f"pseries-bench.py: the {path} run booted something else: marker {line!r} (log {log})")
    if path == "kexboot" and "GNU GRUB" in out:
        sys.exit(f"pseries-bench.py: the kexboot run went through GRUB (log {log})")
    return g.seen[menu], g.seen[TITLE], g.seen["KEXBOOT-MARKER"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--kernel")
    ap.add_argument("--initramfs")
    ap.add_argument("--shim")
    ap.add_argument("--busybox")
    ap.add_argument("--keep", action="store_true", help="keep the disk and the serial logs")
    args = ap.parse_args()
    defaults(args)
    others = subprocess.run(["pgrep", "-f", "qemu-system"], capture_output=True, text=True).stdout.split()
    if others:
        print(f"pseries-bench.py: warning: other QEMU processes are running ({' '.join(others)}): "
              "the figures will be slower", flush=True)
    started = time.time()
    work = tempfile.mkdtemp(prefix="pseries-bench.")
    disk = pseries_disks.prep_linux_disk(work, "bench", os.path.abspath(args.kernel), os.path.abspath(args.busybox),
                                         pseries_disks.grub_modules(), CFG)
    before = pseries.digest(disk)
    commands = {
        "kexboot": pseries.command(args, "console=hvc0 quiet kexboot.timeout=1", [disk]),
        "SLOF": slof_command(args, disk),
    }
    results = {path: [] for path in commands}
    for n in range(args.runs):
        for path, cmd in commands.items():
            times = run(path, cmd, work, n)
            results[path].append(times)
            print(f"  run {n + 1} {path}: menu {times[0]:.1f} s, entry {times[1]:.1f} s, marker {times[2]:.1f} s",
                  flush=True)
    if pseries.digest(disk) != before:
        sys.exit("pseries-bench.py: the disk image changed")

    def cell(values):
        return f"{statistics.median(values):5.1f} ({' '.join(f'{v:.1f}' for v in values)})"

    rows = {"kexboot": "shim → Linux → kexboot → kexec Linux", "SLOF": "SLOF → GRUB (PReP) → Linux"}
    print(f"\npseries, QEMU TCG: seconds from QEMU start, median of {args.runs} alternating runs (each run)")
    print(f"{'path':<38} {'menu shown':<26} {'menu lists the entry':<26} {'second kernel marker'}")
    for path, label in rows.items():
        print(f"{label:<38}" + "".join(f" {cell([t[i] for t in results[path]]):<26}" for i in range(3)).rstrip())
    print("Both menus wait 1 s (kexboot.timeout=1, GRUB timeout=1) before booting; the same vmlinux and initrd.")
    print(f"kernel: {args.kernel}")
    for path, cmd in commands.items():
        print(f"{path} command: {shlex.join(cmd)}")
    print(f"bench took {time.time() - started:.0f} s")
    if args.keep:
        print(f"disk and logs kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
