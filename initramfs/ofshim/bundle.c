/* The handoff bundle (docs/ofshim.md) and the client's ELF image. */
#include "shim.h"

/* CRC-32 (IEEE, as zlib), four bytes a step: the bundle can be tens of MiB. */
static u32 crc_table[4][256];
static u32 crc32(const u8 *p, u64 n, u64 skip_at)
{
	for (u32 i = 0; i < 256; i++) {
		u32 c = i;
		for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >> 1) : c >> 1;
		crc_table[0][i] = c;
	}
	for (u32 i = 0; i < 256; i++)
		for (int t = 1; t < 4; t++) crc_table[t][i] = crc_table[0][crc_table[t - 1][i] & 0xff] ^ crc_table[t - 1][i] >> 8;
	u32 c = ~0u;
	for (u64 i = 0; i < n; i += 4) {	/* n is a multiple of 8 */
		u32 w = i == skip_at ? 0 : p[i] | p[i + 1] << 8 | p[i + 2] << 16 | (u32)p[i + 3] << 24;	/* the CRC field counts as zero */
		c ^= w;
		c = crc_table[3][c & 0xff] ^ crc_table[2][(c >> 8) & 0xff] ^ crc_table[1][(c >> 16) & 0xff] ^ crc_table[0][c >> 24];
	}
	return ~c;
}

static int bad(const char *why) { printf("ofshim: error: bad bundle: %s\n", why); return -1; }

static int in_bundle(u32 size, u64 off, u64 len) { return off <= size && len <= size - off; }

static const char *string_at(const u8 *p, u32 size, u32 off, u32 max)
{
	if (!off) return NULL;
	for (u32 i = off; i < size && i - off < max; i++) if (!p[i]) return (const char *)p + off;
	return (const char *)1;	/* unterminated */
}

int bundle_parse(const u8 *p, u64 avail, struct bundle *b)
{
	if (avail < 0x48 || memcmp(p, "KXOFBNDL", 8)) return bad("no KXOFBNDL magic");
	if (rd32(p + 8) != 1) return bad("unsupported version (this shim reads version 1)");
	u32 hsize = rd32(p + 12), size = rd32(p + 16);
	if (hsize < 0x48 || hsize > size) return bad("bad header size");
	if (size > avail) return bad("total size is larger than the image in memory (truncated?)");
	if (size & 7) return bad("total size is not a multiple of 8");
	if (crc32(p, size, 0x14) != rd32(p + 0x14)) return bad("CRC-32 mismatch");
	memset(b, 0, sizeof *b);
	b->base = p; b->size = size;
	u32 coff = rd32(p + 0x18), csize = rd32(p + 0x1c);
	if (!in_bundle(size, coff, csize) || (csize && (coff & 7))) return bad("client ELF outside the bundle");
	b->client = csize ? p + coff : NULL; b->client_size = csize;
	b->args = string_at(p, size, rd32(p + 0x20), 4096);
	b->bootpath = string_at(p, size, rd32(p + 0x24), 1024);
	if (b->args == (const char *)1) return bad("arguments are not NUL-terminated");
	if (b->bootpath == (const char *)1) return bad("bootpath is not NUL-terminated");
	if (b->bootpath && b->bootpath[0] != '/') return bad("bootpath is not an absolute device path");
	u32 levels = 0;	/* its nodes are added to the tree: keep that as shallow as an FDT must be */
	for (const char *c = b->bootpath; c && *c && *c != ':'; c++) levels += *c == '/';
	if (levels > TREE_DEPTH) return bad("bootpath is nested too deep");
	b->blocks = rd64(p + 0x28);
	b->block_size = rd32(p + 0x30);
	b->nparts = rd32(p + 0x34);
	u32 poff = rd32(p + 0x38);
	b->nextents = rd32(p + 0x3c);
	u32 eoff = rd32(p + 0x40);
	if (rd32(p + 0x44)) return bad("unknown flags");
	if (b->nparts > 256 || b->nextents > 65536) return bad("too many partitions or extents");
	if (!in_bundle(size, poff, (u64)b->nparts * 24) || !in_bundle(size, eoff, (u64)b->nextents * 24) ||
	    (poff & 7) || (eoff & 7)) return bad("tables outside the bundle");
	b->parts = p + poff; b->extents = p + eoff;
	if (b->nparts || b->nextents) {
		u32 bs = b->block_size;
		if (bs < 512 || bs > 16384 || (bs & (bs - 1))) return bad("block size is not a power of two from 512 to 16384");
		if (!b->bootpath) return bad("a disk without a bootpath");
	}
	for (u32 i = 0; i < b->nparts; i++) {
		const u8 *e = b->parts + 24 * i;
		u32 num = rd32(e);
		u64 start = rd64(e + 8), n = rd64(e + 16);
		if (num < 1 || num > 255 || start > b->blocks || n > b->blocks - start) return bad("partition outside the disk");
		for (u32 j = 0; j < i; j++) if (rd32(b->parts + 24 * j) == num) return bad("partition listed twice");
	}
	u64 prev_end = 0;
	for (u32 i = 0; i < b->nextents; i++) {
		const u8 *e = b->extents + 24 * i;
		u64 blk = rd64(e), n = rd64(e + 8);
		u32 doff = rd32(e + 16);
		if (!n || blk > b->blocks || n > b->blocks - blk) return bad("extent outside the disk");
		if (i && blk < prev_end) return bad("extents overlap or are not sorted");
		if (n > 0xffffffffu / b->block_size || !in_bundle(size, doff, n * b->block_size) || rd32(e + 20))
			return bad("extent data outside the bundle");
		prev_end = blk + n;
	}
	return 0;
}

