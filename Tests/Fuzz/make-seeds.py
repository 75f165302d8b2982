#!/usr/bin/env python3
"""Writes the seed corpora of the libFuzzer harnesses (Tests/Fuzz/corpus/<harness>/) from
the test fixtures and from small inputs built here. Run once when the fixtures or the
harnesses change; the output is kept in the repository so that a fuzz run starts from
real configs and real binary structures. Files are named by content (SHA-1), as libFuzzer
names what it finds. The binary seeds (sfdisk's GUIDs, xorriso's and QEMU's stamps) differ
on every run: keep the committed ones unless their structure should change."""

import glob
import hashlib
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIX = f"{ROOT}/Tests/KexbootConfigTests/Fixtures"
OUT = f"{HERE}/corpus"
LIMIT = 128 << 10


def put(harness, data):
    if isinstance(data, str):
        data = data.encode()
    if len(data) > LIMIT:
        return
    os.makedirs(f"{OUT}/{harness}", exist_ok=True)
    with open(f"{OUT}/{harness}/{hashlib.sha1(data).hexdigest()}", "wb") as f:
        f.write(data)


def files(pattern):
    return sorted(p for p in glob.glob(f"{FIX}/{pattern}", recursive=True) if os.path.isfile(p))


def swift_blocks(path, start):
    """The multi-line string literals in a Swift test file that begin with `start`."""
    text = open(path).read()
    for m in re.finditer(r'"""\n(.*?)\n\s*"""', text, re.S):
        block = textwrap.dedent(m.group(1))
        if block.lstrip().startswith(start) and "\\(" not in block:
            yield block + "\n"


def configs():
    for p in files("**/grub*.cfg") + files("**/custom.cfg") + files("**/grub-snapshot.cfg"):
        put("grub", open(p, "rb").read())
    for p in files("**/loader/entries/*.conf"):
        put("bls", open(p, "rb").read())
    for p in files("**/grubenv"):
        # A grubenv is the fourth file of a grub input and of a BLS one.
        put("grub", b"load_env\nmenuentry x { linux /vmlinuz $kernelopts }\n\0\0\0" + open(p, "rb").read())
    for p in files("**/extlinux.conf") + files("**/isolinux/*.cfg"):
        put("syslinux", open(p, "rb").read())
        put("pxelinux", open(p, "rb").read())
    put("syslinux", "INCLUDE a.cfg\nDEFAULT one\n\0LABEL one\n  KERNEL /vmlinuz\n  APPEND quiet\n  INITRD /a.img,/b.img\n")
    put("pxelinux", "DEFAULT menu.c32\nPROMPT 0\nTIMEOUT 50\nMENU TITLE PXE\nLABEL inst\n  MENU LABEL Install\n"
                    "  KERNEL images/vmlinux\n  INITRD images/initrd.img\n  APPEND console=hvc0 auto\nLABEL local\n  LOCALBOOT 0\n")
    for p in files("**/yaboot.conf"):
        put("yaboot", open(p, "rb").read())
    for p in files("**/kboot.conf"):
        put("kboot", open(p, "rb").read())
    for p in files("**/kexboot.conf"):
        put("native", open(p, "rb").read())
    for src, harness, start in [("IPXETests.swift", "ipxe", "#!ipxe"), ("SyslinuxTests.swift", "syslinux", "DEFAULT"),
                                ("SyslinuxTests.swift", "syslinux", "LABEL"), ("YabootKbootTests.swift", "yaboot", "image"),
                                ("NativeConfigTests.swift", "native", "entry"), ("NativeConfigTests.swift", "native", "default"),
                                ("GrubSemanticsTests.swift", "grub", "menuentry"), ("GrubSemanticsTests.swift", "grub", "set"),
                                ("GrubSemanticsTests.swift", "grub", "if"), ("GrubSemanticsTests.swift", "grub", "function")]:
        for block in swift_blocks(f"{ROOT}/Tests/KexbootConfigTests/{src}", start):
            put(harness, block)


