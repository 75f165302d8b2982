#!/usr/bin/env python3
"""kexboot on an emulated POWER machine with no SLOF anywhere: QEMU pseries (TCG) runs the
shim (build/ofshim/ofshim.bin) as its firmware, the shim starts Debian's ppc64el kernel
(its prom_init on the shim's client interface) with kexboot's image, and kexboot boots:

  autoboot   a disk's grub.cfg (default in a submenu, chosen through grubenv; two initrds;
             a quoted argument) with kexboot.timeout=1: the second kernel, kexec'd by
             kexboot's own ppc64 kexec_load boot, prints its exact /proc/cmdline and the
             files of both initrds. The disk is byte-identical afterwards.
  prep       a disk with GRUB's core.elf in a PReP partition and an ext2 /boot: kexboot
             lists the PReP payload and boots it through the shim, GRUB reads its grub.cfg
             and boots Linux, which prints its marker.
  menu       the ncurses menu on hvc0, driven over the serial console: bad entries (a kernel
             that is missing, a PReP payload that is not an ELF, a truncated core.elf) get
             a clear error in the menu and the daemon stays up; then a key chooses the
             second entry, whose command line the marker shows.
  netboot    QEMU user networking (ibmveth) with a TFTP tree and pxelinux.cfg/default:
             the marker comes from the entry it names.
  slof       the ppc64le image under stock SLOF: still works there (menu, disk, a key).

Usage: pseries.py --kernel VMLINUX --initramfs FILE --shim ofshim.bin --busybox BUSYBOX
                  --grub-modules DIR [--only NAME ...]
Last line: "pseries: N passed, M failed".
"""
import argparse
import hashlib
import importlib.util
import os
import re
import select
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))
from run import Guest as E2EGuest, make_disk  # noqa: E402  (the x86_64 end-to-end harness)

UUID = "0e2e0e2e-5555-6666-7777-888888888888"
BS = 512


# The QEMU monitor socket of the running test's guest (set per test by main()).
MONITOR = None


class Guest(E2EGuest):
    """The end-to-end Guest, which on a failed test asks QEMU's monitor where the guest's
    CPU is before QEMU is stopped: a guest that hangs silently after a kexec shows its
    NIP/MSR/LR in the test's output."""

    def __exit__(self, kind, exc, tb):
        if kind is not None and MONITOR and os.path.exists(MONITOR):
            try:
                import socket
                s = socket.socket(socket.AF_UNIX)
                s.settimeout(5)
                s.connect(MONITOR)
                s.sendall(b"info registers\n")
                time.sleep(1)
                data = s.recv(1 << 16).decode(errors="replace")
                s.close()
                regs = [ln for ln in data.splitlines() if ln.startswith(("NIP", "MSR", "LR", "SRR0", "GPR00", "GPR04"))]
                print("---- guest CPU at the failure ----\n" + "\n".join(regs), flush=True)
            except OSError as e:
                print(f"(the QEMU monitor did not answer: {e})", flush=True)
        return super().__exit__(kind, exc, tb)


def sh(cmd):
    subprocess.run(cmd, shell=True, check=True)


def drain(guest, seconds):
    """Reads what the guest prints for `seconds` (Guest reads only while it expects)."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        ready, _, _ = select.select([guest.proc.stdout], [], [], max(0.0, min(1.0, deadline - time.time())))
        if ready:
            chunk = os.read(guest.proc.stdout.fileno(), 65536)
            if not chunk:
                break
            guest.output += chunk
            guest.log.write(chunk)
            guest.log.flush()
    return guest.output.decode(errors="replace")


def digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def marker_initrds(busybox, first, second):
    """Two cpio archives. The first holds busybox and an /init that prints the marker, the
    command line and which of the two archives' files it finds; the second only /b.txt."""
    for path, files in ((first, {"a.txt": "from the first initrd\n"}), (second, {"b.txt": "from the second initrd\n"})):
        root = tempfile.mkdtemp()
        for name, text in files.items():
            with open(f"{root}/{name}", "w") as f:
                f.write(text)
        if path == first:
            os.makedirs(f"{root}/bin")
            os.makedirs(f"{root}/proc")
            shutil.copy(busybox, f"{root}/bin/busybox")
            with open(f"{root}/init", "w") as f:
                f.write("#!/bin/busybox sh\n/bin/busybox mount -t proc proc /proc\n"
                        "files=\"$(cd / && /bin/busybox ls a.txt b.txt 2>/dev/null | /bin/busybox tr '\\n' ' ')\"\n"
                        "echo \"KEXBOOT-MARKER cmdline=[$(/bin/busybox cat /proc/cmdline)] files=[$files]\"\n"
                        "/bin/busybox poweroff -f\n")
            os.chmod(f"{root}/init", 0o755)
        sh(f"cd {root} && find . | cpio -o -H newc --quiet -R 0:0 | gzip -n > {path}")
        shutil.rmtree(root)


