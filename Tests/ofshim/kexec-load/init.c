/* /init of a tiny ppc64le initramfs for the real-kexec test (Tests/ofshim/kexec_test.py).
 *
 * Stage "dump": prints the running kernel's /sys/firmware/fdt as hex lines, so kexboot on
 * the host can make its plan from the tree this very kernel runs on.
 * Stage "kexec": reads the segments kexboot saved (/seg/N.bin, addresses in /seg/plan),
 * loads them with kexec_load(2) exactly as kexboot's Kexec.load(segments:) does, and
 * reboots into them. Written for this test; the syscalls are Linux's own. */
#include <fcntl.h>
#include <linux/kexec.h>
#include <linux/reboot.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static void die(const char *what) {
    printf("kexec-test: FAIL %s\n", what);
    fflush(stdout);
    reboot(LINUX_REBOOT_CMD_POWER_OFF);
    for (;;) pause();
}

static void *slurp(const char *path, size_t *size) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return NULL;
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (n == cap) buf = realloc(buf, cap *= 2);
        ssize_t r = read(fd, buf + n, cap - n);
        if (r <= 0) break;
        n += (size_t)r;
    }
    close(fd);
    *size = n;
    return buf;
}

int main(void) {
    mount("proc", "/proc", "proc", 0, NULL);
    mount("sysfs", "/sys", "sysfs", 0, NULL);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (access("/seg/plan", R_OK) != 0) {
        size_t size;
        unsigned char *fdt = slurp("/sys/firmware/fdt", &size);
        if (!fdt) die("reading /sys/firmware/fdt");
        printf("FDT-BEGIN %zu\n", size);
        for (size_t i = 0; i < size; i += 32) {
            printf("FDT ");
            for (size_t j = i; j < i + 32 && j < size; j++) printf("%02x", fdt[j]);
            printf("\n");
        }
        printf("FDT-END\n");
        fflush(stdout);
        reboot(LINUX_REBOOT_CMD_POWER_OFF);
        return 0;
    }
    FILE *plan = fopen("/seg/plan", "r");
    struct kexec_segment segs[16];
    unsigned long long entry = 0, mem, memsz;
    char name[64];
    int n = 0;
    if (fscanf(plan, "entry %llx\n", &entry) != 1) die("reading the plan");
    while (n < 16 && fscanf(plan, "%63s %llx %llx\n", name, &mem, &memsz) == 3) {
        char path[96];
        size_t size;
        snprintf(path, sizeof path, "/seg/%s", name);
        void *buf = slurp(path, &size);
        if (!buf) die(path);
        segs[n].buf = buf;
        segs[n].bufsz = size;
        segs[n].mem = (void *)(unsigned long)mem;
        segs[n].memsz = memsz;
        n++;
    }
    printf("kexec-test: kexec_load of %d segments, entry 0x%llx\n", n, entry);
    if (syscall(SYS_kexec_load, (unsigned long)entry, (unsigned long)n, segs, KEXEC_ARCH_DEFAULT) != 0) {
        perror("kexec_load");
        die("kexec_load");
    }
    printf("kexec-test: loaded; rebooting into it\n");
    fflush(stdout);
    reboot(LINUX_REBOOT_CMD_KEXEC);
    perror("reboot");
    die("reboot(LINUX_REBOOT_CMD_KEXEC)");
    return 1;
}
