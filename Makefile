# kexboot: `make demo` shows it working, `make test` runs every test.
SHELL := /bin/bash
export PATH := $(PATH):/opt/swift/usr/bin
SWIFT ?= swift

# Debian packages each target needs (installed when missing).
BUILD_DEPS := pkg-config libblkid-dev libudev-dev libcrypt-dev libcurl4-openssl-dev zlib1g-dev
TEST_DEPS := python3 pkg-config libcurl4-openssl-dev zlib1g-dev device-tree-compiler qemu-system-ppc dnsmasq-base ethtool tftpd-hpa tftp-hpa iproute2 busybox-static ca-certificates binutils gcc-powerpc64-linux-gnu binutils-powerpc64-linux-gnu \
	libblkid-dev libudev-dev libcrypt-dev fdisk gdisk e2fsprogs dosfstools xfsprogs btrfs-progs squashfs-tools xorriso mtools openssl util-linux tmux
BENCH_DEPS := grub-common hyperfine time python3 fdisk e2fsprogs util-linux nginx-light curl tftp-hpa tftpd-hpa iproute2 openssl

.PHONY: all build release test demo demo-parse bench deps clean

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
	scripts/e2e.sh

# Boots kexboot in QEMU on this terminal; leave with Ctrl-A X.
demo:
	scripts/deps.sh $(BUILD_DEPS)
	scripts/demo.sh

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

clean:
	rm -rf .build