def settings():
    put("settings", "timeout = 5\ndefault = disk.img:1#0\nsettle = 3\nsocket-group = kexboot\nnetwork = eth0 eth1\n"
                    "eth0.address = 10.0.0.5/24\neth0.gateway = 10.0.0.1\neth0.dns = 10.0.0.1\nfetch-timeout = 600\n"
                    "fetch-max-size = 1G\nboot-order = disk network\nshell = false\n")
    put("settings", "# kexboot settings\ntimeout = -1\ntcp = 0.0.0.0:9999\nhttps-ca = /etc/ssl/certs\nlog-level = debug\n")


def protocol():
    lines = [l[2:] for l in open(f"{ROOT}/docs/protocol.md") if l.startswith("> {")]
    put("protocol", b"\x07" + "\n".join(lines).encode() + b"\n")
    put("protocol", b"\x01" + b'{"id":1,"request":"auth","params":{"password":"x"}}\r\n{"id":"a","request":"list"}\n')
    put("protocol", b"\x20" + b'{"id":2,"request":"boot","params":{"option":"x","args":"a \\"b\\" \\u00e9","nested":[1,2.5e3,-0,true,null,{}]}}\n')


def dhcp():
    put("dhcp4", "interface=eth0\nip=10.0.2.15\nmask=24\nrouter=10.0.2.2\ndns=10.0.2.3 8.8.8.8\ndomain=example.com\n"
                 "serverid=10.0.2.2\nsiaddr=10.0.2.2\nboot_file=pxelinux.0\nsname=boot\nopt209=pxelinux.cfg/custom\n"
                 "opt210=http://10.0.2.2/boot/\ntftp=10.0.2.2\nlease=86400\nhostname=node7\n")
    put("dhcp4", "interface=eth1\nip=192.168.1.9\nsubnet=255.255.255.0\nboot_file=http://192.168.1.1/boot.ipxe\n")
    put("dhcp4", "interface=eth0\nfamily=inet6\nipv6=2001:db8::15\nipv6prefix=64\ndns=fe80::1 2001:db8::1\n"
                 "bootfile_url=tftp://[2001:db8::1]/pxelinux.0\nbootfile_param=[\"a b\",\"c\"]\nlease=3600\n")

    def opt(code, data):
        return struct.pack(">HH", code, len(data)) + data
    addr = bytes.fromhex("20010db8000000000000000000000015")
    iaaddr = opt(5, addr + struct.pack(">II", 3600, 7200))
    ia = opt(3, struct.pack(">III", 1, 1800, 2880) + iaaddr + opt(13, struct.pack(">H", 0) + b"ok"))
    duid = struct.pack(">HH", 3, 1) + bytes.fromhex("525400123456")
    dns = opt(23, bytes.fromhex("20010db8000000000000000000000001"))
    domains = opt(24, b"\x07example\x03com\x00")
    url = opt(59, b"tftp://[2001:db8::1]/pxelinux.0")
    param = opt(60, b"\x00\x03a b\x00\x01c")
    put("dhcp6", bytes([7]) + b"\x12\x34\x56" + opt(1, duid) + opt(2, duid) + ia + dns + domains + url + param)
    put("dhcp6", bytes([2]) + b"\x00\x00\x01" + opt(2, duid) + ia + opt(7, b"\x05"))
    put("dhcp6", bytes([7]) + b"\x00\x00\x02" + opt(2, duid) + opt(13, struct.pack(">H", 2) + b"no addrs"))


def uevents():
    props = b"ACTION=add\0DEVPATH=/devices/pci0000:00/0000:00:04.0/virtio1/block/vda/vda1\0SUBSYSTEM=block\0" \
            b"DEVNAME=vda1\0DEVTYPE=partition\0PARTN=1\0SEQNUM=812\0MAJOR=254\0MINOR=1\0"
    put("uevent", b"add@/devices/pci0000:00/0000:00:04.0/virtio1/block/vda/vda1\0" + props)
    put("uevent", b"add@/devices/virtual/net/eth0\0ACTION=add\0DEVPATH=/devices/virtual/net/eth0\0SUBSYSTEM=net\0INTERFACE=eth0\0IFINDEX=2\0SEQNUM=9\0")
    udev_props = props + b"ID_FS_TYPE=ext4\0ID_FS_UUID=0e2e0e2e-5555-6666-7777-888888888888\0"
    header = b"libudev\0" + struct.pack(">I", 0xFEEDCAFE) + struct.pack("<III", 40, 40, len(udev_props)) + b"\0" * 16
    put("uevent", header + udev_props)