def grub_cfg():
    """Debian's shape: grubenv's saved_entry names an entry inside a submenu."""
    return f"""if [ -s $prefix/grubenv ]; then
  set have_grubenv=true
  load_env
fi
if [ "${{next_entry}}" ] ; then
   set default="${{next_entry}}"
   set next_entry=
   save_env next_entry
else
   set default="${{saved_entry}}"
fi
set timeout=5
menuentry 'Debian GNU/Linux' --class debian --id 'gnulinux-simple-{UUID}' {{
	search --no-floppy --fs-uuid --set=root {UUID}
	linux	/vmlinux root=UUID={UUID} ro console=hvc0 quiet entry=first
	initrd	/initrd-a.img /initrd-b.img
}}
submenu 'Advanced options for Debian GNU/Linux' --id 'gnulinux-advanced-{UUID}' {{
	menuentry 'Debian GNU/Linux, with Linux (normal)' --id 'gnulinux-normal-{UUID}' {{
		search --no-floppy --fs-uuid --set=root {UUID}
		linux	/vmlinux root=UUID={UUID} ro console=hvc0 quiet entry=second "quoted=a b"
		initrd	/initrd-a.img /initrd-b.img
	}}
	menuentry 'Debian GNU/Linux, missing kernel' --id 'gnulinux-missing-{UUID}' {{
		search --no-floppy --fs-uuid --set=root {UUID}
		linux	/vmlinux-missing root=UUID={UUID} ro console=hvc0 entry=missing
		initrd	/initrd-a.img
	}}
}}
"""


def grubenv(saved):
    text = f"# GRUB Environment Block\nsaved_entry={saved}\n"
    return (text + "#" * (1024 - len(text))).encode()


def linux_disk(work, args, name="disk"):
    """A GPT disk whose ext4 /boot holds grub/grub.cfg, grub/grubenv, the kernel and two initrds."""
    tree = f"{work}/{name}-tree"
    os.makedirs(f"{tree}/grub", exist_ok=True)
    with open(f"{tree}/grub/grub.cfg", "w") as f:
        f.write(grub_cfg())
    with open(f"{tree}/grub/grubenv", "wb") as f:
        f.write(grubenv(f"gnulinux-advanced-{UUID}>gnulinux-normal-{UUID}"))
    shutil.copy(args.kernel, f"{tree}/vmlinux")
    marker_initrds(args.busybox, f"{tree}/initrd-a.img", f"{tree}/initrd-b.img")
    mib = os.path.getsize(args.kernel) // (1 << 20) + 24
    disk = f"{work}/{name}.img"
    sh(f"truncate -s {mib}M {work}/{name}.ext4 && mkfs.ext4 -q -F -U {UUID} -L boot -d {tree} {work}/{name}.ext4")
    sh(f"truncate -s {mib + 2}M {disk}")
    subprocess.run(["sfdisk", "-q", disk], input=f"label: gpt\nstart=2048, size={mib}M, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=boot\n".encode(), check=True)
    sh(f"dd if={work}/{name}.ext4 of={disk} bs=512 seek=2048 conv=notrunc status=none")
    return disk


def core_elf(work, mods, name="core"):
    """GRUB's core.elf from Debian's powerpc-ieee1275 modules, its prefix on the disk's
    second (msdos) partition, as Tests/ofshim/run.py builds it."""
    core = f"{work}/{name}.elf"
    subprocess.run(["grub-mkimage", "--note", "-O", "powerpc-ieee1275", "-d", mods, "-o", core,
                    "-p", "(ieee1275/disk,msdos2)/boot/grub",
                    "part_msdos", "ext2", "normal", "configfile", "echo", "halt", "linux", "boot"], check=True)
    return core


