#!/usr/bin/env python3
"""Open Firmware shim benchmarks (BENCHMARKS.md, "Open Firmware shim").

1. Size of build/ofshim/ofshim.bin and the memory the ELF claims.
2. Instructions from machine start to the client's first CI call: QEMU runs with
   -icount shift=0 (one instruction = 1 ns of virtual time), so the timebase the
   client reads just before its first call (512 MHz) counts instructions:
   instructions = TB * 1e9 / 512e6. The shim starts at the first instruction the
   machine runs (-bios), so this is "shim entry to first CI call"; SLOF's number is
   the same measure for its whole boot.
3. Block-read throughput through the CI: the client reads partition 1 (32 MiB)
   with `read` in 64 KiB calls and times it with `milliseconds` (TCG, no icount).
4. GRUB → Linux: wall-clock seconds from starting QEMU to GRUB's menu line and to the
   kernel's "Linux version" line, for a disk with GRUB in PReP and Debian's ppc64el
   kernel in /boot: under the shim (bundle) and under SLOF (booting the same disk).
Usage: python3 bench/ofshim-bench.py   (after `make ofshim`)
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "Tests", "ofshim"))
import mkbundle  # noqa: E402
import run  # noqa: E402

P1_BLOCKS = 65536  # 32 MiB


def boot(firmware, disk_path, bundle_path, args, icount):
    extra = ["-icount", "shift=0"] if icount else []
    drive = ["-drive", f"file={disk_path},if=scsi,format=raw,readonly=on"]
    if firmware == "shim":
        cmd = ["-M", "pseries", "-bios", run.SHIM, "-kernel", run.CLIENT, "-initrd", bundle_path]
    else:
        cmd = ["-M", "pseries,kernel-addr=0", "-kernel", run.CLIENT]
    cmd += ["-append", args] + drive + extra
    ended, text, secs = run.qemu(cmd, 300)
    if not ended or "RESULT" not in text:
        sys.exit(f"ofshim-bench: the {firmware} run did not finish:\n{text[-2000:]}")
    return text, " ".join(["qemu-system-ppc64"] + run.QEMU[1:] + cmd)


def main():
    tmp = tempfile.mkdtemp(prefix="ofshim-bench.")
    disk_path = os.path.join(tmp, "disk.img")
    disk = run.make_disk(disk_path, P1_BLOCKS)
    client = open(run.CLIENT, "rb").read()
    bundle_path = os.path.join(tmp, "bench.bundle")
    with open(bundle_path, "wb") as f:
        f.write(mkbundle.from_disk(disk, client, "bench", run.BOOTPATH, chosen={1, 2}))
    small_path = os.path.join(tmp, "client-only.bundle")
    with open(small_path, "wb") as f:
        f.write(mkbundle.build(client, "bench", run.BOOTPATH))
    elf = subprocess.run(["powerpc64-linux-gnu-readelf", "-lW", os.path.join(run.BUILD, "ofshim.elf")],
                         capture_output=True, text=True).stdout
    memsz = max(int(m.group(1), 16) for m in re.finditer(r"LOAD\s+\S+\s+\S+\s+\S+\s+\S+\s+(0x[0-9a-f]+)", elf))
    print(f"size: ofshim.bin {os.path.getsize(run.SHIM)} bytes; ofshim.elf claims {memsz} bytes "
          f"(code, data, 768 KiB heap, stacks)")
    for fw, bundle, what in (("shim", small_path, "bundle = client only, %d bytes" % os.path.getsize(small_path)),
                             ("shim", bundle_path, "bundle = client + 33 MiB of disk, %d bytes" % os.path.getsize(bundle_path)),
                             ("slof", None, "SLOF, -kernel")):
        text, cmd = boot(fw, disk_path, bundle, "bench", icount=True)
        tb = int(re.search(r"TB entry=([0-9a-f]+) first-ci=([0-9a-f]+)", text).group(2), 16)
        print(f"{fw} ({what}): instructions from machine start to the first CI call: {tb * 1000 // 512:,}"
              f"  (TB {tb:#x} at 512 MHz, -icount shift=0)")
        print(f"  command: {cmd}")
    for fw in ("shim", "slof"):
        text, cmd = boot(fw, disk_path, bundle_path, "bench", icount=False)
        m = re.search(r"BENCH read bytes=(\d+) ms=(\d+)", text)
        n, ms = int(m.group(1)), max(int(m.group(2)), 1)
        print(f"{fw}: CI read of partition 1: {n} bytes in {ms} ms = {n / ms / 1000:.1f} MB/s (TCG)")
        print(f"  command: {cmd}")
    mods, why = run.grub_modules()
    vmlinux, why2 = run.debian_ppc64el_kernel() if mods else (None, why)
    if not vmlinux:
        print(f"GRUB -> Linux: skipped ({why2})")
    else:
        disk2, bundle2, core = run.grub_disk(tmp, mods, "bench-linux", run.LINUX_CFG, [(vmlinux, "boot/vmlinux")],
                                             p2_mib=os.path.getsize(vmlinux) // (1 << 20) + 16)
        drive = ["-drive", f"file={disk2},if=scsi,format=raw,readonly=on"]
        for fw, args in (("shim", ["-M", "pseries", "-bios", run.SHIM, "-kernel", core, "-initrd", bundle2] + drive),
                         ("slof", ["-M", "pseries"] + drive)):
            t0 = time.time()
            p = subprocess.Popen(run.QEMU + args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            os.set_blocking(p.stdout.fileno(), False)
            text, marks = b"", {}
            while time.time() - t0 < 300 and p.poll() is None and "linux" not in marks:
                time.sleep(0.05)
                text += p.stdout.read() or b""
                if "grub" not in marks and b"kexboot-ofshim: loading Linux" in text:
                    marks["grub"] = time.time() - t0
                if b"] Linux version" in text:  # the kernel's own printk, not prom_init's banner
                    marks["linux"] = time.time() - t0
            p.kill()
            p.wait()
            print(f"{fw}: GRUB runs its menu entry after {marks.get('grub', float('nan')):.1f} s, "
                  f"the kernel prints 'Linux version' after {marks.get('linux', float('nan')):.1f} s (wall clock, TCG)")
            print(f"  command: {' '.join(['qemu-system-ppc64'] + run.QEMU[1:] + args)}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
