#!/usr/bin/env python3
"""Boots the CI test client under ofshim and under QEMU's SLOF and compares them.

Also feeds the shim malformed bundles and bad ELFs: each must print its error
and power the guest off (QEMU exits by itself) before the timeout.
Last line: "ofshim: N passed, M failed"; exit status 1 on any failure.
"""
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import mkbundle  # noqa: E402

BUILD = os.path.join(ROOT, "build", "ofshim")
SHIM = os.path.join(BUILD, "ofshim.bin")
CLIENT = os.path.join(BUILD, "ci-test.elf")
QEMU = ["qemu-system-ppc64", "-accel", "tcg", "-nographic", "-vga", "none", "-m", "1G", "-smp", "2", "-no-reboot",
        "-display", "none", "-monitor", "none", "-serial", "stdio"]
BOOTPATH = "/vdevice/v-scsi@71000003/disk@8000000000000000"
ARGS = "ci-test console=hvc0 root=/dev/sda2"
BS = 512

passed = failed = 0


def result(ok, name, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok - {name}")
    else:
        failed += 1
        print(f"FAIL - {name}" + (f": {detail}" if detail else ""))


def make_disk(path, p1_blocks=4096):
    """An MBR disk: partition 1 (PReP, 0x41, 2 MiB by default) at 1 MiB, then partition 2
    (Linux, 1 MiB). Block k of partition 1 starts with the byte k & 0xff; block 0 with KXTEST-P1."""
    p2 = 2048 + p1_blocks
    disk = bytearray((p2 + 2048 + 8192) * BS)
    for i, (ptype, start, count) in enumerate([(0x41, 2048, p1_blocks), (0x83, p2, 2048)]):
        disk[446 + 16 * i:462 + 16 * i] = struct.pack("<B3sB3sII", 0x80 if i == 0 else 0, b"\0" * 3,
                                                      ptype, b"\0" * 3, start, count)
    disk[510:512] = b"\x55\xaa"
    for k in range(p1_blocks):
        disk[(2048 + k) * BS] = k & 0xff
    disk[2048 * BS:2048 * BS + 9] = b"KXTEST-P1"
    disk[p2 * BS:p2 * BS + 9] = b"KXTEST-P2"
    with open(path, "wb") as f:
        f.write(disk)
    return bytes(disk)


def qemu(args, timeout):
    """Runs QEMU; returns (exited by itself, console text, seconds)."""
    t0 = time.time()
    p = subprocess.Popen(QEMU + args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    try:
        out, _ = p.communicate(timeout=timeout)
        ended = True
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
        ended = False
    text = out.decode("utf-8", "replace").replace("\r", "")
    return ended and p.returncode == 0, text, time.time() - t0


def checks(text):
    """CHECK lines as {key: (value, ok)}; SLOF may print its own text before a CHECK."""
    found = {}
    for line in text.splitlines():
        m = re.search(r"CHECK (\S+) (.*) (ok|FAIL)$", line)
        if m:
            found[m.group(1)] = (m.group(2), m.group(3) == "ok")
    return found


def run_shim(bundle_path, tmp, disk_path, timeout=60, kernel=CLIENT, extra=()):
    args = ["-M", "pseries", "-bios", SHIM,
            "-drive", f"file={disk_path},if=scsi,format=raw,readonly=on", *extra]
    if kernel:  # QEMU takes -append and -initrd only with -kernel
        args += ["-kernel", kernel, "-append", ARGS]
    if bundle_path:
        args += ["-initrd", bundle_path]
    return qemu(args, timeout)


def write(tmp, name, data):
    path = os.path.join(tmp, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def expect_error(tmp, disk_path, name, bundle, message, kernel=CLIENT):
    path = write(tmp, name + ".bundle", bundle) if bundle is not None else None
    ended, text, secs = run_shim(path, tmp, disk_path, timeout=40, kernel=kernel)
    ok = ended and message in text and "CHECK" not in text and "ofshim: halted" not in text
    tail = " | ".join(l for l in text.splitlines() if l.startswith("ofshim"))[-300:]
    result(ok, f"bad input: {name} -> '{message}' and power-off",
           f"{'QEMU exited' if ended else 'hung or QEMU failed (exit status or 40 s timeout)'}; console: {tail}")


def elf_patch(elf, **kw):
    """Returns a copy of the ELF64 BE test client with its first PT_LOAD or note changed."""
    e = bytearray(elf)
    phoff = struct.unpack_from(">Q", e, 32)[0]
    if "paddr" in kw:
        struct.pack_into(">QQ", e, phoff + 16, kw["paddr"], kw["paddr"])
    if "machine" in kw:
        struct.pack_into(">H", e, 18, kw["machine"])
    if "real_mode" in kw:
        i = e.find(b"PowerPC\0")
        struct.pack_into(">I", e, i + 8, kw["real_mode"])
    return bytes(e)


def tiny_elf(code, addr=0x3000000, le=False):
    """A one-segment ELF32 PowerPC image holding CODE at ADDR."""
    o = "<" if le else ">"
    eh = struct.pack(o + "16sHHIIIIIHHHHHH", b"\x7fELF\x01" + (b"\x01" if le else b"\x02") + b"\x01" + b"\0" * 9,
                     2, 20, 1, addr, 52, 0, 0, 52, 32, 1, 0, 0, 0)
    ph = struct.pack(o + "IIIIIIII", 1, 84, addr, addr, len(code), len(code), 7, 4)
    return eh + ph + code


GRUB_CFG = """set timeout=-1
echo "kexboot-ofshim: grub.cfg loaded"
menuentry "kexboot test entry" {
\techo "entry chosen"
}
menuentry "Power off" {
\thalt
}
"""


def grub_modules():
    """powerpc-ieee1275 modules from Debian's ppc64el grub-ieee1275-bin, fetched with a
    private apt state (the machine's apt configuration and architectures stay as they are)."""
    base = os.path.join(BUILD, "grub")
    mods = os.path.join(base, "x", "usr", "lib", "grub", "powerpc-ieee1275")
    if os.path.isdir(mods):
        return mods, ""
    for d in ("lists/partial", "cache/archives/partial", "dl"):
        os.makedirs(os.path.join(base, d), exist_ok=True)
    opts = ["-q", "-o", f"Dir::State::Lists={base}/lists", "-o", f"Dir::Cache={base}/cache",
            "-o", "APT::Architectures=ppc64el", "-o", "APT::Architecture=ppc64el", "-o", "Debug::NoLocking=1"]
    subprocess.run(["apt-get", *opts, "update"], capture_output=True)
    r = subprocess.run(["apt-get", *opts, "download", "grub-ieee1275-bin"], cwd=os.path.join(base, "dl"),
                       capture_output=True, text=True)
    debs = [f for f in os.listdir(os.path.join(base, "dl")) if f.endswith(".deb")]
    if not debs:
        return None, "could not download grub-ieee1275-bin:ppc64el: " + r.stderr.strip()[-300:]
    subprocess.run(["dpkg-deb", "-x", os.path.join(base, "dl", debs[0]), os.path.join(base, "x")], check=True)
    return mods, ""


def grub_disk(tmp, mods, name, cfg, files=(), p2_mib=8):
    """A disk with GRUB's core.elf in partition 1 (PReP) and an ext2 /boot in partition 2;
    returns (disk path, bundle path, core.elf path) or a reason it could not be built."""
    core = os.path.join(tmp, name + "-core.elf")
    r = subprocess.run(["grub-mkimage", "--note", "-O", "powerpc-ieee1275", "-d", mods, "-o", core,
                        "-p", "(ieee1275/disk,msdos2)/boot/grub",
                        "part_msdos", "ext2", "normal", "configfile", "echo", "halt", "linux", "boot"],
                       capture_output=True, text=True)
    if r.returncode:
        return None, "grub-mkimage: " + r.stderr[-300:], None
    root = os.path.join(tmp, name + "-root")
    os.makedirs(os.path.join(root, "boot", "grub"), exist_ok=True)
    with open(os.path.join(root, "boot", "grub", "grub.cfg"), "w") as f:
        f.write(cfg)
    for src, dst in files:
        shutil.copy(src, os.path.join(root, dst))
    p2 = os.path.join(tmp, name + "-p2.img")
    with open(p2, "wb") as f:
        f.truncate(p2_mib << 20)
    subprocess.run(["mkfs.ext2", "-q", "-F", "-d", root, p2], check=True)
    elf, fs = open(core, "rb").read(), open(p2, "rb").read()
    p1s, p1n, p2s = 2048, 2048, 4096
    disk = bytearray((p2s + len(fs) // BS + 2048) * BS)
    for i, (boot, ptype, start, count) in enumerate([(0x80, 0x41, p1s, p1n), (0, 0x83, p2s, len(fs) // BS)]):
        disk[446 + 16 * i:462 + 16 * i] = struct.pack("<B3sB3sII", boot, b"\0" * 3, ptype, b"\0" * 3, start, count)
    disk[510:512] = b"\x55\xaa"
    disk[p1s * BS:p1s * BS + len(elf)] = elf
    disk[p2s * BS:p2s * BS + len(fs)] = fs
    disk_path = write(tmp, name + "-disk.img", bytes(disk))
    # kexboot takes the client from the PReP partition: so does this bundle
    prep = bytes(disk[p1s * BS:(p1s + p1n) * BS])
    bundle = write(tmp, name + ".bundle", mkbundle.from_disk(bytes(disk), prep[:len(elf)], "", BOOTPATH))
    return disk_path, bundle, core


def grub_case(tmp):
    """Stretch: a real GRUB core.elf (grub-mkimage from Debian's ppc64el modules) in a PReP
    partition reaches its menu under the shim, reads a key and powers off from the menu."""
    mods, why = grub_modules()
    if not mods:
        result(False, "GRUB: powerpc-ieee1275 modules", why)
        return None
    disk_path, bundle, core = grub_disk(tmp, mods, "grub", GRUB_CFG)
    if not disk_path:
        result(False, "GRUB: disk image", bundle)
        return None
    cmd = QEMU + ["-M", "pseries", "-bios", SHIM, "-kernel", core, "-initrd", bundle,
                  "-drive", f"file={disk_path},if=scsi,format=raw,readonly=on"]
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    os.set_blocking(p.stdout.fileno(), False)
    text, sent, deadline = b"", False, time.time() + 90
    while time.time() < deadline and p.poll() is None:
        time.sleep(0.2)
        chunk = p.stdout.read() or b""
        text += chunk
        if not sent and b"Power off" in text and b"kexboot test entry" in text:
            time.sleep(1)
            p.stdin.write(b"\x1b[B")  # down: the "Power off" entry
            p.stdin.flush()
            time.sleep(1)
            p.stdin.write(b"\r")
            p.stdin.flush()
            sent = True
    if p.poll() is None:
        p.kill()
    p.wait()
    text = text + (p.stdout.read() or b"")
    out = text.decode("utf-8", "replace")
    with open(os.path.join(tmp, "grub.log"), "w") as f:
        f.write(out)
    result("kexboot-ofshim: grub.cfg loaded" in out and "GNU GRUB" in out,
           "GRUB core.elf from a PReP image reaches its menu under the shim (grub.cfg read from ext2 via :2)",
           out[-300:])
    result(sent and p.returncode == 0, "GRUB: a key picks \"Power off\", GRUB's halt powers the guest off through the shim",
           "no menu" if not sent else f"QEMU status {p.returncode}")
    return mods


LINUX_CFG = """set timeout=0
menuentry "linux" {
\techo "kexboot-ofshim: loading Linux"
\tlinux /boot/vmlinux console=hvc0 panic=-1
\tboot
}
"""


def debian_ppc64el_kernel():
    """vmlinux from Debian's current ppc64el kernel package (private apt state, as above)."""
    base = os.path.join(BUILD, "grub")
    vmlinux = os.path.join(base, "vmlinux")
    if os.path.exists(vmlinux):
        return vmlinux, ""
    opts = ["-q", "-o", f"Dir::State::Lists={base}/lists", "-o", f"Dir::Cache={base}/cache",
            "-o", "APT::Architectures=ppc64el", "-o", "APT::Architecture=ppc64el", "-o", "Debug::NoLocking=1"]
    show = subprocess.run(["apt-cache", *opts, "show", "linux-image-powerpc64le"], capture_output=True, text=True).stdout
    m = re.search(r"^Depends: (linux-image-[^ ,]+)", show, re.M)
    if not m:
        return None, "no linux-image-powerpc64le in the ppc64el package lists"
    dl = os.path.join(base, "kdl")
    os.makedirs(dl, exist_ok=True)
    r = subprocess.run(["apt-get", *opts, "download", m.group(1)], cwd=dl, capture_output=True, text=True)
    debs = [f for f in os.listdir(dl) if f.endswith(".deb")]
    if not debs:
        return None, "could not download " + m.group(1) + ": " + r.stderr.strip()[-300:]
    x = os.path.join(base, "kx")
    subprocess.run(["dpkg-deb", "-x", os.path.join(dl, debs[0]), x], check=True)
    found = [f for f in os.listdir(os.path.join(x, "boot")) if f.startswith("vmlinux")]
    if not found:
        return None, "no /boot/vmlinux in " + debs[0]
    shutil.move(os.path.join(x, "boot", found[0]), vmlinux)
    shutil.rmtree(x, ignore_errors=True)
    shutil.rmtree(dl, ignore_errors=True)
    return vmlinux, ""


def linux_case(tmp, mods):
    """Stretch: GRUB, started by the shim, loads Debian's ppc64el kernel; Linux's prom_init
    (a demanding CI client: CAS, instantiate-rtas, claims, the whole tree) runs on the
    shim's CI, quiesces it and the kernel boots until it finds no root file system."""
    vmlinux, why = debian_ppc64el_kernel()
    if not vmlinux:
        result(False, "Linux: a ppc64el kernel", why)
        return
    disk_path, bundle, core = grub_disk(tmp, mods, "linux", LINUX_CFG, [(vmlinux, "boot/vmlinux")],
                                        p2_mib=os.path.getsize(vmlinux) // (1 << 20) + 16)
    if not disk_path:
        result(False, "Linux: disk image", bundle)
        return
    ended, out, secs = qemu(["-M", "pseries", "-bios", SHIM, "-kernel", core, "-initrd", bundle,
                             "-drive", f"file={disk_path},if=scsi,format=raw,readonly=on"], 180)
    with open(os.path.join(tmp, "linux.log"), "w") as f:
        f.write(out)
    result("Quiescing Open Firmware" in out and "Booting Linux via __start()" in out,
           "Linux's prom_init runs on the shim's CI (via GRUB) to the end", out[-400:])
    result("Linux version" in out and "Unable to mount root fs" in out,
           f"the kernel boots until it looks for its root file system ({secs:.0f} s)", out[-400:])


def golden():
    """The annotated example in golden-bundle.txt is what mkbundle writes, byte for byte."""
    text = open(os.path.join(HERE, "golden-bundle.txt")).read()
    want = bytes.fromhex("".join(line.split("#")[0] for line in text.splitlines()))
    got = mkbundle.build(b"CLIENT!!", "quiet", BOOTPATH, 512, 16384, [(1, 0x41, 2048, 1)],
                         [(2048, bytes(range(256)) * 2)])
    return want, got


def main():
    for f in (SHIM, CLIENT):
        if not os.path.exists(f):
            sys.exit(f"run.py: {f} is missing: run `make ofshim` first")
    tmp = tempfile.mkdtemp(prefix="ofshim-test.")
    disk_path = os.path.join(tmp, "disk.img")
    disk = make_disk(disk_path)
    client = open(CLIENT, "rb").read()
    size = os.path.getsize(SHIM)
    result(size <= 48 * 1024, f"shim size {size} bytes (goal: under 48 KiB)")

    want, got = golden()
    result(want == got, f"mkbundle writes the annotated golden bundle byte for byte ({len(got)} bytes)",
           f"first difference at {next((i for i in range(min(len(want), len(got))) if want[i] != got[i]), min(len(want), len(got))):#x}")

    # 1. the client under the shim
    bundle = mkbundle.from_disk(disk, client, ARGS, BOOTPATH, chosen={1, 2})
    bpath = write(tmp, "good.bundle", bundle)
    ended, shim_text, secs = run_shim(bpath, tmp, disk_path, timeout=90)
    shim = checks(shim_text)
    with open(os.path.join(tmp, "shim.log"), "w") as f:
        f.write(shim_text)
    result(ended, f"shim run powers off by itself ({secs:.1f} s)", "killed after the timeout" if not ended else "")
    result("RESULT PASS" in shim_text, "shim run: the client reports PASS",
           next((l for l in shim_text.splitlines() if "RESULT" in l), "no RESULT line; log in " + tmp))
    for key, (value, ok) in sorted(shim.items()):
        result(ok, f"shim: {key} = {value}")
    result(len(shim) >= 60, f"shim run: {len(shim)} checks reported")

    # 2. the same client under SLOF (the oracle), compared where both implement the service
    ended, slof_text, secs = qemu(["-M", "pseries,kernel-addr=0", "-kernel", CLIENT, "-append", ARGS,
                                    "-drive", f"file={disk_path},if=scsi,format=raw,readonly=on"], 120)
    slof = checks(slof_text)
    with open(os.path.join(tmp, "slof.log"), "w") as f:
        f.write(slof_text)
    result(ended and "RESULT" in slof_text, f"SLOF oracle run completes ({secs:.1f} s)")
    skip = {"first-ci.tb", "slof.instance-to-package.disk"}
    compared = [k for k in slof if not k.startswith(("shim.", "slof.")) and k not in skip]
    result(len(compared) >= 40, f"oracle: {len(compared)} answers to compare")
    for key in sorted(compared):
        sv = shim.get(key, ("<missing>", False))[0]
        result(sv == slof[key][0], f"same as SLOF: {key} = {slof[key][0]}", f"shim says {sv}")

    # 2a. the kexec image: the ELF holds the same bytes as the raw image, one PT_LOAD at 0
    # entered at its first byte; a copy of the raw image whose 0x100 word branches to 0
    # boots the client through the kexec entry (purgatory's r3 = FDT is QEMU's r3 here)
    elf = open(os.path.join(BUILD, "ofshim.elf"), "rb").read()
    entry, phoff = struct.unpack_from(">QQ", elf, 24)
    ptype, _, off, vaddr, paddr, filesz, memsz = struct.unpack_from(">IIQQQQQ", elf, phoff)
    raw = open(SHIM, "rb").read()
    result(ptype == 1 and paddr == 0 and entry == 0 and elf[off:off + len(raw)] == raw and memsz > filesz,
           f"ofshim.elf: PT_LOAD at 0, entry 0, same bytes as ofshim.bin, memsz {memsz:#x} covers heap and stacks")
    kexec_sim = bytearray(raw)
    struct.pack_into(">I", kexec_sim, 0x100, 0x4bffff00)  # b 0x0
    sim = write(tmp, "kexec-entry.bin", bytes(kexec_sim))
    ended, text, secs = qemu(["-M", "pseries", "-bios", sim, "-kernel", CLIENT, "-initrd", bpath, "-append", ARGS,
                              "-drive", f"file={disk_path},if=scsi,format=raw,readonly=on"], 90)
    result(ended and "entered at 0x0\n" in text and "RESULT PASS" in text, "the kexec entry at 0x0 boots the client to PASS",
           " | ".join(l for l in text.splitlines() if l.startswith("ofshim"))[-300:])

    # a ppc64le host's purgatory enters in little-endian mode: a stub appended to the image
    # (QEMU loads it with the rest) sets MSR.LE and rfids to 0, as that purgatory would
    le_sim = bytearray(raw) + b"\0" * (-len(raw) % 8)
    stub = len(le_sim)
    for w in (0x7d6000a6, 0x616b0001, 0x7d7b03a6, 0x39600000, 0x7d7a03a6, 0x4c000024):
        le_sim += struct.pack(">I", w)  # mfmsr r11; ori r11,r11,1; mtsrr1; li r11,0; mtsrr0; rfid
    struct.pack_into(">I", le_sim, 0x100, 0x48000000 | (stub - 0x100))  # b stub
    sim = write(tmp, "kexec-le-entry.bin", bytes(le_sim))
    ended, text, secs = qemu(["-M", "pseries", "-bios", sim, "-kernel", CLIENT, "-initrd", bpath, "-append", ARGS,
                              "-drive", f"file={disk_path},if=scsi,format=raw,readonly=on"], 90)
    result(ended and "entered at 0x0\n" in text and "RESULT PASS" in text,
           "the kexec entry at 0x0 entered in little-endian mode switches to big endian and boots the client to PASS",
           " | ".join(l for l in text.splitlines() if l.startswith("ofshim"))[-300:])

    # kexec-entry.bin, the entry kexboot gives kexec_load: run from a copy placed after the
    # shim, with r3 clobbered, its device-tree slot filled in, entered big and little endian
    m = re.search(r"device tree at (0x[0-9a-f]+)", shim_text)
    tramp = bytearray(open(os.path.join(BUILD, "kexec-entry.bin"), "rb").read())
    result(tramp[4:0x100] == raw[4:0x100] and struct.unpack_from(">I", tramp, 0)[0] == 0x48010148,
           "kexec-entry.bin carries the shim's bytes 0x04-0xff behind its two-way branch")
    for le in (False, True):
        img = bytearray(raw) + b"\0" * (-len(raw) % 0x10000)
        t = len(img)
        struct.pack_into(">Q", tramp, 0x10100, int(m.group(1), 16) if m else 0)
        img += tramp
        stub = len(img)
        words = [0x38600000]  # li r3,0: the FDT must come from the slot
        if le:
            words += [0x7d6000a6, 0x616b0001, 0x7d7b03a6, 0x3d600000 | (t >> 16), 0x616b0000 | (t & 0xffff),
                      0x7d7a03a6, 0x4c000024]  # MSR.LE on, rfid to the entry
        else:
            words += [0x48000000 | ((t - (stub + 4)) & 0x03fffffc)]  # b entry
        for w in words:
            img += struct.pack(">I", w)
        struct.pack_into(">I", img, 0x100, 0x48000000 | (stub - 0x100))
        sim = write(tmp, f"kexec-entry-{'le' if le else 'be'}.bin", bytes(img))
        ended, text, secs = qemu(["-M", "pseries", "-bios", sim, "-kernel", CLIENT, "-initrd", bpath, "-append", ARGS,
                                  "-drive", f"file={disk_path},if=scsi,format=raw,readonly=on"], 90)
        result(ended and "entered at 0x0\n" in text and "RESULT PASS" in text,
               f"kexec-entry.bin entered {'little' if le else 'big'} endian with r3 = 0 loads the device tree from its slot and boots the client",
               " | ".join(l for l in text.splitlines() if l.startswith("ofshim"))[-300:])

    # 2c. kexboot's own plan (issue part 5): `kexboot boot --elf … --dry-run` builds the
    # bundle, edits the machine's device tree and places shim, bundle, tree and kexec entry.
    # The bundle must be mkbundle's, byte for byte; then every segment is put where the plan
    # says (QEMU's loader device stands in for kexec_load) and the kexec entry is entered
    # as kexec_sequence would: the client must reach PASS on kexboot's tree and bundle.
    kexboot = os.path.join(ROOT, ".build", "debug", "kexboot")
    if os.path.exists(kexboot):
        machine = ["-drive", f"file={disk_path},if=scsi,format=raw,readonly=on"]
        dtb = os.path.join(tmp, "machine.dtb")
        qemu(["-M", f"pseries,dumpdtb={dtb}", *machine], 30)
        # QEMU (unlike Linux) writes its own tree and RTAS at the top of the RMA at reset:
        # the tree kexboot reads says so, as a running kernel's reserve map would.
        dts = subprocess.run(["dtc", "-q", "-I", "dtb", "-O", "dts", dtb], capture_output=True, text=True).stdout
        dts = dts.replace("/dts-v1/;", "/dts-v1/;\n/memreserve/ 0x3fe00000 0x200000;", 1)
        subprocess.run(["dtc", "-q", "-I", "dts", "-O", "dtb", "-o", dtb], input=dts, text=True, check=True)
        segdir = os.path.join(tmp, "plan")
        os.makedirs(segdir, exist_ok=True)
        kx = subprocess.run([kexboot, "boot", "--elf", CLIENT, "--disk", disk_path, "--partitions", "1,2",
                             "--bootpath", BOOTPATH, "--args", ARGS, "--fdt", dtb, "--shim-dir", BUILD, "--dry-run",
                             "--json", "--save-bundle", os.path.join(tmp, "kexboot.bundle"), "--save-segments", segdir],
                            capture_output=True, text=True)
        result(kx.returncode == 0, "kexboot boot --elf --dry-run makes a plan", kx.stderr.strip())
        if kx.returncode == 0:
            import json
            plan = json.loads(kx.stdout)
            kb = open(os.path.join(tmp, "kexboot.bundle"), "rb").read()
            result(kb == bundle, f"kexboot's bundle is mkbundle's, byte for byte ({len(kb)} bytes)")
            where = {p["what"]: p["mem"] for p in plan["parts"]}
            result(plan["method"] == "kexec_load" and where.get("shim", 0) >= 0x1000000 and plan["entry"] == where.get("kexec entry")
                   and len(plan["segments"]) == 4,
                   f"plan: the shim loaded high (the entry copies it to 0), entry = the kexec entry ({plan['entry']:#x}), 4 segments")
            # What runs at reset is the raw shim with a branch to kexboot's kexec entry at
            # 0x100; the entry then copies kexboot's shim segment over it, as after a kexec.
            shim_seg = bytearray(open(SHIM, "rb").read())
            stub = len(shim_seg) + (-len(shim_seg) % 8)
            shim_seg += b"\0" * (stub - len(shim_seg))
            e = plan["entry"]
            for w in (0x38600000, 0x3d600000 | (e >> 16), 0x616b0000 | (e & 0xffff), 0x7d6903a6, 0x4e800420):
                shim_seg += struct.pack(">I", w)  # li r3,0; lis/ori r11 = entry; mtctr r11; bctr
            struct.pack_into(">I", shim_seg, 0x100, 0x48000000 | (stub - 0x100))
            bios = write(tmp, "kexboot-shim.bin", bytes(shim_seg))
            loaders = []
            for name, what in (("shim", "shim"), ("bundle", "bundle"), ("device-tree", "device tree"), ("kexec-entry", "kexec entry")):
                loaders += ["-device", f"loader,file={os.path.join(segdir, name + '.bin')},addr={where[what]:#x},force-raw=on"]
            ended, text, secs = qemu(["-M", "pseries", "-bios", bios, *machine, *loaders], 90)
            with open(os.path.join(tmp, "kexboot-plan.log"), "w") as f:
                f.write(text)
            tree_at = re.search(r"device tree at (0x[0-9a-f]+)", text)
            result(ended and "RESULT PASS" in text and tree_at and int(tree_at.group(1), 16) == where["device tree"],
                   f"kexboot's plan, loaded where it says and entered through its kexec entry, boots the client to PASS ({secs:.1f} s)",
                   " | ".join(l for l in text.splitlines() if l.startswith("ofshim"))[-300:])
    else:
        result(False, "kexboot's plan: .build/debug/kexboot is missing (run swift build first)")

    # 2b. a little-endian client reaches the big-endian CI through the trampoline
    le = os.path.join(BUILD, "ci-test-le.elf")
    path = write(tmp, "le.bundle", mkbundle.build(open(le, "rb").read(), ARGS, None))
    ended, text, secs = run_shim(path, tmp, disk_path, timeout=40)
    result(ended and "le-client: PASS" in text and "(little endian)" in text and "client called exit" in text,
           "little-endian client: CI calls through the trampoline in LE and in BE mode, then exit reboots (QEMU -no-reboot ends)",
           " | ".join(text.splitlines()[-4:]))

    # 3. malformed bundles
    good = bytearray(bundle)
    def recrc(b):
        b = bytearray(b)
        struct.pack_into(">I", b, 0x14, 0)
        import zlib
        struct.pack_into(">I", b, 0x14, zlib.crc32(bytes(b)) & 0xffffffff)
        return bytes(b)
    # An initrd without the bundle's magic is Linux's initramfs, as under SLOF: reserved,
    # left in /chosen and passed in r3/r4 to the -kernel client (Tests/ppc64le/pseries.py
    # boots Linux that way). The test client is not relocatable, so only the shim's side
    # is checked here.
    bad = bytearray(good); bad[0:8] = b"NOTABNDL"
    path = write(tmp, "not-a-bundle.bundle", bytes(bad))
    _, text, _ = run_shim(path, tmp, disk_path, timeout=15)
    result(f"initrd: {len(bad)} bytes at 0x" in text and "(not a bundle: passed to the client)" in text
           and "ofshim: entering the client at 0x" in text and "bad bundle" not in text,
           "an -initrd that is not a bundle is passed on to the -kernel client",
           " | ".join(l for l in text.splitlines() if l.startswith("ofshim"))[-300:])
    bad = bytearray(good); struct.pack_into(">I", bad, 8, 2)
    expect_error(tmp, disk_path, "version-2", recrc(bad), "unsupported version")
    expect_error(tmp, disk_path, "truncated", bytes(good[:len(good) // 2]), "larger than the image")
    bad = bytearray(good); bad[-100] ^= 0xff
    expect_error(tmp, disk_path, "crc", bytes(bad), "CRC-32 mismatch")
    ext = [(0, disk[:BS]), (16380, disk[:8 * BS])]
    expect_error(tmp, disk_path, "extent-beyond-disk",
                 mkbundle.build(client, ARGS, BOOTPATH, BS, 16384, [], ext), "extent outside the disk")
    expect_error(tmp, disk_path, "block-size-1000",
                 mkbundle.build(client, ARGS, BOOTPATH, 1000, 16384, [(1, 0x41, 0, 1)], []), "block size")
    expect_error(tmp, disk_path, "partition-beyond-disk",
                 mkbundle.build(client, ARGS, BOOTPATH, BS, 16384, [(1, 0x41, 16000, 1000)], []), "partition outside")
    bad = bytearray(mkbundle.build(client, ARGS, BOOTPATH)); struct.pack_into(">I", bad, 0x1c, 1 << 30)
    expect_error(tmp, disk_path, "client-beyond-bundle", recrc(bad), "client ELF outside the bundle")
    expect_error(tmp, disk_path, "no-bundle-no-kernel", None, "no client", kernel=None)
    expect_error(tmp, disk_path, "golden-bundle", want, "bundle: 696 bytes, client 8 bytes, 1 partitions, 1 extents")

    # 4. bad client ELFs
    def elf_case(name, elf, message):
        expect_error(tmp, disk_path, name, mkbundle.build(elf, ARGS, BOOTPATH), message)
    elf_case("elf-garbage", b"\0" * 4096, "bad client ELF: no ELF magic")
    elf_case("elf-x86", elf_patch(client, machine=62), "not a PowerPC ELF")
    elf_case("elf-over-shim", elf_patch(client, paddr=0x1000), "overlaps the shim")
    elf_case("elf-beyond-ram", elf_patch(client, paddr=0x7fff0000), "outside real memory")
    elf_case("elf-virtual-mode-note", elf_patch(client, real_mode=0), "virtual mode")
    elf_case("elf-truncated", client[:len(client) // 2], "outside the file")
    # a client that executes an illegal instruction: reported, then power-off
    elf_case("client-traps", tiny_elf(b"\0\0\0\0"), "unexpected exception 0x700")
    # a client that turns on interrupts with the decrementer about to fire, counts down a
    # loop (the decrementer is silenced and the loop goes on), then hits an illegal word
    dec = [0x386003e8, 0x7c7603a6, 0x7c8000a6, 0x60848000, 0x7c810164,  # li r3,1000; mtdec; EE on
           0x3ca00010, 0x34a5ffff, 0x4082fffc, 0]                        # 1M-loop; illegal
    path = write(tmp, "dec.bundle", mkbundle.build(tiny_elf(b"".join(struct.pack(">I", w) for w in dec)), ARGS, BOOTPATH))
    ended, text, secs = run_shim(path, tmp, disk_path, timeout=40)
    result(ended and "unexpected exception 0x700" in text and "exception 0x900" not in text,
           "a decrementer interrupt in a client with EE on is absorbed (the client runs on to its own fault)",
           " | ".join(l for l in text.splitlines() if l.startswith("ofshim"))[-300:])

    # 5. stretch: real GRUB, then Linux through GRUB
    mods = grub_case(tmp)
    if mods:
        linux_case(tmp, mods)

    # 6. a real kexec: Linux (Debian's ppc64el kernel under SLOF) kexec_loads the segments
    # of kexboot's plan and reboots into them (kexec_test.py); the kernel package comes
    # through the same private apt state as GRUB's modules
    kexboot = os.path.join(ROOT, ".build", "debug", "kexboot")
    if os.path.exists(kexboot):
        grub_modules()
        vmlinux, why = debian_ppc64el_kernel()
        if vmlinux:
            import kexec_test
            kexec_test.run(qemu, kexboot, BUILD, vmlinux, disk_path, CLIENT, ARGS, BOOTPATH, result)
        else:
            result(False, "real kexec: " + why)

    if failed:
        print(f"logs and images kept in {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"ofshim: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
