/* libFuzzer target `fdt`: a flattened device tree as the kernel would hand it to the shim.
 * The shim starts on it (shim_main: the tree, the console, RTAS, memory, the reserve
 * map, /chosen) and, when it gets as far as entering a client, the harness is that
 * client: it walks the tree through the CI as the CI test client does. */
#include "client.h"

#define FDT_AT 0x1000000ul	/* below QEMU's -kernel (0x3400000) and initrd, above the shim */
#define MAX_NODES 1000	/* per input: keeps one run in milliseconds */

static void start(void *fdt) { shim_main(fdt, 1); }
static void parse(void *in) { const u64 *a = in; tree_from_fdt((const void *)a[0], a[1]); }

/* IEEE 1275 wants unique phandles, and clients walk peer/child/parent by them: a duplicate
 * sends that walk round in circles, and 0 or -1 reads as "none" or "error". (tree.c gives
 * such nodes new ones.) */
static void check_phandles(void)
{
	static struct node *seen[1 << 14];
	static u32 mark[1 << 14], gen;
	gen++;
	int count = 0;
	for (struct node *n = root; n;) {
		if (!n->phandle || n->phandle == NO) host_die("node %s has phandle 0x%x", n->name, n->phandle);
		u32 h = n->phandle * 2654435761u >> 18;
		while (mark[h] == gen && seen[h]->phandle != n->phandle) h = (h + 1) & ((1 << 14) - 1);
		if (mark[h] == gen) host_die("nodes %s and %s share phandle 0x%x", seen[h]->name, n->name, n->phandle);
		if (++count == 1 << 13) return;	/* the table is for trees this size */
		mark[h] = gen; seen[h] = n;
		if (node_by_phandle(n->phandle) != n) host_die("node_by_phandle(0x%x) is not %s", n->phandle, n->name);
		if (n->child) { n = n->child; continue; }
		while (n && !n->peer) n = n->parent;
		if (n) n = n->peer;
	}
}

static void visit(u32 ph)
{
	u32 mark = client_mark();
	u32 path = client_buf(600), canon = client_buf(600), buf = client_buf(4096);
	u32 names[2] = { client_buf(64), client_buf(64) };
	if (!path || !canon || !buf || !names[1]) return;
	u32 len = ci3("package-to-path", ph, path, 600);
	if (len != NO && len < 600) {
		ci1("finddevice", path);
		ci3("canon", path, canon, 600);
		u32 ih = ci1("open", path);
		if (ih && ih != NO) {
			ci1("instance-to-package", ih);
			ci3("instance-to-path", ih, canon, 600);
			ci1("close", ih);
		}
	}
	/* Every property: getprop returns what getproplen does (the whole length). */
	u32 prev = 0;
	for (int k = 0; k < 256; k++) {
		u32 name = names[k & 1];
		if (ci3("nextprop", ph, prev, name) != 1) break;
		u32 want = ci2("getproplen", ph, name), got = ci4("getprop", ph, name, buf, 4096);
		if (got != NO && got != want) host_die("getprop of %s: %u bytes, getproplen says %u", (char *)ptr(name), got, want);
		ci4("getprop", ph, name, buf, 3);
		prev = name;
	}
	client_release(mark);
}

/* Depth first through child, peer and parent, as Linux's prom_init copies the tree. */
static void walk(void)
{
	u32 n = ci1("peer", 0);
	int count = 0, depth = 0;
	while (n && n != NO && count++ < MAX_NODES) {
		visit(n);
		u32 c = ci1("child", n);
		if (c && c != NO) { n = c; depth++; continue; }
		for (;;) {
			u32 p = ci1("peer", n);
			if (p && p != NO) { n = p; break; }
			if (!depth--) return;
			n = ci1("parent", n);
			if (!n || n == NO) return;
		}
	}
}

