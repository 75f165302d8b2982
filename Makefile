# kexboot: `make demo` shows it working, `make test` runs every test.
SHELL := /bin/bash
export PATH := $(PATH):/opt/swift/usr/bin
SWIFT ?= swift

# Debian packages each target needs (installed when missing).
BUILD_DEPS := pkg-config libblkid-dev libcrypt-dev libcurl4-openssl-dev zlib1g-dev
TEST_DEPS := python3 nftables pkg-config libcurl4-openssl-dev zlib1g-dev device-tree-compiler vsftpd gcc-powerpc64le-linux-gnu libc6-dev-ppc64el-cross dnsmasq-base ethtool tftpd-hpa tftp-hpa iproute2 busybox-static ca-certificates binutils gcc-powerpc64-linux-gnu binutils-powerpc64-linux-gnu qemu-system-ppc grub-common \
	libblkid-dev libcrypt-dev fdisk gdisk e2fsprogs dosfstools xfsprogs btrfs-progs squashfs-tools xorriso mtools openssl util-linux tmux
BENCH_DEPS := grub-common hyperfine time python3 fdisk e2fsprogs util-linux nginx-light curl tftp-hpa tftpd-hpa iproute2 openssl

.PHONY: all build release test demo demo-ppc64 demo-parse bench deps clean ofshim test-ofshim ppc64le test-ppc64le fuzz test-fuzz

all: build

build:
	scripts/deps.sh $(BUILD_DEPS)
	scripts/build-curl.sh > /dev/null
	$(SWIFT) build

release:
	scripts/deps.sh $(BUILD_DEPS)
	scripts/build-curl.sh > /dev/null
	$(SWIFT) build -c release --static-swift-stdlib -Xswiftc -gnone

test:
	scripts/deps.sh $(TEST_DEPS)
	scripts/build-curl.sh > /dev/null
	$(SWIFT) build
	$(SWIFT) test
	$(MAKE) test-fuzz
	scripts/e2e.sh
	$(MAKE) test-ofshim
	$(MAKE) test-ppc64le

# The fuzzers, briefly: every kept input (seeds and regressions) replayed, then each
# harness fuzzed FUZZ_SMOKE seconds. A finding fails the step (FUZZING.md).
FUZZ_SMOKE ?= 5
test-fuzz:
	scripts/deps.sh $(BUILD_DEPS)
	scripts/build-curl.sh > /dev/null
	scripts/fuzz.sh smoke $(FUZZ_SMOKE)
	scripts/fuzz-shim.sh smoke $(FUZZ_SMOKE)

# Every fuzzer FUZZ_SECONDS each (default 180; `make fuzz FUZZ_SECONDS=3600` for a long
# run), the Swift harnesses then the shim's. Findings: build/fuzz*/findings/.
FUZZ_SECONDS ?= 180
fuzz:
	scripts/deps.sh $(BUILD_DEPS)
	scripts/build-curl.sh > /dev/null
	scripts/fuzz.sh run $(FUZZ_SECONDS)
	scripts/fuzz-shim.sh run $(FUZZ_SECONDS)

# Boots kexboot in QEMU on this terminal; leave with Ctrl-A X.
demo:
	scripts/deps.sh $(BUILD_DEPS)
	scripts/demo.sh

# kexboot on QEMU pseries on this terminal, the shim as firmware (no SLOF): a disk with Debian's
# grub.cfg and one with GRUB in PReP. Leave with Ctrl-A X.
demo-ppc64: ppc64le ofshim
	scripts/demo-ppc64.sh