def elf64(machine, endian, loads, notes=b"", etype=2, entry=0):
    """A small ELF64 with PT_LOADs of (vaddr, paddr, data, memsz) and an optional PT_NOTE."""
    e = "<" if endian == "little" else ">"
    phnum = len(loads) + (1 if notes else 0)
    off = 64 + 56 * phnum
    body, phdrs = b"", b""
    for vaddr, paddr, data, memsz in loads:
        phdrs += struct.pack(e + "IIQQQQQQ", 1, 7, off + len(body), vaddr, paddr, len(data), memsz, 0x10000)
        body += data
    if notes:
        phdrs += struct.pack(e + "IIQQQQQQ", 4, 4, off + len(body), 0, 0, len(notes), len(notes), 4)
        body += notes
    ident = b"\x7fELF" + bytes([2, 1 if endian == "little" else 2, 1]) + b"\0" * 9
    header = ident + struct.pack(e + "HHIQQQIHHHHHH", etype, machine, 1, entry, 64, 0, 0, 64, 56, phnum, 64, 0, 0)
    return header + phdrs + body


def elf32(machine, endian, loads, entry=0):
    e = "<" if endian == "little" else ">"
    off = 52 + 32 * len(loads)
    body, phdrs = b"", b""
    for vaddr, paddr, data, memsz in loads:
        phdrs += struct.pack(e + "IIIIIIII", 1, off + len(body), vaddr, paddr, len(data), memsz, 7, 0x1000)
        body += data
    ident = b"\x7fELF" + bytes([1, 1 if endian == "little" else 2, 1]) + b"\0" * 9
    return ident + struct.pack(e + "HHIIIIIHHHHHH", 2, machine, 1, entry, 52, 0, 0, 52, 32, len(loads), 40, 0, 0) + phdrs + body


