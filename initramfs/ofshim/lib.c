/* Freestanding helpers: memory and strings, the heap, the hypervisor console, RTAS. */
#include "shim.h"
#include <stdarg.h>

#define H_GET_TERM_CHAR 0x54
#define H_PUT_TERM_CHAR 0x58
#define H_RTAS 0xf000
#define H_BUSY 1

u32 tb_freq = 512000000, cache_line = 32;

/* Word copies when both ends allow it: block reads and ELF loading are memcpy. */
void *memcpy(void *d, const void *s, size_t n)
{
	u8 *a = d;
	const u8 *b = s;
	if ((((u64)a ^ (u64)b) & 7) == 0) {
		while (n && ((u64)a & 7)) *a++ = *b++, n--;
		for (; n >= 8; n -= 8, a += 8, b += 8) *(u64 *)a = *(const u64 *)b;
	}
	while (n--) *a++ = *b++;
	return d;
}
void *memmove(void *d, const void *s, size_t n)
{
	u8 *a = d; const u8 *b = s;
	if (a < b) return memcpy(d, s, n);
	while (n--) a[n] = b[n];
	return d;
}
void *memset(void *d, int c, size_t n)
{
	u8 *a = d;
	u64 w = (u8)c * 0x0101010101010101ul;
	while (n && ((u64)a & 7)) *a++ = c, n--;
	for (; n >= 8; n -= 8, a += 8) *(u64 *)a = w;
	while (n--) *a++ = c;
	return d;
}
int memcmp(const void *x, const void *y, size_t n)
{
	const u8 *a = x, *b = y;
	for (; n; n--, a++, b++) if (*a != *b) return *a - *b;
	return 0;
}
size_t strlen(const char *s) { size_t n = 0; while (s[n]) n++; return n; }
int strcmp(const char *a, const char *b) { while (*a && *a == *b) a++, b++; return (u8)*a - (u8)*b; }
int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) { if (*a != *b) return (u8)*a - (u8)*b; if (!*a) return 0; }
	return 0;
}
char *strchr(const char *s, int c) { for (; *s; s++) if (*s == c) return (char *)s; return c ? NULL : (char *)s; }

/* The heap is a bump allocator over a fixed area inside the shim's own claim. */
#define HEAP_SIZE (768 * 1024)
static u8 heap[HEAP_SIZE] __attribute__((section(".noinit"), aligned(16)));
static size_t heap_used;

void *halloc(size_t n)
{
	n = (n + 15) & ~15ul;
	if (n > HEAP_SIZE - heap_used) return NULL;
	void *p = heap + heap_used;
	heap_used += n;
	return p;
}

static u32 vty_unit;
static int vty_ok;
void console_init(u32 vty) { vty_unit = vty; vty_ok = 1; }

void console_write(const char *s, size_t n)
{
	while (vty_ok && n) {
		u8 chunk[16] = {0};
		size_t k = n < 16 ? n : 16;
		memcpy(chunk, s, k);
		long rc;
		int tries = 0;
		do rc = hcall(H_PUT_TERM_CHAR, vty_unit, k, rd64(chunk), rd64(chunk + 8), 0, 0, NULL);
		while (rc == H_BUSY && ++tries < 100000);
		if (rc) return;
		s += k; n -= k;
	}
}

static u8 inbuf[16];
static u32 inlen, inpos;
long console_read(char *buf, size_t n)
{
	if (inpos == inlen) {
		u64 out[4];
		if (!vty_ok || hcall(H_GET_TERM_CHAR, vty_unit, 0, 0, 0, 0, 0, out) != 0) return 0;
		inlen = out[0] > 16 ? 16 : out[0];
		inpos = 0;
		memcpy(inbuf, &out[1], 16);	/* r5, r6: the characters in order (big endian) */
	}
	size_t k = 0;
	while (k < n && inpos < inlen) buf[k++] = inbuf[inpos++];
	return k;
}

static void put(const char *s, size_t n)
{
	/* The shim's own messages end lines with CR LF; client writes go out untouched. */
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n') console_write("\r\n", 2);
		else console_write(s + i, 1);
	}
}

void printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char buf[160];
	size_t o = 0;
	for (const char *p = fmt; *p; p++) {
		if (o > sizeof buf - 24) { put(buf, o); o = 0; }
		if (*p != '%') { buf[o++] = *p; continue; }
		int zero = 0, width = 0, lng = 0;
		p++;
		if (*p == '0') zero = 1, p++;
		while (*p >= '0' && *p <= '9') width = width * 10 + *p++ - '0';
		while (*p == 'l') lng = 1, p++;
		if (*p == 's') {
			put(buf, o); o = 0;
			const char *s = va_arg(ap, const char *);
			put(s ? s : "(null)", strlen(s ? s : "(null)"));
			continue;
		}
		if (*p == 'c') { buf[o++] = va_arg(ap, int); continue; }
		u64 v = lng ? va_arg(ap, u64) : va_arg(ap, u32);
		int base = *p == 'x' ? 16 : 10;
		if (*p == 'd' && (lng ? (s64)v < 0 : (s32)v < 0)) { buf[o++] = '-'; v = lng ? -(s64)v : (u32)-(s32)v; }
		char d[24]; int k = 0;
		do { d[k++] = "0123456789abcdef"[v % base]; v /= base; } while (v);
		while (k < width) d[k++] = zero ? '0' : ' ';
		while (k) buf[o++] = d[--k];
	}
	put(buf, o);
	va_end(ap);
}

void flush_cache(u64 addr, u64 len)
{
	u64 line = cache_line, end = addr + len;
	for (u64 a = addr & ~(line - 1); a < end; a += line) cpu_dcbst(a);
	cpu_sync();
	for (u64 a = addr & ~(line - 1); a < end; a += line) cpu_icbi(a);
	cpu_sync();
	cpu_isync();
}

static u32 rtas_buf[16];
long rtas_call(u32 token, int nargs, int nret, u32 *args, u32 *rets)
{
	if (!token || nargs + nret + 3 > 16) return -1;
	rtas_buf[0] = token; rtas_buf[1] = nargs; rtas_buf[2] = nret;
	for (int i = 0; i < nargs; i++) rtas_buf[3 + i] = args[i];
	long rc = hcall(H_RTAS, (u64)rtas_buf, 0, 0, 0, 0, 0, NULL);
	for (int i = 0; i < nret; i++) if (rets) rets[i] = rtas_buf[3 + nargs + i];
	return rc;
}

static void __attribute__((noreturn)) halt(void)
{
	printf("ofshim: halted\n");
	for (;;) cpu_wait();
}

void power_off(void)
{
	u32 a[2] = { ~0u, ~0u };
	rtas_call(rtas_power_off, 2, 1, a, NULL);
	halt();
}

void reboot(void)
{
	rtas_call(rtas_reboot, 0, 1, NULL, NULL);
	halt();
}

void fail(const char *what)
{
	printf("ofshim: error: %s\n", what);
	power_off();
}

void trap_report(u64 vector, u64 srr0, u64 srr1, u64 lr)
{
	printf("ofshim: unexpected exception 0x%x at 0x%lx (msr 0x%lx, lr 0x%lx); powering off\n",
	       (u32)vector, srr0, srr1, lr);
	power_off();
}
