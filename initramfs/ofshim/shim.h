/* ofshim: an IEEE 1275 client interface rebuilt from a flattened device tree. */
#ifndef OFSHIM_H
#define OFSHIM_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long u64;
typedef long s64;
typedef int s32;
typedef unsigned long size_t;
#define NULL ((void *)0)

#ifdef OFSHIM_HOST
/* The fuzzing build for x86_64 (Tests/ofshim/fuzz/, scripts/fuzz-shim.sh) brings its own
 * byte order, physical memory and CPU instructions; nothing below is in it. */
#include "host.h"
#else
/* The CPU runs big endian, like the FDT, the bundle and the CI cells, so these are plain
 * loads; the types allow any alignment (POWER handles it in hardware for cacheable memory). */
typedef u32 u32_any __attribute__((aligned(1), may_alias));
typedef u64 u64_any __attribute__((aligned(1), may_alias));
static inline u32 rd32(const void *p) { return *(const u32_any *)p; }
static inline u64 rd64(const void *p) { return *(const u64_any *)p; }
static inline void wr32(void *p, u32 v) { *(u32_any *)p = v; }
/* Real mode: a physical address is a pointer, and the other way round. */
static inline void *ptr(u64 a) { return (void *)a; }
static inline u64 phys(const void *p) { return (u64)p; }
/* The instructions C cannot say: storage barriers, cache flushes, a low SMT priority to spin at. */
static inline void cpu_sync(void) { asm volatile("sync" ::: "memory"); }
static inline void cpu_isync(void) { asm volatile("isync" ::: "memory"); }
static inline void cpu_dcbst(u64 a) { asm volatile("dcbst 0,%0" :: "r"(a) : "memory"); }
static inline void cpu_icbi(u64 a) { asm volatile("icbi 0,%0" :: "r"(a) : "memory"); }
static inline void cpu_wait(void) { asm volatile("or 1,1,1"); }
#endif

/* entry.S */
extern char _start[], _end[], client_stack[], ci_entry[], le_tramp[];
extern u32 park_args[4], park_flag;
long hcall(long op, u64 a1, u64 a2, u64 a3, u64 a4, u64 a5, u64 a6, u64 *out);
u64 get_msr(void);
u64 get_tb(void);
void enter_client(u64 entry, u64 r3, u64 r4, u64 msr, u64 stack, u64 ci) __attribute__((noreturn));

/* lib.c */
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
void *halloc(size_t n);
void console_init(u32 vty);
void console_write(const char *s, size_t n);
long console_read(char *buf, size_t n);
void printf(const char *fmt, ...);
void flush_cache(u64 addr, u64 len);
long rtas_call(u32 token, int nargs, int nret, u32 *args, u32 *rets);
void power_off(void) __attribute__((noreturn));
void reboot(void) __attribute__((noreturn));
void fail(const char *what) __attribute__((noreturn));
extern u32 tb_freq, cache_line;

/* tree.c */
/* Levels below the root, as Linux's FDT_MAX_DEPTH: the tree walks recurse, on 64 KiB stacks. */
#define TREE_DEPTH 64
struct prop { struct prop *next; const char *name; u8 *val; u32 len; };
struct node { struct node *parent, *child, *peer; struct prop *props; const char *name; u32 phandle; };
extern struct node *root;
int tree_from_fdt(const void *fdt, u64 size);
struct node *node_by_phandle(u32 ph);
u32 new_phandle(void);
struct prop *find_prop(struct node *n, const char *name);
int set_prop(struct node *n, const char *name, const void *val, u32 len);
void del_prop(struct node *n, const char *name);
struct node *add_node(struct node *parent, const char *name);
struct node *find_path(const char *path, const char **args);
struct node *match_child(struct node *n, const char *comp, int len);
struct node *child_named(struct node *n, const char *name);
int node_path(struct node *n, char *buf, int len);
u32 prop_u32(struct node *n, const char *name, u32 dflt);
int is_type(struct node *n, const char *type);

/* mem.c */
enum { OWN_FIRMWARE = 1, OWN_CLIENT = 2 };
void mem_init(struct node *memnode);
int mem_claim_at(u64 addr, u64 size, int owner);
u64 mem_claim_aligned(u64 size, u64 align);
int mem_release(u64 addr, u64 size);
void mem_reserve(u64 addr, u64 size);
int mem_in_ram(u64 addr, u64 size);
int mem_fw_overlap(u64 addr, u64 size);
extern u64 ram_top;

/* ci.c */
struct bundle;
void ci_setup(struct bundle *b);
u32 ci_open_path(const char *path);
s32 ci_handler(u32 *args);
extern u32 rtas_power_off, rtas_reboot, rtas_stop_self;
extern struct node *console_node, *memory_node, *rtas_node;

/* disk.c */
struct disk_inst { u64 start, blocks, pos; };
int disk_open(struct node *n, const char *args, struct disk_inst *d);
s64 disk_read(struct disk_inst *d, u8 *buf, u64 len);
int disk_seek(struct disk_inst *d, u64 pos);
u32 disk_block_size(void);
extern struct node *disk_node;
void disk_attach(const struct bundle *b, struct node *n);

/* bundle.c */
struct bundle {
	const u8 *base; u32 size;
	const u8 *client; u32 client_size;
	const char *args, *bootpath;
	u32 block_size; u64 blocks;
	u32 nparts; const u8 *parts;
	u32 nextents; const u8 *extents;
};
int bundle_parse(const u8 *p, u64 avail, struct bundle *b);
u64 elf_load(const u8 *img, u32 size, u64 *msr_le);
#endif
