#!/usr/bin/env python3
"""End-to-end boots: QEMU (TCG) starts the Debian kernel with kexboot's initramfs, kexboot
finds the disk, shows its menu and kexecs into the chosen entry. The second kernel runs a
marker initrd that prints its /proc/cmdline, so each test checks which entry booted and
with exactly which command line.

Usage: run.py --kernel VMLINUZ --initramfs FILE [--only NAME]
Prints one line per test and ends with "N passed, M failed".
"""
import argparse
import hashlib
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time

UUID = "0e2e0e2e-1111-2222-3333-444444444444"


def sh(cmd, **kw):
    subprocess.run(cmd, shell=True, check=True, **kw)


def marker_initrd(path):
    """A cpio archive whose /init prints the marker and the command line, then powers off."""
    root = tempfile.mkdtemp()
    os.makedirs(f"{root}/bin")
    os.makedirs(f"{root}/proc")
    shutil.copy("/bin/busybox", f"{root}/bin/busybox")
    with open(f"{root}/init", "w") as f:
        f.write("#!/bin/busybox sh\n/bin/busybox mount -t proc proc /proc\n"
                "echo \"KEXBOOT-MARKER cmdline=[$(/bin/busybox cat /proc/cmdline)]\"\n"
                "/bin/busybox poweroff -f\n")
    os.chmod(f"{root}/init", 0o755)
    sh(f"cd {root} && find . | cpio -o -H newc --quiet -R 0:0 | gzip -n > {path}")
    shutil.rmtree(root)


def grub_cfg(missing_default=False):
    """A Debian-style grub.cfg: search --fs-uuid, a submenu, the default inside it."""
    default_kernel = "/vmlinuz-missing" if missing_default else "/vmlinuz"
    return f"""set default="1>1"
set timeout=5
if [ x"${{feature_menuentry_id}}" = xy ]; then
  menuentry_id_option="--id"
else
  menuentry_id_option=""
fi
export menuentry_id_option
function load_video {{
  insmod all_video
}}
menuentry 'Debian GNU/Linux' --class debian $menuentry_id_option 'gnulinux-simple-{UUID}' {{
	load_video
	insmod ext2
	set root='hd0,gpt1'
	if [ x$feature_platform_search_hint = xy ]; then
	  search --no-floppy --fs-uuid --set=root --hint-bios=hd0,gpt1 {UUID}
	else
	  search --no-floppy --fs-uuid --set=root {UUID}
	fi
	echo	'Loading Linux ...'
	linux	/vmlinuz root=UUID={UUID} ro console=ttyS0 quiet entry=first
	initrd	/initrd.img
}}
submenu 'Advanced options for Debian GNU/Linux' $menuentry_id_option 'gnulinux-advanced-{UUID}' {{
	menuentry 'Debian GNU/Linux, with Linux (normal)' $menuentry_id_option 'gnulinux-normal-{UUID}' {{
		search --no-floppy --fs-uuid --set=root {UUID}
		linux	/vmlinuz root=UUID={UUID} ro console=ttyS0 entry=second
		initrd	/initrd.img
	}}
	menuentry 'Debian GNU/Linux, with Linux (recovery mode)' $menuentry_id_option 'gnulinux-recovery-{UUID}' {{
		search --no-floppy --fs-uuid --set=root {UUID}
		linux	{default_kernel} root=UUID={UUID} ro single console=ttyS0 "acpi_osi=Windows 2020" entry=default
		initrd	/initrd.img
	}}
}}
"""


def make_disk(work, kernel, missing_default=False, below_4g_only=False):
    """A GPT disk whose only partition is an ext4 /boot with the config, kernel and marker.
    below_4g_only clears the kernel's XLF_CAN_BE_LOADED_ABOVE_4G flag, which makes
    kexec_file_load refuse it (ENOEXEC) while the kernel itself still boots."""
    tree = f"{work}/boot-tree"
    os.makedirs(f"{tree}/grub", exist_ok=True)
    with open(f"{tree}/grub/grub.cfg", "w") as f:
        f.write(grub_cfg(missing_default))
    shutil.copy(kernel, f"{tree}/vmlinuz")
    if below_4g_only:
        with open(f"{tree}/vmlinuz", "r+b") as f:
            f.seek(0x236)
            flags = int.from_bytes(f.read(2), "little")
            assert flags & 2, "the test kernel already lacks XLF_CAN_BE_LOADED_ABOVE_4G"
            f.seek(0x236)
            f.write((flags & ~2).to_bytes(2, "little"))
    marker_initrd(f"{tree}/initrd.img")
    disk = f"{work}/disk.img"
    sh(f"truncate -s 64M {work}/boot.ext4 && mkfs.ext4 -q -F -U {UUID} -L boot -d {tree} {work}/boot.ext4")
    sh(f"truncate -s 80M {disk}")
    subprocess.run(["sfdisk", "-q", disk], input=b"label: gpt\nstart=2048, size=64M, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=boot\n", check=True)
    sh(f"dd if={work}/boot.ext4 of={disk} bs=512 seek=2048 conv=notrunc status=none")
    return disk


