# SPDX-License-Identifier: GPL-2.0
#
# crossfence top-level Makefile.
#
# The kernel modules build out of tree with kbuild (see ./Kbuild); userspace
# (tests and tools) builds here against libdrm. Run `make help` for targets.

SRC := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))

# The kernel to build against and boot: KVER (a release, 6.1.0-57-amd64),
# or KDIR (a configured tree), or both for the same kernel. Never
# `uname -r`: the build machine runs some other kernel. Default: the newest
# supported kernel (6.1 or 6.12 series) whose headers are installed.
# scripts/kernel decides; a choice it refuses stops every target that
# needs a kernel (need-kdir) with its one-line reason. KROOT=DIR: kernels
# unpacked under DIR rather than installed (see scripts/kernel).
KERNEL := $(shell KROOT='$(KROOT)' $(abspath $(dir $(lastword \
	$(MAKEFILE_LIST))))/scripts/kernel --make '$(KVER)' '$(KDIR)')
ifeq ($(firstword $(KERNEL)),ok)
override KVER := $(word 2,$(KERNEL))
override KDIR := $(word 3,$(KERNEL))
KERNEL_WHY := $(wordlist 4,$(words $(KERNEL)),$(KERNEL))
KERNEL_ERR :=
else
KERNEL_ERR := $(wordlist 2,$(words $(KERNEL)),$(KERNEL))
endif
export KROOT
# What check, demo and bench boot: /boot/vmlinuz-KVER, or KROOT's.
VM_KERNEL = --kver $(KVER) $(if $(KROOT),--kernel-image \
	$(KROOT)/boot/vmlinuz-$(KVER) --moddir $(KROOT))

# Warnings are errors in CI (and whenever WERROR=1).
ifneq ($(CI),)
WERROR ?= 1
endif
WERROR ?= 0

# Quiet output as kbuild prints it ("  CC      tests/igt/kms_flip"); V=1
# prints every command in full instead, here and in kbuild (V is passed on).
# Compiler warnings and errors show either way.
V ?= 0
ifeq ($(V),1)
Q :=
else
Q := @
endif
# $(call show,CC,$@): the short line, in quiet mode only; the path is the
# target's, relative to the tree (build/ left out, as for the programs).
show = $(if $(Q),@printf '  %-7s %s\n' '$(1)' \
	'$(patsubst $(SRC)/%,%,$(patsubst $(BUILD)/%,%,$(2)))')

BUILD := $(SRC)/build
OUT := $(SRC)/out

CC ?= cc
DRM_CFLAGS := $(shell pkg-config --cflags libdrm 2>/dev/null)
DRM_LIBS := $(shell pkg-config --libs libdrm 2>/dev/null)
# -Wno-clobbered: every igt_fixture/igt_subtest block takes a fresh
# sigsetjmp, and a failure only jumps back to its own block, so locals set in
# an earlier block (the usual fd from a fixture) are never clobbered.
USER_CFLAGS := -O2 -g -std=gnu11 -Wall -Wextra -Wno-unused-parameter \
	-Wno-clobbered \
	-Wmissing-prototypes -Wstrict-prototypes -D_GNU_SOURCE \
	-I$(SRC)/tests/igt/lib -I$(SRC)/include/uapi $(DRM_CFLAGS)
ifeq ($(WERROR),1)
USER_CFLAGS += -Werror
endif
USER_LDLIBS := $(DRM_LIBS) -lpthread -lm

