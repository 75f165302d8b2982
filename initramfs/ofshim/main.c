/* ofshim: from the FDT and the bundle to a running Open Firmware client. */
#include "shim.h"

static u64 prop_addr(struct node *n, const char *name)
{
	struct prop *p = find_prop(n, name);
	return !p ? 0 : p->len == 8 ? rd64(p->val) : p->len == 4 ? rd32(p->val) : 0;
}


static struct node *find_console(struct node *chosen)
{
	struct prop *p = find_prop(chosen, "stdout-path");
	if (!p) p = find_prop(chosen, "linux,stdout-path");
	if (p && p->len && !p->val[p->len - 1]) {
		char path[256];
		u32 k = 0;
		while (k < p->len && k < sizeof path - 1 && p->val[k] && p->val[k] != ':') { path[k] = p->val[k]; k++; }
		path[k] = 0;
		struct node *n = find_path(path, NULL);
		if (n) return n;
	}
	struct node *vdev = child_named(root, "vdevice");
	for (struct node *c = vdev ? vdev->child : NULL; c; c = c->peer) {
		struct prop *cp = find_prop(c, "compatible");
		if (cp && cp->len >= 7 && !memcmp(cp->val, "hvterm1", 7)) return c;
	}
	return NULL;
}

void shim_main(const u8 *fdt, int kexec)
{
	/* Until the tree names the console, speak on QEMU's and PowerVM's first vty. */
	console_init(0x71000000);
	if (!fdt || tree_from_fdt(fdt, 16 << 20)) fail("no usable device tree in r3");
	struct node *chosen = child_named(root, "chosen");
	console_node = find_console(chosen);
	if (console_node) console_init(prop_u32(console_node, "reg", 0x71000000));
	printf("ofshim: kexboot Open Firmware shim, device tree at 0x%lx, entered at 0x%x\n", phys(fdt), kexec ? 0 : 0x100);

	rtas_node = child_named(root, "rtas");
	rtas_power_off = prop_u32(rtas_node, "power-off", 0);
	rtas_reboot = prop_u32(rtas_node, "system-reboot", 0);
	rtas_stop_self = prop_u32(rtas_node, "stop-self", 0);
	if (rtas_stop_self) {	/* release the CPUs parked at 0x60 into stop-self */
		park_args[0] = rtas_stop_self;
		cpu_sync();
		park_flag = 1;
		cpu_sync();
	}
	struct node *cpus = child_named(root, "cpus");
	for (struct node *c = cpus ? cpus->child : NULL; c; c = c->peer)
		if (is_type(c, "cpu")) {
			tb_freq = prop_u32(c, "timebase-frequency", tb_freq);
			cache_line = prop_u32(c, "d-cache-block-size", cache_line);
			break;
		}
	if (tb_freq < 1000) tb_freq = 512000000;
	if (cache_line < 16 || (cache_line & (cache_line - 1))) cache_line = 32;

	memory_node = find_path("/memory@0", NULL);
	if (!memory_node) fail("no /memory@0 node");
	mem_init(memory_node);
	u64 fdt_size = rd32(fdt + 4);
	if (mem_claim_at(0, phys(client_stack), OWN_FIRMWARE) || mem_claim_at(phys(client_stack), phys(_end) - phys(client_stack), OWN_CLIENT))
		fail("the shim does not fit in memory");
	if (mem_claim_at(phys(fdt), fdt_size, OWN_FIRMWARE)) fail("the device tree is outside /memory@0 or overlaps the shim");
	/* QEMU's -kernel image belongs to the client, though QEMU lists it in the reserve map. */
	struct prop *k = find_prop(chosen, "qemu,boot-kernel");
	u64 kernel = k && k->len == 16 ? rd64(k->val) : 0, kernel_size = k && k->len == 16 ? rd64(k->val + 8) : 0;
	struct bundle b, *bp = NULL;
	u64 initrd = prop_addr(chosen, "linux,initrd-start"), initrd_end = prop_addr(chosen, "linux,initrd-end");
	u64 linux_initrd = 0, linux_initrd_size = 0;
	if (initrd && initrd_end > initrd) {
		if (!mem_in_ram(initrd, initrd_end - initrd)) {
			if (initrd_end - initrd >= 8 && initrd >= ram_top) {	/* beyond the CI's reach: Linux's, as it is */
				linux_initrd = initrd; linux_initrd_size = initrd_end - initrd;
			} else fail("the initrd is partly outside /memory@0");
		} else if (mem_claim_at(initrd, initrd_end - initrd, OWN_FIRMWARE)) {
			fail("the initrd overlaps the shim or the device tree");
		} else if (initrd_end - initrd >= 8 && !memcmp(ptr(initrd), "KXOFBNDL", 8)) {
			if (bundle_parse(ptr(initrd), initrd_end - initrd, &b)) power_off();
			bp = &b;
			printf("ofshim: bundle: %u bytes, client %u bytes, %u partitions, %u extents\n",
			       b.size, b.client_size, b.nparts, b.nextents);
		} else {
			/* Not a bundle: Linux's initramfs. It stays reserved and in /chosen, and the
			 * client gets it in r3/r4 as SLOF passes it. */
			linux_initrd = initrd; linux_initrd_size = initrd_end - initrd;
			printf("ofshim: initrd: %lu bytes at 0x%lx (not a bundle: passed to the client)\n", linux_initrd_size, initrd);
		}
	}
	u64 entry = 0, le = 0;
	if (!bp || !bp->client) {
		/* No client in the bundle: QEMU's -kernel image, entered at its lowest address like SLOF does. */
		if (!kernel_size)
			fail(bp ? "no client: the bundle has none and there is no qemu,boot-kernel"
				: "no client: no bundle (the initrd has no KXOFBNDL magic) and no -kernel image");
		entry = kernel;
		if (mem_fw_overlap(kernel, kernel_size) || mem_claim_at(kernel, kernel_size, OWN_CLIENT))
			fail("the -kernel image overlaps the shim, the device tree, the initrd or the bundle");
	}

	/* The FDT's reserve map (RTAS, TCE tables, the initrd again) stays out of the client's reach. */
	u32 rsv = rd32(fdt + 16);
	for (const u8 *r = fdt + rsv; rsv && rsv + 16 <= fdt_size && r + 16 <= fdt + fdt_size; r += 16) {
		u64 a = rd64(r), n = rd64(r + 8);
		if (!n) break;
		if (a >= ram_top) continue;
		if (n > ram_top - a) n = ram_top - a;
		mem_reserve(a, n);
	}

	if (bp && bp->client) {
		entry = elf_load(bp->client, bp->client_size, &le);
		if (!entry) power_off();
	}
	ci_setup(bp);

	u64 msr = get_msr();
	msr &= ~(1ul << 63 | 0x8030ul | 1ul);	/* 32-bit, no interrupts, real mode, big endian */
	msr |= 0x2000;				/* FP on, as SLOF leaves it */
	if (le) msr |= 1;
	printf("ofshim: entering the client at 0x%lx%s\n", entry, le ? " (little endian)" : "");
	enter_client(entry, linux_initrd, linux_initrd_size, msr, phys(_end) - 256,
		     phys(le ? le_tramp : ci_entry));
}
