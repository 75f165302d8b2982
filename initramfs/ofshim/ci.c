/* The IEEE 1275 client-interface services. */
#include "shim.h"

u32 rtas_power_off, rtas_reboot, rtas_stop_self;

enum { K_CONSOLE = 1, K_MEMORY, K_RTAS, K_DISK, K_CPU, K_ROOT };
struct inst { int kind; struct node *node; char args[64]; struct disk_inst d; };
#define MAX_INST 32
static struct inst insts[MAX_INST];
struct node *console_node, *memory_node, *rtas_node;
static struct node *chosen;

static struct inst *inst_of(u32 ih)
{
	u64 a = ih, b = phys(insts);
	if (a < b || a >= b + sizeof insts || (a - b) % sizeof insts[0]) return NULL;
	struct inst *i = &insts[(a - b) / sizeof insts[0]];
	return i->kind ? i : NULL;
}

/* ---- checking what the client hands us ---- */
static const char *svc_name;
static int complain(const char *what, u32 addr)
{
	printf("ofshim: %s: %s (0x%x)\n", svc_name, what, addr);
	return 0;
}
/* Sizes are 64-bit: read-blocks asks for #blocks times the block size. */
static int readable(u64 a, u64 n) { return mem_in_ram(a, n) ? 1 : complain("buffer outside memory", a); }
static int writable(u64 a, u64 n)
{
	if (!n) return 1;
	if (!mem_in_ram(a, n)) return complain("buffer outside memory", a);
	if (mem_fw_overlap(a, n)) return complain("buffer overlaps the firmware", a);
	return 1;
}
static const char *cstr(u32 a)
{
	if (!a) { complain("null string", a); return NULL; }
	for (u32 i = 0; i < 1024; i++) {
		if (!mem_in_ram((u64)a + i, 1)) break;	/* no wrap to 0 at 4 GiB */
		if (!*(char *)ptr((u64)a + i)) return ptr(a);
	}
	complain("bad string", a);
	return NULL;
}

static u32 copy_out(u32 buf, u32 buflen, const void *src, u32 len)
{
	u32 k = len < buflen ? len : buflen;
	if (!writable(buf, k)) return 0;
	memcpy(ptr(buf), src, k);
	return 1;
}

/* ---- instances ---- */
static u32 new_inst(int kind, struct node *n, const char *args)
{
	for (int i = 0; i < MAX_INST; i++) {
		if (insts[i].kind) continue;
		struct inst *in = &insts[i];
		memset(in, 0, sizeof *in);
		if (kind == K_DISK && disk_open(n, args, &in->d)) return 0;
		if (strlen(args) >= sizeof in->args) return 0;
		memcpy(in->args, args, strlen(args) + 1);
		in->kind = kind; in->node = n;
		return (u32)phys(in);
	}
	printf("ofshim: open: too many open instances\n");
	return 0;
}

static u32 open_node(struct node *n, const char *args)
{
	if (n == disk_node) return new_inst(K_DISK, n, args);
	if (*args) return 0;
	if (n == console_node) return new_inst(K_CONSOLE, n, args);
	if (n == memory_node) return new_inst(K_MEMORY, n, args);
	if (n == rtas_node) return new_inst(K_RTAS, n, args);
	if (n == root) return new_inst(K_ROOT, n, args);
	if (is_type(n, "cpu")) return new_inst(K_CPU, n, args);
	return 0;	/* no driver behind this node */
}

u32 ci_open_path(const char *path)
{
	const char *args;
	struct node *n = find_path(path, &args);
	return n ? open_node(n, args) : 0;
}

/* ---- services: a = the argument cells, r = the return cells ---- */
typedef void svc_fn(u32 *a, u32 *r);

static struct node *pkg(u32 ph) { return ph ? node_by_phandle(ph) : NULL; }

static void s_finddevice(u32 *a, u32 *r)
{
	const char *p = cstr(a[0]);
	struct node *n = p ? find_path(p, NULL) : NULL;
	r[0] = n ? n->phandle : ~0u;
}

static void s_getprop(u32 *a, u32 *r)
{
	const char *name = cstr(a[1]);
	struct prop *p = name ? find_prop(pkg(a[0]), name) : NULL;
	r[0] = p && copy_out(a[2], a[3], p->val, p->len) ? p->len : ~0u;
}

static void s_getproplen(u32 *a, u32 *r)
{
	const char *name = cstr(a[1]);
	struct prop *p = name ? find_prop(pkg(a[0]), name) : NULL;
	r[0] = p ? p->len : ~0u;
}

