#define _GNU_SOURCE 1
#include "ckexboot.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/memfd.h>
#include <zlib.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/kexec.h>
#include <linux/reboot.h>
#include <sys/sysmacros.h>
#include <linux/blkpg.h>
#include <linux/loop.h>

int kx_loop_get_free(int control_fd) {
    return ioctl(control_fd, LOOP_CTL_GET_FREE);
}

int kx_loop_attach_readonly(int loop_fd, int backing_fd, const char *name) {
    struct loop_config config;
    memset(&config, 0, sizeof config);
    config.fd = (unsigned int)backing_fd;
    config.info.lo_flags = LO_FLAGS_READ_ONLY | LO_FLAGS_PARTSCAN | LO_FLAGS_AUTOCLEAR;
    if (name) strncpy((char *)config.info.lo_file_name, name, LO_NAME_SIZE - 1);
    if (ioctl(loop_fd, LOOP_CONFIGURE, &config) == 0) return 0;
    if (errno != EINVAL && errno != ENOTTY) return -1;
    /* Older kernels: two steps. */
    if (ioctl(loop_fd, LOOP_SET_FD, backing_fd) != 0) return -1;
    struct loop_info64 info;
    memset(&info, 0, sizeof info);
    info.lo_flags = LO_FLAGS_READ_ONLY | LO_FLAGS_PARTSCAN | LO_FLAGS_AUTOCLEAR;
    if (name) strncpy((char *)info.lo_file_name, name, LO_NAME_SIZE - 1);
    if (ioctl(loop_fd, LOOP_SET_STATUS64, &info) != 0) {
        int saved = errno;
        ioctl(loop_fd, LOOP_CLR_FD, 0);
        errno = saved;
        return -1;
    }
    return 0;
}

int kx_loop_detach(int loop_fd) {
    return ioctl(loop_fd, LOOP_CLR_FD, 0);
}

int kx_blkpg_add_partition(int disk_fd, int number, int64_t start, int64_t length) {
    struct blkpg_partition part;
    memset(&part, 0, sizeof part);
    part.pno = number;
    part.start = start;
    part.length = length;
    struct blkpg_ioctl_arg arg;
    memset(&arg, 0, sizeof arg);
    arg.op = BLKPG_ADD_PARTITION;
    arg.datalen = sizeof part;
    arg.data = &part;
    return ioctl(disk_fd, BLKPG, &arg);
}

uint64_t kx_makedev(unsigned int major, unsigned int minor) {
    return makedev(major, minor);
}

const unsigned long kx_kexec_file_no_initramfs = KEXEC_FILE_NO_INITRAMFS;
const unsigned long kx_kexec_arch_default = KEXEC_ARCH_DEFAULT;

long kx_kexec_file_load(int kernel_fd, int initrd_fd, unsigned long cmdline_len, const char *cmdline, unsigned long flags) {
    if (initrd_fd < 0) flags |= KEXEC_FILE_NO_INITRAMFS;
    return syscall(SYS_kexec_file_load, kernel_fd, initrd_fd, cmdline_len, cmdline, flags);
}

long kx_kexec_load(uint64_t entry, unsigned long count, const struct kx_segment *segments, unsigned long flags) {
    struct kexec_segment native[KEXEC_SEGMENT_MAX];
    if (count > KEXEC_SEGMENT_MAX) { errno = EINVAL; return -1; }
    for (unsigned long i = 0; i < count; i++) {
        native[i].buf = segments[i].buf;
        native[i].bufsz = (size_t)segments[i].bufsz;
        native[i].mem = (const void *)(uintptr_t)segments[i].mem;
        native[i].memsz = (size_t)segments[i].memsz;
    }
    return syscall(SYS_kexec_load, (unsigned long)entry, count, native, flags);
}

long kx_kexec_unload(void) {
    return syscall(SYS_kexec_file_load, -1, -1, 0UL, (const char *)0, (unsigned long)KEXEC_FILE_UNLOAD);
}

