/* The boot disk: reads served from the bundle's RAM extents, whole disk or one partition. */
#include "shim.h"

static const struct bundle *bd;
struct node *disk_node;

void disk_attach(const struct bundle *b, struct node *n) { bd = b; disk_node = n; }
u32 disk_block_size(void) { return bd ? bd->block_size : 0; }

/* "" and "0" open the whole disk, "N" partition N; anything else (a file name) fails. */
int disk_open(struct node *n, const char *args, struct disk_inst *d)
{
	if (!bd || n != disk_node) return -1;
	u32 num = 0;
	for (const char *a = args; *a; a++) {
		if (*a < '0' || *a > '9' || num > 255) return -1;
		num = num * 10 + *a - '0';
	}
	d->pos = 0;
	if (!num) { d->start = 0; d->blocks = bd->blocks; return 0; }
	for (u32 i = 0; i < bd->nparts; i++) {
		const u8 *e = bd->parts + 24 * i;
		if (rd32(e) == num) { d->start = rd64(e + 8); d->blocks = rd64(e + 16); return 0; }
	}
	return -1;
}

int disk_seek(struct disk_inst *d, u64 pos)
{
	if (pos > d->blocks * bd->block_size) return -1;
	d->pos = pos;
	return 0;
}

/* Returns the bytes read; a read that starts outside every extent fails with -1. */
s64 disk_read(struct disk_inst *d, u8 *buf, u64 len)
{
	u64 bs = bd->block_size, end = d->blocks * bs, got = 0;
	if (d->pos >= end) return 0;
	if (len > end - d->pos) len = end - d->pos;
	while (got < len) {
		u64 at = d->start * bs + d->pos;
		const u8 *src = NULL;
		u64 avail = 0;
		for (u32 i = 0; i < bd->nextents; i++) {
			const u8 *e = bd->extents + 24 * i;
			u64 a = rd64(e) * bs, n = rd64(e + 8) * bs;
			if (at >= a && at - a < n) { src = bd->base + rd32(e + 16) + (at - a); avail = n - (at - a); break; }
		}
		if (!src) break;
		u64 k = len - got < avail ? len - got : avail;
		memcpy(buf + got, src, k);
		got += k; d->pos += k;
	}
	return got ? (s64)got : -1;
}