static void s_setprop(u32 *a, u32 *r)
{
	struct node *n = pkg(a[0]);
	const char *name = cstr(a[1]);
	r[0] = ~0u;
	if (!n || !name || a[3] > 0x10000 || !readable(a[2], a[3]) || strlen(name) > 63) return;
	if (!set_prop(n, name, ptr(a[2]), a[3])) r[0] = a[3];
}

static void s_nextprop(u32 *a, u32 *r)
{
	struct node *n = pkg(a[0]);
	r[0] = ~0u;
	if (!n || !writable(a[2], 1)) return;
	const char *prev = a[1] ? cstr(a[1]) : "";
	if (!prev) return;
	struct prop *p = n->props;
	if (*prev) {
		p = find_prop(n, prev);
		if (!p) return;
		p = p->next;
	}
	if (!p) { *(char *)ptr(a[2]) = 0; r[0] = 0; return; }
	/* IEEE 1275 says 32 bytes, but QEMU's names run longer: like SLOF, write the whole name (Linux passes 64). */
	u32 len = strlen(p->name);
	if (len > 63) len = 63;
	if (!writable(a[2], len + 1)) return;
	memcpy(ptr(a[2]), p->name, len);
	((char *)ptr(a[2]))[len] = 0;
	r[0] = 1;
}

static void s_peer(u32 *a, u32 *r)
{
	struct node *n = a[0] ? pkg(a[0]) : NULL;
	if (!a[0]) r[0] = root->phandle;
	else r[0] = n ? (n->peer ? n->peer->phandle : 0) : ~0u;
}
static void s_child(u32 *a, u32 *r)
{
	struct node *n = pkg(a[0]);
	r[0] = n ? (n->child ? n->child->phandle : 0) : ~0u;
}
static void s_parent(u32 *a, u32 *r)
{
	struct node *n = pkg(a[0]);
	r[0] = n ? (n->parent ? n->parent->phandle : 0) : ~0u;
}

/* Lengths come back without the NUL, as SLOF returns them. */
static u32 out_path(struct node *n, const char *args, u32 buf, u32 buflen)
{
	char tmp[600];
	int len = node_path(n, tmp, sizeof tmp - 70);
	if (len >= (int)sizeof tmp - 70) return ~0u;
	if (args && *args) {
		if (strlen(args) > 64) return ~0u;
		tmp[len++] = ':'; memcpy(tmp + len, args, strlen(args)); len += strlen(args);
	}
	tmp[len] = 0;
	return copy_out(buf, buflen, tmp, len + 1 <= (int)buflen ? len + 1 : len) ? (u32)len : ~0u;
}

/* Like SLOF, canon gives the node's path: "disk:1" becomes the disk's path without ":1". */
static void s_canon(u32 *a, u32 *r)
{
	const char *p = cstr(a[0]);
	struct node *n = p ? find_path(p, NULL) : NULL;
	r[0] = n ? out_path(n, NULL, a[1], a[2]) : ~0u;
}
static void s_package_to_path(u32 *a, u32 *r)
{
	struct node *n = pkg(a[0]);
	r[0] = n ? out_path(n, NULL, a[1], a[2]) : ~0u;
}
static void s_instance_to_path(u32 *a, u32 *r)
{
	struct inst *i = inst_of(a[0]);
	r[0] = i ? out_path(i->node, i->args, a[1], a[2]) : ~0u;
}
static void s_instance_to_package(u32 *a, u32 *r)
{
	struct inst *i = inst_of(a[0]);
	r[0] = i ? i->node->phandle : ~0u;
}

static void s_open(u32 *a, u32 *r)
{
	const char *p = cstr(a[0]);
	r[0] = p ? ci_open_path(p) : 0;
}
static u32 stdin_ih, stdout_ih;
static void s_close(u32 *a, u32 *r)
{
	struct inst *i = inst_of(a[0]);
	(void)r;
	/* /chosen keeps naming the console instances, so they stay open (a client that
	 * closes stdin before booting on must not have its handle reused under it). */
	if (i && a[0] != stdin_ih && a[0] != stdout_ih) i->kind = 0;
}