# Test binaries: every tests/igt/*.c except the harness self-test, which only
# `make check-harness` builds (it fails on purpose).
IGT_LIB_SRCS := $(wildcard $(SRC)/tests/igt/lib/*.c)
IGT_LIB_HDRS := $(wildcard $(SRC)/tests/igt/lib/*.h)
IGT_SRCS := $(filter-out %/harness_selftest.c,$(wildcard $(SRC)/tests/igt/*.c))
IGT_BINS := $(patsubst $(SRC)/tests/igt/%.c,$(BUILD)/tests/igt/%,$(IGT_SRCS))
# Tools (the demo, benchmark drivers): one program per tools/*.c.
TOOL_SRCS := $(wildcard $(SRC)/tools/*.c)
TOOL_BINS := $(patsubst $(SRC)/tools/%.c,$(BUILD)/tools/%,$(TOOL_SRCS))
HARNESS_BIN := $(BUILD)/tests/igt/harness_selftest
# make check-clients: kmsprobe, which checks what vkms shows while a real
# client (modetest, weston, Xorg) drives it (tests/clients/).
CLIENT_SRCS := $(wildcard $(SRC)/tests/clients/*.c)
CLIENT_BINS := $(patsubst $(SRC)/tests/clients/%.c,$(BUILD)/clients/%,\
	$(CLIENT_SRCS))
# The demo writes its writeback captures as PNG (libpng).
PNG_CFLAGS := $(shell pkg-config --cflags libpng 2>/dev/null)
PNG_LIBS := $(shell pkg-config --libs libpng 2>/dev/null)
$(BUILD)/tools/flipdemo: USER_CFLAGS += $(PNG_CFLAGS)
$(BUILD)/tools/flipdemo: USER_LDLIBS += $(PNG_LIBS)
# The demo's mirror checks the screendump PNGs (libpng).
$(BUILD)/tools/mirror: USER_CFLAGS += $(PNG_CFLAGS)
$(BUILD)/tools/mirror: USER_LDLIBS += $(PNG_LIBS)

KMAKE = $(MAKE) $(if $(Q),--no-print-directory) -C $(KDIR) M=$(SRC) \
	CROSSFENCE_WERROR=$(WERROR) V=$(V)

.PHONY: all build modules test-modules user check check-harness demo bench \
	lint sparse checkpatch setup clean install help need-kdir kernel \
	_check _check-harness _demo _bench _fuzz fuzz \
	check-debug _check-debug debug-kernel debug-modules docs \
	check-clients _check-clients \
	dkms-install dkms-remove

# The public targets first make sure the machine has what the project needs
# (scripts/setup --if-needed is quiet and quick when nothing is missing), then
# re-enter make so that KVER/KDIR are found after a fresh install. Setup is
# given the kernel chosen (or asked for): make installs no other kernel, so
# the default does not move by itself; `scripts/setup` installs them all.
all:
	@$(SRC)/scripts/setup --if-needed --kver '$(KVER)'
	@$(MAKE) --no-print-directory build

build: modules user

help:
	@echo "crossfence targets:"
	@echo "  make              build the kernel modules and userspace"
	@echo "  make check        build, boot the QEMU VM, run every test"
	@echo "  make demo         the main job (render on vgem, flip on vkms)"
	@echo "  make bench        benchmarks in the VM"
	@echo "  make lint         checkpatch --strict and sparse"
	@echo "  make check-harness  prove that failures are reported (fails)"
	@echo "  make check-debug  the suite on a debug kernel (lockdep, KASAN...)"
	@echo "  make check-clients  modetest, weston, Xorg... on our vkms and"
	@echo "                    upstream's, checked by CRC"
	@echo "  make setup        install the Debian packages (root)"
	@echo "  make docs         HTML documentation into out/docs (Sphinx)"
	@echo "  make install      the drivers and vgem_drm.h (DESTDIR=...)"
	@echo "  make dkms-install  the drivers under DKMS (dkms-remove undoes)"
	@echo "Kernel: KVER=6.1, KVER=6.12 or a release (scripts/kernel --list);"
	@echo "  default the newest supported installed. KDIR=tree, KROOT=dir."
	@echo "  V=1 prints the build's commands in full."
	@echo "Variables: KDIR=$(KDIR) KVER=$(KVER) WERROR=$(WERROR)"

need-kdir:
	@if [ -n "$(KERNEL_ERR)" ]; then \
		echo "crossfence: $(KERNEL_ERR)" >&2; exit 1; fi

# The first line of check, demo and bench: the kernel of the run, and why.
kernel: need-kdir
	@echo "crossfence: kernel $(KVER) (KDIR=$(KDIR); $(KERNEL_WHY))"

modules: need-kdir
	$(Q)$(KMAKE) modules

# kbuild needs its own tree; the harness WARN module is test-only.
test-modules: need-kdir
	$(Q)$(KMAKE) CROSSFENCE_TEST_MODULES=1 modules

user: $(IGT_BINS) $(TOOL_BINS)

$(BUILD)/tools/%: $(SRC)/tools/%.c $(IGT_LIB_SRCS) $(IGT_LIB_HDRS)
	@mkdir -p $(dir $@)
	$(call show,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -o $@ $< $(IGT_LIB_SRCS) $(USER_LDLIBS)

$(BUILD)/clients/%: $(SRC)/tests/clients/%.c $(IGT_LIB_SRCS) $(IGT_LIB_HDRS)
	@mkdir -p $(dir $@)
	$(call show,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -o $@ $< $(IGT_LIB_SRCS) $(USER_LDLIBS)

$(BUILD)/tests/igt/%: $(SRC)/tests/igt/%.c $(IGT_LIB_SRCS) $(IGT_LIB_HDRS)
	@mkdir -p $(dir $@)
	@if [ -z "$(DRM_LIBS)" ]; then \
		echo "crossfence: libdrm not found by pkg-config;" \
			"run 'sudo scripts/setup' (libdrm-dev, pkg-config)" >&2; \
		exit 1; fi
	$(call show,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -o $@ $< $(IGT_LIB_SRCS) $(USER_LDLIBS)

check check-harness demo bench fuzz:
	@$(SRC)/scripts/setup --if-needed --kver '$(KVER)'
	@$(MAKE) --no-print-directory kernel
	@$(MAKE) --no-print-directory _$@

# CHECK_OUT=DIR: results there instead of out/check (concurrent runs)
_check: build
	$(SRC)/scripts/check $(VM_KERNEL) $(if $(CHECK_OUT),--out $(CHECK_OUT))

_check-harness: test-modules user $(HARNESS_BIN)
	$(SRC)/scripts/check $(VM_KERNEL) --harness

# HOST_LOAD=N: N busy loops on the host for the whole run; OVERLOAD=0:
# without the overload scenario (load-fifo, load-edf)
_demo: build
	$(SRC)/scripts/demo $(VM_KERNEL) $(if $(HOST_LOAD),--host-load $(HOST_LOAD)) \
		$(if $(filter 0,$(OVERLOAD)),--no-overload)

_bench: build
	$(SRC)/scripts/bench $(VM_KERNEL)

# A longer fuzz run: make fuzz FUZZ_CALLS=1000000 SEED=1234
FUZZ_CALLS ?= 1000000
_fuzz: build
	FUZZ_CALLS=$(FUZZ_CALLS) $(if $(SEED),FUZZ_SEED=$(SEED)) \
		$(SRC)/scripts/check $(VM_KERNEL) --no-lint --filter 'fuzz_*' \
		--timeout 7200 --vm-timeout 7500

# --- make check-debug --------------------------------------------------------
# The whole suite on a debug kernel (lockdep, KASAN, UBSAN, kmemleak,
# DEBUG_OBJECTS, ...) built once from Debian's linux-source by
# scripts/debug-kernel/build (cached, see there), then a kmemleak scan. Our
# modules are built against that tree in build/debug/, a copy of the
# kernel sources of this tree, so the normal build's .ko files stay as they
# are.
DEBUG_TREE := $(BUILD)/debug
# The debug kernel is of KVER's series: 6.1 or 6.12.
DEBUG_SERIES = $(subst $(eval) ,.,$(wordlist 1,2,$(subst ., ,$(KVER))))
DEBUG_KERNEL = CF_DEBUG_SERIES=$(DEBUG_SERIES) $(SRC)/scripts/debug-kernel/build
DEBUG_MEM := 4096
# loglevel=4: warnings go to the kernel log (which the check reads whole:
# dmesg.txt) but not to the serial console. 6.1's printk writes to the
# 8250 console under its port lock, a spinlock_t, even from hard IRQ (the
# "hrtimer: interrupt took" line TCG provokes), which
# PROVE_RAW_LOCK_NESTING reports; lockdep then switches itself off for the
# rest of the run. Errors and worse (Oops, KASAN, panics, hung tasks) still
# reach the console.
DEBUG_APPEND := slub_debug=FZPU log_buf_len=8M acpi=noirq loglevel=4

check-debug:
	@$(SRC)/scripts/setup --if-needed --kver '$(KVER)' --debug
	@$(MAKE) --no-print-directory _check-debug

debug-kernel:
	$(DEBUG_KERNEL)

# Copies Kbuild, drivers/, include/, tests/kmod/, scripts/version (tracked
# and untracked sources, not kbuild output), drops sources deleted since,
# writes this tree's version to VERSION (the copy has no .git), and builds.
debug-modules:
	@d=$$($(DEBUG_KERNEL)) && \
	mkdir -p $(DEBUG_TREE) && \
	(cd $(SRC) && git ls-files -co --exclude-standard -- Kbuild \
		drivers include tests/kmod scripts/version | \
		grep -v '\.mod\.c$$' | sort) \
		>$(DEBUG_TREE)/.sources.new && \
	$(SRC)/scripts/version >$(DEBUG_TREE)/VERSION && \
	touch $(DEBUG_TREE)/.sources && \
	comm -23 $(DEBUG_TREE)/.sources $(DEBUG_TREE)/.sources.new | \
		(cd $(DEBUG_TREE) && xargs -r rm -f) && \
	mv $(DEBUG_TREE)/.sources.new $(DEBUG_TREE)/.sources && \
	tar -C $(SRC) -cf - -T $(DEBUG_TREE)/.sources | \
		tar -C $(DEBUG_TREE) -xf - && \
	$(MAKE) $(if $(Q),--no-print-directory) -C $$d/kdir M=$(DEBUG_TREE) \
		CROSSFENCE_WERROR=$(WERROR) V=$(V) modules

# Three boots, each to stay inside its 1500 s VM limit on a machine twice
# as slow as ours: the suite but its KMS programs and the fuzzer (then
# kmemleak); the KMS programs and teardown (then kmemleak) in
# out/check-kms; the fuzzer with the kernel's own KUnit suites and dma-buf
# selftests (a baseline) in out/check-kunit. All always run; the target
# fails if any does.
# A fresh clone of 3789fb7 (2026-12-07) took 756 s for what was then one
# first boot, 265 s of it fence_selftests' seven two-CPU races at 20000
# rounds each: the debug kernel runs them at DEBUG_RACE_ROUNDS: every path
# still runs under lockdep and KASAN, fewer interleavings are tried (make
# check tries 20000). With the formats, rotation and colour tests that
# boot took 1031 s on 9e1ef62 (load 3-5), too close to the limit: hence
# the split. results.json of each boot has its steps' guest seconds.
DEBUG_RACE_ROUNDS := 5000
DEBUG_KMS := kms_*,teardown
_check-debug: debug-modules user
	@d=$$($(DEBUG_KERNEL)) && \
	opts="--kver $$(cat $$d/kernelrelease) --kernel-image $$d/bzImage \
		--moddir $$d/modroot --module-root $(DEBUG_TREE) \
		--mem $(DEBUG_MEM) --append '$(DEBUG_APPEND)'" && \
	eval $(SRC)/scripts/check $$opts --skip "'fuzz_ioctl,$(DEBUG_KMS)'" \
		--module-arg fence_selftests.ko=race_rounds=$(DEBUG_RACE_ROUNDS) \
		$(if $(CHECK_OUT),--out $(CHECK_OUT)); rc=$$?; \
	eval $(SRC)/scripts/check $$opts --filter "'$(DEBUG_KMS)'" --no-lint \
		--out $(OUT)/check-kms || rc=1; \
	eval $(SRC)/scripts/check $$opts --kunit \
		--filter "'kunit.*,fuzz_ioctl'" --no-lint \
		--out $(OUT)/check-kunit || rc=1; \
	exit $$rc

# --- make check-clients -----------------------------------------------------
# Real clients on vkms (tests/clients/, Documentation/clients.rst):
# modetest, vbltest, proptest, weston (pixman and GL) and Xorg, each frame
# checked through vkms's CRC by build/clients/kmsprobe; once on our
# modules, once with the upstream vkms of scripts/baseline/vkms in place of
# ours. Their packages come with scripts/setup --clients, for this target
# only. Results and report.md in out/check-clients (CHECK_OUT=DIR: there).
check-clients:
	@$(SRC)/scripts/setup --if-needed --kver '$(KVER)' --clients
	@$(MAKE) --no-print-directory kernel
	@$(MAKE) --no-print-directory _check-clients

_check-clients: build $(CLIENT_BINS)
	$(SRC)/scripts/check-clients --kver $(KVER) \
		$(if $(CHECK_OUT),--out $(CHECK_OUT))

lint: checkpatch sparse

checkpatch:
	$(SRC)/scripts/lint checkpatch

sparse: need-kdir
	KVER=$(KVER) KDIR=$(KDIR) $(SRC)/scripts/lint sparse

setup:
	$(SRC)/scripts/setup

# Documentation/ as HTML in out/docs, warnings as errors. Debian's
# python3-sphinx (scripts/setup) belongs to /usr/bin/python3, which is
# used when it exists, whatever python3 comes first in PATH. The
# kernel-doc directive is Documentation/sphinxext/kerneldoc.py.
DOCS_PYTHON ?= $(firstword $(wildcard /usr/bin/python3) python3)
docs:
	@$(DOCS_PYTHON) -c 'import sphinx' 2>/dev/null || { \
		echo "crossfence: Sphinx is missing for $(DOCS_PYTHON);" \
			"run 'sudo scripts/setup' (python3-sphinx)" >&2; exit 1; }
	$(DOCS_PYTHON) -m sphinx -W -b html $(SRC)/Documentation $(OUT)/docs

# The drivers (fence.ko, vgem.ko, vkms.ko) and the vgem uapi header, never
# the test-only modules: they are built again without them
# (CROSSFENCE_NO_TEST_MODULES=1, see ./Kbuild), so that kbuild's
# modules.order, which modules_install follows, names the drivers alone.
# The modules go to INSTALL_MOD_PATH/lib/modules/KVER/updates (updates
# comes before the kernel's own directory for modprobe: our vgem and vkms
# replace the stock ones), the header to DESTDIR/usr/include/drm.
# INSTALL_MOD_PATH defaults to DESTDIR: `make install DESTDIR=/tmp/x`
# stages everything under /tmp/x. depmod runs for the real system only
# (no INSTALL_MOD_PATH); a staged tree is the packager's to index (kbuild's
# own depmod step skips itself on Debian's headers: no System.map).
# Unsigned: Debian's headers enable CONFIG_MODULE_SIG_ALL but do not ship
# Debian's signing key, so kbuild's signing step could only fail; DKMS
# signs with its own key (Documentation/packaging.rst).
INSTALL_MOD_PATH ?= $(DESTDIR)
INSTALL_MOD_DIR ?= updates
INCLUDEDIR ?= /usr/include
install: need-kdir
	$(Q)$(KMAKE) CROSSFENCE_NO_TEST_MODULES=1 modules
	$(Q)$(KMAKE) CROSSFENCE_NO_TEST_MODULES=1 CONFIG_MODULE_SIG_ALL= \
		INSTALL_MOD_PATH=$(INSTALL_MOD_PATH) \
		INSTALL_MOD_DIR=$(INSTALL_MOD_DIR) modules_install
	$(call show,INSTALL,$(DESTDIR)$(INCLUDEDIR)/drm/vgem_drm.h)
	$(Q)install -D -m 0644 $(SRC)/include/uapi/drm/vgem_drm.h \
		$(DESTDIR)$(INCLUDEDIR)/drm/vgem_drm.h
	$(Q)if [ -z "$(INSTALL_MOD_PATH)" ]; then \
		$(if $(Q),echo '  DEPMOD  $(KVER)';) depmod -a $(KVER); fi
	@d=$(INSTALL_MOD_PATH)/lib/modules/$(KVER)/$(INSTALL_MOD_DIR); \
	echo "crossfence: installed under $$d:"; \
	(cd $$d && find . -name 'fence.ko*' -o -name 'vgem.ko*' -o \
		-name 'vkms.ko*' | sed 's|^\./|  |' | sort); \
	echo "crossfence: installed $(DESTDIR)$(INCLUDEDIR)/drm/vgem_drm.h"

# DKMS (dkms.conf, scripts/dkms, Documentation/packaging.rst): the drivers
# for every installed 6.1 and 6.12 kernel, in updates/dkms, rebuilt by DKMS
# for each new kernel of those series; dkms-remove takes them all out.
# Root and Debian's dkms (not installed by setup: make check has no use for
# it). DKMS_ROOT=DIR: a dry run, DKMS's trees under DIR.
dkms-install dkms-remove:
	$(SRC)/scripts/dkms $(@:dkms-%=%) $(if $(DKMS_ROOT),--root $(DKMS_ROOT))

clean:
	$(Q)-[ -f "$(KDIR)/Makefile" ] && $(KMAKE) clean
	$(call show,CLEAN,$(BUILD))
	$(Q)rm -rf $(BUILD)