def prep_disk(work, name, payload, cfg="", files=(), prep_sectors=4096):
    """An MBR disk: a PReP partition (type 0x41) of `prep_sectors` holding `payload`, an
    ext2 /boot with cfg."""
    root = f"{work}/{name}-root"
    os.makedirs(f"{root}/boot/grub", exist_ok=True)
    with open(f"{root}/boot/grub/grub.cfg", "w") as f:
        f.write(cfg)
    for src, dst in files:
        shutil.copy(src, f"{root}/{dst}")
    size = sum(os.path.getsize(src) for src, _ in files) // (1 << 20) + 8
    p2 = f"{work}/{name}-p2.img"
    with open(p2, "wb") as f:
        f.truncate(size << 20)
    subprocess.run(["mkfs.ext2", "-q", "-F", "-d", root, p2], check=True)
    p1s, p1n, p2s = 2048, prep_sectors, 2048 + prep_sectors
    p2n = (size << 20) // BS
    disk = f"{work}/{name}.img"
    with open(disk, "wb") as f:
        f.truncate((p2s + p2n + 2048) * BS)
        mbr = bytearray(512)
        for i, (boot, ptype, start, count) in enumerate([(0x80, 0x41, p1s, p1n), (0, 0x83, p2s, p2n)]):
            mbr[446 + 16 * i:462 + 16 * i] = struct.pack("<B3sB3sII", boot, b"\0" * 3, ptype, b"\0" * 3, start, count)
        mbr[510:512] = b"\x55\xaa"
        f.write(mbr)
        f.seek(p1s * BS)
        f.write(payload)
        f.seek(p2s * BS)
        f.write(open(p2, "rb").read())
    return disk


def command(args, append, drives=(), extra=(), firmware=True):
    """QEMU pseries with the shim as its firmware (or stock SLOF), the kernel and kexboot's image."""
    cmd = ["qemu-system-ppc64", "-M", "pseries", "-accel", "tcg", "-m", "1024", "-nographic", "-vga", "none",
           "-no-reboot", "-kernel", args.kernel, "-initrd", args.initramfs, "-append", append]
    if firmware:
        cmd += ["-bios", args.shim]
    for d in drives:
        # Writable, so that a byte-for-byte check shows kexboot wrote nothing.
        cmd += ["-drive", f"file={d},if=scsi,format=raw"]
    if MONITOR:
        cmd += ["-monitor", f"unix:{MONITOR},server=on,wait=off"]
    return cmd + list(extra)


def test_autoboot(args, work):
    disk = linux_disk(work, args)
    before = digest(disk)
    with Guest(None, None, None, None, f"{work}/serial.log",
               command=command(args, "console=hvc0 quiet kexboot.timeout=1 kexboot.debug", [disk])) as g:
        g.expect("ofshim: kexboot Open Firmware shim", 30)
        g.expect("ofshim: initrd:", 30)
        g.expect("kexboot: /init ready", 120)
        # Debian's ppc64el kernel has no kexec_file_load: kexboot's own ppc64 kexec_load boot.
        g.expect("(kexec_load)", 180)
        out = g.expect('kexboot: booting "Debian GNU/Linux, with Linux (normal)"', 60)
        assert "* Advanced options for Debian GNU/Linux > Debian GNU/Linux, with Linux (" in out, "the default is not marked"
        g.marker(240)
        full = g.output.decode(errors="replace")
        marker = full[full.index("KEXBOOT-MARKER"):].split("\n")[0].strip()
        want = f'KEXBOOT-MARKER cmdline=[root=UUID={UUID} ro console=hvc0 quiet entry=second "quoted=a b"] files=[a.txt b.txt ]'
        assert marker == want, f"second kernel's marker is {marker!r}, not {want!r}"
        times = (g.seen["kexboot: /init ready"], time.time() - g.started)
        g.proc.kill()
    assert digest(disk) == before, "the disk image changed"
    return f"/init at {times[0]:.1f}s, marker at {times[1]:.1f}s"


