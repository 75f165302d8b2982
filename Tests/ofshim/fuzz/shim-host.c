/* The shim's own C files as one unit for the host, with what entry.S and pseries give
 * them there. One unit, so that this file can reach their statics: the instance table
 * (handles are its addresses), the heap, update_available(). */
#include "shim.h"

void __asan_poison_memory_region(const volatile void *p, size_t n);
void __asan_unpoison_memory_region(const volatile void *p, size_t n);
void host_stop(int how) __attribute__((noreturn));
void host_console(const char *s, size_t n);

/* Every global of the shim lands in these two sections, so host_reset() can put them all
 * back as they were at start-up: no input sees what an earlier one left, and a global
 * added to the shim later is covered too. (The pragma, unlike a section attribute, leaves
 * them instrumented: ASan still puts redzones around each.) */
#pragma clang section bss="ofshim_bss" data="ofshim_data"
#define halloc bump_halloc	/* wrapped below */
#include "lib.c"
#undef halloc
#define mem_init fdt_mem_init	/* wrapped below */
#include "mem.c"
#undef mem_init
#define bad tree_bad	/* bundle.c has a bad() too */
#include "tree.c"
#undef bad
#include "bundle.c"
#include "disk.c"
#include "ci.c"
#include "main.c"
#pragma clang section bss="" data=""

extern u8 __start_ofshim_bss[], __stop_ofshim_bss[], __start_ofshim_data[], __stop_ofshim_data[];

/* ---- entry.S; its symbols at about the addresses they have in ofshim.elf ---- */
char host_start[1], host_end[1], client_stack[1], ci_entry[1], le_tramp[1];
u32 park_args[4], park_flag;
static void (*client)(void);
void host_set_client(void (*fn)(void)) { client = fn; }

long hcall(long op, u64 a1, u64 a2, u64 a3, u64 a4, u64 a5, u64 a6, u64 *out)
{
	(void)a1; (void)a5; (void)a6;
	if (op == H_PUT_TERM_CHAR) {	/* up to 16 bytes, big endian in two registers */
		char c[16];
		for (int i = 0; i < 8; i++) { c[i] = a3 >> (56 - 8 * i); c[8 + i] = a4 >> (56 - 8 * i); }
		host_console(c, a2 < 16 ? a2 : 16);
	}
	if (out) for (int i = 0; i < 4; i++) out[i] = 0;	/* H_GET_TERM_CHAR: no key waiting */
	return 0;
}
u64 get_msr(void) { return 1ul << 63 | 0x1000; }	/* SF, ME */
u64 get_tb(void) { return 0x123456789ul; }	/* fixed: runs must not differ */
void enter_client(u64 entry, u64 r3, u64 r4, u64 msr, u64 stack, u64 ci)
{
	(void)entry; (void)r3; (void)r4; (void)msr; (void)stack; (void)ci;
	/* The harness is the client: it runs here, as on pseries, while shim_main()'s frame
	 * (its struct bundle, which the disk reads from) is still alive. */
	if (client) client();
	host_stop(HOST_ENTERED);
}
void cpu_wait(void) { host_stop(HOST_HALTED); }	/* halt(): the shim is done */

/* ---- physical memory ---- */
static u8 ram[HOST_RAM + 4096] __attribute__((aligned(4096)));	/* the last page: never RAM */
#define INSTS_AT 0x8ee0ul

/* An address past the host's RAM maps onto the poisoned page after it: making the
 * pointer is no fault (a read of 0 bytes), touching it is. */
void *ptr(u64 a) { return ram + (a > HOST_RAM ? HOST_RAM : a); }

u64 phys(const void *p)
{
	const u8 *b = p;
	if (b >= ram && b <= ram + HOST_RAM) return b - ram;
	if (b >= (u8 *)insts && b < (u8 *)insts + sizeof insts) return INSTS_AT + (b - (u8 *)insts);
	if (b == (u8 *)host_start) return 0;
	if (b == (u8 *)ci_entry) return 0x50c;
	if (b == (u8 *)le_tramp) return 0x610;
	if (b == (u8 *)client_stack) return 0xf4000;
	if (b == (u8 *)host_end) return 0x104000;
	host_die("phys(%p): not an address the shim could have on pseries", p);
}

/* What the harness put in RAM (the FDT, the bundle) stays readable whatever /memory@0
 * says; a guard after it, when asked for, is poisoned until the next reset. A guard is
 * only right where nothing may legitimately write: the client may own the RAM there. */
#define GUARD 4096
static struct { u64 addr, n; int guard; } puts[4];
static int nputs;
static u64 poisoned_from = HOST_RAM;	/* RAM above the tree's ram_top is poisoned */

static u64 guard_size(int i)
{
	u64 g = puts[i].addr + puts[i].n;
	return !puts[i].guard || g >= HOST_RAM ? 0 : HOST_RAM - g < GUARD ? HOST_RAM - g : GUARD;
}

