/* libFuzzer target `ci`: the client interface as a client (GRUB, FreeBSD's loader, Linux's
 * prom_init) drives it, on a fixed tree and bundle. The input is a list of calls:
 *
 *   call:  u8 service (low 5 bits: the index in `services` below; bit 7: the argument array
 *          elsewhere, bits 5-6 say where, see `arrays`), u8 nargs % 24, u8 nret % 24, then
 *          nargs arguments; the call's last return cell is kept for later calls
 *   arg:   u8 kind % 6, then  0: u32 (big endian)   1: u8 length, bytes: a string in client
 *          RAM   2: u16: an offset in a 64 KiB client buffer   3: u8: an earlier return value
 *          (phandles, ihandles, claimed addresses; 0-5 are found before the calls)   4: u8: an address from
 *          `places` (the shim, the FDT, the bundle, the ends of RAM)   5: u8 as a number
 *
 * docs/ofshim.md promises that no call writes outside client memory: after the calls the
 * shim's own range, the FDT and the bundle must hold what they held. */
#include "client.h"

#define FDT_AT 0x1000000ul
#define BUF_AT (SCRATCH_AT + 0x10000)	/* 64 KiB (client_start() checked 256 KiB from SCRATCH_AT) */
#define SHIM_END 0xf4000ul	/* the firmware's part of ofshim.elf: client_stack */
#define MAX_CALLS 64

static const char *const services[] = {
	"finddevice", "getprop", "getproplen", "setprop", "nextprop", "peer", "child", "parent", "canon",
	"instance-to-package", "package-to-path", "instance-to-path", "open", "close", "read", "write",
	"seek", "claim", "release", "call-method", "test", "milliseconds", "interpret", "quiesce", "enter",
	"exit", "no-such-service",
};
#define NSERVICES (sizeof services / sizeof services[0])

/* ---- the bundle: a client, a bootpath, a 64-block disk with two partitions and holes ---- */
static u8 bundle[0x4000], fdt[2048];
static u32 bundle_size, fdt_size;

static u32 put(u32 at, const void *p, u32 n) { memcpy(bundle + at, p, n); return at + n; }
static u32 align8(u32 n) { return (n + 7) & ~7u; }
static void be32(u32 at, u32 v) { wr32(bundle + at, v); }
static void be64(u32 at, u64 v) { wr32(bundle + at, v >> 32); wr32(bundle + at + 4, v); }

static void make_bundle(void)
{
	static const char args[] = "ci-fuzz", bootpath[] = "/vdevice/v-scsi@71000003/disk@8000000000000000";
	/* ELF32 BE, one PT_LOAD at 0x3000000: `b .` */
	static const u8 elf[] = {
		0x7f, 'E', 'L', 'F', 1, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 20, 0, 0, 0, 1,
		0x03, 0, 0, 0, 0, 0, 0, 52, 0, 0, 0, 0, 0, 0, 0, 0, 0, 52, 0, 32, 0, 1, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 1, 0, 0, 0, 84, 0x03, 0, 0, 0, 0x03, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0x10, 0, 0, 0, 0, 7,
		0, 0, 0, 4, 0x48, 0, 0, 0,
	};
	static const u32 parts[2][3] = { { 1, 8, 16 }, { 2, 24, 40 } };	/* number, start, blocks */
	static const u32 extents[3][2] = { { 0, 2 }, { 8, 16 }, { 40, 8 } };	/* block, blocks */
	memset(bundle, 0, sizeof bundle);
	u32 o = put(0x48, args, sizeof args), a_args = 0x48, a_boot = o;
	o = align8(put(o, bootpath, sizeof bootpath));
	u32 a_parts = o;
	for (int i = 0; i < 2; i++, o += 24) { be32(o, parts[i][0]); be32(o + 4, 0x41 + i); be64(o + 8, parts[i][1]); be64(o + 16, parts[i][2]); }
	u32 a_ext = o;
	o += 3 * 24;
	u32 a_client = o;
	o = align8(put(o, elf, sizeof elf));
	for (int i = 0; i < 3; i++) {
		be64(a_ext + 24 * i, extents[i][0]); be64(a_ext + 24 * i + 8, extents[i][1]); be32(a_ext + 24 * i + 16, o);
		for (u32 k = 0; k < extents[i][1] * 512; k++) bundle[o + k] = extents[i][0] + k / 512;	/* each block: its number */
		o += extents[i][1] * 512;
	}
	memcpy(bundle, "KXOFBNDL", 8);
	u32 head[] = { 1, 0x48, o, 0, a_client, sizeof elf, a_args, a_boot };
	for (int i = 0; i < 8; i++) be32(8 + 4 * i, head[i]);
	be64(0x28, 64); be32(0x30, 512); be32(0x34, 2); be32(0x38, a_parts); be32(0x3c, 3); be32(0x40, a_ext);
	be32(0x14, host_bundle_crc(bundle, o));
	bundle_size = o;
}

