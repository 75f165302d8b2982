#!/usr/bin/env python3
"""Daemon figures for BENCHMARKS.md (issue: the daemon and its protocol).

1. Time from `kexboot daemon` starting to every option being listed, for one image with
   8 partitions holding 8 boot configs in 6 formats; beside `kexboot probe` of the same
   image (the same discovery work, with no daemon around it) as the baseline.
2. The daemon's RSS when idle, after that discovery.
3. `list` requests per second with 100 concurrent clients (asyncio, each client sending
   its next request when the previous answer arrives).

Usage: bench/daemon-bench.py [KEXBOOT_BINARY]   (as root: loop devices and mounts)
"""
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

BIN = os.path.realpath(sys.argv[1] if len(sys.argv) > 1 else ".build/release/kexboot")
RUNS = 5


def sh(cmd, **kw):
    subprocess.run(cmd, shell=True, check=True, **kw)


def make_image(work):
    """8 ext4 partitions, each with one boot config: grub ×2, BLS, extlinux, syslinux,
    kboot, yaboot, kexboot.conf."""
    kernel = {"boot/vmlinuz": "k", "boot/initrd.img": "i"}
    configs = [
        {"boot/grub/grub.cfg": "set default=0\nmenuentry 'Grub A' { linux /boot/vmlinuz root=/dev/a\ninitrd /boot/initrd.img }\n"
                               "menuentry 'Grub A rescue' { linux /boot/vmlinuz root=/dev/a single }\n"},
        {"boot/grub/grub.cfg": "submenu 'More' { menuentry 'Grub B' { linux /boot/vmlinuz root=/dev/b } }\n"},
        {"loader/entries/one.conf": "title BLS one\nversion 6.1\nlinux /boot/vmlinuz\noptions root=/dev/c\n",
         "loader/entries/two.conf": "title BLS two\nversion 6.2\nlinux /boot/vmlinuz\noptions root=/dev/c quiet\n"},
        {"boot/extlinux/extlinux.conf": "DEFAULT x\nLABEL x\n  KERNEL /boot/vmlinuz\n  APPEND root=/dev/d\n"},
        {"syslinux.cfg": "DEFAULT s\nLABEL s\n  KERNEL /boot/vmlinuz\n  APPEND root=/dev/e\n"},
        {"etc/kboot.conf": "default=k\nk='/boot/vmlinuz root=/dev/f'\n"},
        {"etc/yaboot.conf": "default=y\nimage=/boot/vmlinuz\n  label=y\n  append=\"root=/dev/g\"\n"},
        {"boot/kexboot.conf": "entry n\n  title Native\n  kernel /boot/vmlinuz\n  args root=/dev/h\n"},
    ]
    disk = f"{work}/eight.img"
    sh(f"truncate -s 300M {disk}")
    table = "label: gpt\n" + "".join(f"size=32M, name=p{i}\n" for i in range(1, 9))
    subprocess.run(["sfdisk", "-q", disk], input=table.encode(), check=True)
    dump = subprocess.run(["sfdisk", "-d", disk], capture_output=True, text=True, check=True).stdout
    starts = [int(l.split("start=")[1].split(",")[0]) for l in dump.splitlines() if "start=" in l]
    for i, files in enumerate(configs):
        tree = f"{work}/t{i}"
        for path, text in {**kernel, **files}.items():
            os.makedirs(os.path.dirname(f"{tree}/{path}"), exist_ok=True)
            with open(f"{tree}/{path}", "w") as f:
                f.write(text)
        sh(f"truncate -s 32M {work}/fs{i} && mkfs.ext4 -q -F -L cfg{i} -d {tree} {work}/fs{i}")
        sh(f"dd if={work}/fs{i} of={disk} bs=512 seek={starts[i]} conv=notrunc status=none && rm {work}/fs{i}")
    return disk


def request(sock_path, name):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock_path)
    f = s.makefile("rwb")
    f.readline()
    f.write(json.dumps({"id": 1, "request": name}).encode() + b"\n")
    f.flush()
    while True:
        m = json.loads(f.readline())
        if m.get("type") == "response":
            s.close()
            return m


def start_daemon(work, disk):
    sock = f"{work}/d.sock"
    t0 = time.monotonic()
    proc = subprocess.Popen([BIN, "daemon", "--socket", sock, "--dry-run", "--no-autoboot", "--image", disk,
                             "--run-dir", f"{work}/run", "--cmdline", "/dev/null"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, sock, t0


def time_to_options(work, disk, expected):
    proc, sock, t0 = start_daemon(work, disk)
    try:
        while True:
            try:
                m = request(sock, "list")
                if len(m["result"]["options"]) >= expected:
                    return time.monotonic() - t0, proc, sock
            except (FileNotFoundError, ConnectionRefusedError):
                pass
            time.sleep(0.002)
    except BaseException:
        proc.terminate()
        raise


async def list_load(sock, clients=100, seconds=5.0):
    line = json.dumps({"id": 1, "request": "list"}).encode() + b"\n"
    count = 0
    stop = time.monotonic() + seconds

    async def one():
        nonlocal count
        r, w = await asyncio.open_unix_connection(sock, limit=1 << 22)
        await r.readline()
        while time.monotonic() < stop:
            w.write(line)
            await w.drain()
            await r.readline()
            count += 1
        w.close()

    t0 = time.monotonic()
    await asyncio.gather(*[one() for _ in range(clients)])
    return count / (time.monotonic() - t0)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])


def main():
    if not os.access(BIN, os.X_OK):
        sys.exit(f"no binary at {BIN}: make release")
    work = tempfile.mkdtemp(prefix="kexboot-daemon-bench-")
    try:
        disk = make_image(work)
        probe = json.loads(subprocess.run([BIN, "probe", "--json", disk], capture_output=True, text=True).stdout)
        expected = sum(len((p.get("config") or {}).get("entries", [])) for d in probe["devices"] for p in d["partitions"])
        print(f"== image: 8 partitions, {expected} options")
        probe_times, daemon_times = [], []
        for _ in range(RUNS):
            t0 = time.monotonic()
            subprocess.run([BIN, "probe", "--json", disk], capture_output=True, check=True)
            probe_times.append(time.monotonic() - t0)
            elapsed, proc, sock = time_to_options(work, disk, expected)
            daemon_times.append(elapsed)
            proc.terminate()
            proc.wait()
        med = lambda xs: sorted(xs)[len(xs) // 2]
        print(f"start to all {expected} options listed (median of {RUNS}): daemon {med(daemon_times) * 1000:.0f} ms; "
              f"baseline `kexboot probe --json` {med(probe_times) * 1000:.0f} ms")
        elapsed, proc, sock = time_to_options(work, disk, expected)
        time.sleep(1)
        print(f"idle RSS after discovery: {rss_kib(proc.pid) / 1024:.1f} MiB")
        rate = asyncio.run(list_load(sock))
        print(f"list, 100 concurrent clients, 5 s: {rate:.0f} requests/s")
        print(f"RSS after the load: {rss_kib(proc.pid) / 1024:.1f} MiB")
        proc.terminate()
        proc.wait()
        leftover = subprocess.run(["losetup", "-a"], capture_output=True, text=True).stdout
        assert disk not in leftover, "a loop device was left attached"
    finally:
        shutil.rmtree(work)


main()
