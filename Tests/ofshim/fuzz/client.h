/* A client of the shim's CI for the harnesses: argument arrays, strings and buffers in
 * client RAM at SCRATCH_AT, cells native (host.h), each call run under host_run(). */
#ifndef OFSHIM_FUZZ_CLIENT_H
#define OFSHIM_FUZZ_CLIENT_H
#include "shim.h"

#define SCRATCH_AT 0x400000ul	/* where GRUB would sit: client RAM in every seed */
#define SCRATCH_SIZE 0x40000ul
#define NO ~0u	/* the CI's -1 */
#define KERNEL_AT 0x3400000ul	/* QEMU's -kernel, for bundles without a client */
#define BUNDLE_AT 0x3800000ul	/* RAM ends with the bundle: ASan sees a read past it */

/* A pseries tree as QEMU's, with the parts the shim reads, RAM up to the end of the
 * bundle, which it names as the initrd; into OUT (2 KiB will do), returns its size. */
u32 pseries_fdt(u8 *out, u64 bundle_size);

int client_start(void);	/* 0 when SCRATCH_AT is usable RAM for a client */
u32 client_mark(void);
void client_release(u32 mark);
u32 client_str(const char *s);	/* a copy in client RAM; 0 when full */
u32 client_buf(u32 n);	/* n bytes of client RAM; 0 when full */
/* Calls SERVICE with up to 8 arguments; returns ci_handler's result (0, -1), or -2 once
 * the shim has halted (power-off, exit): then every later call is -2 too. */
long ci(const char *service, int nargs, int nret, const u32 *args, u32 *rets);
/* The same with the argument array at AT, written there only when FILL (a client's array
 * where the shim must not look: in firmware memory, across the end of RAM). */
long ci_at(u32 at, int fill, const char *service, int nargs, int nret, const u32 *args, u32 *rets);
u32 ci1(const char *service, u32 a);	/* one argument, one return (NO on failure) */
u32 ci2(const char *service, u32 a, u32 b);
u32 ci3(const char *service, u32 a, u32 b, u32 c);
u32 ci4(const char *service, u32 a, u32 b, u32 c, u32 d);
#endif
