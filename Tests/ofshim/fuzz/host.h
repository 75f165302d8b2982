/* ofshim on x86_64 under libFuzzer (scripts/fuzz-shim.sh): shim.h includes this instead of
 * its ppc64 accessors when OFSHIM_HOST is defined. Only the fuzzing build sees it. */
#ifndef OFSHIM_HOST_H
#define OFSHIM_HOST_H

/* lib.c's names would otherwise replace the C library's for ASan and libFuzzer too. */
#define memcpy shim_memcpy
#define memmove shim_memmove
#define memset shim_memset
#define memcmp shim_memcmp
#define strlen shim_strlen
#define strcmp shim_strcmp
#define strncmp shim_strncmp
#define strchr shim_strchr
#define printf shim_printf
#define reboot shim_reboot
/* entry.S's symbols: _start and _end belong to the C runtime here. */
#define _start host_start
#define _end host_end

/* The FDT, the bundle and the properties are big endian; the host is not. CI cells stay
 * native: the harness writes the argument arrays itself. */
static inline u32 rd32(const void *p)
{
	const u8 *b = p;
	return (u32)b[0] << 24 | (u32)b[1] << 16 | (u32)b[2] << 8 | b[3];
}
static inline u64 rd64(const void *p) { return (u64)rd32(p) << 32 | rd32((const u8 *)p + 4); }
static inline void wr32(void *p, u32 v)
{
	u8 *b = p;
	b[0] = v >> 24; b[1] = v >> 16; b[2] = v >> 8; b[3] = v;
}

/* Physical memory is a bounded host buffer (HOST_RAM bytes from address 0); RAM above the
 * tree's /memory@0 and all beyond the buffer is poisoned, so a shim that touches it is
 * reported by ASan before anything is written there. phys() gives the shim's objects that it hands out by address
 * (instance handles, its stack, the CI entry) the addresses they have in ofshim.elf. */
#define HOST_RAM (64ul << 20)
void *ptr(u64 a);
u64 phys(const void *p);

/* No caches to flush, no other CPUs; a halted shim returns to the harness. */
static inline void cpu_sync(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
static inline void cpu_isync(void) {}
static inline void cpu_dcbst(u64 a) { (void)a; }
static inline void cpu_icbi(u64 a) { (void)a; }
void cpu_wait(void) __attribute__((noreturn));

/* ---- for the harnesses (shim-host.c, host-rt.c) ---- */
enum { HOST_RETURNED, HOST_HALTED, HOST_ENTERED };
void host_init(void);
void host_reset(void);
int host_run(void (*fn)(void *), void *arg);	/* HOST_*: how the shim left fn */
void host_ram_put(u64 addr, const void *src, u64 n, int guard);	/* guard: poison 4 KiB after it */
void host_ram_clear(u64 addr, u64 n);
void host_set_client(void (*fn)(void));	/* what enter_client() runs: the harness's client */
u32 host_bundle_crc(const u8 *p, u64 n);	/* bundle.c's CRC-32, field at 0x14 as zero */
void host_die(const char *fmt, ...) __attribute__((noreturn, format(__printf__, 1, 2)));
void host_log(const char *fmt, ...) __attribute__((format(__printf__, 1, 2)));
void shim_main(const u8 *fdt, int kexec);	/* main.c: what entry.S calls on pseries */
void host_set_depth_limit(int n);
/* host_init, `client` as what enter_client() runs, and a call depth of 100 as a finding */
void host_fuzz_init(void (*client)(void));
#endif
