#!/usr/bin/env python3
"""The menu's cost over a serial line (issue: the console menu).

Runs `kexboot menu` on a pseudo-terminal of 80x24 (TERM=vt100 and TERM=linux) against a
dry-run daemon with a real image holding 12 entries, and counts what it writes:
bytes of the first full draw, bytes for one autoboot countdown tick, and the time from a
key (Down) to the redraw it causes (first byte and quiet again). The baseline is kexboot's
plain line menu (`kexboot console`), which reprints instead of updating in place.

Usage: bench/menu-bench.py [KEXBOOT_BINARY]   (as root: loop devices and mounts)
"""
import fcntl
import os
import pty
import select
import shutil
import struct
import subprocess
import sys
import tempfile
import termios
import time

BIN = os.path.realpath(sys.argv[1] if len(sys.argv) > 1 else ".build/release/kexboot")


def sh(cmd):
    subprocess.run(cmd, shell=True, check=True)


def image(work):
    tree = f"{work}/tree"
    os.makedirs(f"{tree}/boot/grub")
    open(f"{tree}/boot/vmlinuz", "w").write("k")
    with open(f"{tree}/boot/grub/grub.cfg", "w") as f:
        f.write("set default=0\n")
        for i in range(12):
            f.write(f"menuentry 'Debian GNU/Linux {i}, with Linux 6.1.0-{i}-amd64' {{ linux /boot/vmlinuz n={i} }}\n")
    sh(f"truncate -s 24M {work}/fs && mkfs.ext4 -q -F -L bench -d {tree} {work}/fs")
    sh(f"truncate -s 26M {work}/disk.img")
    subprocess.run(["sfdisk", "-q", f"{work}/disk.img"], input=b"label: gpt\nstart=2048, size=24M\n", check=True)
    sh(f"dd if={work}/fs of={work}/disk.img bs=512 seek=2048 conv=notrunc status=none")
    return f"{work}/disk.img"


def read_until_quiet(fd, quiet=0.3, limit=10.0):
    """Bytes until nothing more comes for `quiet` seconds; (bytes, first byte time, last)."""
    data = b""
    start = time.monotonic()
    first = last = None
    while time.monotonic() - start < limit:
        r, _, _ = select.select([fd], [], [], quiet)
        if not r:
            if data:
                break
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        now = time.monotonic()
        first = first or now
        last = now
        data += chunk
    return data, first, last


def run(term, sock, command="menu"):
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = term
        os.execv(BIN, [BIN, command, "--socket", sock])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    first_draw, _, _ = read_until_quiet(fd, quiet=0.5)
    # One countdown tick: the daemon counts down once a second.
    tick, _, _ = read_until_quiet(fd, quiet=0.3, limit=1.5)
    # A key: Down moves the highlight one entry.
    t0 = time.monotonic()
    os.write(fd, b"\x1b[B")
    key, first, last = read_until_quiet(fd, quiet=0.3)
    os.kill(pid, 15)
    os.waitpid(pid, 0)
    os.close(fd)
    return len(first_draw), len(tick), len(key), (first - t0) * 1000 if first else None, (last - t0) * 1000 if last else None


def main():
    work = tempfile.mkdtemp(prefix="kexboot-menu-bench-")
    daemon = None
    try:
        disk = image(work)
        with open(f"{work}/cmdline", "w") as f:
            f.write("kexboot.timeout=600")
        with open(f"{work}/k.conf", "w") as f:
            f.write("settle = 0\n")
        sock = f"{work}/s.sock"
        daemon = subprocess.Popen([BIN, "daemon", "--socket", sock, "--dry-run", "--image", disk, "--config", f"{work}/k.conf",
                                   "--cmdline", f"{work}/cmdline", "--run-dir", f"{work}/run"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.5)
        print("| TERM | first draw | one countdown tick | Down key: bytes | key to first byte | key to redraw done |")
        print("|---|---|---|---|---|---|")
        for term, command in [("vt100", "menu"), ("linux", "menu"), ("xterm", "menu"), ("vt100", "console")]:
            first, tick, key, t_first, t_last = run(term, sock, command)
            # The countdown was cancelled by the key; start it again for the next run.
            subprocess.run([BIN, "ctl", "--socket", sock, "config", "set", "autoboot", "false"], capture_output=True)
            subprocess.run([BIN, "ctl", "--socket", sock, "config", "set", "autoboot", "true"], capture_output=True)
            label = term if command == "menu" else f"{term}, baseline: `kexboot console` (reprints its lines)"
            print(f"| {label} | {first} B | {tick} B | {key} B | {t_first:.1f} ms | {t_last:.1f} ms |")
    finally:
        if daemon:
            daemon.terminate()
            daemon.wait()
        shutil.rmtree(work)


main()
