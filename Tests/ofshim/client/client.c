/*
 * The CI test client: a freestanding ppc64 program that exercises every
 * client-interface service the shim offers, prints one line per check and
 * PASS or FAIL, then powers the machine off through RTAS.
 *
 * Line format (read by Tests/ofshim/run.py):
 *   CHECK <key> <value> ok|FAIL[ (expected ...)]
 * Keys starting with "shim." are only run under the shim (SLOF has no
 * equivalent behaviour to compare); the rest run under SLOF too and the
 * runner compares their values.
 */
#include <stdarg.h>
typedef unsigned int u32;
typedef int s32;
typedef unsigned long u64;
typedef unsigned char u8;

long call_ci(u64 entry, u32 *args);
u64 get_tb(void);

static u64 ci_entry;
static u32 stdout_ih, chosen, root_ph;
static int failures, checks, under_shim;
static u64 first_ci_tb;
static u32 last_rc;

static u64 slen(const char *s) { u64 n = 0; while (s[n]) n++; return n; }
static int scmp(const char *a, const char *b) { while (*a && *a == *b) a++, b++; return (u8)*a - (u8)*b; }
static int sncmp(const char *a, const char *b, u64 n) { while (n && *a && *a == *b) a++, b++, n--; return n ? (u8)*a - (u8)*b : 0; }
static void *mset(void *d, int c, u64 n) { u8 *p = d; while (n--) *p++ = c; return d; }
static void mcpy(void *d, const void *s, u64 n) { u8 *a = d; const u8 *b = s; while (n--) *a++ = *b++; }
void *memset(void *d, int c, unsigned long n) { return mset(d, c, n); }
void *memcpy(void *d, const void *s, unsigned long n) { mcpy(d, s, n); return d; }

/* ci("name", nargs, nret, args..., &ret0...) — returns the r3 status; rets via pointers. */
static long ci(const char *name, int nargs, int nret, ...)
{
	u32 cells[3 + 20];
	va_list ap;
	va_start(ap, nret);
	cells[0] = (u32)(u64)name; cells[1] = nargs; cells[2] = nret;
	for (int i = 0; i < nargs; i++) cells[3 + i] = va_arg(ap, u32);
	for (int i = 0; i < nret; i++) cells[3 + nargs + i] = 0xdeadbeef;
	if (!first_ci_tb) first_ci_tb = get_tb();
	long rc = call_ci(ci_entry, cells);
	for (int i = 0; i < nret; i++) {
		u32 *out = va_arg(ap, u32 *);
		if (out) *out = cells[3 + nargs + i];
	}
	va_end(ap);
	last_rc = rc;
	return rc;
}
static u32 ci1(const char *name, int nargs, ...)
{
	u32 c[8], r = ~0u;
	va_list ap;
	va_start(ap, nargs);
	for (int i = 0; i < nargs; i++) c[i] = va_arg(ap, u32);
	va_end(ap);
	switch (nargs) {
	case 0: ci(name, 0, 1, &r); break;
	case 1: ci(name, 1, 1, c[0], &r); break;
	case 2: ci(name, 2, 1, c[0], c[1], &r); break;
	case 3: ci(name, 3, 1, c[0], c[1], c[2], &r); break;
	case 4: ci(name, 4, 1, c[0], c[1], c[2], c[3], &r); break;
	}
	return r;
}
#define A(p) ((u32)(u64)(p))

/* ---- output ---- */
static char obuf[512];
static int olen;
static void flush(void) { if (stdout_ih && olen) { u32 r; ci("write", 3, 1, stdout_ih, A(obuf), olen, &r); } olen = 0; }
static void putc_(char c) { if (olen == sizeof obuf) flush(); obuf[olen++] = c; if (c == '\n') flush(); }
static void puts_(const char *s) { while (*s) putc_(*s++); }
static void putu(u64 v, int base, int width)
{
	char d[24]; int k = 0;
	do d[k++] = "0123456789abcdef"[v % base], v /= base; while (v);
	while (k < width) d[k++] = '0';
	while (k) putc_(d[--k]);
}
static void pf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	for (const char *p = fmt; *p; p++) {
		if (*p != '%') { putc_(*p); continue; }
		p++;
		int w = 0;
		while (*p >= '0' && *p <= '9') w = w * 10 + *p++ - '0';
		if (*p == 's') puts_(va_arg(ap, const char *));
		else if (*p == 'x') putu(va_arg(ap, u32), 16, w);
		else if (*p == 'X') putu(va_arg(ap, u64), 16, w);
		else if (*p == 'u') putu(va_arg(ap, u32), 10, w);
		else if (*p == 'U') putu(va_arg(ap, u64), 10, w);
		else if (*p == 'd') { s32 v = va_arg(ap, s32); if (v < 0) putc_('-'), v = -v; putu(v, 10, w); }
	}
	va_end(ap);
}

