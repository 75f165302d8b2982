#!/usr/bin/env python3
"""Disks for the pseries demo (scripts/demo-ppc64.sh) and benchmark (bench/pseries-bench.py),
built with Tests/ppc64le/pseries.py's helpers (linux_disk, core_elf, prep_disk, marker_initrds).

  demo disk 1 (GPT, ext4 /boot)   pseries.linux_disk: Debian's grub.cfg shape, the default in a
                                  submenu chosen through grubenv, two marker initrds.
  demo disk 2 (MBR)               GRUB's core.elf in a PReP partition; an ext2 /boot with
                                  vmlinux, a marker initrd and a grub.cfg that boots them.

Usage: pseries_disks.py --kernel VMLINUX --busybox BUSYBOX OUTDIR
Builds the demo's two disks in OUTDIR and prints their paths, one a line.
The marker initrd's /init prints "KEXBOOT-MARKER cmdline=[...] files=[...]" and powers off.
"""
import argparse
import importlib.util
import os
import shutil
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.dont_write_bytecode = True  # no __pycache__ in Tests/
sys.path.insert(0, os.path.join(ROOT, "Tests", "ppc64le"))
import pseries  # noqa: E402


def grub_modules():
    """Debian's powerpc-ieee1275 GRUB modules, fetched (once) by Tests/ofshim/run.py. That file
    is loaded under another name: pseries.py has already imported Tests/e2e/run.py as `run`."""
    spec = importlib.util.spec_from_file_location("ofshim_run", os.path.join(ROOT, "Tests", "ofshim", "run.py"))
    ofshim_run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ofshim_run)
    mods, why = ofshim_run.grub_modules()
    if not mods:
        sys.exit(f"pseries_disks.py: {why}")
    return mods


def grub_cfg(title, timeout, append, echo=None):
    """A grub.cfg GRUB (from the PReP partition) and kexboot both read: one entry booting
    /boot/vmlinux with the marker initrd, on the ext2 partition that holds the file."""
    assert "'" not in title + (echo or ""), "single-quoted in grub.cfg"
    lines = [f"set timeout={timeout}", f"menuentry '{title}' {{"]
    if echo:
        lines.append(f"\techo '{echo}'")
    lines += [f"\tlinux /boot/vmlinux {append}", "\tinitrd /boot/initrd.img", "}", ""]
    return "\n".join(lines)


def prep_linux_disk(work, name, kernel, busybox, mods, cfg):
    """pseries.prep_disk with GRUB's core.elf (pseries.core_elf) in the PReP partition and, on the
    ext2 partition, /boot/vmlinux, /boot/initrd.img (the marker) and /boot/grub/grub.cfg = cfg."""
    core = pseries.core_elf(work, mods, f"{name}-core")
    first, second = f"{work}/{name}-initrd-a.img", f"{work}/{name}-initrd-b.img"
    pseries.marker_initrds(busybox, first, second)
    with open(core, "rb") as f:
        payload = f.read()
    return pseries.prep_disk(work, name, payload, cfg, [(kernel, "boot/vmlinux"), (first, "boot/initrd.img")])


DEMO_PREP_CFG = grub_cfg("Linux from GRUB (PReP demo)", 10, "console=hvc0 quiet demo=prep",
                         echo="GRUB, from the PReP partition, loads Linux ...")


def demo_disks(out, kernel, busybox):
    """Builds the demo's two disks in `out` (replacing earlier ones); returns their paths."""
    out = os.path.abspath(out)  # pseries.py's helpers run shell commands in other directories
    os.makedirs(out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="work-", dir=out)
    try:
        kernel, busybox = os.path.abspath(kernel), os.path.abspath(busybox)
        args = argparse.Namespace(kernel=kernel, busybox=busybox)
        disks = [pseries.linux_disk(work, args, "linux"),
                 prep_linux_disk(work, "prep", kernel, busybox, grub_modules(), DEMO_PREP_CFG)]
        paths = []
        for disk, name in zip(disks, ("linux-disk.img", "prep-disk.img")):
            os.replace(disk, os.path.join(out, name))
            paths.append(os.path.join(out, name))
        return paths
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description="Builds the pseries demo's two disks.")
    ap.add_argument("--kernel", required=True, help="Debian's ppc64el vmlinux")
    ap.add_argument("--busybox", required=True, help="a static ppc64el busybox (for the marker initrd)")
    ap.add_argument("out", help="directory for linux-disk.img and prep-disk.img")
    args = ap.parse_args()
    for path in demo_disks(args.out, args.kernel, args.busybox):
        print(path)


if __name__ == "__main__":
    main()
