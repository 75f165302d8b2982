/* The device tree: built once from the FDT, then served to the client. */
#include "shim.h"

struct node *root;

static int nul_within(const char *s, u32 n) { while (n--) if (!*s++) return 1; return 0; }

static int bad(const char *why) { printf("ofshim: error: device tree: %s\n", why); return -1; }

static struct prop *new_prop(const char *name, u8 *val, u32 len)
{
	struct prop *p = halloc(sizeof *p);
	if (!p) return NULL;
	p->next = NULL; p->name = name; p->val = val; p->len = len;
	return p;
}

struct node *add_node(struct node *parent, const char *name)
{
	struct node *n = halloc(sizeof *n);
	if (!n) return NULL;
	memset(n, 0, sizeof *n);
	n->name = name;
	n->parent = parent;
	if (parent) {
		struct node **pp = &parent->child;
		while (*pp) pp = &(*pp)->peer;
		*pp = n;
	}
	/* FDT v17 has no `name`; synthesize it (the part before '@') and list it first. */
	const char *at = strchr(name, '@');
	u32 len = at ? (u32)(at - name) : strlen(name);
	if (parent) {
		char *v = halloc(len + 1);
		if (!v) return NULL;
		memcpy(v, name, len); v[len] = 0;
		n->props = new_prop("name", (u8 *)v, len + 1);
	}
	return n;
}

static struct node *walk_ph(struct node *n, u32 ph)
{
	for (; n; n = n->peer) {
		if (n->phandle == ph) return n;
		struct node *c = walk_ph(n->child, ph);
		if (c) return c;
	}
	return NULL;
}

/* A phandle no node has: max+1, or the lowest free one once max+1 would be -1. */
static u32 max_phandle;
u32 new_phandle(void)
{
	if (max_phandle < ~0u - 1) return ++max_phandle;
	u32 ph = 1;
	while (walk_ph(root, ph)) ph++;
	return ph;
}

/* A client walks peer/child/parent by phandle: each node needs its own, and neither 0 nor
 * -1 (the CI's "none" and "error"). The FDT's stand unless a node before took the value. */
static void assign_phandles(struct node *n, int pass)
{
	for (; n; n = n->peer) {
		if (pass == 0) {
			struct prop *p = find_prop(n, "phandle");
			if (!p || p->len != 4) p = find_prop(n, "linux,phandle");
			u32 ph = p && p->len == 4 ? rd32(p->val) : 0;
			if (ph && ph != ~0u && !walk_ph(root, ph)) n->phandle = ph;
			if (n->phandle > max_phandle) max_phandle = n->phandle;
		} else if (!n->phandle) {
			n->phandle = new_phandle();
		}
		assign_phandles(n->child, pass);
	}
}

int tree_from_fdt(const void *fdt, u64 avail)
{
	const u8 *f = fdt;
	if (avail < 40) return bad("truncated header");	/* the v17 header, read before totalsize is known */
	if (rd32(f) != 0xd00dfeed) return bad("bad magic");
	u32 total = rd32(f + 4), off_struct = rd32(f + 8), off_strings = rd32(f + 12);
	u32 version = rd32(f + 20), size_strings = rd32(f + 32), size_struct = rd32(f + 36);
	if (total > avail || version < 16) return bad("bad header");
	if (version < 17) size_struct = total - off_struct;
	if (off_struct > total || size_struct > total - off_struct || off_strings > total ||
	    size_strings > total - off_strings) return bad("bad offsets");
	const u8 *s = f + off_struct, *end = s + size_struct;
	struct node *cur = NULL;
	int depth = 0;
	while (s + 4 <= end) {
		u32 tok = rd32(s);
		s += 4;
		if (tok == 1) {
			const char *name = (const char *)s;
			const u8 *z = s;
			while (z < end && *z) z++;
			if (z >= end) return bad("unterminated node name");
			s = f + ((z + 1 - f + 3) & ~3ul);
			if (!cur && root) return bad("two roots");
			if (depth > TREE_DEPTH) return bad("nodes nested too deep");
			struct node *n = add_node(cur, name);
			if (!n) return bad("out of memory");
			if (!cur) root = n;
			cur = n;
			depth++;
		} else if (tok == 2) {
			if (!cur) return bad("unbalanced end");
			cur = cur->parent;
			depth--;
		} else if (tok == 3) {
			if (s + 8 > end || !cur) return bad("bad property");
			u32 len = rd32(s), nameoff = rd32(s + 4);
			s += 8;
			if (len > (u64)(end - s) || nameoff >= size_strings) return bad("bad property");
			const char *pname = (const char *)f + off_strings + nameoff;
			if (!nul_within(pname, size_strings - nameoff)) return bad("bad property name");
			if (!strcmp(pname, "name") && cur->props && !strcmp(cur->props->name, "name")) {
				cur->props->val = (u8 *)s; cur->props->len = len;	/* an old FDT's own name wins */
			} else {
				struct prop *p = new_prop(pname, (u8 *)s, len), **pp = &cur->props;
				if (!p) return bad("out of memory");
				while (*pp) pp = &(*pp)->next;
				*pp = p;
			}
			s += (len + 3) & ~3u;
		} else if (tok == 4) {
			continue;
		} else if (tok == 9) {
			break;
		} else {
			return bad("bad token");
		}
	}
	if (!root || depth != 0) return bad("truncated");
	assign_phandles(root, 0);
	assign_phandles(root, 1);
	return 0;
}

