/* The little-endian CI client: its cells are big endian, its CPU is not. */
typedef unsigned int u32;
typedef unsigned long u64;
long call_ci(u64 entry, u32 *args);
long call_ci_be(u64 entry, u32 *args);
static u64 ci;
#define BE(x) __builtin_bswap32(x)
#define A(p) ((u32)(u64)(p))

static u32 call(const char *name, int nargs, u32 a0, u32 a1, u32 a2, u32 a3)
{
	u32 c[9] = { BE(A(name)), BE(nargs), BE(1), BE(a0), BE(a1), BE(a2), BE(a3), 0, 0 };
	c[3 + nargs] = BE(0xdeadbeef);
	long rc = call_ci(ci, c);
	return rc ? ~0u : BE(c[3 + nargs]);
}

static u64 len(const char *s) { u64 n = 0; while (s[n]) n++; return n; }

void le_main(u64 entry)
{
	ci = entry;
	u32 chosen = call("finddevice", 1, A("/chosen"), 0, 0, 0);
	u32 out = 0;
	u32 n = call("getprop", 4, chosen, A("stdout"), A(&out), 4);
	out = BE(out);
	const char *msg = n == 4 && chosen != ~0u ? "CHECK le.client-interface works ok\n" : "CHECK le.client-interface broken FAIL\n";
	u32 w = call("write", 3, out, A(msg), len(msg), 0);
	/* the same entry called in big-endian mode */
	const char *m3 = "CHECK le.big-endian-call works ok\n";
	u32 cw[7] = { BE(A("write")), BE(3), BE(1), BE(out), BE(A(m3)), BE(len(m3)), 0 };
	long rc = call_ci_be(ci, cw);
	int be_ok = rc == 0 && BE(cw[6]) == len(m3);
	const char *m2 = w == len(msg) && be_ok ? "le-client: PASS\n" : "le-client: FAIL\n";
	call("write", 3, out, A(m2), len(m2), 0);
	u32 c[3] = { BE(A("exit")), 0, 0 };	/* back to the boot manager: a reboot, which ends QEMU -no-reboot */
	call_ci(ci, c);
	for (;;);
}