/* ---- checks ---- */
static char vbuf[256];
static void check(const char *key, int ok, const char *fmt, ...)
{
	/* value formatted into vbuf */
	va_list ap;
	va_start(ap, fmt);
	char *o = vbuf;
	for (const char *p = fmt; *p && o < vbuf + 200; p++) {
		if (*p != '%') { *o++ = *p; continue; }
		p++;
		u64 v; int base = 10; const char *s;
		switch (*p) {
		case 's': s = va_arg(ap, const char *); while (*s && o < vbuf + 240) *o++ = *s++; continue;
		case 'x': base = 16; v = va_arg(ap, u32); break;
		case 'd': { s32 x = va_arg(ap, s32); if (x < 0) *o++ = '-', x = -x; v = x; break; }
		default: v = va_arg(ap, u32); break;
		}
		char d[24]; int k = 0;
		do d[k++] = "0123456789abcdef"[v % base], v /= base; while (v);
		while (k) *o++ = d[--k];
	}
	*o = 0;
	va_end(ap);
	checks++;
	if (!ok) failures++;
	pf("CHECK %s %s %s\n", key, vbuf[0] ? vbuf : "-", ok ? "ok" : "FAIL");
}

static u32 crc32(const u8 *p, u64 n)
{
	u32 c = ~0u;
	while (n--) { c ^= *p++; for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >> 1) : c >> 1; }
	return ~c;
}

static u32 getprop_u32(u32 ph, const char *name)
{
	u32 v = 0;
	u32 n = ci1("getprop", 4, ph, A(name), A(&v), 4);
	return n == 4 ? v : 0;
}

/* ---- the tree walk ---- */
static char pbuf[512], pname[64];
static u8 propbuf[8192];
static u32 n_nodes, n_props, walk_bad;

static void walk(u32 ph, u32 parent, int depth)
{
	for (; ph && ph != ~0u && depth < 32; ph = ci1("peer", 1, ph)) {
		n_nodes++;
		if (ci1("parent", 1, ph) != parent) { walk_bad++; pf("walk: parent mismatch at %x\n", ph); }
		mset(pbuf, 0, sizeof pbuf);
		u32 len = ci1("package-to-path", 3, ph, A(pbuf), sizeof pbuf - 1);
		if (len == ~0u || len >= sizeof pbuf || slen(pbuf) != len) { walk_bad++; pf("walk: package-to-path %x -> %d\n", ph, len); }
		else if (ci1("finddevice", 1, A(pbuf)) != ph) { walk_bad++; pf("walk: finddevice(%s) is not %x\n", pbuf, ph); }
		pname[0] = 0;
		int guard = 0;
		for (;;) {
			char prev[64];
			mcpy(prev, pname, 64);
			u32 r = ci1("nextprop", 3, ph, A(prev), A(pname));
			if (r == 0) break;
			if (r != 1 || ++guard > 1000) { walk_bad++; pf("walk: nextprop %s after '%s' -> %d\n", pbuf, prev, r); break; }
			n_props++;
			u32 plen = ci1("getproplen", 2, ph, A(pname));
			u32 glen = ci1("getprop", 4, ph, A(pname), A(propbuf), sizeof propbuf);
			if (plen != glen || (plen > sizeof propbuf && plen != ~0u)) { walk_bad++; pf("walk: %s %s len %d vs %d\n", pbuf, pname, plen, glen); }
		}
		u32 c = ci1("child", 1, ph);
		if (c) walk(c, ph, depth + 1);
	}
}

static u32 rtas_entry, rtas_ph;
static u32 rtas_args[16] __attribute__((aligned(8)));