/* ---- the calls ---- */
static u32 saved[MAX_CALLS + 8], nsaved;

static void keep(u32 v) { if (nsaved < sizeof saved / sizeof saved[0]) saved[nsaved++] = v; }

static u32 place(u8 k)
{
	static const u64 fixed[] = { 0, 0x8ee0, 0x9000, SHIM_END - 8, SHIM_END, 0x104000 - 4, FDT_AT - 4, FDT_AT + 8,
		BUNDLE_AT - 8, BUNDLE_AT + 0x100, KERNEL_AT, 0x3000000, 0xfffffff0, SCRATCH_AT, BUF_AT };
	if (k % 18 < sizeof fixed / sizeof fixed[0]) return fixed[k % 18];
	return k % 18 == 15 ? ram_top - 8 : k % 18 == 16 ? ram_top : ram_top - 0x10000;
}

typedef struct { const u8 *p, *end; } input;
static u32 byte(input *in) { return in->p < in->end ? *in->p++ : 0; }

static u32 arg(input *in)
{
	switch (byte(in) % 6) {
	case 0: { u32 v = byte(in) << 24; v |= byte(in) << 16; v |= byte(in) << 8; return v | byte(in); }
	case 1: {
		char s[100];
		u32 n = byte(in) % 96, k = 0;
		while (k < n && in->p < in->end) s[k++] = *in->p++;
		s[k] = 0;
		return client_str(s);
	}
	case 2: { u32 off = byte(in) << 8; return BUF_AT + (off | byte(in)); }
	case 3: return saved[byte(in) % (sizeof saved / sizeof saved[0])];
	case 4: return place(byte(in));
	default: return byte(in);
	}
}

/* Where a call's argument array goes when bit 7 asks for it elsewhere: the shim must
 * refuse the first two without reading them, and serve the last. */
static void call(input *in)
{
	u32 svc = byte(in), nargs = byte(in) % 24, nret = byte(in) % 24, a[24], r[24] = { 0 };
	u32 mark = client_mark();
	for (u32 i = 0; i < nargs; i++) a[i] = arg(in);
	const char *name = services[(svc & 31) % NSERVICES];
	if (svc & 0x80) {
		static const u32 arrays[] = { 0x2000, 0 /* ram_top - 8 */, 0xf4000 + 0x100 };
		u32 k = (svc >> 5 & 3) % 3, at = k == 1 ? ram_top - 8 : arrays[k];
		ci_at(at, k == 2, name, nargs, nret, a, r);
	} else {
		ci(name, nargs, nret, a, r);
	}
	if (nret) keep(r[nret - 1]);	/* call-method's first result is its second cell */
	client_release(mark);
}

static input now;
static u8 shim_pattern[SHIM_END];

/* Run by enter_client(): the calls, then the firmware's memory must be as it was. */
static void client(void)
{
	if (client_start()) return;
	nsaved = 0;
	memset(saved, 0, sizeof saved);	/* no run sees an earlier run's handles */
	/* Handles a client finds first: the console, memory and cpu instances, the root. */
	u32 chosen = ci1("finddevice", client_str("/chosen")), cell = client_buf(4);
	static const char *const handles[] = { "stdout", "stdin", "memory", "mmu" };
	for (int i = 0; i < 4; i++) if (ci4("getprop", chosen, client_str(handles[i]), cell, 4) == 4) keep(rd32(ptr(cell)));
	keep(ci1("peer", 0));
	keep(chosen);
	for (int k = 0; k < MAX_CALLS && now.p < now.end; k++) call(&now);
	/* the C library's memcmp (shim.h renames memcmp to the shim's, a byte loop) */
	if (__builtin_memcmp(ptr(0), shim_pattern, SHIM_END)) host_die("a CI call wrote into the shim's own memory");
	if (__builtin_memcmp(ptr(FDT_AT), fdt, fdt_size)) host_die("a CI call wrote into the device tree");
	if (__builtin_memcmp(ptr(BUNDLE_AT), bundle, bundle_size)) host_die("a CI call wrote into the bundle");
}

static void start(void *p) { shim_main(p, 1); }

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc; (void)argv;
	host_fuzz_init(client);
	make_bundle();
	fdt_size = pseries_fdt(fdt, bundle_size);
	for (u32 i = 0; i < SHIM_END; i++) shim_pattern[i] = i * 7 >> 3;
	return 0;
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	host_reset();
	host_ram_put(0, shim_pattern, SHIM_END, 0);	/* stands for the shim's code and data */
	host_ram_put(FDT_AT, fdt, fdt_size, 0);
	host_ram_put(BUNDLE_AT, bundle, bundle_size, 1);
	now.p = data; now.end = data + size;
	host_run(start, ptr(FDT_AT));
	return 0;
}
