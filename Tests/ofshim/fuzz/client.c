/* The CI client of the harnesses (client.h). */
#include "client.h"

static u64 top;
static int halted;

int client_start(void)
{
	halted = 0;
	top = SCRATCH_AT + 0x100;	/* the argument array: 3 + 20 + 20 cells at most */
	return mem_in_ram(SCRATCH_AT, SCRATCH_SIZE) && !mem_fw_overlap(SCRATCH_AT, SCRATCH_SIZE) ? 0 : -1;
}

u32 client_mark(void) { return top; }
void client_release(u32 mark) { top = mark; }

u32 client_buf(u32 n)
{
	if (n > SCRATCH_AT + SCRATCH_SIZE - top) return 0;
	u32 a = top;
	top += (n + 7) & ~7u;
	return a;
}

u32 client_str(const char *s)
{
	u32 n = strlen(s) + 1, a = client_buf(n);
	if (a) memcpy(ptr(a), s, n);
	return a;
}

static u32 *args_now;
static s32 rc_now;
static void run_ci(void *unused) { (void)unused; rc_now = ci_handler(args_now); }

long ci_at(u32 at, int fill, const char *service, int nargs, int nret, const u32 *args, u32 *rets)
{
	if (halted) return -2;
	u32 mark = client_mark(), name = client_str(service);
	u32 *a = ptr(at);
	if (fill) {
		a[0] = name; a[1] = nargs; a[2] = nret;
		for (int i = 0; i < nargs; i++) a[3 + i] = args[i];
		for (int i = 0; i < nret; i++) a[3 + nargs + i] = 0;
	}
	args_now = a;
	int how = host_run(run_ci, NULL);
	client_release(mark);
	if (how != HOST_RETURNED) { halted = 1; return -2; }
	for (int i = 0; fill && i < nret; i++) rets[i] = a[3 + nargs + i];
	host_log("%s(%d args) = %d, 0x%x", service, nargs, rc_now, fill && nret ? rets[0] : 0);
	return rc_now;
}

long ci(const char *service, int nargs, int nret, const u32 *args, u32 *rets)
{
	return ci_at(SCRATCH_AT, 1, service, nargs, nret, args, rets);
}

u32 ci1(const char *service, u32 a) { u32 r = NO; return ci(service, 1, 1, &a, &r) ? NO : r; }
u32 ci2(const char *service, u32 a, u32 b) { u32 in[2] = { a, b }, r = NO; return ci(service, 2, 1, in, &r) ? NO : r; }
u32 ci3(const char *service, u32 a, u32 b, u32 c) { u32 in[3] = { a, b, c }, r = NO; return ci(service, 3, 1, in, &r) ? NO : r; }
u32 ci4(const char *service, u32 a, u32 b, u32 c, u32 d) { u32 in[4] = { a, b, c, d }, r = NO; return ci(service, 4, 1, in, &r) ? NO : r; }

/* ---- a small FDT writer for the fixed tree ---- */
static u8 dt[2048], strs[512];
static u32 dlen, slen;

static void w_put32(u32 v) { wr32(dt + dlen, v); dlen += 4; }
static void w_bytes(const void *p, u32 n)
{
	memcpy(dt + dlen, p, n);
	dlen += n;
	while (dlen & 3) dt[dlen++] = 0;
}
static void w_begin(const char *name) { w_put32(1); w_bytes(name, strlen(name) + 1); }
static void w_end(void) { w_put32(2); }
static void w_prop(const char *name, const void *v, u32 n)
{
	u32 off = 0;
	while (off < slen && strcmp((char *)strs + off, name)) off += strlen((char *)strs + off) + 1;
	if (off == slen) { memcpy(strs + slen, name, strlen(name) + 1); slen += strlen(name) + 1; }
	w_put32(3); w_put32(n); w_put32(off);
	w_bytes(v, n);
}
static void w_str(const char *name, const char *s) { w_prop(name, s, strlen(s) + 1); }
static void w_cells(const char *name, int n, const u64 *v)	/* n 32-bit cells */
{
	u8 b[32];
	for (int i = 0; i < n; i++) wr32(b + 4 * i, v[i]);
	w_prop(name, b, 4 * n);
}
static void w_u32(const char *name, u32 v) { u64 c = v; w_cells(name, 1, &c); }

/* The parts of QEMU's pseries tree the shim reads, with the bundle as the initrd. */
u32 pseries_fdt(u8 *out, u64 bundle_size)
{
	dlen = slen = 0;
	u64 ram = BUNDLE_AT + bundle_size;
	w_begin("");
	w_u32("#address-cells", 2); w_u32("#size-cells", 2);
	w_str("compatible", "qemu,pseries");
	w_begin("chosen");
	w_str("stdout-path", "/vdevice/vty@71000000");
	u64 kernel[4] = { 0, KERNEL_AT, 0, 0x10000 }, rs[2] = { 0, BUNDLE_AT }, re[2] = { 0, BUNDLE_AT + bundle_size };
	w_cells("qemu,boot-kernel", 4, kernel);
	w_cells("linux,initrd-start", 2, rs);
	w_cells("linux,initrd-end", 2, re);
	w_str("bootargs", "from the device tree");
	w_end();
	w_begin("memory@0");
	w_str("device_type", "memory");
	u64 reg[4] = { 0, 0, ram >> 32, ram & 0xffffffff };
	w_cells("reg", 4, reg);
	w_end();
	w_begin("cpus");
	w_u32("#address-cells", 1); w_u32("#size-cells", 0);
	w_begin("PowerPC,POWER9@0");
	w_str("device_type", "cpu");
	w_u32("reg", 0); w_u32("timebase-frequency", 512000000); w_u32("d-cache-block-size", 128);
	w_end();
	w_end();
	w_begin("rtas");
	w_u32("power-off", 0x2001); w_u32("system-reboot", 0x2002); w_u32("stop-self", 0x2003);
	w_end();
	w_begin("vdevice");
	w_u32("#address-cells", 1); w_u32("#size-cells", 0);
	w_begin("vty@71000000");
	w_str("compatible", "hvterm1"); w_u32("reg", 0x71000000); w_str("device_type", "serial");
	w_end();
	w_begin("v-scsi@71000003");
	w_str("compatible", "IBM,v-scsi"); w_u32("reg", 0x71000003); w_str("device_type", "vscsi");
	w_end();
	w_end();
	w_end();
	w_put32(9);
	/* header, reserve map (the -kernel image and the initrd, as QEMU lists them), struct, strings */
	u32 rsv = 40, st = rsv + 3 * 16, str = st + dlen, total = str + slen;
	u32 hdr[10] = { 0xd00dfeed, total, st, str, rsv, 17, 16, 0, slen, dlen };
	for (int i = 0; i < 10; i++) wr32(out + 4 * i, hdr[i]);
	u64 map[6] = { KERNEL_AT, 0x10000, BUNDLE_AT, bundle_size, 0, 0 };
	for (int i = 0; i < 6; i++) { wr32(out + rsv + 8 * i, map[i] >> 32); wr32(out + rsv + 8 * i + 4, map[i]); }
	memcpy(out + st, dt, dlen);
	memcpy(out + str, strs, slen);
	return total;
}
