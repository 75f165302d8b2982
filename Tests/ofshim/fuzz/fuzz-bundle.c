/* libFuzzer target `bundle`: a handoff bundle (docs/ofshim.md) as kexboot leaves it in RAM.
 * bundle_parse() on the bytes as they are; when it accepts them, the shim starts as on
 * pseries with a fixed device tree that names the bundle as its initrd: elf_load() of the
 * bundle's client, the bootpath's node, the disk. Then the harness, as the client, reads
 * the disk through the CI: whole disk, each partition, across each extent's edges. */
#include "client.h"

#define FDT_AT 0x1000000ul

/* ---- the disk, as a client reads it ---- */
static u32 method(const char *m, u32 ih, int n, u32 a, u32 b, u32 c, u32 *out)
{
	u32 in[5] = { client_str(m), ih, a, b, c }, r[2] = { NO, NO };
	if (ci("call-method", 2 + n, 2, in, r) || r[0]) return NO;
	if (out) *out = r[1];
	return 0;
}

static void read_at(u32 ih, u64 pos, u32 buf, u32 len)
{
	u32 in[3] = { ih, pos >> 32, pos }, r;
	ci("seek", 3, 1, in, &r);
	ci3("read", ih, buf, len);
}

static void exercise(u32 ih, const struct bundle *b, u32 buf)
{
	u32 bs = 0, blocks = 0, bsz = b->block_size;
	method("block-size", ih, 0, 0, 0, 0, &bs);
	method("#blocks", ih, 0, 0, 0, 0, &blocks);
	ci3("instance-to-path", ih, buf, 600);
	ci3("read", ih, buf, 512);
	/* The shim checks the buffer of read-blocks against the block size it has: any size,
	 * when the bundle has no tables to validate it against. */
	method("read-blocks", ih, 3, 2, 0, buf, NULL);	/* ( addr block# #blocks -- #read ) */
	if (blocks) method("read-blocks", ih, 3, 2, blocks - 1, buf, NULL);	/* one block past the end */
	if (bsz < 512 || bsz > 16384) return;	/* no table, no data: the calls above are the test */
	if (blocks) {
		read_at(ih, (u64)(blocks - 1) * bsz, buf, 2 * bsz);
		read_at(ih, (u64)blocks * bsz, buf, bsz);
		read_at(ih, (u64)blocks * bsz + 1, buf, bsz);
	}
	/* each extent's edges, as seen from this instance (the whole disk or a partition) */
	for (u32 i = 0; i < b->nextents && i < 8; i++) {
		u64 blk = rd64(b->extents + 24 * i), n = rd64(b->extents + 24 * i + 8);
		read_at(ih, blk * bsz - 16, buf, 4096);
		read_at(ih, (blk + n) * bsz - 16, buf, 4096);
	}
}

static void disk(const struct bundle *b)
{
	if (!b->bootpath || client_start()) return;
	u32 buf = client_buf(0x10000);
	char path[1100];
	static const char *const opens[] = { "disk", "disk:0", "disk:00", "disk:256", "disk:x", "disk:1,\\boot\\grub.cfg" };
	for (u32 i = 0; i < sizeof opens / sizeof opens[0]; i++) {
		u32 ih = ci1("open", client_str(opens[i]));
		if (ih && ih != NO) { exercise(ih, b, buf); ci1("close", ih); }
	}
	for (u32 i = 0; i < b->nparts && i < 8; i++) {
		u32 num = rd32(b->parts + 24 * i), k = strlen(b->bootpath);
		if (k > 1000) break;
		memcpy(path, b->bootpath, k);
		path[k++] = ':';
		if (num >= 100) path[k++] = '0' + num / 100;
		if (num >= 10) path[k++] = '0' + num / 10 % 10;
		path[k++] = '0' + num % 10;
		path[k] = 0;
		u32 p = client_str(path), ih = ci1("open", p);
		ci3("canon", p, buf, 600);
		if (ih && ih != NO) { exercise(ih, b, buf); ci1("close", ih); }
	}
	ci1("finddevice", client_str(b->bootpath));
}

static void start(void *fdt) { shim_main(fdt, 1); }

/* Run by enter_client(): the bundle's client (or QEMU's -kernel) would start here. */
static struct bundle parsed;
static void client(void) { disk(&parsed); }

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc; (void)argv;
	host_fuzz_init(client);
	return 0;
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	static u8 fdt[4096];
	if (size > HOST_RAM - BUNDLE_AT) return 0;
	host_reset();
	console_init(0x71000000);	/* as shim_main() starts: messages before the tree's console */
	host_ram_put(BUNDLE_AT, data, size, 1);	/* beyond it: not RAM */
	u8 *p = ptr(BUNDLE_AT);
	/* A mutation almost never keeps the CRC right: fix it, or no run gets past it. */
	if (size >= 0x18) {
		u32 total = rd32(p + 16);
		if (total >= 0x18 && total <= size && !(total & 7)) wr32(p + 0x14, host_bundle_crc(p, total));
	}
	if (bundle_parse(p, size, &parsed)) return 0;
	host_ram_put(FDT_AT, fdt, pseries_fdt(fdt, size), 0);	/* the client may load right after it */
	host_run(start, ptr(FDT_AT));
	return 0;
}