static void guard_puts(void)
{
	for (int i = 0; i < nputs; i++) __asan_poison_memory_region(ram + puts[i].addr + puts[i].n, guard_size(i));
	for (int i = 0; i < nputs; i++) __asan_unpoison_memory_region(ram + puts[i].addr, puts[i].n);
}

void host_ram_put(u64 addr, const void *src, u64 n, int guard)
{
	if (addr > HOST_RAM || n > HOST_RAM - addr || nputs == 4) host_die("host_ram_put(0x%lx, %lu)", addr, n);
	__asan_unpoison_memory_region(ram + addr, n);
	__builtin_memcpy(ram + addr, src, n);	/* the C library's: shim.h renames memcpy */
	puts[nputs].addr = addr; puts[nputs].n = n; puts[nputs].guard = guard; nputs++;
	guard_puts();
}

/* Zeros without a guard: the harness's scratch RAM, so no run reads what one before left. */
void host_ram_clear(u64 addr, u64 n)
{
	if (addr > HOST_RAM || n > HOST_RAM - addr) host_die("host_ram_clear(0x%lx, %lu)", addr, n);
	__asan_unpoison_memory_region(ram + addr, n);
	__builtin_memset(ram + addr, 0, n);
	if (addr + n > poisoned_from) {
		u64 from = addr > poisoned_from ? addr : poisoned_from;
		__asan_poison_memory_region(ram + from, addr + n - from);
	}
}

static void ram_limit(u64 top)
{
	if (top < poisoned_from) __asan_poison_memory_region(ram + top, poisoned_from - top);
	else if (top > poisoned_from) __asan_unpoison_memory_region(ram + poisoned_from, top - poisoned_from);
	poisoned_from = top;
	guard_puts();
}

/* The tree may describe more RAM than the host has: the rest is not RAM to the shim. */
void mem_init(struct node *memnode)
{
	fdt_mem_init(memnode);
	if (ram_top > HOST_RAM) { ram_top = HOST_RAM; update_available(); }
	ram_limit(ram_top);
}

/* lib.c's bump allocator, with a poisoned gap after each block: ASan then catches a
 * write past one property or name into the next. The rest of the heap stays poisoned,
 * and fresh blocks hold a pattern, not zeros the shim might come to rely on. */
void *halloc(size_t n)
{
	u8 *p = bump_halloc(n + 16);
	if (!p) return NULL;
	__asan_unpoison_memory_region(p, n);
	for (size_t i = 0; i < n; i++) p[i] = 0xa5;
	return p;
}

u32 host_bundle_crc(const u8 *p, u64 n) { return crc32(p, n, 0x14); }

/* ---- between inputs ---- */
static u64 data_at_start[1 << 13];

/* Plain loops: the sections hold ASan's poisoned redzones, which memcpy would report.
 * ASan aligns every global to 32 bytes, so the sections are words. */
__attribute__((no_sanitize("address"))) static void copy_raw(volatile u64 *d, const volatile u64 *s, u64 n)
{
	for (u64 i = 0; i < n / 8; i++) d[i] = s[i];
}
__attribute__((no_sanitize("address"))) static void zero_raw(volatile u64 *d, u64 n)
{
	for (u64 i = 0; i < n / 8; i++) d[i] = 0;
}

void host_init(void)
{
	u64 n = __stop_ofshim_data - __start_ofshim_data;
	if (n > sizeof data_at_start) host_die("the shim's .data (%lu bytes) outgrew the snapshot", n);
	__asan_poison_memory_region(ram + HOST_RAM, 4096);
	if ((n | (u64)__start_ofshim_data | (u64)__start_ofshim_bss | (u64)(__stop_ofshim_bss - __start_ofshim_bss)) & 7)
		host_die("the shim's sections are not whole words");
	copy_raw(data_at_start, (u64 *)__start_ofshim_data, n);
}

void host_reset(void)
{
	copy_raw((u64 *)__start_ofshim_data, data_at_start, __stop_ofshim_data - __start_ofshim_data);
	zero_raw((u64 *)__start_ofshim_bss, __stop_ofshim_bss - __start_ofshim_bss);
	__asan_poison_memory_region(heap, sizeof heap);
	for (int i = 0; i < nputs; i++) {
		u64 g = puts[i].addr + puts[i].n, n = guard_size(i);
		if (g < poisoned_from) __asan_unpoison_memory_region(ram + g, poisoned_from - g < n ? poisoned_from - g : n);
	}
	nputs = 0;
	park_flag = 0;
}

/* How every harness starts: no pseries stack would survive a call depth of 100. */
void host_fuzz_init(void (*client)(void))
{
	host_init();
	host_set_client(client);
	host_set_depth_limit(100);
}