/* ---- ELF ---- */

static int le;
static u32 e16(const u8 *p) { return le ? p[0] | p[1] << 8 : p[0] << 8 | p[1]; }
static u32 e32(const u8 *p) { return le ? (u32)p[3] << 24 | p[2] << 16 | p[1] << 8 | p[0] : rd32(p); }
static u64 e64(const u8 *p) { return le ? (u64)e32(p + 4) << 32 | e32(p) : rd64(p); }

static int elf_bad(const char *why) { printf("ofshim: error: bad client ELF: %s\n", why); return 0; }

struct seg { u64 paddr, vaddr, memsz; u32 flags; };

/* *room: the bytes of the segment from there on. */
static u64 to_phys(struct seg *s, int n, u64 addr, u32 *flags, u64 *room)
{
	for (int i = 0; i < n; i++) if (addr >= s[i].paddr && addr - s[i].paddr < s[i].memsz) { *flags = s[i].flags; *room = s[i].memsz - (addr - s[i].paddr); return addr; }
	for (int i = 0; i < n; i++) if (addr >= s[i].vaddr && addr - s[i].vaddr < s[i].memsz) { *flags = s[i].flags; *room = s[i].memsz - (addr - s[i].vaddr); return s[i].paddr + (addr - s[i].vaddr); }
	return 0;
}

