#!/usr/bin/env python3
"""kexboot's ppc64le initramfs on a real (emulated) POWER machine: QEMU pseries (TCG) with
its stock firmware boots Debian's ppc64el kernel with the image; kexboot's menu comes up
on hvc0, the daemon finds the disk on the PAPR virtual SCSI adapter (ibmvscsi, loaded by
/init from the image's modules) through the kernel's uevents, probes it with libblkid,
mounts it read-only and lists its grub.cfg entries; a key typed on hvc0 opens the
system information screen. The disk image
is byte-identical afterwards.

Usage: pseries.py --kernel VMLINUX --initramfs FILE
Last line: "pseries: N passed, M failed".
"""
import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "e2e"))
from run import Guest, make_disk  # noqa: E402  (the x86_64 end-to-end harness)


def digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--initramfs", required=True)
    a = ap.parse_args()
    passed = failed = 0
    work = tempfile.mkdtemp(prefix="kexboot-pseries-")
    # The disk's kernel is never booted here (that is the SLOF-free issue's work): a stand-in.
    stand_in = os.path.join(work, "vmlinux-stand-in")
    with open(stand_in, "wb") as f:
        f.write(b"kexboot test placeholder: a ppc64le kernel\n")
    disk = make_disk(work, stand_in)
    before = digest(disk)
    command = ["qemu-system-ppc64", "-M", "pseries", "-accel", "tcg", "-m", "1024", "-nographic", "-vga", "none",
               "-no-reboot", "-kernel", a.kernel, "-initrd", a.initramfs,
               "-append", "console=hvc0 quiet kexboot.autoboot=0",
               # Writable, so that the byte-for-byte check below shows kexboot wrote nothing.
               "-drive", f"file={disk},if=scsi,format=raw"]
    checks = [
        ("/init runs on ppc64le", "kexboot: /init ready", 90),
        ("the ncurses menu is drawn on hvc0", "boot menu", 30),
        ("the daemon lists the disk's grub.cfg entries", "Debian GNU/Linux", 120),
    ]
    start = time.time()
    try:
        with Guest(None, None, None, None, os.path.join(work, "serial.log"), command=command) as guest:
            for what, text, timeout in checks:
                try:
                    guest.expect(text, timeout)
                    passed += 1
                    print(f"PASS {what} ({guest.seen[text]:.1f}s after QEMU started)", flush=True)
                except AssertionError as e:
                    failed += 1
                    print(f"FAIL {what}: {e}", flush=True)
                    break
            else:
                # 'i': the system information screen, with the disk's config.
                guest.send("i")
                try:
                    guest.expect("System information", 30)
                    guest.expect("grub/grub.cfg", 10)
                    passed += 1
                    print("PASS a key is read from hvc0: 'i' shows the devices and the disk's config", flush=True)
                except AssertionError as e:
                    failed += 1
                    print(f"FAIL a key is read from hvc0: {e}", flush=True)
            guest.proc.kill()
    finally:
        after = digest(disk)
        if before == after:
            passed += 1
            print("PASS the disk image is byte-identical afterwards", flush=True)
        else:
            failed += 1
            print("FAIL the disk image changed", flush=True)
        if failed:
            log = os.path.join(work, "serial.log")
            if os.path.exists(log):
                print("---- serial log (last 40 lines) ----")
                print("\n".join(open(log, errors="replace").read().splitlines()[-40:]))
        else:
            shutil.rmtree(work)
    print(f"pseries: {passed} passed, {failed} failed ({time.time() - start:.0f}s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