class Guest:
    """A QEMU guest on a serial console: the x86_64 one the tests here boot, or any QEMU
    command line given as `command` (Tests/ppc64le/pseries.py boots pseries with it)."""

    def __init__(self, kernel, initramfs, disk, append, log, extra=(), command=None):
        self.log = open(log, "wb")
        self.output = b""
        # Where the last match ended: each expect() looks only at what came after it.
        self.mark = 0
        self.started = time.time()
        # When each expected text first appeared, in seconds since QEMU started.
        self.seen = {}
        if command is None:
            command = (["qemu-system-x86_64", "-accel", "tcg", "-m", "1024", "-nographic", "-no-reboot",
                        "-kernel", kernel, "-initrd", initramfs, "-append", f"console=ttyS0 quiet {append}"]
                       + (["-drive", f"file={disk},if=virtio,format=raw,readonly=on"] if disk else []) + list(extra))
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)

    def expect(self, text, timeout):
        """Waits for `text` in the serial output after the previous match; returns the
        whole output so far."""
        deadline = time.time() + timeout
        needle = text.encode()
        while self.output.find(needle, self.mark) < 0:
            left = deadline - time.time()
            if left <= 0:
                raise AssertionError(f"timed out after {timeout}s waiting for {text!r}")
            ready, _, _ = select.select([self.proc.stdout], [], [], min(left, 1.0))
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if not chunk:
                    raise AssertionError(f"QEMU ended before {text!r}")
                self.output += chunk
                self.log.write(chunk)
                self.log.flush()
        self.mark = self.output.find(needle, self.mark) + len(needle)
        self.seen.setdefault(text, time.time() - self.started)
        return self.output.decode(errors="replace")

    def send(self, keys):
        self.proc.stdin.write(keys.encode())
        self.proc.stdin.flush()

    def marker(self, timeout=240):
        """The second kernel's command line, from the marker line."""
        self.expect("KEXBOOT-MARKER", timeout)
        deadline = time.time() + 30
        while True:
            out = self.output.decode(errors="replace")
            rest = out[out.index("KEXBOOT-MARKER"):]
            if "\n" in rest:
                line = rest.split("\n")[0].strip()
                return line[len("KEXBOOT-MARKER cmdline=["):line.rindex("]")]
            if time.time() > deadline:
                raise AssertionError("the marker line never ended")
            ready, _, _ = select.select([self.proc.stdout], [], [], 1.0)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if not chunk:
                    raise AssertionError("QEMU ended in the middle of the marker line")
                self.output += chunk
                self.log.write(chunk)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def test_autoboot_default_in_submenu(args, work):
    disk = make_disk(work, args.kernel)
    before = hashlib.sha256(open(disk, "rb").read()).hexdigest()
    with Guest(args.kernel, args.initramfs, disk, "kexboot.timeout=1", f"{work}/serial.log") as g:
        g.expect("kexboot: /init started", 120)
        g.expect("kexboot 0.1", 120)
        out = g.expect('kexboot: booting "Debian GNU/Linux, with Linux (recovery mode)"', 60)
        # The menu's line for the default (marked *), cut to the 80-column screen.
        assert "* Advanced options for Debian GNU/Linux > Debian GNU/Linux, with Linux (" in out, "the default is not marked"
        cmdline = g.marker()
        expected = f'root=UUID={UUID} ro single console=ttyS0 "acpi_osi=Windows 2020" entry=default'
        assert cmdline == expected, f"second kernel's command line is {cmdline!r}, not {expected!r}"
        print(f"  timing: /init at {g.seen['kexboot: /init started']:.1f}s, menu at {g.seen['kexboot 0.1']:.1f}s, "
              f"second kernel's marker at {time.time() - g.started:.1f}s (with a 1 s countdown)", flush=True)
    assert hashlib.sha256(open(disk, "rb").read()).hexdigest() == before, "the disk image changed"


