/* The few calls Swift cannot make itself: variadic ioctl() requests and kernel structs.
 * Every function returns what the system call returns (-1 with errno on failure). */
#ifndef CKEXBOOT_H
#define CKEXBOOT_H

#include <stdint.h>

/* /dev/loop-control: the number of a free loop device. */
int kx_loop_get_free(int control_fd);

/* Binds backing_fd to loop_fd read-only, with partition scanning and autoclear
 * (LOOP_CONFIGURE, or LOOP_SET_FD + LOOP_SET_STATUS64 on kernels before 5.8). */
int kx_loop_attach_readonly(int loop_fd, int backing_fd, const char *name);

/* Detaches a loop device (LOOP_CLR_FD). */
int kx_loop_detach(int loop_fd);

/* Tells the kernel about one partition of a whole-disk device (BLKPG_ADD_PARTITION),
 * for kernels built without the partition-table parser the disk uses. Bytes. */
int kx_blkpg_add_partition(int disk_fd, int number, int64_t start, int64_t length);

/* kexec_file_load(2): initrd_fd -1 means none (KEXEC_FILE_NO_INITRAMFS is added). */
long kx_kexec_file_load(int kernel_fd, int initrd_fd, unsigned long cmdline_len, const char *cmdline, unsigned long flags);

/* One kexec_load(2) segment: a buffer placed at a physical address. */
struct kx_segment {
    const void *buf;
    uint64_t bufsz;
    uint64_t mem;
    uint64_t memsz;
};

/* kexec_load(2) with explicit segments. */
long kx_kexec_load(uint64_t entry, unsigned long count, const struct kx_segment *segments, unsigned long flags);

/* Unloads a loaded kexec image (kexec_file_load with KEXEC_FILE_UNLOAD). */
long kx_kexec_unload(void);

/* reboot(LINUX_REBOOT_CMD_KEXEC): starts the loaded kernel. Returns only on failure. */
int kx_reboot_kexec(void);

/* kx_inflate's failures. */
#define KX_INFLATE_CORRUPT (-1)
#define KX_INFLATE_TRUNCATED (-2)
#define KX_INFLATE_TOO_LARGE (-3)
#define KX_INFLATE_IO (-4)
/* gzip/zlib data at offset..offset+length of in_fd inflated into out_fd, at most limit
 * bytes; the bytes written or a KX_INFLATE_* failure (errno tells more for KX_INFLATE_IO). */
long long kx_inflate(int in_fd, unsigned long long offset, unsigned long long length, int out_fd,
                     unsigned long long limit);

/* memfd_create(2) with MFD_CLOEXEC. */
int kx_memfd(const char *name);

/* The x86_64 entry kexboot's own kexec_load boot starts at (no purgatory): loads a flat
 * GDT (code 0x10, data 0x18), a stack at the end of its page, and jumps to the kernel's
 * 64-bit entry with %rsi = boot_params. Position independent; copy it to the start of a
 * page and fill the two 8-byte slots. NULL on other architectures. */
const unsigned char *kx_x86_entry(unsigned long *size);
#define KX_X86_ENTRY_BOOT_PARAMS 8
#define KX_X86_ENTRY_KERNEL 16

extern const unsigned long kx_kexec_file_no_initramfs;
extern const unsigned long kx_kexec_arch_default;

/* makedev(3), a macro in glibc. */
uint64_t kx_makedev(unsigned int major, unsigned int minor);

/* Whether password hashes to hash with crypt(3) (any scheme libcrypt knows: $6$, $y$...).
 * 1 yes, 0 no, -1 when the hash is not one libcrypt can use. */
int kx_crypt_matches(const char *password, const char *hash);

/* Clears IFF_UP on a network interface (SIOCSIFFLAGS). */
int kx_link_down(const char *name);


/* SO_PEERCRED of a Unix socket: the peer's uid, gid and pid. */
int kx_peer_credentials(int fd, uint32_t *uid, uint32_t *gid, int32_t *pid);
/* accept4(2) with SOCK_NONBLOCK | SOCK_CLOEXEC. */
int kx_accept(int listen_fd);
/* eventfd(2) with EFD_NONBLOCK | EFD_CLOEXEC. */
int kx_eventfd(void);
/* Blocks SIGTERM, SIGINT and SIGHUP in the calling thread and returns a signalfd(2) for
 * them (SFD_CLOEXEC | SFD_NONBLOCK), or -1 with errno. */
int kx_termination_signalfd(void);
#endif
