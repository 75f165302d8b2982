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

/* makedev(3), a macro in glibc. */
uint64_t kx_makedev(unsigned int major, unsigned int minor);

#endif