def test_prep_grub(args, work):
    core = core_elf(work, args.grub_modules)
    cfg = ("set timeout=1\nmenuentry 'Linux from GRUB' {\n\techo 'kexboot-test: GRUB loads Linux'\n"
           "\tlinux /boot/vmlinux console=hvc0 quiet entry=grub\n\tinitrd /boot/initrd-a.img\n}\n")
    marker_initrds(args.busybox, f"{work}/initrd-a.img", f"{work}/initrd-b.img")
    disk = prep_disk(work, "prep", open(core, "rb").read(), cfg,
                     [(args.kernel, "boot/vmlinux"), (f"{work}/initrd-a.img", "boot/initrd-a.img")])
    before = digest(disk)
    with Guest(None, None, None, None, f"{work}/serial.log", command=command(args, "console=hvc0 quiet kexboot.autoboot=0", [disk])) as g:
        g.expect("kexboot: /init ready", 120)
        # The disk's grub.cfg is listed too (kexboot reads it itself); the PReP GRUB is last.
        g.expect("PReP boot payload (partition 1, ELF32 big endian)", 180)
        time.sleep(2)
        g.send("\x1b[F")  # End
        time.sleep(1)
        g.send("\r")
        g.expect('kexboot: booting "PReP boot payload (partition 1, ELF32 big endian)"', 120)
        g.expect("ofshim: bundle:", 120)
        g.expect("GNU GRUB", 120)
        g.expect("kexboot-test: GRUB loads Linux", 120)
        line = g.marker(300)
        # GRUB puts BOOT_IMAGE first, as it does everywhere.
        assert line == "BOOT_IMAGE=/boot/vmlinux console=hvc0 quiet entry=grub] files=[a.txt ", f"marker {line!r}"
        took = time.time() - g.started
        g.proc.kill()
    assert digest(disk) == before, "the disk image changed"
    return f"marker at {took:.1f}s"