int kx_reboot_kexec(void) {
    return reboot(LINUX_REBOOT_CMD_KEXEC);
}

int kx_memfd(const char *name) {
    return (int)syscall(SYS_memfd_create, name, MFD_CLOEXEC);
}

#include <crypt.h>
#include <net/if.h>
#include <sys/socket.h>
#include <ifaddrs.h>
#include <stdio.h>

int kx_crypt_matches(const char *password, const char *hash) {
    struct crypt_data data;
    memset(&data, 0, sizeof data);
    const char *out = crypt_r(password, hash, &data);
    /* libxcrypt returns "*0"/"*1" (or NULL) for a setting it cannot use. */
    if (out == NULL || out[0] == '*') return -1;
    size_t a = strlen(out), b = strlen(hash);
    if (a != b) return 0;
    /* Compare every byte, so the time taken does not say how much matched. */
    unsigned char diff = 0;
    for (size_t i = 0; i < a; i++) diff |= (unsigned char)(out[i] ^ hash[i]);
    return diff == 0;
}

int kx_link_down(const char *name) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct ifreq req;
    memset(&req, 0, sizeof req);
    strncpy(req.ifr_name, name, IFNAMSIZ - 1);
    int rc = ioctl(fd, SIOCGIFFLAGS, &req);
    if (rc == 0 && (req.ifr_flags & IFF_UP)) {
        req.ifr_flags &= ~IFF_UP;
        rc = ioctl(fd, SIOCSIFFLAGS, &req);
    }
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

int kx_peer_credentials(int fd, uint32_t *uid, uint32_t *gid, int32_t *pid) {
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return -1;
    *uid = cred.uid;
    *gid = cred.gid;
    *pid = cred.pid;
    return 0;
}

int kx_accept(int listen_fd) {
    return accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

#include <sys/eventfd.h>

int kx_eventfd(void) {
    return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

/* Inflates `length` bytes of gzip (or zlib) data at `offset` of `in_fd` into `out_fd`,
 * writing at most `limit` bytes. Returns the bytes written, or a negative KX_INFLATE_*. */
long long kx_inflate(int in_fd, unsigned long long offset, unsigned long long length, int out_fd,
                     unsigned long long limit) {
    enum { CHUNK = 1 << 18 };
    unsigned char *in = malloc(CHUNK), *out = malloc(CHUNK);
    z_stream z;
    memset(&z, 0, sizeof z);
    /* 32 + 15: a gzip or a zlib header, detected; the largest window. */
    if (!in || !out || inflateInit2(&z, 32 + 15) != Z_OK) {
        free(in);
        free(out);
        return KX_INFLATE_IO;
    }
    unsigned long long left = length, written = 0;
    long long result = 0;
    int status = Z_OK;
    while (status != Z_STREAM_END) {
        if (z.avail_in == 0) {
            if (left == 0) { result = KX_INFLATE_TRUNCATED; break; }
            size_t want = left < CHUNK ? (size_t)left : CHUNK;
            ssize_t n = pread(in_fd, in, want, (off_t)offset);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) { result = n == 0 ? KX_INFLATE_TRUNCATED : KX_INFLATE_IO; break; }
            offset += (unsigned long long)n;
            left -= (unsigned long long)n;
            z.next_in = in;
            z.avail_in = (uInt)n;
        }
        z.next_out = out;
        z.avail_out = CHUNK;
        status = inflate(&z, Z_NO_FLUSH);
        if (status != Z_OK && status != Z_STREAM_END) {
            result = status == Z_MEM_ERROR ? KX_INFLATE_IO : KX_INFLATE_CORRUPT;
            break;
        }
        size_t produced = CHUNK - z.avail_out;
        if (written + produced > limit) { result = KX_INFLATE_TOO_LARGE; break; }
        size_t done = 0;
        while (done < produced) {
            ssize_t w = write(out_fd, out + done, produced - done);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) { result = KX_INFLATE_IO; break; }
            done += (size_t)w;
        }
        if (result < 0) break;
        written += produced;
    }
    inflateEnd(&z);
    free(in);
    free(out);
    return result < 0 ? result : (long long)written;
}

