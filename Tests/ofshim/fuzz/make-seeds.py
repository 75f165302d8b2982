#!/usr/bin/env python3
"""Writes the seed corpora of the shim's fuzzers from real inputs (scripts/fuzz-shim.sh):

  Tests/Fuzz/corpus/shim-bundle/  bundles as mkbundle.py writes them (kexboot's Swift side
                                  writes the same bytes) around the clients `make ofshim`
                                  builds, and the malformed ones run.py boots the shim with
  Tests/Fuzz/corpus/shim-fdt/     device trees QEMU's pseries and powernv machines dump, one
                                  edited as kexboot's kexec plan edits it, and dtc-written
                                  trees with what those lack (aliases, phandles, version 16)
  Tests/Fuzz/corpus/shim-ci/      client-interface calls as GRUB and Linux's prom_init make
                                  them, and ones the shim must refuse (fuzz-ci.c's format)

    python3 Tests/ofshim/fuzz/make-seeds.py     # needs build/ofshim (make ofshim), qemu-system-ppc64, dtc

Every seed stays under 64 KiB: ELF clients are rewritten without section headers and
padding (same program headers, same bytes in each segment); disks are small.
"""
import os
import re
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "Tests", "ofshim"))
import mkbundle  # noqa: E402

BUILD = os.path.join(ROOT, "build", "ofshim")
CORPUS = os.path.join(ROOT, "Tests", "Fuzz", "corpus")
BOOTPATH = "/vdevice/v-scsi@71000003/disk@8000000000000000"
ARGS = "ci-test console=hvc0 root=/dev/sda2"
LIMIT = 64 * 1024


def compact_elf(data):
    """The ELF with its segments' file bytes packed after the program headers (8-aligned)
    and no section headers: what the shim reads, without the 64 KiB alignment padding."""
    c64, le = data[4] == 2, data[5] == 1
    o = "<" if le else ">"
    if c64:
        phoff, = struct.unpack_from(o + "Q", data, 32)
        phentsize, phnum = struct.unpack_from(o + "HH", data, 54)
        ph_fmt, ehsize = o + "IIQQQQQQ", 64
    else:
        phoff, = struct.unpack_from(o + "I", data, 28)
        phentsize, phnum = struct.unpack_from(o + "HH", data, 42)
        ph_fmt, ehsize = o + "IIIIIIII", 52
    phs = [list(struct.unpack_from(ph_fmt, data, phoff + i * phentsize)) for i in range(phnum)]
    off_i, filesz_i = (2, 5) if c64 else (1, 4)
    out = bytearray(data[:ehsize])
    out += b"\0" * phentsize * phnum
    loads = []  # (old offset, new offset, size) of PT_LOADs: notes inside them follow them
    for ph in phs:
        if ph[0] == 1 and ph[filesz_i]:
            out += b"\0" * (-len(out) % 8)
            loads.append((ph[off_i], len(out), ph[filesz_i]))
            out += data[ph[off_i]:ph[off_i] + ph[filesz_i]]
            ph[off_i] = loads[-1][1]
    for ph in phs:
        if ph[0] != 1 and ph[filesz_i]:
            inside = [n + ph[off_i] - old for old, n, size in loads if old <= ph[off_i] and ph[off_i] + ph[filesz_i] <= old + size]
            if inside:
                ph[off_i] = inside[0]
            else:
                out += b"\0" * (-len(out) % 8)
                new = len(out)
                out += data[ph[off_i]:ph[off_i] + ph[filesz_i]]
                ph[off_i] = new
        elif ph[0] != 1:
            ph[off_i] = 0
    for i, ph in enumerate(phs):
        struct.pack_into(ph_fmt, out, ehsize + i * phentsize, *ph)
    if c64:  # e_phoff, e_shoff; e_shentsize, e_shnum, e_shstrndx
        struct.pack_into(o + "QQ", out, 32, ehsize, 0)
        struct.pack_into(o + "HHH", out, 58, 0, 0, 0)
    else:
        struct.pack_into(o + "II", out, 28, ehsize, 0)
        struct.pack_into(o + "HHH", out, 46, 0, 0, 0)
    return bytes(out)