static void s_read(u32 *a, u32 *r)
{
	struct inst *i = inst_of(a[0]);
	r[0] = ~0u;
	if (!i || !writable(a[1], a[2])) return;
	if (i->kind == K_CONSOLE) {
		long n = console_read(ptr(a[1]), a[2]);
		r[0] = n ? (u32)n : (u32)-2;	/* -2: nothing yet, ask again */
	} else if (i->kind == K_DISK) {
		r[0] = disk_read(&i->d, ptr(a[1]), a[2]);
	}
}
static void s_write(u32 *a, u32 *r)
{
	struct inst *i = inst_of(a[0]);
	r[0] = ~0u;
	if (!i || i->kind != K_CONSOLE || !readable(a[1], a[2])) return;
	console_write(ptr(a[1]), a[2]);
	r[0] = a[2];
}
static void s_seek(u32 *a, u32 *r)
{
	struct inst *i = inst_of(a[0]);
	r[0] = i && i->kind == K_DISK && !disk_seek(&i->d, (u64)a[1] << 32 | a[2]) ? 0 : ~0u;
}

static void s_claim(u32 *a, u32 *r)
{
	u32 virt = a[0], size = a[1], align = a[2];
	if (align) r[0] = mem_claim_aligned(size, align);
	else r[0] = mem_claim_at(virt, size, OWN_CLIENT) ? ~0u : virt;
}
static void s_release(u32 *a, u32 *r)
{
	(void)r;
	if (mem_release(a[0], a[1])) printf("ofshim: release: 0x%x+0x%x was not claimed by the client\n", a[0], a[1]);
}

/* The five-instruction RTAS blob: the hypervisor implements RTAS behind H_RTAS. */
static const u32 rtas_blob[] = { 0x7c641b78, 0x38600000, 0x6063f000, 0x44000022, 0x4e800020 };

static int method(struct inst *i, const char *m, u32 *a, u32 n, u32 *r, u32 nr)
{
	/* a[0] is the top of the Forth stack: for "claim ( virt size align )" a = align, size, virt. */
	/* /memory's address is #address-cells cells: ( phys.lo [phys.hi] size align -- base.lo [base.hi] ) */
	if (i->kind == K_MEMORY && !strcmp(m, "claim") && n >= 3 && nr >= 1) {
		u64 virt = n >= 4 ? (u64)a[2] << 32 | a[3] : a[2], base;
		if (virt >> 32 && !a[0]) return -1;
		base = a[0] ? mem_claim_aligned(a[1], a[0]) : mem_claim_at(virt, a[1], OWN_CLIENT) ? ~0ul : virt;
		if (base == ~0ul) return -1;
		if (n >= 4 && nr >= 2) { r[0] = 0; r[1] = base; } else r[0] = base;
		return 0;
	}
	if (i->kind == K_MEMORY && !strcmp(m, "release") && n >= 2)
		return mem_release(n >= 3 ? (u64)a[1] << 32 | a[2] : a[1], a[0]);
	if (i->kind == K_RTAS && !strcmp(m, "instantiate-rtas") && n >= 1 && nr >= 1) {
		if (!writable(a[0], sizeof rtas_blob)) return -1;
		memcpy(ptr(a[0]), rtas_blob, sizeof rtas_blob);
		flush_cache(a[0], sizeof rtas_blob);
		r[0] = a[0];
		return 0;
	}
	if (i->kind == K_DISK && !strcmp(m, "block-size") && nr >= 1) { r[0] = disk_block_size(); return 0; }
	if (i->kind == K_DISK && !strcmp(m, "#blocks") && nr >= 1) { r[0] = i->d.blocks; return 0; }
	if (i->kind == K_DISK && !strcmp(m, "read-blocks") && n >= 3 && nr >= 1) {
		u64 bs = disk_block_size(), pos = (u64)a[1] * bs, len = (u64)a[0] * bs;
		/* A bundle without tables need not give a block size: no blocks to read then. */
		if (!bs) { printf("ofshim: read-blocks: the bundle gives no block size\n"); return -1; }
		if (!writable(a[2], len) || disk_seek(&i->d, pos)) return -1;
		s64 got = disk_read(&i->d, ptr(a[2]), len);
		r[0] = got < 0 ? 0 : got / bs;
		return 0;
	}
	if (i->kind == K_ROOT && !strcmp(m, "ibm,client-architecture-support") && nr >= 1) {
		r[0] = 0;	/* accepted; the tree stays as the boot manager built it */
		return 0;
	}
	if (i->kind == K_CPU && (!strcmp(m, "map") || !strcmp(m, "unmap"))) return 0;	/* real mode: identity */
	if (i->kind == K_CONSOLE && !strcmp(m, "color!")) return 0;	/* GRUB sets a palette; a vty has none */
	if (i->kind == K_CPU && !strcmp(m, "translate") && n >= 1 && nr >= 4) {
		r[0] = ~0u; r[1] = 0; r[2] = a[0]; r[3] = 0;	/* true, phys.hi, phys.lo, mode */
		return 0;
	}
	printf("ofshim: call-method: no method \"%s\" on %s\n", m, i->node->name);
	return -1;
}