def binaries():
    head = bytes(range(256)) * 4
    put("elf", elf64(21, "little", [(0xC000000000000000, 0, head, 0x200000)], entry=0xC000000000000000))
    put("elf", elf64(21, "little", [(0xC000000000000000, 0, head, 0x1000), (0xC000000000010000, 0x10000, b"\0" * 64, 0x20000)]))
    # A PReP client: big-endian, 32-bit, with the PowerPC 1275 note GRUB's core.elf carries.
    note = struct.pack(">III", 8, 24, 0x1275) + b"PowerPC\0" + struct.pack(">IIIIII", 0xFFFFFFFF, 0x00C00000, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0x4000)
    put("elf", elf32(20, "big", [(0x200000, 0x200000, head, 0x8000)], entry=0x200000) + note)
    put("elf", elf64(21, "big", [(0x400000, 0x400000, head, 0x1000)], notes=note, entry=0x400000))
    put("elf", elf64(62, "little", [(0xFFFFFFFF81000000, 0x1000000, head, 0x100000)]))
    # An x86 bzImage's boot sector and setup header (version 2.15).
    bz = bytearray(0x4000)
    bz[0x1F1] = 0x1D  # setup_sects
    bz[0x1FE:0x200] = b"\x55\xAA"
    bz[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", bz, 0x206, 0x020F)
    bz[0x211] = 0x01  # loadflags: LOADED_HIGH
    struct.pack_into("<I", bz, 0x218, 0)
    struct.pack_into("<I", bz, 0x22C, 0x7FFFFFFF)  # initrd_addr_max
    struct.pack_into("<I", bz, 0x230, 0x200000)  # kernel_alignment
    bz[0x234] = 1  # relocatable
    struct.pack_into("<H", bz, 0x236, 0x7F)  # xloadflags
    struct.pack_into("<I", bz, 0x238, 2047)  # cmdline_size
    struct.pack_into("<Q", bz, 0x258, 0x1000000)  # pref_address
    struct.pack_into("<I", bz, 0x260, 0x2000000)  # init_size
    put("elf", bytes(bz))
    for p in ("build/ofshim/ci-test-le.elf",):
        if os.path.exists(f"{ROOT}/{p}"):
            put("elf", open(f"{ROOT}/{p}", "rb").read())


def disks():
    with tempfile.TemporaryDirectory() as tmp:
        img = f"{tmp}/gpt.img"
        with open(img, "wb") as f:
            f.truncate(96 << 10)
        subprocess.run(["sfdisk", "-q", img], input=b"label: gpt\nfirst-lba: 34\nstart=34, size=64, type=9E1A2D38-C612-4316-AA26-8B49521E5A8B\n"
                       b"start=98, size=32, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n", check=True)
        put("gpt", open(img, "rb").read())
        img = f"{tmp}/mbr.img"
        with open(img, "wb") as f:
            f.truncate(32 << 10)
        subprocess.run(["sfdisk", "-q", img], input=b"label: dos\nstart=1, size=16, type=41, bootable\nstart=17, size=30, type=83\nstart=47, size=0, type=41\n", check=True)
        put("gpt", open(img, "rb").read())
        iso = f"{tmp}/root"
        os.makedirs(f"{iso}/boot/grub")
        os.makedirs(f"{iso}/isolinux")
        open(f"{iso}/boot/grub/grub.cfg", "w").write("menuentry live { linux /live/vmlinuz boot=live }\n")
        open(f"{iso}/isolinux/isolinux.cfg", "w").write("DEFAULT live\nLABEL live\n  KERNEL /live/vmlinuz\n")
        os.makedirs(f"{iso}/live")
        open(f"{iso}/live/vmlinuz", "wb").write(b"\0" * 100)
        os.symlink("vmlinuz", f"{iso}/live/kernel")
        for name, extra in (("rr", ["-R", "-J"]), ("plain", [])):
            out = f"{tmp}/{name}.iso"
            subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", "-no-pad", "-V", "KEXBOOT_LIVE", *extra, "-o", out, iso],
                           check=True, stderr=subprocess.DEVNULL)
            put("iso9660", open(out, "rb").read())
        dtb = f"{tmp}/pseries.dtb"
        r = subprocess.run(["qemu-system-ppc64", "-M", f"pseries,dumpdtb={dtb}", "-m", "1024", "-vga", "none", "-nographic",
                            "-nodefaults"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if r.returncode == 0 and os.path.exists(dtb):
            put("devicetree", open(dtb, "rb").read())
        src = f"{tmp}/small.dts"
        open(src, "w").write("/dts-v1/;\n/memreserve/ 0x2000000 0x1000000;\n/ {\n #address-cells = <2>;\n #size-cells = <2>;\n"
                             " memory@0 { device_type = \"memory\"; reg = <0 0 0 0x40000000>; };\n"
                             " chosen { bootargs = \"console=hvc0\"; linux,initrd-start = <0 0x2000000>; linux,initrd-end = <0 0x3000000>; };\n"
                             " cpus { #address-cells = <1>; #size-cells = <0>; cpu@0 { reg = <0>; device_type = \"cpu\"; }; };\n};\n")
        subprocess.run(["dtc", "-q", "-I", "dts", "-O", "dtb", "-o", f"{tmp}/small.dtb", src], check=True)
        put("devicetree", open(f"{tmp}/small.dtb", "rb").read())


def main():
    if os.path.isdir(OUT) and "--keep" not in sys.argv:
        for d in os.listdir(OUT):
            if not d.startswith("shim-"):
                shutil.rmtree(f"{OUT}/{d}")
    configs()
    settings()
    protocol()
    dhcp()
    uevents()
    binaries()
    disks()
    for d in sorted(os.listdir(OUT)):
        n = len(os.listdir(f"{OUT}/{d}"))
        size = sum(os.path.getsize(f"{OUT}/{d}/{f}") for f in os.listdir(f"{OUT}/{d}"))
        print(f"{d}: {n} seeds, {size} bytes")


if __name__ == "__main__":
    main()
