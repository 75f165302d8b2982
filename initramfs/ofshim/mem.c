/* Real memory: what is claimed, by whom, and `/memory@0 available` kept in step. */
#include "shim.h"

#define MAX_CLAIMS 128
static struct { u64 addr, size; int owner; } claims[MAX_CLAIMS];
static int nclaims;
static struct node *mem_node;
u64 ram_top;

static u64 read_cells(const u8 *p, u32 n) { return n == 2 ? rd64(p) : n == 1 ? rd32(p) : 0; }

static void update_available(void)
{
	u32 ac = prop_u32(root, "#address-cells", 2), sc = prop_u32(root, "#size-cells", 2);
	static u8 buf[(MAX_CLAIMS + 1) * 16];
	u32 o = 0;
	u64 at = 0;
	for (int i = 0; i <= nclaims; i++) {
		u64 next = i < nclaims ? claims[i].addr : ram_top;
		if (next > at) {
			if (ac == 2) { wr32(buf + o, at >> 32); o += 4; }
			wr32(buf + o, at); o += 4;
			if (sc == 2) { wr32(buf + o, (next - at) >> 32); o += 4; }
			wr32(buf + o, next - at); o += 4;
		}
		if (i < nclaims) at = claims[i].addr + claims[i].size;
	}
	/* The property points at this buffer, rewritten in place: claims cost no heap. */
	struct prop *p = find_prop(mem_node, "available");
	if (!p && set_prop(mem_node, "available", "", 0) == 0) p = find_prop(mem_node, "available");
	if (p) { p->val = buf; p->len = o; }
}

void mem_init(struct node *memnode)
{
	mem_node = memnode;
	u32 ac = prop_u32(root, "#address-cells", 2), sc = prop_u32(root, "#size-cells", 2);
	struct prop *reg = find_prop(memnode, "reg");
	if (!reg || reg->len < 4 * (ac + sc) || ac > 2 || sc > 2) fail("/memory@0 has no usable reg");
	u64 base = read_cells(reg->val, ac), size = read_cells(reg->val + 4 * ac, sc);
	if (base != 0) fail("/memory@0 does not start at 0");
	/* Every CI cell is 32 bits: the client sees only the first 4 GiB. */
	ram_top = size > 0x100000000ul ? 0x100000000ul : size;
	update_available();
}

int mem_in_ram(u64 addr, u64 size) { return addr < ram_top && size <= ram_top - addr; }

static int overlaps(u64 a, u64 s, int i) { return a < claims[i].addr + claims[i].size && claims[i].addr < a + s; }

int mem_fw_overlap(u64 addr, u64 size)
{
	for (int i = 0; i < nclaims; i++)
		if (claims[i].owner == OWN_FIRMWARE && overlaps(addr, size, i)) return 1;
	return 0;
}

int mem_claim_at(u64 addr, u64 size, int owner)
{
	if (!size || !mem_in_ram(addr, size) || nclaims == MAX_CLAIMS) return -1;
	for (int j = 0; j < nclaims; j++) if (overlaps(addr, size, j)) return -1;
	int i = 0;
	while (i < nclaims && claims[i].addr < addr) i++;
	memmove(&claims[i + 1], &claims[i], (nclaims - i) * sizeof claims[0]);
	claims[i].addr = addr; claims[i].size = size; claims[i].owner = owner;
	nclaims++;
	update_available();
	return 0;
}

/* First fit from the bottom of memory. */
u64 mem_claim_aligned(u64 size, u64 align)
{
	if (!size || (align & (align - 1))) return ~0ul;
	u64 at = 0;
	for (int i = 0; i <= nclaims; i++) {
		u64 a = (at + align - 1) & ~(align - 1);
		u64 next = i < nclaims ? claims[i].addr : ram_top;
		if (a >= at && a < next && size <= next - a) return mem_claim_at(a, size, OWN_CLIENT) ? ~0ul : a;
		if (i < nclaims) at = claims[i].addr + claims[i].size;
	}
	return ~0ul;
}

/* Frees all or part of one earlier client claim; the firmware's own claims stay. */
int mem_release(u64 addr, u64 size)
{
	for (int i = 0; i < nclaims; i++) {
		u64 ca = claims[i].addr, ce = ca + claims[i].size;
		if (addr < ca || addr >= ce || !size || size > ce - addr) continue;
		if (claims[i].owner != OWN_CLIENT) return -1;
		if (addr == ca && addr + size == ce) {
			memmove(&claims[i], &claims[i + 1], (nclaims - i - 1) * sizeof claims[0]);
			nclaims--;
		} else if (addr == ca) {
			claims[i].addr += size; claims[i].size -= size;
		} else if (addr + size == ce) {
			claims[i].size -= size;
		} else {
			if (nclaims == MAX_CLAIMS) return -1;
			memmove(&claims[i + 1], &claims[i], (nclaims - i) * sizeof claims[0]);
			claims[i].size = addr - ca;
			claims[i + 1].addr = addr + size; claims[i + 1].size = ce - addr - size;
			nclaims++;
		}
		update_available();
		return 0;
	}
	return -1;
}

/* Claims for the firmware whatever part of [addr, addr+size) is not claimed yet. */
void mem_reserve(u64 addr, u64 size)
{
	u64 end = addr + size;
	while (addr < end) {
		u64 stop = end;
		for (int i = 0; i < nclaims; i++) {
			if (claims[i].addr <= addr && addr < claims[i].addr + claims[i].size) { addr = claims[i].addr + claims[i].size; stop = 0; break; }
			if (claims[i].addr > addr && claims[i].addr < stop) stop = claims[i].addr;
		}
		if (stop && mem_claim_at(addr, stop - addr, OWN_FIRMWARE)) return;
		if (stop) addr = stop;
	}
}