def tiny_elf(code, addr=0x3000000, le=False):
    """One PT_LOAD of CODE at ADDR, ELF32 PowerPC (as run.py's bad-input clients)."""
    o = "<" if le else ">"
    eh = struct.pack(o + "16sHHIIIIIHHHHHH", b"\x7fELF\x01" + (b"\x01" if le else b"\x02") + b"\x01" + b"\0" * 9,
                     2, 20, 1, addr, 52, 0, 0, 52, 32, 1, 0, 0, 0)
    return eh + struct.pack(o + "IIIIIIII", 1, 84, addr, addr, len(code), len(code) + 0x100, 7, 4) + code


def powerpc_note(o, real_mode=0xffffffff):
    """The note GRUB's --note writes: real-mode, real-base, real-size, virt-base, virt-size, load-base."""
    desc = struct.pack(o + "6I", real_mode, 0xc00000, 0xffffffff, 0xffffffff, 0xffffffff, 0x4000)
    return struct.pack(o + "III", 8, len(desc), 0x1275) + b"PowerPC\0" + desc


def elfv1_descriptor_elf():
    """ELF64 BE, ELFv1 (e_flags 1): e_entry is a function descriptor in a data segment, as
    in old 64-bit big-endian images; a PowerPC note; a text, a data and a BSS-only part."""
    o = ">"
    text_at, data_at = 0x3000000, 0x3010000
    code = struct.pack(o + "4I", 0x60000000, 0x60000000, 0x48000000, 0)  # nop; nop; b .; illegal
    data = struct.pack(o + "QQQ", text_at, data_at + 0x8000, 0) + b"data" * 4
    note = powerpc_note(o)
    ehsize, phsize, phnum = 64, 56, 3
    note_off = ehsize + phsize * phnum
    text_off = note_off + len(note)
    text_off += -text_off % 8
    data_off = text_off + len(code)
    eh = struct.pack(o + "16sHHIQQQIHHHHHH", b"\x7fELF\x02\x02\x01" + b"\0" * 9, 2, 21, 1, data_at,
                     ehsize, 0, 1, ehsize, phsize, phnum, 0, 0, 0)
    phs = struct.pack(o + "IIQQQQQQ", 4, 4, note_off, 0, 0, len(note), len(note), 4)
    phs += struct.pack(o + "IIQQQQQQ", 1, 5, text_off, text_at, text_at, len(code), len(code), 0x10000)
    phs += struct.pack(o + "IIQQQQQQ", 1, 6, data_off, data_at, data_at, len(data), 0x9000, 0x10000)
    out = eh + phs + note
    out += b"\0" * (text_off - len(out)) + code + data
    return out


def mbr_disk(parts, blocks, bs=512):
    """A disk of BLOCKS blocks with an MBR listing PARTS (type, start, count); every block
    starts with its number, so reads show where they came from."""
    disk = bytearray(blocks * bs)
    for k in range(1, blocks):
        disk[k * bs:k * bs + 8] = struct.pack(">Q", k)
    for i, (ptype, start, count) in enumerate(parts):
        disk[446 + 16 * i:462 + 16 * i] = struct.pack("<B3sB3sII", 0x80 if i == 0 else 0, b"\0" * 3, ptype, b"\0" * 3, start, count)
    disk[510:512] = b"\x55\xaa"
    return bytes(disk)


def recrc(b):
    b = bytearray(b)
    struct.pack_into(">I", b, 0x14, 0)
    import zlib
    struct.pack_into(">I", b, 0x14, zlib.crc32(bytes(b)) & 0xffffffff)
    return bytes(b)


