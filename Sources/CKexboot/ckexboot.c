#include "ckexboot.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
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