u64 elf_load(const u8 *img, u32 size, u64 *msr_le)
{
	if (size < 52 || memcmp(img, "\177ELF", 4)) return elf_bad("no ELF magic");
	int c64 = img[4] == 2;
	if (img[4] != 1 && img[4] != 2) return elf_bad("unknown class");
	if (img[5] != 1 && img[5] != 2) return elf_bad("unknown byte order");
	le = img[5] == 1;
	*msr_le = le;
	if (c64 && size < 64) return elf_bad("truncated header");
	u32 machine = e16(img + 18), type = e16(img + 16);
	if (machine != 20 && machine != 21) return elf_bad("not a PowerPC ELF");
	if (type != 2) return elf_bad("not an executable (ET_EXEC)");
	u64 entry = c64 ? e64(img + 24) : e32(img + 24);
	u64 phoff = c64 ? e64(img + 32) : e32(img + 28);
	u32 flags = e32(img + (c64 ? 48 : 36));
	u32 phentsize = e16(img + (c64 ? 54 : 42)), phnum = e16(img + (c64 ? 56 : 44));
	if (phentsize != (c64 ? 56u : 32u) || !phnum || phnum > 64 || !in_bundle(size, phoff, (u64)phnum * phentsize))
		return elf_bad("bad program headers");
	struct seg segs[64];
	int nseg = 0;
	for (u32 pass = 0; pass < 2; pass++)
		for (u32 i = 0; i < phnum; i++) {
			const u8 *ph = img + phoff + (u64)i * phentsize;
			u32 ptype = e32(ph);
			u64 off = c64 ? e64(ph + 8) : e32(ph + 4);
			u64 vaddr = c64 ? e64(ph + 16) : e32(ph + 8);
			u64 paddr = c64 ? e64(ph + 24) : e32(ph + 12);
			u64 filesz = c64 ? e64(ph + 32) : e32(ph + 16);
			u64 memsz = c64 ? e64(ph + 40) : e32(ph + 20);
			u32 pflags = c64 ? e32(ph + 4) : e32(ph + 24);
			if (!in_bundle(size, off, filesz)) return elf_bad("segment outside the file");
			if (pass == 0 && ptype == 4) {
				for (u64 o = off; o + 12 <= off + filesz;) {
					u32 nsz = e32(img + o), dsz = e32(img + o + 4), nt = e32(img + o + 8);
					u64 name = o + 12, desc = name + ((nsz + 3ul) & ~3ul);
					if (nsz > filesz || dsz > filesz || desc + dsz > off + filesz) return elf_bad("bad note");
					if (nsz == 8 && !memcmp(img + name, "PowerPC", 8) && nt == 0x1275) {
						if (dsz < 8) return elf_bad("short PowerPC note");
						u32 real_mode = e32(img + desc), real_base = e32(img + desc + 4);
						if (real_mode != ~0u)
							return elf_bad("its PowerPC note asks for virtual mode; the shim runs clients in real mode");
						printf("ofshim: PowerPC note: real-mode, real-base 0x%x\n", real_base);
					}
					o = desc + ((dsz + 3ul) & ~3ul);
				}
			}
			if (pass == 1 && ptype == 1 && memsz) {
				if (filesz > memsz) return elf_bad("segment file size exceeds its memory size");
				if (!mem_in_ram(paddr, memsz)) return elf_bad("segment outside real memory below 4 GiB");
				if (mem_fw_overlap(paddr, memsz)) return elf_bad("segment overlaps the shim, the device tree or the bundle");
				if (mem_claim_at(paddr, memsz, OWN_CLIENT)) return elf_bad("segments overlap");
				memmove(ptr(paddr), img + off, filesz);
				memset(ptr(paddr + filesz), 0, memsz - filesz);
				flush_cache(paddr, memsz);
				segs[nseg].paddr = paddr; segs[nseg].vaddr = vaddr; segs[nseg].memsz = memsz; segs[nseg].flags = pflags;
				nseg++;
			}
		}
	if (!nseg) return elf_bad("no PT_LOAD segment");
	u32 eflags = 0;
	u64 room = 0, pe = to_phys(segs, nseg, entry, &eflags, &room);
	if (!pe) return elf_bad("entry point outside the loaded segments");
	/* ELFv1 64-bit: an entry in a non-executable segment is a function descriptor. */
	if (c64 && (flags & 3) != 2 && !(eflags & 1)) {
		if (room < 8) return elf_bad("function descriptor runs past the end of its segment");
		pe = to_phys(segs, nseg, e64(ptr(pe)), &eflags, &room);
		if (!pe) return elf_bad("function descriptor points outside the loaded segments");
	}
	return pe;
}