def test_kexec_load_without_purgatory(args, work):
    """kexboot.kexec=load: kexboot places the bzImage, initrd and boot_params itself and
    kexec_load starts its entry code (no kexec_file_load, no purgatory). The second kernel
    must find its initrd and command line, and the memory the e820 table describes."""
    disk = make_disk(work, args.kernel)
    with Guest(args.kernel, args.initramfs, disk, "kexboot.timeout=0 kexboot.kexec=load kexboot.debug", f"{work}/serial.log") as g:
        g.expect("(kexec_load)", 180)
        g.expect('kexboot: booting "Debian GNU/Linux, with Linux (recovery mode)"', 60)
        cmdline = g.marker()
        expected = f'root=UUID={UUID} ro single console=ttyS0 "acpi_osi=Windows 2020" entry=default'
        assert cmdline == expected, f"second kernel's command line is {cmdline!r}, not {expected!r}"


def test_file_load_refusal_falls_back_to_kexec_load(args, work):
    """A kernel kexec_file_load will not take (ENOEXEC: no XLF_CAN_BE_LOADED_ABOVE_4G), with
    the default kexec = auto: kexboot falls back to its kexec_load boot, as kexec-tools does."""
    disk = make_disk(work, args.kernel, below_4g_only=True)
    with Guest(args.kernel, args.initramfs, disk, "kexboot.timeout=0 kexboot.debug", f"{work}/serial.log") as g:
        g.expect("(kexec_load)", 180)
        g.expect('kexboot: booting "Debian GNU/Linux, with Linux (recovery mode)"', 60)
        cmdline = g.marker()
        assert cmdline.endswith("entry=default"), f"second kernel's command line is {cmdline!r}"


def test_interactive_choice(args, work):
    disk = make_disk(work, args.kernel)
    with Guest(args.kernel, args.initramfs, disk, "kexboot.autoboot=0", f"{work}/serial.log") as g:
        # The disk's entries, not just the menu's key line: keys pressed before the
        # options arrive move nothing, and Enter would then boot the default.
        g.expect("Advanced options for Debian GNU/Linux >", 150)
        time.sleep(1)
        # Up from the default (the third entry) is the second.
        g.send("\x1b[A")
        time.sleep(0.5)
        g.send("\r")
        g.expect('kexboot: booting "Debian GNU/Linux, with Linux (normal)"', 60)
        cmdline = g.marker()
        assert cmdline == f"root=UUID={UUID} ro console=ttyS0 entry=second", f"command line {cmdline!r}"


def test_missing_kernel_then_another_entry(args, work):
    disk = make_disk(work, args.kernel, missing_default=True)
    with Guest(args.kernel, args.initramfs, disk, "kexboot.timeout=1", f"{work}/serial.log") as g:
        g.expect("Enter=boot", 150)
        out = g.expect("/vmlinuz-missing is missing", 150)
        time.sleep(1)
        # Home: the first entry.
        g.send("\x1b[H")
        time.sleep(0.5)
        g.send("\r")
        g.expect('kexboot: booting "Debian GNU/Linux"', 60)
        cmdline = g.marker()
        assert cmdline == f"root=UUID={UUID} ro console=ttyS0 quiet entry=first", f"command line {cmdline!r}"


def test_vfat_usb_stick_with_syslinux(args, work):
    """A FAT-formatted stick with a syslinux.cfg (the kernel and config on vfat): the guest
    kernel mounts vfat, which the host running the unit tests cannot."""
    marker_initrd(f"{work}/initrd.img")
    shutil.copy(args.kernel, f"{work}/vmlinuz")
    with open(f"{work}/syslinux.cfg", "w") as f:
        f.write("DEFAULT usb\nTIMEOUT 10\nLABEL usb\n  MENU LABEL Live from a USB stick\n"
                "  KERNEL /vmlinuz\n  APPEND initrd=/initrd.img console=ttyS0 quiet entry=usb\n")
    disk = f"{work}/stick.img"
    sh(f"truncate -s 48M {work}/fat.img && mkfs.vfat -n STICK {work}/fat.img > /dev/null")
    sh(f"mcopy -i {work}/fat.img {work}/vmlinuz {work}/initrd.img {work}/syslinux.cfg ::/")
    sh(f"truncate -s 64M {disk}")
    subprocess.run(["sfdisk", "-q", disk], input=b"label: dos\nstart=2048, size=48M, type=c, bootable\n", check=True)
    sh(f"dd if={work}/fat.img of={disk} bs=512 seek=2048 conv=notrunc status=none")
    with Guest(args.kernel, args.initramfs, disk, "", f"{work}/serial.log") as g:
        g.expect("Live from a USB stick", 120)
        g.expect('kexboot: booting "Live from a USB stick"', 60)
        cmdline = g.marker()
        assert cmdline == "console=ttyS0 quiet entry=usb", f"command line {cmdline!r}"