# Prints the menus of the example configs (no QEMU, no root).
demo-parse: build
	@for dir in Configs/examples/*/; do \
	  echo "== kexboot parse $$dir $$(cat $$dir/args 2>/dev/null)"; \
	  .build/debug/kexboot parse $$dir $$(cat $$dir/args 2>/dev/null) || exit 1; \
	  echo; \
	done

bench: release
	scripts/deps.sh $(BENCH_DEPS)
	bench/parse-bench.sh .build/release/kexboot
	bench/probe-bench.sh .build/release/kexboot
	python3 bench/daemon-bench.py .build/release/kexboot
	python3 bench/menu-bench.py .build/release/kexboot
	python3 bench/fetch-bench.py .build/release/kexboot
	python3 bench/boot-bench.py
	$(MAKE) ofshim
	python3 bench/ofshim-bench.py
	$(MAKE) ppc64le
	python3 bench/pseries-bench.py

clean:
	rm -rf .build

# The Open Firmware shim for pseries (docs/ofshim.md): freestanding ppc64 BE code.
OFSHIM_DEPS := gcc-powerpc64-linux-gnu binutils-powerpc64-linux-gnu qemu-system-ppc python3 grub-common e2fsprogs
PPC_CC ?= powerpc64-linux-gnu-gcc
PPC_OBJCOPY ?= powerpc64-linux-gnu-objcopy
PPC_CFLAGS := -Wa,-mregnames -mbig-endian -mabi=elfv2 -mcpu=power8 -mno-altivec -mno-vsx -msoft-float -Os -fno-inline-small-functions \
	-ffreestanding -fno-stack-protector -fno-pic -fno-tree-loop-distribute-patterns \
	-fno-asynchronous-unwind-tables -Wall -Wextra -Werror -std=gnu11
PPC_LDFLAGS := -Wl,--no-warn-rwx-segments -nostdlib -static -Wl,--build-id=none -Wl,--no-dynamic-linker
OFSHIM_SRC := $(wildcard initramfs/ofshim/*.c initramfs/ofshim/*.h initramfs/ofshim/*.lds) initramfs/ofshim/entry.S
CITEST_SRC := $(wildcard Tests/ofshim/client/*)

ofshim: build/ofshim/ofshim.bin build/ofshim/ofshim.elf build/ofshim/kexec-entry.bin build/ofshim/ci-test.elf build/ofshim/ci-test-le.elf

build/ofshim/ofshim.elf: $(OFSHIM_SRC) Makefile
	@scripts/deps.sh $(OFSHIM_DEPS)
	@mkdir -p build/ofshim
	$(PPC_CC) $(PPC_CFLAGS) $(PPC_LDFLAGS) -T initramfs/ofshim/ofshim.lds -o $@ \
		$(filter %.S %.c,$(OFSHIM_SRC))

build/ofshim/ofshim.bin: build/ofshim/ofshim.elf
	$(PPC_OBJCOPY) -O binary $< $@
	@echo "ofshim.bin: $$(stat -c %s $@) bytes"

# The kexec entry for kexec_load (docs/ofshim.md): its bytes 4-0xff are the shim's.
build/ofshim/kexec-entry.bin: initramfs/ofshim/kexec-entry.S build/ofshim/ofshim.bin
	$(PPC_CC) $(PPC_CFLAGS) $(PPC_LDFLAGS) -Wl,-Ttext=0 -o build/ofshim/kexec-entry.elf $<
	$(PPC_OBJCOPY) -O binary build/ofshim/kexec-entry.elf $@
	dd if=build/ofshim/ofshim.bin of=$@ bs=1 skip=4 seek=4 count=252 conv=notrunc status=none

build/ofshim/ci-test.elf: $(CITEST_SRC) Makefile
	@scripts/deps.sh $(OFSHIM_DEPS)
	@mkdir -p build/ofshim
	$(PPC_CC) $(PPC_CFLAGS) $(PPC_LDFLAGS) -T Tests/ofshim/client/client.lds -o $@ \
		$(filter %.S %.c,$(CITEST_SRC))

build/ofshim/ci-test-le.elf: $(wildcard Tests/ofshim/client-le/*)
	@mkdir -p build/ofshim
	$(PPC_CC) $(subst -mbig-endian,-mlittle-endian,$(PPC_CFLAGS)) $(PPC_LDFLAGS) -Wl,-EL \
		-T Tests/ofshim/client-le/le.lds -o $@ Tests/ofshim/client-le/start.S Tests/ofshim/client-le/le.c

# Boots the CI test client under the shim and under SLOF in QEMU; last line "ofshim: N passed, M failed".
# Its last checks run kexboot's own plan (`kexboot boot --elf`), so kexboot is built too.
test-ofshim: ofshim
	scripts/deps.sh $(BUILD_DEPS) device-tree-compiler qemu-system-ppc gcc-powerpc64le-linux-gnu libc6-dev-ppc64el-cross
	scripts/build-curl.sh > /dev/null
	$(SWIFT) build
	python3 Tests/ofshim/run.py

# kexboot for ppc64le (pseries): the Swift runtime built from Debian's swiftlang source, the
# C libraries from Debian's ppc64el packages, the static binary (.build/ppc64le/kexboot)
# and the initramfs (.build/ppc64le/initramfs.img, with Debian's ppc64el kernel modules).
# Slow downloads and builds are cached in $${KEXBOOT_CACHE:-/var/cache/kexboot}.
PPC64LE_DEPS := qemu-user-static gcc-powerpc64le-linux-gnu g++-powerpc64le-linux-gnu libc6-dev-ppc64el-cross \
	libstdc++-12-dev-ppc64el-cross ninja-build xz-utils python3 dpkg-dev gcc make pkg-config libssl-dev \
	libcurl4-openssl-dev binutils kmod cpio ncurses-base ca-certificates file $(OFSHIM_DEPS)
ppc64le:
	scripts/deps.sh $(PPC64LE_DEPS)
	scripts/build-ppc64le.sh
	{ read -r vmlinux; read -r modules; } < <(initramfs/fetch-kernel.sh --arch ppc64le kernels) && \
	initramfs/build.sh --arch ppc64le --modules "$$modules" --compress xz --output .build/ppc64le/initramfs.img

# The ppc64le binary under qemu-user against the x86_64 one ("ppc64le: N passed, M failed"),
# then pseries guests with the shim as firmware: kexec of Linux from a grub.cfg, GRUB from
# PReP, the menu on hvc0, netboot, bad input, and the image under SLOF ("pseries: N passed, M failed").
test-ppc64le: ppc64le ofshim
	scripts/deps.sh $(BUILD_DEPS) fdisk e2fsprogs busybox-static cpio gzip grub-common qemu-system-ppc
	scripts/build-curl.sh > /dev/null
	$(SWIFT) build
	python3 Tests/ppc64le/run.py --ppc64le .build/ppc64le/kexboot --host .build/debug/kexboot \
		--elf build/ofshim/ci-test.elf --elf build/ofshim/ci-test-le.elf --elf build/ofshim/ofshim.elf
	{ read -r vmlinux; read -r modules; } < <(initramfs/fetch-kernel.sh --arch ppc64le kernels) && \
	python3 Tests/ppc64le/pseries.py --kernel "$$vmlinux" --initramfs .build/ppc64le/initramfs.img \
		--shim build/ofshim/ofshim.bin --busybox $${KEXBOOT_CACHE:-/var/cache/kexboot}/busybox-ppc64el/bin/busybox