static void s_call_method(u32 *a, u32 *r, u32 nargs, u32 nret)
{
	const char *m = cstr(a[0]);
	struct inst *i = inst_of(a[1]);
	for (u32 k = 0; k < nret; k++) r[k] = 0;
	if (!m || !i) { r[0] = ~0u; if (!i) complain("bad ihandle", a[1]); return; }
	r[0] = method(i, m, a + 2, nargs - 2, r + 1, nret - 1);
}

static void s_milliseconds(u32 *a, u32 *r) { (void)a; r[0] = get_tb() / (tb_freq / 1000); }

static void s_interpret(u32 *a, u32 *r, u32 nargs, u32 nret)
{
	(void)nargs;
	const char *cmd = cstr(a[0]);
	for (u32 k = 0; k < nret; k++) r[k] = 0;
	if (!cmd) { r[0] = ~0u; return; }
	if (!strcmp(cmd, "power-off")) power_off();
	if (!strcmp(cmd, "reset-all")) reboot();
	if (!strcmp(cmd, "cursor-on") || !strcmp(cmd, "cursor-off")) return;
	printf("ofshim: interpret: no Forth here; \"%s\" not run\n", cmd);
	r[0] = ~0u;
}

static void s_quiesce(u32 *a, u32 *r) { (void)a; (void)r; }
static void s_enter(u32 *a, u32 *r) { (void)a; (void)r; printf("ofshim: enter: there is no firmware prompt; returning\n"); }
static void s_exit(u32 *a, u32 *r)
{
	(void)a; (void)r;
	printf("ofshim: the client called exit; rebooting into the boot manager\n");
	reboot();
}

static int known(const char *name);
static void s_test(u32 *a, u32 *r)
{
	const char *n = cstr(a[0]);
	r[0] = n && known(n) ? 0 : ~0u;
}

static const struct { const char *name; u8 nargs, nret, varargs; void *fn; } services[] = {
	{ "finddevice", 1, 1, 0, s_finddevice },
	{ "getprop", 4, 1, 0, s_getprop },
	{ "getproplen", 2, 1, 0, s_getproplen },
	{ "setprop", 4, 1, 0, s_setprop },
	{ "nextprop", 3, 1, 0, s_nextprop },
	{ "peer", 1, 1, 0, s_peer },
	{ "child", 1, 1, 0, s_child },
	{ "parent", 1, 1, 0, s_parent },
	{ "canon", 3, 1, 0, s_canon },
	{ "instance-to-package", 1, 1, 0, s_instance_to_package },
	{ "package-to-path", 3, 1, 0, s_package_to_path },
	{ "instance-to-path", 3, 1, 0, s_instance_to_path },
	{ "open", 1, 1, 0, s_open },
	{ "close", 1, 0, 0, s_close },
	{ "read", 3, 1, 0, s_read },
	{ "write", 3, 1, 0, s_write },
	{ "seek", 3, 1, 0, s_seek },
	{ "claim", 3, 1, 0, s_claim },
	{ "release", 2, 0, 0, s_release },
	{ "call-method", 2, 1, 1, s_call_method },
	{ "test", 1, 1, 0, s_test },
	{ "milliseconds", 0, 1, 0, s_milliseconds },
	{ "interpret", 1, 1, 1, s_interpret },
	{ "quiesce", 0, 0, 0, s_quiesce },
	{ "enter", 0, 0, 0, s_enter },
	{ "exit", 0, 0, 0, s_exit },
};
#define NSERVICES (sizeof services / sizeof services[0])

static int known(const char *name)
{
	for (u32 i = 0; i < NSERVICES; i++) if (!strcmp(services[i].name, name)) return 1;
	return 0;
}