static void rtas_init(void)
{
	rtas_ph = ci1("finddevice", 1, A("/rtas"));
	u32 size = getprop_u32(rtas_ph, "rtas-size");
	u32 ih = ci1("open", 1, A("/rtas"));
	u32 base = ci1("claim", 3, 0, size ? size : 0x1000, 0x1000);
	u32 catch = ~0u;
	ci("call-method", 3, 2, A("instantiate-rtas"), ih, base, &catch, &rtas_entry);
	if (catch) rtas_entry = 0;
}

/* rtas("name", nargs, nret, args...) -> first return (the status) */
static s32 rtas(const char *name, int nargs, int nret, ...)
{
	va_list ap;
	va_start(ap, nret);
	rtas_args[0] = getprop_u32(rtas_ph, name); rtas_args[1] = nargs; rtas_args[2] = nret;
	for (int i = 0; i < nargs; i++) rtas_args[3 + i] = va_arg(ap, u32);
	va_end(ap);
	rtas_args[3 + nargs] = 0xdeadbeef;
	if (!rtas_entry || !rtas_args[0]) return -99;
	call_ci(rtas_entry, rtas_args);
	return rtas_args[3 + nargs];
}

static void rtas_power_off(void)
{
	pf("RTAS entry %x, power-off token %x\n", rtas_entry, getprop_u32(rtas_ph, "power-off"));
	rtas("power-off", 2, 1, ~0u, ~0u);
	pf("FAIL: RTAS power-off returned\n");
	ci("exit", 0, 0);
	for (;;);
}

/* kexec sends the other CPUs to the shim's 0x60; here RTAS start-cpu does, and the shim
 * must put them into stop-self, where query-cpu-stopped-state sees them. */
static void secondary_check(void)
{
	u32 cpus = ci1("finddevice", 1, A("/cpus")), id = ~0u;
	for (u32 c = ci1("child", 1, cpus); c && c != ~0u; c = ci1("peer", 1, c)) {
		u32 reg = getprop_u32(c, "reg");
		if (reg != 0) id = reg;
	}
	if (id == ~0u) return;	/* one CPU: nothing to park */
	/* query-cpu-stopped-state returns ( status state ): state 0 = stopped, 2 = running */
	s32 q = rtas("query-cpu-stopped-state", 1, 2, id), before = q ? -1 : (s32)rtas_args[5];
	s32 st = rtas("start-cpu", 3, 1, id, 0x60, id);
	s32 running = -1, after = -1;
	for (int i = 0; i < 2000 && after != 0; i++) {
		q = rtas("query-cpu-stopped-state", 1, 2, id);
		after = q ? -1 : (s32)rtas_args[5];
		if (after == 2) running = 2;
		for (volatile int k = 0; k < 10000; k++);
	}
	check("shim.secondary-parked", before == 0 && st == 0 && after == 0,
	      "cpu %d: state=%d start-cpu(0x60)=%d seen-running=%d state-after=%d", id, before, st, running, after);
}

#define DISKBUF 0x21000000	/* 528 MiB: claimed below before use; above any bundle QEMU loads */