def bundles():
    client = compact_elf(open(os.path.join(BUILD, "ci-test.elf"), "rb").read())
    le = compact_elf(open(os.path.join(BUILD, "ci-test-le.elf"), "rb").read())
    text = open(os.path.join(ROOT, "Tests", "ofshim", "golden-bundle.txt")).read()
    yield "golden", bytes.fromhex("".join(line.split("#")[0] for line in text.splitlines()))
    disk = mbr_disk([(0x41, 64, 32), (0x83, 96, 16)], 160)
    yield "ci-test-mbr-disk", mkbundle.from_disk(disk, client, ARGS, BOOTPATH, chosen={1, 2})
    yield "ci-test-le-no-disk", mkbundle.build(le, ARGS, None)
    yield "traps-partition-1-of-2", mkbundle.from_disk(disk, tiny_elf(b"\0\0\0\0"), ARGS, BOOTPATH, chosen={1})
    yield "elf32-le-args-only", mkbundle.build(tiny_elf(struct.pack("<I", 0x48000000), le=True), "quiet", None)
    yield "elfv1-descriptor", mkbundle.build(elfv1_descriptor_elf(), ARGS, BOOTPATH + ":2")
    e = bytearray(elfv1_descriptor_elf())  # e_entry 4 bytes before the end of the data segment
    struct.pack_into(">Q", e, 24, 0x3010000 + 0x9000 - 4)
    yield "elfv1-descriptor-at-segment-end", mkbundle.build(bytes(e), ARGS, None)
    # no client (QEMU's -kernel is used), a GPT-sized head and two partitions, one carried
    parts = [(1, 0x41, 40, 8), (2, 0, 48, 64)]
    g = mbr_disk([(0xee, 1, 511)], 512)
    yield "no-client-gpt-head", mkbundle.build(b"", "root=/dev/sda2", BOOTPATH, 512, 512, parts,
                                               [(0, g[:34 * 512]), (40, g[40 * 512:48 * 512])])
    # 4096-byte blocks, several extents with holes between them
    d4 = mbr_disk([(0x41, 2, 4), (0x83, 8, 8)], 24, 4096)
    yield "blocks-4096-holes", mkbundle.build(tiny_elf(b"\x60\0\0\0" * 4), ARGS, BOOTPATH, 4096, 24,
                                              [(1, 0x41, 2, 4), (2, 0x83, 8, 8), (5, 0x83, 20, 4)],
                                              [(0, d4[:4096]), (2, d4[2 * 4096:3 * 4096]), (4, d4[4 * 4096:6 * 4096]),
                                               (9, d4[9 * 4096:10 * 4096]), (20, d4[20 * 4096:24 * 4096])])
    # the malformed ones run.py expects the shim to refuse
    def elf_patch(elf, paddr=None, machine=None, real_mode=None):
        e = bytearray(elf)
        phoff = struct.unpack_from(">Q", e, 32)[0]
        if paddr is not None:
            struct.pack_into(">QQ", e, phoff + 16, paddr, paddr)
        if machine is not None:
            struct.pack_into(">H", e, 18, machine)
        if real_mode is not None:
            i = e.find(b"PowerPC\0")
            struct.pack_into(">I", e, i + 8, real_mode)
        return bytes(e)
    yield "elf-over-shim", mkbundle.build(elf_patch(client, paddr=0x1000), ARGS, BOOTPATH)
    yield "elf-virtual-mode-note", mkbundle.build(elf_patch(client, real_mode=0), ARGS, BOOTPATH)
    yield "elf-x86", mkbundle.build(elf_patch(client, machine=62), ARGS, BOOTPATH)
    yield "elf-truncated", mkbundle.build(client[:len(client) // 2], ARGS, BOOTPATH)
    good = mkbundle.from_disk(disk, client, ARGS, BOOTPATH, chosen={1, 2})
    bad = bytearray(good); struct.pack_into(">I", bad, 8, 2)
    yield "version-2", recrc(bad)
    yield "extent-beyond-disk", mkbundle.build(client, ARGS, BOOTPATH, 512, 160, [], [(0, disk[:512]), (158, disk[:8 * 512])])
    yield "partition-beyond-disk", mkbundle.build(client, ARGS, BOOTPATH, 512, 160, [(1, 0x41, 150, 100)], [])


def dtb_props(dtb):
    """(offset of the value, length, name) of every property of an FDT."""
    off_struct, off_strings = struct.unpack_from(">II", dtb, 8)
    p, out = off_struct, []
    while True:
        tok, = struct.unpack_from(">I", dtb, p)
        p += 4
        if tok == 1:
            p = dtb.index(b"\0", p) + 1
            p += -p % 4
        elif tok == 3:
            n, nameoff = struct.unpack_from(">II", dtb, p)
            name = dtb[off_strings + nameoff:dtb.index(b"\0", off_strings + nameoff)].decode()
            out.append((p + 8, n, name))
            p += 8 + n + (-n % 4)
        elif tok == 9:
            return out


def qemu_dtb(tmp, name, args):
    path = os.path.join(tmp, name + ".dtb")
    machine, *rest = args
    subprocess.run(["qemu-system-ppc64", "-nographic", "-vga", "none", "-display", "none", "-monitor", "none",
                    "-serial", "null", "-M", f"{machine},dumpdtb={path}", *rest], capture_output=True, check=True)
    dtb = bytearray(open(path, "rb").read())
    for at, n, prop in dtb_props(dtb):  # QEMU's random seed: zeroed, so the seeds do not change
        if prop == "rng-seed":
            dtb[at:at + n] = bytes(n)
    return bytes(dtb)


def dtc(source, *opts):
    return subprocess.run(["dtc", "-q", "-I", "dts", "-O", "dtb", *opts], input=source.encode(),
                          capture_output=True, check=True).stdout


def to_dts(dtb):
    return subprocess.run(["dtc", "-q", "-I", "dtb", "-O", "dts"], input=dtb, capture_output=True, check=True).stdout.decode()


# What QEMU's trees lack: aliases (with arguments), unit addresses with several fields and
# leading zeros, phandle and linux,phandle, a stdout-path with options, a node named by an
# old FDT's own `name`, nesting, a disk under v-scsi, a reserve map.
HANDMADE = """/dts-v1/;
/memreserve/ 0x2f00000 0x100000;
/ {
	#address-cells = <2>; #size-cells = <2>;
	model = "handmade"; compatible = "qemu,pseries";
	aliases {
		disk = "/vdevice/v-scsi@71000003/disk@8000000000000000";
		net = "/vdevice/l-lan@71000002";
		cdrom = "/vdevice/v-scsi@71000003/disk@8100000000000000:1";
		vty = &vty;
	};
	chosen {
		stdout-path = "vty:115200n8";
		bootargs = "root=/dev/sda2 quiet";
		qemu,boot-kernel = <0 0x3400000 0 0x20000>;
		linux,initrd-start = <0x3500000>; linux,initrd-end = <0x3500100>;
	};
	memory@0 { device_type = "memory"; reg = <0 0 0 0x40000000>; };
	memory@40000000 { device_type = "memory"; reg = <0 0x40000000 0 0x40000000>; };
	cpus {
		#address-cells = <1>; #size-cells = <0>;
		cpu0: PowerPC,POWER9@0 { device_type = "cpu"; reg = <0>; timebase-frequency = <512000000>;
			d-cache-block-size = <128>; linux,phandle = <0x100>; };
		PowerPC,POWER9@8 { device_type = "cpu"; reg = <8>; timebase-frequency = <512000000>; };
	};
	rtas { power-off = <0x2001>; system-reboot = <0x2002>; stop-self = <0x2003>; phandle = <0x7dff0000>; };
	vdevice {
		#address-cells = <1>; #size-cells = <0>;
		vty: vty@71000000 { compatible = "hvterm1"; reg = <0x71000000>; device_type = "serial"; };
		l-lan@71000002 { compatible = "IBM,l-lan"; reg = <0x71000002>; device_type = "network"; };
		v-scsi@71000003 {
			compatible = "IBM,v-scsi"; reg = <0x71000003>; device_type = "vscsi";
			#address-cells = <2>; #size-cells = <0>;
			disk@8000000000000000 { device_type = "block"; reg = <0x80000000 0>; };
			disk@0008100000000000 { device_type = "block"; reg = <0x81000000 0>; };
		};
	};
	pci@800000020000000 {
		device_type = "pci"; #address-cells = <3>; #size-cells = <2>;
		ethernet@1,0 { reg = <0x800 0 0 0 0>; interrupt-parent = <&cpu0>; };
		ethernet@1,1 { reg = <0x900 0 0 0 0>; name = "ethernet"; };
		scsi@2 { a { b { c { d { e { f { g { h { leaf = "deep"; }; }; }; }; }; }; }; }; };
	};
	options { real-mode? = "false"; };
	openprom { model = "SLOF"; };
};
"""

MINIMAL = """/dts-v1/;
/ {
	#address-cells = <1>; #size-cells = <1>;
	chosen { qemu,boot-kernel = <0 0x200000 0 0x1000>; };
	memory@0 { device_type = "memory"; reg = <0 0x8000000>; };
};
"""


def trees(tmp):
    elf = os.path.join(BUILD, "ci-test.elf")
    initrd = os.path.join(tmp, "initrd")
    with open(initrd, "wb") as f:
        f.write(b"initrd!\0" * 16)
    yield "pseries-default", qemu_dtb(tmp, "a", ["pseries"])
    b = qemu_dtb(tmp, "b", ["pseries", "-m", "1G", "-smp", "2", "-kernel", elf, "-initrd", initrd,
                            "-append", ARGS, "-drive", f"file={initrd},if=scsi,format=raw,readonly=on"])
    yield "pseries-kernel-initrd-scsi", b
    yield "pseries-devices", qemu_dtb(tmp, "c", ["pseries", "-m", "2G", "-smp", "4", "-kernel", elf,
                                                 "-net", "nic,model=spapr-vlan", "-device", "virtio-blk-pci,drive=d0",
                                                 "-drive", f"file={initrd},if=none,id=d0,format=raw,readonly=on",
                                                 "-device", "spapr-vscsi", "-device", "scsi-hd,drive=d1",
                                                 "-drive", f"file={initrd},if=none,id=d1,format=raw,readonly=on"])
    yield "powernv", qemu_dtb(tmp, "d", ["powernv"])
    # as kexboot's kexec plan leaves the running kernel's tree: the initrd properties name
    # the bundle (8-byte cells), and every node has the phandle the firmware gave it
    dts = to_dts(b)
    dts = re.sub(r"linux,initrd-(start|end) = <[^>]*>;", "", dts)
    dts = dts.replace("chosen {", "chosen {\n\t\tlinux,initrd-start = <0x00 0x3800000>;\n\t\tlinux,initrd-end = <0x00 0x3810000>;", 1)
    lines, stack, have, value = dts.splitlines(), [], set(), 0x7dfd0000
    for i, line in enumerate(lines):  # nodes that have a phandle already keep theirs
        if line.endswith("{"):
            stack.append(i)
        elif line.strip() == "};" and stack:
            stack.pop()
        elif re.match(r"\s*(linux,)?phandle = ", line) and stack:
            have.add(stack[-1])
    for i in range(len(lines)):
        if lines[i].endswith("{") and lines[i].startswith("\t") and i not in have:
            value += 0x128
            lines[i] += f"\n\t\tphandle = <{value:#x}>;"
    dts = "\n".join(lines) + "\n"
    yield "kexboot-plan-phandles", dtc(dts)
    yield "handmade", dtc(HANDMADE)
    yield "handmade-v16", dtc(HANDMADE, "-V", "16")
    yield "minimal", dtc(MINIMAL)


# The ci target's calls (format: the comment at the top of fuzz-ci.c). Its first return
# values: 0 stdout, 1 stdin, 2 memory, 3 mmu instances, 4 the root, 5 /chosen.
SERVICES = ["finddevice", "getprop", "getproplen", "setprop", "nextprop", "peer", "child", "parent", "canon",
            "instance-to-package", "package-to-path", "instance-to-path", "open", "close", "read", "write",
            "seek", "claim", "release", "call-method", "test", "milliseconds", "interpret", "quiesce", "enter",
            "exit", "no-such-service"]


def S(text): return bytes([1, len(text)]) + text.encode()          # a string in client RAM
def U(v): return bytes([0]) + struct.pack(">I", v & 0xffffffff)   # a number
def B(off): return bytes([2]) + struct.pack(">H", off)            # the 64 KiB client buffer
def H(i): return bytes([3, i])                                     # an earlier return value
def P(i): return bytes([4, i])                                     # a place: fuzz-ci.c's `places`
def N(n): return bytes([5, n])                                     # a small number


def call(service, nret, *args, array=None):
    svc = SERVICES.index(service) | (0x80 | array << 5 if array is not None else 0)
    return bytes([svc, len(args), nret]) + b"".join(args)


class Calls:
    """A call list; each call with returns keeps its last one: .n is the next index."""
    def __init__(self):
        self.data, self.n = b"", 6

    def __call__(self, service, nret, *args, array=None):
        self.data += call(service, nret, *args, array=array)
        self.n += nret > 0
        return self.n - 1


def ci_calls():
    # GRUB: the console, the disk through :1 and :0, memory for its heap
    c = Calls()
    c("getprop", 1, H(5), S("stdout"), B(0), N(4))
    c("write", 1, H(0), S("GRUB loading\n"), N(13))
    root = c("finddevice", 1, S("/"))
    c("getprop", 1, H(root), S("#address-cells"), B(16), N(4))
    disk = c("open", 1, S("disk:1"))
    c("call-method", 2, S("block-size"), H(disk))
    c("call-method", 2, S("read-blocks"), H(disk), N(2), N(0), B(512))
    c("seek", 1, H(disk), N(0), U(512))
    c("read", 1, H(disk), B(2048), U(512))
    c("claim", 1, U(0x2000000), U(0x100000), N(0))
    c("release", 0, U(0x2000000), U(0x100000))
    c("claim", 1, N(0), U(0x10000), U(0x1000))
    c("instance-to-path", 1, H(disk), B(4096), U(256))
    whole = c("open", 1, S("disk:0"))
    c("call-method", 2, S("#blocks"), H(whole))
    c("close", 0, H(disk))
    c("milliseconds", 1)
    c("nextprop", 1, H(root), N(0), B(8192))
    c("getproplen", 1, H(root), S("model"))
    c("canon", 1, S("disk:2"), B(8192), U(600))
    c("interpret", 1, S("cursor-off"))
    yield "grub-like", c.data
    # Linux's prom_init: CAS, RTAS, claims, the tree walked and copied, a property set
    c = Calls()
    top = c("open", 1, S("/"))
    c("call-method", 2, S("ibm,client-architecture-support"), H(top), B(0))
    rtas = c("open", 1, S("/rtas"))
    mem = c("claim", 1, N(0), U(0x1000), U(0x1000))
    c("call-method", 2, S("instantiate-rtas"), H(rtas), H(mem))
    c("peer", 1, N(0))
    child = c("child", 1, H(4))
    c("peer", 1, H(child))
    c("parent", 1, H(child))
    c("package-to-path", 1, H(child), B(0), U(600))
    c("instance-to-package", 1, H(0))
    c("setprop", 1, H(4), S("linux,test"), B(0), N(16))
    base = c("call-method", 2, S("claim"), H(2), U(0x10000), U(0x100000), N(0))
    c("call-method", 1, S("release"), H(2), U(0x100000), H(base))
    c("call-method", 5, S("translate"), H(3), U(0x3000000))
    c("test", 1, S("claim"))
    c("quiesce", 0)
    yield "prom-init-like", c.data
    # what the shim must refuse: buffers in firmware or past RAM, bad handles, odd counts
    c = Calls()
    c("getprop", 1, H(4), S("model"), P(0), U(64))
    c("read", 1, H(1), P(15), U(64))
    c("nextprop", 1, H(4), N(0), P(16))
    c("open", 1, P(2))
    c("finddevice", 1, N(0))
    c("getprop", 1, H(4), S("model"), B(0), N(4), array=0)
    c("peer", 1, N(0), array=1)
    c("peer", 1, N(0), array=2)
    c("close", 0, H(1))
    c("read", 1, H(1), B(0), N(1))
    c("release", 0, N(0), U(0x1000))
    c("claim", 1, N(0), U(0x1000), N(0))
    c("call-method", 1, S("no-such-method"), H(0))
    c("call-method", 1, S("claim"), U(0x12345))
    c("setprop", 1, H(4), S("x" * 70), B(0), N(4))
    c("instance-to-path", 1, U(0x8ee1), B(0), N(64))
    c.data += bytes([0, 23, 23]) + N(0) * 23
    c("no-such-service", 1)
    c("write", 1, H(0), P(3), U(0x10000))
    yield "refusals", c.data
    # the disk at its edges: partition ends, holes between extents, seek past the end
    c = Calls()
    p2 = c("open", 1, S("disk:2"))
    c("seek", 1, H(p2), N(0), U(40 * 512 - 16))
    c("read", 1, H(p2), B(0), U(4096))
    c("call-method", 2, S("read-blocks"), H(p2), N(4), U(14), B(0))
    c("seek", 1, H(p2), N(0), U(20 * 512))
    c("read", 1, H(p2), B(0), U(512))
    c("seek", 1, H(p2), N(0), U(64 * 512))
    whole = c("open", 1, S("disk"))
    c("seek", 1, H(whole), N(0), U(512))
    c("read", 1, H(whole), B(0), U(8 * 512))
    c("open", 1, S("disk:3"))
    c("open", 1, S("disk:1,\\boot"))
    c("open", 1, S("/vdevice/v-scsi@71000003/disk@8000000000000000:1"))
    yield "disk-edges", c.data


def main():
    with tempfile.TemporaryDirectory() as tmp:
        for kind, items in (("shim-bundle", bundles()), ("shim-fdt", trees(tmp)), ("shim-ci", ci_calls())):
            d = os.path.join(CORPUS, kind)
            os.makedirs(d, exist_ok=True)
            for name, data in items:
                if len(data) > LIMIT:
                    sys.exit(f"make-seeds: {kind}/{name} is {len(data)} bytes (limit {LIMIT})")
                with open(os.path.join(d, name), "wb") as f:
                    f.write(data)
                print(f"{kind}/{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