def netboot_tree(work, args, config_name, config_text):
    """A TFTP/HTTP root: the kernel, the marker initrd and one config."""
    root = f"{work}/netroot"
    os.makedirs(os.path.dirname(f"{root}/{config_name}"), exist_ok=True)
    os.makedirs(f"{root}/images", exist_ok=True)
    shutil.copy(args.kernel, f"{root}/images/vmlinuz")
    marker_initrd(f"{root}/images/initrd.img")
    with open(f"{root}/{config_name}", "w") as f:
        f.write(config_text)
    return root


def test_pxe_over_tftp_unattended(args, work):
    """QEMU's DHCP names pxelinux.0 and serves TFTP from a directory: kexboot's udhcpc gets
    the lease, the pxelinux lookup finds pxelinux.cfg/default, the kernel and initrd come
    over TFTP and the default boots with nobody at the console."""
    root = netboot_tree(work, args, "pxelinux.cfg/default",
                        "DEFAULT pxe\nTIMEOUT 10\nLABEL pxe\n  MENU LABEL Installer over PXE\n  KERNEL images/vmlinuz\n"
                        "  INITRD images/initrd.img\n  APPEND console=ttyS0 quiet entry=pxe\n")
    nic = f"user,model=virtio-net-pci,tftp={root},bootfile=pxelinux.0"
    with Guest(args.kernel, args.initramfs, None, "", f"{work}/serial.log", ["-nic", nic]) as g:
        g.expect("Installer over PXE", 150)
        g.expect('kexboot: booting "Installer over PXE"', 120)
        cmdline = g.marker()
        assert cmdline == "console=ttyS0 quiet entry=pxe", f"command line {cmdline!r}"
        print(f"  timing: marker at {time.time() - g.started:.1f}s", flush=True)


def test_http_config_from_kexboot_url(args, work):
    """kexboot.url= names a config on an HTTP server on the host's loopback (10.0.2.2 to the
    guest): fetched once the lease is there, its files over HTTP, the default booted."""
    root = netboot_tree(work, args, "boot/kexboot.conf",
                        "default web\ntimeout 1\nentry web\n  title Web install\n  kernel /images/vmlinuz\n"
                        "  initrd /images/initrd.img\n  args console=ttyS0 quiet entry=http\n")
    server = subprocess.Popen([sys.executable, "-u", "-m", "http.server", "--bind", "127.0.0.1", "--directory", root, "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        # "Serving HTTP on 127.0.0.1 port N (…)"
        line = server.stdout.readline()
        port = int(line.split(" port ")[1].split()[0])
        url = f"http://10.0.2.2:{port}/boot/kexboot.conf"
        with Guest(args.kernel, args.initramfs, None, f"kexboot.url={url}", f"{work}/serial.log",
                   ["-nic", "user,model=virtio-net-pci"]) as g:
            g.expect("Web install", 150)
            g.expect('kexboot: booting "Web install"', 120)
            cmdline = g.marker()
            assert cmdline == "console=ttyS0 quiet entry=http", f"command line {cmdline!r}"
    finally:
        server.kill()
        server.wait()


TESTS = [test_autoboot_default_in_submenu, test_kexec_load_without_purgatory, test_file_load_refusal_falls_back_to_kexec_load,
         test_interactive_choice, test_missing_kernel_then_another_entry,
         test_vfat_usb_stick_with_syslinux, test_pxe_over_tftp_unattended, test_http_config_from_kexboot_url]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--kernel", required=True)
    parser.add_argument("--initramfs", required=True)
    parser.add_argument("--only")
    args = parser.parse_args()
    passed = failed = 0
    for test in TESTS:
        if args.only and args.only not in test.__name__:
            continue
        work = tempfile.mkdtemp(prefix="kexboot-e2e-")
        start = time.time()
        try:
            test(args, work)
            passed += 1
            print(f"PASS {test.__name__} ({time.time() - start:.0f}s)", flush=True)
            shutil.rmtree(work)
        except Exception as e:  # noqa: BLE001 - any failure fails the test
            failed += 1
            print(f"FAIL {test.__name__} ({time.time() - start:.0f}s): {e}", flush=True)
            log = f"{work}/serial.log"
            if os.path.exists(log):
                print("---- serial log (last 40 lines) ----")
                print("\n".join(open(log, errors="replace").read().splitlines()[-40:]))
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