/* The x86_64 kexec_load entry (see ckexboot.h). The kernel's relocate_kernel arrives here in
 * 64-bit mode on identity-mapped page tables, with interrupts off and the old kernel's GDT
 * and IDT invalidated; the bzImage's 64-bit entry wants a flat GDT with __BOOT_CS = 0x10
 * and __BOOT_DS = 0x18 and %rsi pointing at boot_params (Documentation/arch/x86/boot.rst,
 * "64-bit Boot Protocol"). It lives in .rodata: it is copied, never run in place. */
#if defined(__x86_64__)
__asm__(
    ".section .rodata\n"
    ".balign 16\n"
    ".Lkx_entry:\n"
    "    jmp .Lkx_code\n"
    "    .balign 8\n"
    ".Lkx_boot_params: .quad 0\n"                /* offset 8: filled by kexboot */
    ".Lkx_kernel: .quad 0\n"                     /* offset 16: filled by kexboot */
    ".Lkx_gdt:\n"
    "    .quad 0\n"
    "    .quad 0\n"
    "    .quad 0x00af9a000000ffff\n"             /* 0x10: 64-bit code, ring 0 */
    "    .quad 0x00cf92000000ffff\n"             /* 0x18: flat data */
    ".Lkx_gdt_pointer:\n"
    "    .word .Lkx_gdt_pointer - .Lkx_gdt - 1\n"
    "    .quad 0\n"
    ".Lkx_code:\n"
    "    cli\n"
    "    leaq .Lkx_gdt(%rip), %rax\n"
    "    movq %rax, .Lkx_gdt_pointer+2(%rip)\n"
    "    lgdt .Lkx_gdt_pointer(%rip)\n"
    "    movl $0x18, %eax\n"
    "    movl %eax, %ds\n"
    "    movl %eax, %es\n"
    "    movl %eax, %ss\n"
    "    movl %eax, %fs\n"
    "    movl %eax, %gs\n"
    "    leaq .Lkx_entry+4096(%rip), %rsp\n"
    "    leaq .Lkx_far(%rip), %rax\n"
    "    pushq $0x10\n"
    "    pushq %rax\n"
    "    lretq\n"
    ".Lkx_far:\n"
    "    movq .Lkx_boot_params(%rip), %rsi\n"
    "    movq .Lkx_kernel(%rip), %rax\n"
    "    xorl %ebx, %ebx\n"
    "    xorl %ebp, %ebp\n"
    "    xorl %edi, %edi\n"
    "    jmp *%rax\n"
    ".Lkx_entry_end:\n"
    ".balign 8\n"
    ".Lkx_entry_size: .quad .Lkx_entry_end - .Lkx_entry\n"
    ".globl kx_x86_entry_code\n"
    ".hidden kx_x86_entry_code\n"
    ".set kx_x86_entry_code, .Lkx_entry\n"
    ".globl kx_x86_entry_length\n"
    ".hidden kx_x86_entry_length\n"
    ".set kx_x86_entry_length, .Lkx_entry_size\n"
    ".text\n");
extern const unsigned char kx_x86_entry_code[];
extern const unsigned long kx_x86_entry_length;

const unsigned char *kx_x86_entry(unsigned long *size) {
    *size = kx_x86_entry_length;
    return kx_x86_entry_code;
}
#else
const unsigned char *kx_x86_entry(unsigned long *size) {
    *size = 0;
    return 0;
}
#endif

#include <signal.h>
#include <sys/signalfd.h>

int kx_termination_signalfd(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0) return -1;
    return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}