s32 ci_handler(u32 *args)
{
	svc_name = "client interface";
	if (!mem_in_ram(phys(args), 12) || mem_fw_overlap(phys(args), 12)) { complain("argument array outside client memory", (u32)phys(args)); return -1; }
	u32 nargs = args[1], nret = args[2];
	if (nargs > 20 || nret > 20 || !writable(phys(args), 4 * (3 + nargs + nret))) { complain("bad argument count", nargs); return -1; }
	const char *name = cstr(args[0]);
	if (!name) return -1;
	for (u32 i = 0; i < NSERVICES; i++) {
		if (strcmp(services[i].name, name)) continue;
		svc_name = services[i].name;
		if (nargs < services[i].nargs || nret < services[i].nret) {
			printf("ofshim: %s: called with %u arguments and %u returns, wants %u and %u\n",
			       name, nargs, nret, services[i].nargs, services[i].nret);
			return -1;
		}
		u32 *a = args + 3, *r = args + 3 + nargs;
		if (services[i].varargs) ((void (*)(u32 *, u32 *, u32, u32))services[i].fn)(a, r, nargs, nret);
		else ((svc_fn *)services[i].fn)(a, r);
		return 0;
	}
	printf("ofshim: unknown client-interface service \"%s\"\n", name);
	return -1;
}

static void set_cell(struct node *n, const char *name, u32 v) { u8 b[4]; wr32(b, v); set_prop(n, name, b, 4); }
static void set_str(struct node *n, const char *name, const char *s) { set_prop(n, name, s, strlen(s) + 1); }


void disk_attach(const struct bundle *b, struct node *n);

/* Finds or adds the nodes of an absolute path (the bootpath's disk may be unknown to the FDT). */
static struct node *make_path(const char *path)
{
	struct node *n = root;
	for (const char *s = path; *s && *s != ':';) {
		while (*s == '/') s++;
		int len = 0;
		while (s[len] && s[len] != '/' && s[len] != ':') len++;
		if (!len) break;
		struct node *c = match_child(n, s, len);
		if (!c) {
			char *nm = halloc(len + 1);
			if (!nm) return NULL;
			memcpy(nm, s, len); nm[len] = 0;
			if (!(c = add_node(n, nm))) return NULL;
		}
		n = c;
		s += len;
	}
	return n;
}

static void fill_phandles(struct node *n)
{
	for (; n; n = n->peer) { if (!n->phandle) n->phandle = new_phandle(); fill_phandles(n->child); }
}

void ci_setup(struct bundle *b)
{
	chosen = child_named(root, "chosen");
	if (!chosen) chosen = add_node(root, "chosen");
	struct node *aliases = child_named(root, "aliases");
	if (!aliases) aliases = add_node(root, "aliases");
	struct node *options = child_named(root, "options");
	if (!options) options = add_node(root, "options");
	struct node *openprom = child_named(root, "openprom");
	if (!openprom) openprom = add_node(root, "openprom");
	if (!chosen || !aliases || !options || !openprom) fail("out of memory building the tree");
	set_str(openprom, "model", "kexboot-ofshim 1");
	if (!find_prop(options, "real-mode?")) set_str(options, "real-mode?", "true");
	struct node *disk = NULL;
	if (b && b->bootpath) {
		disk = make_path(b->bootpath);
		if (!disk) fail("cannot add the bootpath node");
		if (!find_prop(disk, "device_type")) set_str(disk, "device_type", "block");
		set_str(chosen, "bootpath", b->bootpath);
		if (!find_prop(aliases, "disk")) {
			char path[1024];
			u32 k = 0;
			while (b->bootpath[k] && b->bootpath[k] != ':') { path[k] = b->bootpath[k]; k++; }
			path[k] = 0;
			set_str(aliases, "disk", path);
		}
	}
	fill_phandles(root);
	disk_attach(b, disk);
	if (b && b->args) set_str(chosen, "bootargs", b->args);
	/* A bundle came in as the initrd: the client must not take it for its own. (Linux's
	 * own initramfs stays in /chosen, as SLOF leaves it.) */
	if (b) {
		del_prop(chosen, "linux,initrd-start");
		del_prop(chosen, "linux,initrd-end");
	}

	if (console_node) {
		set_cell(chosen, "stdout", stdout_ih = open_node(console_node, ""));
		set_cell(chosen, "stdin", stdin_ih = open_node(console_node, ""));
	}
	if (memory_node) set_cell(chosen, "memory", open_node(memory_node, ""));
	struct node *cpus = child_named(root, "cpus"), *cpu = NULL;
	for (struct node *c = cpus ? cpus->child : NULL; c; c = c->peer) if (is_type(c, "cpu")) { cpu = c; break; }
	if (cpu) {
		set_cell(chosen, "cpu", open_node(cpu, ""));
		set_cell(chosen, "mmu", open_node(cpu, ""));
	}
}