def test_menu(args, work):
    disk = linux_disk(work, args)
    garbage = prep_disk(work, "garbage", b"this is not an ELF file\n" * 64)
    core = open(core_elf(work, args.grub_modules, "truncated-core"), "rb").read()
    # A third of core.elf in a partition that ends there: its segments run past the end.
    cut = core[:len(core) // 3 // BS * BS]
    truncated = prep_disk(work, "truncated", cut, prep_sectors=len(cut) // BS)
    disks = [disk, garbage, truncated]
    before = [digest(d) for d in disks]
    with Guest(None, None, None, None, f"{work}/serial.log",
               command=command(args, "console=hvc0 quiet kexboot.autoboot=0", disks)) as g:
        g.expect("Debian GNU/Linux, missing kernel", 180)
        drain(g, 5)
        # Neither PReP partition holds a client kexboot could start: the log screen names
        # each, and why.
        g.send("l")
        g.expect("Log (newest last)", 30)
        out = drain(g, 5)[-4000:]
        # Which sdX each disk becomes depends on the order the SCSI targets answer: the
        # two PReP disks are the two named, whatever their letters.
        named = set(re.findall(r"warning: /dev/(sd[a-z]): partition 1 is a PReP partition without a valid ELF payload", out))
        assert len(named) == 2, f"the log screen names {sorted(named)}, not both PReP disks"
        g.send("x")
        drain(g, 2)
        g.send("\x1b[H")  # Home: the first entry; two down: the missing kernel
        time.sleep(0.5)
        g.send("\x1b[B\x1b[B")
        time.sleep(0.5)
        g.send("\r")
        g.expect("/vmlinux-missing is missing", 120)
        time.sleep(2)
        # The daemon is still there: up one, to the second entry, and boot it.
        g.send("\x1b[A")
        time.sleep(0.5)
        g.send("\r")
        g.expect('kexboot: booting "Debian GNU/Linux, with Linux (normal)"', 120)
        line = g.marker(240)
        assert line == f'root=UUID={UUID} ro console=hvc0 quiet entry=second "quoted=a b"] files=[a.txt b.txt ', f"marker {line!r}"
        g.proc.kill()
    for d, b in zip(disks, before):
        assert digest(d) == b, f"{d} changed"
    return ""


def test_netboot(args, work):
    root = f"{work}/tftp"
    os.makedirs(f"{root}/pxelinux.cfg")
    os.makedirs(f"{root}/images")
    shutil.copy(args.kernel, f"{root}/images/vmlinux")
    marker_initrds(args.busybox, f"{root}/images/initrd-a.img", f"{root}/images/initrd-b.img")
    with open(f"{root}/pxelinux.cfg/default", "w") as f:
        f.write("DEFAULT second\nTIMEOUT 10\nLABEL first\n  MENU LABEL Installer (first)\n  KERNEL images/vmlinux\n"
                "  APPEND console=hvc0 quiet entry=pxe-first\nLABEL second\n  MENU LABEL Installer over PXE (second)\n"
                "  KERNEL images/vmlinux\n  INITRD images/initrd-a.img,images/initrd-b.img\n  APPEND console=hvc0 quiet entry=pxe-second\n")
    nic = f"user,model=spapr-vlan,tftp={root},bootfile=pxelinux.0"
    with Guest(None, None, None, None, f"{work}/serial.log", command=command(args, "console=hvc0 quiet", extra=["-nic", nic])) as g:
        g.expect("Installer over PXE (second)", 240)
        g.expect('kexboot: booting "Installer over PXE (second)"', 120)
        line = g.marker(300)
        assert line == "console=hvc0 quiet entry=pxe-second] files=[a.txt b.txt ", f"marker {line!r}"
        took = time.time() - g.started
        g.proc.kill()
    return f"marker at {took:.1f}s"


def test_slof(args, work):
    """The image still runs under stock SLOF (the firmware QEMU ships): menu, disk, a key."""
    stand_in = f"{work}/vmlinux-stand-in"
    with open(stand_in, "wb") as f:
        f.write(b"kexboot test placeholder: a ppc64le kernel\n")
    disk = make_disk(work, stand_in)
    before = digest(disk)
    with Guest(None, None, None, None, f"{work}/serial.log",
               command=command(args, "console=hvc0 quiet kexboot.autoboot=0", [disk], firmware=False)) as g:
        g.expect("kexboot: /init ready", 120)
        g.expect("boot menu", 60)
        g.expect("Debian GNU/Linux", 120)
        g.send("i")
        g.expect("System information", 30)
        g.expect("grub/grub.cfg", 10)
        g.proc.kill()
    assert digest(disk) == before, "the disk image changed"
    return ""


TESTS = [test_autoboot, test_prep_grub, test_menu, test_netboot, test_slof]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--initramfs", required=True)
    ap.add_argument("--shim", required=True)
    ap.add_argument("--busybox", required=True)
    ap.add_argument("--grub-modules", help="Debian's powerpc-ieee1275 GRUB modules (default: fetched as make test-ofshim does)")
    ap.add_argument("--only", action="append")
    args = ap.parse_args()
    if not args.grub_modules:
        spec = importlib.util.spec_from_file_location("ofshim_run", os.path.join(HERE, "..", "ofshim", "run.py"))
        ofshim_run = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(ofshim_run)
        args.grub_modules, why = ofshim_run.grub_modules()
        if not args.grub_modules:
            sys.exit(f"pseries.py: {why}")
    passed = failed = 0
    start = time.time()
    for test in TESTS:
        name = test.__name__[len("test_"):]
        if args.only and name not in args.only:
            continue
        work = tempfile.mkdtemp(prefix=f"kexboot-pseries-{name}-")
        global MONITOR
        MONITOR = f"{work}/monitor.sock"
        t0 = time.time()
        try:
            note = test(args, work)
            passed += 1
            print(f"PASS {name} ({time.time() - t0:.0f}s){': ' + note if note else ''}", flush=True)
            if not os.environ.get("KEXBOOT_KEEP"):
                shutil.rmtree(work)
        except Exception as e:  # noqa: BLE001  (any failure is reported with the serial log)
            failed += 1
            print(f"FAIL {name}: {e}", flush=True)
            if not isinstance(e, AssertionError):
                traceback.print_exc()
            log = f"{work}/serial.log"
            if os.path.exists(log):
                print("---- serial log (last 40 lines) ----")
                print("\n".join(open(log, errors="replace").read().splitlines()[-40:]), flush=True)
    print(f"pseries: {passed} passed, {failed} failed ({time.time() - start:.0f}s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