void client_main(u64 entry)
{
	u64 start_tb = get_tb();
	ci_entry = (u32)entry;
	chosen = ci1("finddevice", 1, A("/chosen"));
	stdout_ih = getprop_u32(chosen, "stdout");
	pf("\nci-test: client interface at %x\n", (u32)entry);
	root_ph = ci1("peer", 1, 0);
	char model[64] = {0};
	u32 op = ci1("finddevice", 1, A("/openprom"));
	ci1("getprop", 4, op, A("model"), A(model), sizeof model - 1);
	under_shim = !sncmp(model, "kexboot-ofshim", 14);
	pf("ci-test: firmware %s\n", model);
	char bootargs[256] = {0};
	ci1("getprop", 4, chosen, A("bootargs"), A(bootargs), sizeof bootargs - 1);

	/* the tree */
	walk(root_ph, 0, 0);
	pf("ci-test: walked %u nodes, %u properties\n", n_nodes, n_props);
	check("walk.consistent", walk_bad == 0 && n_nodes > 5 && n_props > 20, "%s", walk_bad ? "no" : "yes");
	check("peer.0-is-root", root_ph && root_ph != ~0u, "%s", root_ph && root_ph != ~0u ? "yes" : "no");
	check("parent.root", ci1("parent", 1, root_ph) == 0, "%d", ci1("parent", 1, root_ph));
	char s[256];
	mset(s, 0, sizeof s);
	ci1("getprop", 4, root_ph, A("compatible"), A(s), sizeof s - 1);
	check("root.compatible", s[0] != 0, "%s", s);
	mset(s, 0, sizeof s);
	ci1("getprop", 4, root_ph, A("model"), A(s), sizeof s - 1);
	check("root.model", s[0] != 0, "%s", s);
	u32 mem = ci1("finddevice", 1, A("/memory"));
	mset(s, 0, sizeof s);
	u32 len = ci1("package-to-path", 3, mem, A(s), sizeof s);
	check("finddevice./memory", !scmp(s, "/memory@0") && len == 9, "%s len=%d", s, len);
	check("finddevice./memory@0", ci1("finddevice", 1, A("/memory@0")) == mem, "%s", ci1("finddevice", 1, A("/memory@0")) == mem ? "same" : "different");
	check("finddevice.unit-leading-zeros", ci1("finddevice", 1, A("/memory@00")) == mem, "%s", ci1("finddevice", 1, A("/memory@00")) == mem ? "same" : "different");
	u32 reg[4] = {0};
	u32 rl = ci1("getprop", 4, mem, A("reg"), A(reg), sizeof reg);
	check("memory.reg", rl == 16 && reg[3] == 0x40000000, "%x %x %x %x", reg[0], reg[1], reg[2], reg[3]);
	check("finddevice.missing", ci1("finddevice", 1, A("/no/such@node")) == ~0u, "%d", ci1("finddevice", 1, A("/no/such@node")));
	check("getprop.missing", ci1("getprop", 4, root_ph, A("no-such-prop"), A(s), 4) == ~0u, "%d", ci1("getprop", 4, root_ph, A("no-such-prop"), A(s), 4));
	check("getproplen.missing", ci1("getproplen", 2, root_ph, A("no-such-prop")) == ~0u, "%d", ci1("getproplen", 2, root_ph, A("no-such-prop")));
	check("getprop.bad-phandle", ci1("getprop", 4, 0xdead0000, A("name"), A(s), 4) == ~0u, "%d", ci1("getprop", 4, 0xdead0000, A("name"), A(s), 4));
	u32 vty = ci1("finddevice", 1, A("/vdevice/vty@71000000"));
	pname[0] = 0;
	u32 np = ci1("nextprop", 3, vty, A(""), A(pname));
	check("nextprop.first", np == 1 && pname[0], "%d", np);
	mset(s, 0, sizeof s);
	ci1("getprop", 4, vty, A("name"), A(s), sizeof s);
	check("name.synthesized", !scmp(s, "vty"), "%s", s);
	{	/* the vty's property names: SLOF lists them newest first and adds "slof,from-fdt";
		 * the shim keeps FDT order with "name" first. Compared as a sorted set. */
		char names[16][64], prev[64] = {0}, list[256] = {0};
		int n = 0;
		while (n < 16 && ci1("nextprop", 3, vty, A(prev), A(names[n])) == 1) {
			mcpy(prev, names[n], 64);
			if (sncmp(names[n], "slof,", 5)) n++;
		}
		int first_is_name = n && !scmp(names[0], "name");
		for (int i = 0; i < n; i++)	/* insertion sort */
			for (int j = i; j > 0 && scmp(names[j - 1], names[j]) > 0; j--) {
				char t[64]; mcpy(t, names[j], 64); mcpy(names[j], names[j - 1], 64); mcpy(names[j - 1], t, 64);
			}
		u32 o = 0;
		for (int i = 0; i < n && o + slen(names[i]) + 2 < sizeof list; i++) {
			if (o) list[o++] = ',';
			mcpy(list + o, names[i], slen(names[i])); o += slen(names[i]);
		}
		check("nextprop.vty-names", n >= 5, "%s", list);
		if (under_shim) check("shim.nextprop.name-first", first_is_name, "%s", first_is_name ? "yes" : "no");
	}
	u32 cpu0 = ci1("finddevice", 1, A("/cpus/PowerPC,POWER9@0"));
	check("cpu.timebase-frequency", getprop_u32(cpu0, "timebase-frequency") != 0, "%d", getprop_u32(cpu0, "timebase-frequency"));
	u32 rt = ci1("finddevice", 1, A("/rtas"));
	check("rtas.tokens", getprop_u32(rt, "power-off") != 0, "power-off=%x start-cpu=%x stop-self=%x", getprop_u32(rt, "power-off"),
	      getprop_u32(rt, "start-cpu"), getprop_u32(rt, "stop-self"));
	u32 tph = ci1("finddevice", 1, A("/vdevice/vty@71000000"));
	check("stdout.package", ci1("instance-to-package", 1, stdout_ih) == tph, "%s", ci1("instance-to-package", 1, stdout_ih) == tph ? "vty" : "other");
	mset(s, 0, sizeof s);
	len = ci1("instance-to-path", 3, stdout_ih, A(s), sizeof s);
	check("stdout.path", !sncmp(s, "/vdevice/vty@71000000", 21) && len == slen(s), "%s", s);
	check("chosen.bootargs", 1, "%s", bootargs);
	check("write.len", ci1("write", 3, stdout_ih, A("ci-test: write\n"), 15) == 15, "%d", 15);
	u32 stdin_ih = getprop_u32(chosen, "stdin");
	char key[4];
	s32 kr = ci1("read", 3, stdin_ih, A(key), 1);
	check("read.stdin-no-key", kr == 0 || kr == -2, "%d", kr);
	if (under_shim) {
		ci("close", 1, 0, stdout_ih);
		u32 again = ci1("write", 3, stdout_ih, A("ci-test: stdout still open\n"), 27);
		check("shim.close-stdout-keeps-it", again == 27, "%d", again);
	}

	/* setprop / getprop round trip */
	u32 r = ci1("setprop", 4, chosen, A("kexboot,test"), A("hello"), 6);
	mset(s, 0, sizeof s);
	u32 g = ci1("getprop", 4, chosen, A("kexboot,test"), A(s), sizeof s);
	check("setprop.new", r == 6 && g == 6 && !scmp(s, "hello"), "set=%d get=%d %s", r, g, s);
	r = ci1("setprop", 4, chosen, A("kexboot,test"), A("a longer value"), 15);
	mset(s, 0, sizeof s);
	g = ci1("getprop", 4, chosen, A("kexboot,test"), A(s), sizeof s);
	check("setprop.replace", r == 15 && g == 15 && !scmp(s, "a longer value"), "set=%d get=%d %s", r, g, s);
	check("getproplen.after-setprop", ci1("getproplen", 2, chosen, A("kexboot,test")) == 15, "%d", ci1("getproplen", 2, chosen, A("kexboot,test")));
	mset(s, 0, sizeof s);
	g = ci1("getprop", 4, chosen, A("kexboot,test"), A(s), 4);
	check("getprop.short-buffer", g == 15 && s[3] == 'o' && s[4] == 0, "get=%d copied=%s", g, s);

	/* services */
	check("test.finddevice", ci1("test", 1, A("finddevice")) == 0, "%d", ci1("test", 1, A("finddevice")));
	check("test.missing", ci1("test", 1, A("no-such-service")) != 0, "%s", ci1("test", 1, A("no-such-service")) ? "missing" : "present");
	u32 ms1 = ci1("milliseconds", 0);
	for (volatile int i = 0; i < 100000; i++);
	u32 ms2 = ci1("milliseconds", 0);
	check("milliseconds.monotonic", ms2 >= ms1 && ms1 != 0xdeadbeef, "%s", ms2 >= ms1 ? "yes" : "no");
	long rc = ci("no-such-service", 0, 1, (u32 *)0);
	check("unknown-service", rc == -1, "%d", (s32)rc);
	u32 catch = 0;
	ci("interpret", 1, 1, A("no-such-forth-word-here"), &catch);
	check("interpret.unknown", catch != 0, "%s", catch ? "fails" : "runs");
	if (under_shim) {	/* SLOF forwards CAS to QEMU, which may reset the machine to apply it */
		static u32 vec[8] = { 0 };
		u32 rootih = ci1("open", 1, A("/")), res = ~0u;
		catch = ~0u;
		ci("call-method", 3, 2, A("ibm,client-architecture-support"), rootih, A(vec), &catch, &res);
		check("shim.cas", rootih && catch == 0 && res == 0, "catch=%d result=%d", catch, res);
		ci("close", 1, 0, rootih);
	}
	if (under_shim) {
		catch = ~0u;
		ci("interpret", 1, 1, A("cursor-off"), &catch);
		check("shim.interpret.cursor-off", catch == 0, "%d", catch);
	}

	/* memory */
	u32 c1 = ci1("claim", 3, 0x20000000, 0x10000, 0);
	check("claim.fixed", c1 == 0x20000000, "%x", c1);
	u32 c2 = ci1("claim", 3, 0x20008000, 0x1000, 0);
	check("claim.overlap-refused", c2 == ~0u, "%d", c2);
	u32 c3 = ci1("claim", 3, 0, 0x3000, 0x10000);
	check("claim.aligned", c3 != ~0u && (c3 & 0xffff) == 0 && (c3 + 0x3000 <= 0x20000000 || c3 >= 0x20010000), "%s", c3 != ~0u && !(c3 & 0xffff) ? "aligned" : "bad");
	u32 avail[64] = {0};
	u32 al = ci1("getprop", 4, mem, A("available"), A(avail), sizeof avail);
	int inside = 0;
	for (u32 i = 0; i + 4 <= al / 4 && al != ~0u; i += 4)
		if (avail[i + 1] <= 0x20000000 && avail[i + 1] + avail[i + 3] > 0x20000000) inside = 1;
	check("available.follows-claim", al != ~0u && !inside, "%s", inside ? "still-free" : "claimed");
	ci("release", 2, 0, 0x20000000, 0x10000);
	ci("release", 2, 0, c3, 0x3000);
	al = ci1("getprop", 4, mem, A("available"), A(avail), sizeof avail);
	inside = 0;
	for (u32 i = 0; i + 4 <= al / 4 && al != ~0u; i += 4)
		if (avail[i + 1] <= 0x20000000 && avail[i + 1] + avail[i + 3] >= 0x20010000) inside = 1;
	check("available.follows-release", inside, "%s", inside ? "free" : "still-claimed");
	c1 = ci1("claim", 3, 0x20000000, 0x10000, 0);
	check("claim.after-release", c1 == 0x20000000, "%x", c1);
	ci("release", 2, 0, 0x20000000, 0x10000);
	u32 memih = getprop_u32(chosen, "memory");

	/* /memory's methods take #address-cells (2) cells of address: ( phys.lo phys.hi size align -- base.lo base.hi ).
	 * SLOF (QEMU 7.2) throws -1092 for every form of these, so they are shim-only. */
	u32 base = 0, basehi = ~0u;
	catch = ~0u;
	if (under_shim) {
	ci("call-method", 6, 3, A("claim"), memih, 0, 0x1000, 0, 0x20100000, &catch, &basehi, &base);
	check("shim.call-method.memory-claim", catch == 0 && base == 0x20100000 && basehi == 0, "catch=%d base=%x:%x", catch, basehi, base);
	check("shim.call-method.memory-claimed", ci1("claim", 3, 0x20100000, 0x1000, 0) == ~0u, "%s", "refused-again");
	catch = ~0u;
	ci("call-method", 5, 1, A("release"), memih, 0x1000, 0, 0x20100000, &catch);
	check("shim.call-method.memory-release", catch == 0, "catch=%d", catch);
	c1 = ci1("claim", 3, 0x20100000, 0x1000, 0);
	check("shim.call-method.memory-released", c1 == 0x20100000, "%x", c1);
	ci("release", 2, 0, 0x20100000, 0x1000);
	}

	/* the boot disk */
	char disk[256] = {0};
	u32 bl = ci1("getprop", 4, chosen, A("bootpath"), A(disk), sizeof disk - 1);
	if (bl == ~0u || !disk[0]) {
		/* SLOF started with -kernel has no bootpath: the disk alias is the same disk */
		ci1("canon", 3, A("disk"), A(disk), sizeof disk - 1);
	}
	for (char *p = disk; *p; p++) if (*p == ':') *p = 0;
	mset(s, 0, sizeof s);
	len = ci1("canon", 3, A("disk"), A(s), sizeof s);
	check("canon.disk", len == slen(s) && !scmp(s, disk), "%s", s);
	u32 dph = ci1("finddevice", 1, A(disk));
	check("finddevice.alias", ci1("finddevice", 1, A("disk")) == dph && dph != ~0u, "%s", ci1("finddevice", 1, A("disk")) == dph ? "disk" : "other");
	check("finddevice.alias-args", ci1("finddevice", 1, A("disk:1")) == dph, "%s", ci1("finddevice", 1, A("disk:1")) == dph ? "disk" : "other");
	mset(s, 0, sizeof s);
	len = ci1("canon", 3, A("disk:1"), A(s), sizeof s);
	check("canon.disk:1", len == slen(s) && !scmp(s, disk), "%s", "args-dropped");
	u32 ok = ci1("claim", 3, DISKBUF, 0x100000, 0) == DISKBUF;
	u8 *buf = (u8 *)(u64)DISKBUF;
	char path[300];
	mcpy(path, disk, slen(disk)); mcpy(path + slen(disk), ":0", 3);
	u32 d0 = ci1("open", 1, A(path));
	check("open.disk:0", d0 != 0 && ok, "%s", d0 ? "opened" : "failed");
	u32 bsz = 0, nblk = 0;
	catch = ~0u;
	ci("call-method", 2, 2, A("block-size"), d0, &catch, &bsz);
	check("block-size", catch == 0 && bsz == 512, "%d", bsz);
	ci("call-method", 2, 2, A("#blocks"), d0, &catch, &nblk);
	check("shim.#blocks.disk", catch == 0 && nblk > 0, "%d", nblk);
	mset(buf, 0, 512);
	u32 got = ci1("read", 3, d0, A(buf), 512);
	check("read.disk:0.lba0", got == 512 && buf[510] == 0x55 && buf[511] == 0xaa, "len=%d crc=%x", got, crc32(buf, 512));
	mset(s, 0, sizeof s);
	len = ci1("instance-to-path", 3, d0, A(s), sizeof s);
	check("instance-to-path.disk:0", len == slen(s) && !sncmp(s, disk, slen(disk)), "%s", s);
	check(under_shim ? "shim.instance-to-package.disk" : "slof.instance-to-package.disk", !under_shim || ci1("instance-to-package", 1, d0) == ci1("finddevice", 1, A(disk)), "%s", "same");
	ci("close", 1, 0, d0);
	mcpy(path + slen(disk), ":1", 3);
	u32 d1 = ci1("open", 1, A(path));
	check("open.disk:1", d1 != 0, "%s", d1 ? "opened" : "failed");
	mset(buf, 0, 1024);
	check("seek.disk:1.0", ci1("seek", 3, d1, 0, 0) == 0, "%s", "0");
	got = ci1("read", 3, d1, A(buf), 512);
	check("read.disk:1.lba0", got == 512 && !sncmp((char *)buf, "KXTEST-P1", 9), "len=%d crc=%x", got, crc32(buf, 512));
	check("seek.disk:1", ci1("seek", 3, d1, 0, 3 * 512) == 0, "%d", ci1("seek", 3, d1, 0, 3 * 512));
	got = ci1("read", 3, d1, A(buf), 512);
	check("read.disk:1.lba3", got == 512 && buf[0] == 3, "len=%d crc=%x", got, crc32(buf, 512));
	u32 nread = 0;
	catch = ~0u;
	if (under_shim) ci("call-method", 5, 2, A("read-blocks"), d1, 2, 1, A(buf), &catch, &nread);
	if (under_shim) check("shim.read-blocks.disk:1", catch == 0 && nread == 2 && buf[0] == 1 && buf[512] == 2, "catch=%d n=%d crc=%x", catch, nread, crc32(buf, 1024));
	mset(s, 0, sizeof s);
	len = ci1("instance-to-path", 3, d1, A(s), sizeof s);
	check("instance-to-path.disk:1", len == slen(s) && !sncmp(s, disk, slen(disk)) && s[len - 2] == ':' && s[len - 1] == '1', "%s", s + slen(disk));
	if (!sncmp(bootargs, "bench", 5)) {
		u32 total = 0, t0 = ci1("milliseconds", 0);
		ci1("seek", 3, d1, 0, 0);
		for (;;) {
			u32 n = ci1("read", 3, d1, A(buf), 0x10000);
			if (n == ~0u) pf("BENCH read failed at %u\n", total);
			if (n == 0 || n == ~0u || n == (u32)-2) break;
			total += n;
		}
		u32 t1 = ci1("milliseconds", 0);
		pf("BENCH read bytes=%u ms=%u\n", total, t1 - t0);
	}
	ci("close", 1, 0, d1);
	check("open.missing", ci1("open", 1, A("/no/such/device")) == 0, "%d", ci1("open", 1, A("/no/such/device")));

	/* bad arguments: answers only the shim promises */
	if (under_shim) {
		rc = ci("getprop", 2, 1, root_ph, A("name"), &r);
		check("shim.too-few-args", rc == -1, "%d", (s32)rc);
		rc = call_ci(ci_entry, (u32 *)0x100);
		check("shim.args-in-firmware", rc == -1, "%d", (s32)rc);
		u32 many[3] = { A("milliseconds"), 25, 1 };
		rc = call_ci(ci_entry, many);
		check("shim.too-many-args", rc == -1, "%d", (s32)rc);
		check("shim.write-into-firmware", ci1("getprop", 4, root_ph, A("model"), 0x100, 16) == ~0u, "%d", ci1("getprop", 4, root_ph, A("model"), 0x100, 16));
		check("shim.buffer-beyond-ram", ci1("getprop", 4, root_ph, A("model"), 0xfffff000, 16) == ~0u, "%d", ci1("getprop", 4, root_ph, A("model"), 0xfffff000, 16));
		check("shim.null-path", ci1("finddevice", 1, 0) == ~0u, "%d", ci1("finddevice", 1, 0));
		catch = 0;
		ci("call-method", 2, 1, A("block-size"), 0x1234, &catch);
		check("shim.bad-ihandle", catch != 0, "%d", catch);
		check("shim.release-firmware", (ci("release", 2, 0, 0, 0x1000), 1), "%s", "refused");
		u32 fw = ci1("claim", 3, 0x1000, 0x1000, 0);
		check("shim.claim-over-firmware", fw == ~0u, "%d", fw);
		check("shim.read-closed", ci1("read", 3, d1, A(buf), 16) == ~0u, "%d", ci1("read", 3, d1, A(buf), 16));
		mcpy(path + slen(disk), ":9", 3);
		check("shim.open-missing-partition", ci1("open", 1, A(path)) == 0, "%s", "refused");
		char bp[256] = {0};
		ci1("getprop", 4, chosen, A("bootpath"), A(bp), sizeof bp - 1);
		check("shim.chosen.bootpath", bp[0] == '/', "%s", bp);
		check("shim.chosen.mmu", getprop_u32(chosen, "mmu") != 0, "%s", "set");
		check("shim.initrd-hidden", ci1("getproplen", 2, chosen, A("linux,initrd-start")) == ~0u, "%s", "yes");
		u32 cpu = getprop_u32(chosen, "cpu");
		catch = ~0u;
		ci("call-method", 6, 1, A("map"), cpu, 0x10, 0x1000, 0x1000, 0x1000, &catch);
		check("shim.mmu-map", catch == 0, "%d", catch);
	}
	rtas_init();
	check("instantiate-rtas", rtas_entry != 0, "%s", rtas_entry ? "entry" : "failed");
	if (under_shim) secondary_check();
	if (under_shim) {	/* SLOF's enter is its Forth prompt: it would wait for a human */
		rc = ci("enter", 0, 0);
		check("shim.enter-returns", rc == 0, "%d", (s32)rc);
	}
	rc = ci("quiesce", 0, 0);
	check("quiesce", rc == 0, "%d", (s32)rc);
	check("first-ci.tb", 1, "%x", (u32)(first_ci_tb - start_tb));
	pf("TB entry=%X first-ci=%X\n", start_tb, first_ci_tb);
	pf("RESULT %s %u checks, %u failed\n", failures ? "FAIL" : "PASS", checks, failures);
	rtas_power_off();
}