/* What a client does besides walking: aliases, the console, memory, RTAS, the odd call. */
static void services(void)
{
	u32 mark = client_mark(), name = client_buf(64), prev = 0, buf = client_buf(600), s;
	u32 aliases = ci1("finddevice", client_str("/aliases"));
	for (int k = 0; aliases != NO && name && k < 64 && ci3("nextprop", aliases, prev, name) == 1; k++) {
		char with[80];
		u32 n = strlen(ptr(name));
		memcpy(with, ptr(name), n);
		memcpy(with + n, ":1", 3);
		ci1("finddevice", client_str(with));
		memcpy(with + n, "/x@0,1:a", 9);
		ci3("canon", client_str(with), buf, 600);
		ci1("open", client_str(with));
		prev = client_str(ptr(name));
	}
	u32 chosen = ci1("finddevice", client_str("/chosen")), cell = client_buf(4);
	if (chosen != NO && cell) {
		if (ci4("getprop", chosen, client_str("stdout"), cell, 4) == 4 && (s = rd32(ptr(cell)))) {
			ci3("write", s, client_str("ofshim-fuzz\n"), 12);
			ci3("read", s, buf, 16);
			ci3("instance-to-path", s, buf, 600);
			u32 in[2] = { client_str("color!"), s }, r[2];
			ci("call-method", 2, 1, in, r);
			ci1("close", s);
		}
		if (ci4("getprop", chosen, client_str("memory"), cell, 4) == 4 && (s = rd32(ptr(cell)))) {
			u32 in[5] = { client_str("claim"), s, 0x1000, 0x10000, 0 }, r[3];
			ci("call-method", 5, 2, in, r);
			if (!r[0]) {
				u32 rel[4] = { client_str("release"), s, 0x10000, r[1] };
				ci("call-method", 4, 1, rel, r);
			}
			u32 in4[6] = { client_str("claim"), s, 0, 0x10000, 0, 0x2000000 };
			ci("call-method", 6, 3, in4, r);
		}
		if (ci4("getprop", chosen, client_str("cpu"), cell, 4) == 4 && (s = rd32(ptr(cell)))) {
			u32 in[3] = { client_str("translate"), s, 0x3000000 }, r[5];
			ci("call-method", 3, 5, in, r);
		}
	}
	u32 rtas = ci1("open", client_str("/rtas"));
	if (rtas && rtas != NO) {
		u32 in[3] = { client_str("instantiate-rtas"), rtas, buf }, r[2];
		ci("call-method", 3, 2, in, r);
	}
	u32 top = ci1("open", client_str("/"));
	if (top && top != NO) {
		u32 in[3] = { client_str("ibm,client-architecture-support"), top, buf }, r[2];
		ci("call-method", 3, 2, in, r);
	}
	u32 a = ci3("claim", 0, 0x100000, 0x100000);
	if (a != NO) ci2("release", a, 0x100000);
	ci3("claim", 0x2000000, 0x1000, 0);
	ci1("test", client_str("finddevice"));
	ci1("test", client_str("no-such-service"));
	u32 ms;
	ci("milliseconds", 0, 1, NULL, &ms);
	u32 cmd = client_str("cursor-off"), r[1];
	ci("interpret", 1, 1, &cmd, r);
	ci("quiesce", 0, 0, NULL, NULL);
	ci4("setprop", ci1("peer", 0), client_str("ofshim-fuzz"), buf, 16);
	client_release(mark);
}

/* Run by enter_client(): the shim got as far as starting a client. */
static void client(void)
{
	check_phandles();
	if (client_start()) return;
	walk();
	services();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc; (void)argv;
	host_fuzz_init(client);
	return 0;
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	host_reset();
	u32 total = size >= 8 ? rd32(data + 4) : 0;
	if (size < 40 || total < 40 || total > size || total > 0x800000) {
		/* Not a whole tree: the parser alone, on exactly these bytes. */
		u64 a[2] = { (u64)data, size };
		console_init(0x71000000);
		host_run(parse, a);
		return 0;
	}
	/* The kernel leaves the tree in RAM; the shim reads no further than its totalsize. */
	host_ram_clear(SCRATCH_AT, SCRATCH_SIZE);
	host_ram_put(FDT_AT, data, total, 1);	/* only the CI scratch RAM is written here */
	host_run(start, ptr(FDT_AT));
	return 0;
}