struct node *node_by_phandle(u32 ph) { return ph ? walk_ph(root, ph) : NULL; }

struct prop *find_prop(struct node *n, const char *name)
{
	for (struct prop *p = n ? n->props : NULL; p; p = p->next)
		if (!strcmp(p->name, name)) return p;
	return NULL;
}

int set_prop(struct node *n, const char *name, const void *val, u32 len)
{
	u8 *v = halloc(len ? len : 1);
	if (!v) return -1;
	memcpy(v, val, len);
	struct prop *p = find_prop(n, name);
	if (p) { p->val = v; p->len = len; return 0; }
	char *nm = halloc(strlen(name) + 1);
	if (!nm) return -1;
	memcpy(nm, name, strlen(name) + 1);
	p = new_prop(nm, v, len);
	if (!p) return -1;
	struct prop **pp = &n->props;
	while (*pp) pp = &(*pp)->next;
	*pp = p;
	return 0;
}

void del_prop(struct node *n, const char *name)
{
	for (struct prop **pp = &n->props; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->name, name)) { *pp = (*pp)->next; return; }
}

u32 prop_u32(struct node *n, const char *name, u32 dflt)
{
	struct prop *p = find_prop(n, name);
	return p && p->len >= 4 ? rd32(p->val) : dflt;
}


int is_type(struct node *n, const char *type)
{
	struct prop *p = find_prop(n, "device_type");
	return p && p->len && !strncmp((char *)p->val, type, p->len) && strlen(type) + 1 >= p->len;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Unit addresses match field by field as numbers: "disk@0" is "disk@00", "A" is "a". */
static int unit_eq(const char *a, int alen, const char *b, int blen)
{
	int i = 0, j = 0;
	for (;;) {
		int ie = i, je = j;
		while (ie < alen && a[ie] != ',') ie++;
		while (je < blen && b[je] != ',') je++;
		while (i < ie - 1 && a[i] == '0') i++;
		while (j < je - 1 && b[j] == '0') j++;
		if (ie - i != je - j) return 0;
		for (int k = 0; k < ie - i; k++) {
			int x = hexval(a[i + k]), y = hexval(b[j + k]);
			if (x < 0 || y < 0 ? a[i + k] != b[j + k] : x != y) return 0;
		}
		if ((ie == alen) != (je == blen)) return 0;
		if (ie == alen) return 1;
		i = ie + 1; j = je + 1;
	}
}

struct node *match_child(struct node *n, const char *comp, int len)
{
	int at = 0;
	while (at < len && comp[at] != '@') at++;
	for (struct node *c = n->child; c; c = c->peer) {
		const char *cn = c->name;
		int cl = strlen(cn), cat = 0;
		while (cat < cl && cn[cat] != '@') cat++;
		if (cat != at || memcmp(cn, comp, at)) continue;
		if (at == len) return c;	/* no unit address: the first node of that name */
		if (cat < cl && unit_eq(comp + at + 1, len - at - 1, cn + cat + 1, cl - cat - 1)) return c;
	}
	return NULL;
}

/* Resolves a device path or alias; *args gets what follows ':' in the last component. */
struct node *find_path(const char *path, const char **args)
{
	static char buf[512];
	if (args) *args = "";
	if (!path || !root) return NULL;
	if (path[0] != '/') {
		size_t k = 0;
		while (path[k] && path[k] != '/' && path[k] != ':') k++;
		struct node *al = NULL;
		for (struct node *c = root->child; c; c = c->peer) if (!strcmp(c->name, "aliases")) al = c;
		struct prop *p;
		for (p = al ? al->props : NULL; p; p = p->next)
			if (strlen(p->name) == k && !memcmp(p->name, path, k) && strcmp(p->name, "name")) break;
		if (!p || !p->len || p->val[0] != '/' || p->len + strlen(path + k) >= sizeof buf) return NULL;
		memcpy(buf, p->val, p->len);
		buf[p->len - 1] = 0;
		size_t bl = strlen(buf);
		memcpy(buf + bl, path + k, strlen(path + k) + 1);
		path = buf;
	}
	struct node *n = root;
	const char *s = path;
	while (*s) {
		while (*s == '/') s++;
		if (!*s) break;
		int len = 0;
		while (s[len] && s[len] != '/' && s[len] != ':') len++;
		n = match_child(n, s, len);
		if (!n) return NULL;
		s += len;
		if (*s == ':') {
			const char *a = s + 1;
			while (*s && *s != '/') s++;
			if (*s) return NULL;	/* arguments only on the last component */
			if (args) *args = a;
		}
	}
	return n;
}

int node_path(struct node *n, char *buf, int len)
{
	if (!n->parent) { if (len > 0) buf[0] = '/'; return 1; }
	int o = n->parent->parent ? node_path(n->parent, buf, len) : 0;
	int nl = strlen(n->name);
	if (o < len) buf[o] = '/';
	for (int i = 0; i < nl; i++) if (o + 1 + i < len) buf[o + 1 + i] = n->name[i];
	return o + 1 + nl;
}

struct node *child_named(struct node *n, const char *name) { return n ? match_child(n, name, strlen(name)) : NULL; }
