"""A real kexec into the Open Firmware shim: Debian's ppc64el kernel boots under SLOF with
a tiny initramfs (kexec-load/init.c); its /sys/firmware/fdt goes to kexboot on the host,
which makes the plan (`kexboot boot --elf … --dry-run --save-segments`); a second boot of
the same machine loads those segments with kexec_load(2) and reboots into them: the CI
test client must then report PASS under the shim. Called by run.py."""
import json
import os
import re
import subprocess
import tempfile


def cpio(files):
    """A newc archive: files = [(path, mode, data)], directories have data None."""
    out = bytearray()
    ino = 1
    for path, mode, data, rdev in files + [("TRAILER!!!", 0, b"", 0)]:
        data = data or b""
        name = path.encode() + b"\0"
        hdr = "070701" + "".join(f"{v:08x}" for v in (ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev >> 8, rdev & 0xff,
                                                         len(name), 0))
        out += hdr.encode() + name
        out += b"\0" * (-len(out) % 4)
        out += data
        out += b"\0" * (-len(out) % 4)
        ino += 1
    return bytes(out)


def run(qemu, kexboot, build, vmlinux, disk_path, client, args, bootpath, result):
    tmp = tempfile.mkdtemp(prefix="kexec-test.")
    init = os.path.join(tmp, "init")
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kexec-load", "init.c")
    r = subprocess.run(["powerpc64le-linux-gnu-gcc", "-O2", "-static", "-o", init, src], capture_output=True, text=True)
    if r.returncode != 0:
        result(False, "real kexec: building the test /init", r.stderr[-300:])
        return
    base = [("dev", 0o40755, None, 0), ("dev/console", 0o20600, None, (5 << 8) | 1), ("proc", 0o40755, None, 0),
            ("sys", 0o40755, None, 0), ("init", 0o100755, open(init, "rb").read(), 0)]
    machine = ["-M", "pseries", "-m", "1G", "-smp", "1", "-kernel", vmlinux, "-append", "console=hvc0 quiet",
               "-drive", f"file={disk_path},if=scsi,format=raw,readonly=on"]
    # 1. the running kernel's tree
    rd1 = os.path.join(tmp, "dump.cpio")
    open(rd1, "wb").write(cpio(base))
    ended, text, secs = qemu([*machine, "-initrd", rd1], 240)
    hexes = re.findall(r"^FDT ([0-9a-f]+)$", text, re.M)
    fdt = bytes.fromhex("".join(hexes))
    m = re.search(r"FDT-BEGIN (\d+)", text)
    ok = bool(m) and len(fdt) == int(m.group(1))
    result(ok, f"real kexec: Linux under SLOF hands over its /sys/firmware/fdt ({len(fdt)} bytes, {secs:.0f} s)",
           text[-400:] if not ok else "")
    if not ok:
        return
    dtb = os.path.join(tmp, "running.dtb")
    open(dtb, "wb").write(fdt)
    # 2. kexboot's plan from it
    segdir = os.path.join(tmp, "seg")
    os.makedirs(segdir)
    kx = subprocess.run([kexboot, "boot", "--elf", client, "--disk", disk_path, "--partitions", "1,2",
                         "--bootpath", bootpath, "--args", args, "--fdt", dtb, "--shim-dir", build, "--dry-run",
                         "--json", "--save-segments", segdir], capture_output=True, text=True)
    result(kx.returncode == 0, "real kexec: kexboot makes the plan from that tree", kx.stderr.strip())
    if kx.returncode != 0:
        return
    plan = json.loads(kx.stdout)
    lines = [f"entry {plan['entry']:x}"]
    files = []
    for part, seg in zip(plan["parts"], plan["segments"]):
        name = part["what"].replace(" ", "-") + ".bin"
        lines.append(f"{name} {seg['mem']:x} {seg['memsz']:x}")
        files.append((f"seg/{name}", 0o100644, open(os.path.join(segdir, name), "rb").read(), 0))
    plan_text = ("\n".join(lines) + "\n").encode()
    rd2 = os.path.join(tmp, "kexec.cpio")
    open(rd2, "wb").write(cpio(base + [("seg", 0o40755, None, 0), ("seg/plan", 0o100644, plan_text, 0)] + files))
    # 3. the same machine loads the segments with kexec_load and reboots into the shim
    ended, text, secs = qemu([*machine, "-initrd", rd2], 300)
    open(os.path.join(tmp, "kexec.log"), "w").write(text)
    result("kexec-test: loaded" in text, "real kexec: kexec_load(2) takes kexboot's four segments",
           next((l for l in text.splitlines() if "kexec-test" in l or "kexec_load" in l), "no kexec-test line; log in " + tmp))
    result(ended and "RESULT PASS" in text and "ofshim:" in text,
           f"real kexec: Linux kexecs into the shim, which boots the client from kexboot's bundle to PASS ({secs:.0f} s)",
           " | ".join(l for l in text.splitlines() if l.startswith(("ofshim", "RESULT", "kexec-test")))[-400:] or text[-300:])
