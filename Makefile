# SPDX-License-Identifier: GPL-2.0
# virtbe top-level Makefile (the kernel side is built by Kbuild + kernel/).
#
#   make deps                    install the Debian packages needed (root)
#   make modules [KREL=<release> | KDIR=/path/to/build]  build virtbe*.ko
#                                for an installed kernel: by default the
#                                running one's, /lib/modules/$(uname -r)/build
#                                (scripts/kdir.sh), in build/host-<release>/src;
#                                the .ko land in build/host-<release>/ko
#   make modules KVER=6.1|6.12|debug|debug-6.12|arm64  build them for that test
#                                lane's headers (debug: the debug kernel's tree,
#                                built and cached by scripts/debug-kernel.sh;
#                                the modules get -g; arm64: Debian's 6.1 arm64
#                                headers, cross-built with aarch64-linux-gnu-)
#                                in build/<lane>/src (copies of
#                                Kbuild, kernel/, uapi/); the .ko land in
#                                build/<lane>/ko; W=1 and sparse (C=2, when
#                                installed), and a warning fails
#   make modules_install [DESTDIR=] [INSTALL_MOD_DIR=extra]  the same kernel's
#                                modules into $(DESTDIR)/lib/modules/<release>/
#   make install [DESTDIR=] [PREFIX=/usr/local]  modules_install, then
#                                install-user: libvirtbe (PREFIX/lib), its
#                                header, .pc and the uapi header
#                                (PREFIX/include), vbe-blk and
#                                virtbe-vhost-user (PREFIX/bin), their systemd
#                                unit templates (SYSTEMDUNITDIR), the udev
#                                rule (UDEVRULESDIR) and the man pages
#                                (PREFIX/share/man/man3, man8);
#                                Documentation/install.rst
#   make dkms-source [DESTDIR=]  the DKMS source tree (Kbuild, kernel/, uapi/,
#                                dkms.conf) in $(DESTDIR)/usr/src/virtbe-<version>
#   make lib                     build lib/ (libvirtbe)
#   make htmldocs                Documentation/ -> build/htmldocs (Sphinx,
#                                warnings fail it)
#   make man                     the tools' man pages (section 8, Sphinx) and
#                                libvirtbe's (section 3: libvirtbe(3) and one
#                                per function and structure, kernel-doc -man
#                                of its header) -> build/man
#   make selftests               static kselftest binaries -> build/selftests,
#                                bench/*.c -> build/bench, tools/*/ (if any)
#   make check [LANES="6.1 6.12 debug xen xen-6.12 bao"]  host tests,
#                                then per lane: modules,
#                                selftests, run in QEMU; ends with one line
#                                "N passed, N failed, N skipped".  The debug
#                                lane: KASAN, lockdep, kmemleak, fault
#                                injection (make check LANES=debug alone).
#                                xen / xen-pvh: Xen 4.17 with a PV / PVH
#                                (auto-translated) dom0 (scripts/xen-lane.sh);
#                                xen-6.12: a PV dom0 running Debian's 6.12;
#                                xen-pvh-debug, xen-pvh-debug-6.12: a PVH
#                                dom0 on a KASAN/lockdep/kmemleak kernel
#                                (6.1's, or 6.12's with privcmd's ioeventfd);
#                                xen-arm64 (not default): the same on arm64.
#                                LANES= (empty): the host tests only
#   make debug-kernel            build (or find cached) the debug lane's kernel
#   make coverage                line coverage of kernel/ on the debug lane:
#                                the whole suite, then fuzz_test alone, with
#                                modules built with VIRTBE_GCOV=1 (gcov
#                                profiling, in build/debug-gcov);
#                                scripts/coverage.sh, build/coverage
#   make demo                    the Xen demo: Xen 4.17 under QEMU, vbe-blk in
#                                dom0 serving a domU's own virtio-blk driver
#                                (scripts/xen-lane.sh)
#   make demo-sim [DEMO_CMD=...] boot the 6.1 lane and run the simulator demo
#   make bench [BENCH_LANE=6.1]  boot a lane and run every build/bench/* binary
#   make bench-xen               the Xen lane with its benchmarks (kick round
#                                trips, whole-guest map, 4 KiB random reads
#                                via virtbe vs blkback): build/xen/bench.log;
#                                BENCH_XEN_ARGS="--dom0 pvh --kver debug-6.12"
#                                adds privcmd's own ioeventfd as a path
#   make clean

SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c

KVER ?=
KREL ?=
KDIR ?=
LANES ?= 6.1 6.12 debug xen xen-6.12 bao
BENCH_LANE ?= 6.1
DEMO_LANE ?= 6.1
DEMO_CMD ?= /tools/demo/run-demo.sh
VIRTBE_CACHE ?= /var/cache/virtbe
VERSION := $(shell sed -n 's/^VIRTBE_VERSION := *//p' Kbuild)
# make install: userspace under PREFIX, modules under
# $(DESTDIR)/lib/modules/<release>/$(INSTALL_MOD_DIR); udev and systemd read
# their files from fixed places, not from PREFIX
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
INSTALL_MOD_DIR ?= extra
UDEVRULESDIR ?= /etc/udev/rules.d
SYSTEMDUNITDIR ?= /etc/systemd/system
USER_TOOLS := tools/vbe-blk tools/vhost-user
export VIRTBE_CACHE

B := $(CURDIR)/build
HARNESS := $(VIRTBE_CACHE)/src/linux-source-6.1/tools/testing/selftests
CC := gcc
BENCH_CFLAGS := -O2 -g -Wall -Wextra -Wno-unused-parameter -Werror -pthread -D_GNU_SOURCE= -I$(CURDIR)/uapi \
	-I$(CURDIR)/lib/include -isystem $(HARNESS)
LIBA = $(wildcard $(CURDIR)/lib/libvirtbe.a)
LIBFDT := $(if $(wildcard /usr/lib/x86_64-linux-gnu/libfdt.a),-lfdt)
BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BINS := $(patsubst bench/%.c,$(B)/bench/%,$(BENCH_SRCS))
TOOL_DIRS := $(patsubst %/Makefile,%,$(wildcard tools/*/Makefile))

.PHONY: all deps modules modules_install install install-user dkms-source lib lib-check selftests bench-build tools check demo \
	bench bench-xen bench-bao clean demo-sim debug-kernel htmldocs man coverage

all: modules lib selftests

deps:
	@scripts/deps.sh

# ------------------------------------------------------------------ modules
# Each kernel (a lane's, or an installed one's: scripts/kdir.sh) builds in
# its own copy of the kernel sources, so that 6.1 and 6.12 objects never mix
# and the source tree gets no .o, .ko or .cmd; sources are refreshed by mtime
# (cp -u) and sources deleted from the repo are deleted from the copy.
KTREE = KVER="$(KVER)" KREL="$(KREL)" KDIR="$(KDIR)" scripts/kdir.sh
modules:
	@k=$$($(KTREE)); eval "$$k"; $(if $(VIRTBE_GCOV),NAME=$$NAME-gcov;) \
	d=$(B)/$$NAME/src; mkdir -p $$d $(B)/$$NAME/ko; \
	test -f Kbuild || { echo "modules: no Kbuild file yet"; exit 1; }; \
	for p in Kbuild kernel uapi; do [ -e $$p ] && cp -a -u $$p $$d/; done; \
	(cd $$d && find Kbuild kernel uapi -type f \( -name '*.[chS]' -o -name Kbuild \
		-o -name Makefile \) 2>/dev/null) | while read -r f; do \
		[ -e "$$f" ] || { echo "  RM      $$d/$$f"; rm -f "$$d/$$f"; }; done; \
	echo "  MODULES $$NAME ($$KREL) in $$d"; \
	sp=; if [ $$LANE = 1 ]; then if command -v sparse >/dev/null; then sp=C=2; \
		else echo "  SPARSE  skipped: sparse is not installed (apt-get install sparse)"; fi; fi; \
	$(MAKE) --no-print-directory -C $$KDIR M=$$d $$([ $$LANE = 0 ] || echo W=1) $$sp $${KCROSS:+CROSS_COMPILE=$$KCROSS} $(if $(filter debug debug-6.12,$(KVER)),KCFLAGS=-g) modules 2>&1 | tee $(B)/$$NAME/modules.log; \
	if [ $$LANE = 1 ] && grep -i 'warning:' $(B)/$$NAME/modules.log >/dev/null; then \
		echo "modules: $$NAME: the build printed warnings (see above); failing"; exit 1; fi; \
	if [ -n "$$sp" ] && grep -E "^$$d/.*: (warning|error):" $(B)/$$NAME/modules.log >/dev/null; then \
		echo "modules: $$NAME: sparse (C=2) reported our files (see above); failing"; exit 1; fi; \
	rm -f $(B)/$$NAME/ko/*.ko; \
	find $$d -name '*.ko' -exec cp {} $(B)/$$NAME/ko/ \; ; \
	ls $(B)/$$NAME/ko/*.ko >/dev/null 2>&1 || { echo "modules: no .ko built"; exit 1; }; \
	echo "  MODULES $$(cd $(B)/$$NAME/ko && echo *.ko) in $(B)/$$NAME/ko"

# kbuild's own modules_install of what `modules` built.  It signs the
# modules only if the tree has its signing key (a distribution's headers do
# not: DKMS signs with its own), and runs depmod only with a System.map
# (which Debian's headers lack): without DESTDIR, depmod is run here; with
# one, it is the package's (postinst) to run.
modules_install: modules
	@k=$$($(KTREE)); eval "$$k"; \
	key=$$(sed -n 's/^CONFIG_MODULE_SIG_KEY="\(.*\)"$$/\1/p' $$KDIR/.config 2>/dev/null); \
	nosign=; if [ -n "$$key" ] && [ ! -f "$$key" ] && [ ! -f "$$KDIR/$$key" ]; then \
		nosign=CONFIG_MODULE_SIG_ALL=; \
		echo "modules_install: not signing: $$KDIR has no signing key ($$key)"; fi; \
	$(MAKE) --no-print-directory -C $$KDIR M=$(B)/$$NAME/src \
		$${KCROSS:+CROSS_COMPILE=$$KCROSS} INSTALL_MOD_PATH=$(DESTDIR) \
		INSTALL_MOD_DIR=$(INSTALL_MOD_DIR) $$nosign modules_install; \
	if [ -z "$(DESTDIR)" ]; then echo "  DEPMOD  $$KREL"; depmod -a $$KREL; fi

# ------------------------------------------------------------------ install
install: modules_install install-user

install-user: lib
	@$(MAKE) --no-print-directory -C lib install PREFIX=$(PREFIX)
	@for d in $(USER_TOOLS); do $(MAKE) --no-print-directory -C $$d install \
		PREFIX=$(PREFIX) BINDIR=$(BINDIR) SYSTEMDUNITDIR=$(SYSTEMDUNITDIR) || exit 1; done
	install -D -m 644 udev/60-virtbe.rules $(DESTDIR)$(UDEVRULESDIR)/60-virtbe.rules
	@if command -v sphinx-build >/dev/null; then $(MAKE) --no-print-directory man && \
		for f in $(B)/man/*.[38]; do install -D -m 644 $$f \
			$(DESTDIR)$(PREFIX)/share/man/man$${f##*.}/$${f##*/} || exit 1; done; \
	else echo "install: no sphinx-build (python3-sphinx): man pages not installed"; fi
	@if [ -z "$(DESTDIR)" ] && ! getent group virtbe >/dev/null; then \
		echo "install: there is no group virtbe yet: /dev/virtbe stays root's until"; \
		echo "install: \`groupadd --system virtbe\` (see Documentation/install.rst)"; fi

# What DKMS builds from (dkms.conf): /usr/src/virtbe-<version>
DKMS_SRC = $(DESTDIR)/usr/src/virtbe-$(VERSION)
dkms-source:
	@rm -rf $(DKMS_SRC); mkdir -p $(DKMS_SRC)
	cp -a Kbuild dkms.conf kernel uapi $(DKMS_SRC)/
	@find $(DKMS_SRC) \( -name '*.o' -o -name '*.ko' -o -name '*.cmd' -o -name '*.mod*' \) -delete
	@echo "  DKMS    $(DKMS_SRC): dkms add virtbe/$(VERSION); dkms install virtbe/$(VERSION)"

debug-kernel: deps
	@scripts/debug-kernel.sh

# ---------------------------------------------------------------------- lib
lib:
	@if [ -f lib/Makefile ]; then $(MAKE) -C lib; \
	else echo "lib: lib/Makefile does not exist yet, skipping"; fi

lib-check:
	@if [ -f lib/Makefile ]; then $(MAKE) -C lib check; \
	else echo "lib-check: lib/Makefile does not exist yet, skipping"; fi

# Documentation/ as HTML; any Sphinx warning fails it (the kernel-doc
# extension comes from linux-source-6.1, extracted by scripts/harness.sh)
htmldocs:
	@command -v sphinx-build >/dev/null || { echo "htmldocs: sphinx-build missing: apt-get install python3-sphinx (or make deps)"; exit 1; }
	@VIRTBE_KERNEL_SRC=$$(scripts/harness.sh --root) && export VIRTBE_KERNEL_SRC && \
		sphinx-build -E -W --keep-going -q -b html Documentation $(B)/htmldocs
	@echo "htmldocs: $(B)/htmldocs/index.html"

# the tools' manual pages (section 8), from Documentation/man/; libvirtbe's
# (section 3), from its header's kernel-doc (scripts/libvirtbe-man.sh)
man:
	@command -v sphinx-build >/dev/null || { echo "man: sphinx-build missing: apt-get install python3-sphinx (or make deps)"; exit 1; }
	@VIRTBE_KERNEL_SRC=$$(scripts/harness.sh --root) && export VIRTBE_KERNEL_SRC && \
		sphinx-build -E -W --keep-going -q -b man Documentation $(B)/man
	@scripts/libvirtbe-man.sh $(B)/man

# -------------------------------------------------------- userspace programs
selftests: lib $(HARNESS)/kselftest_harness.h
	@$(MAKE) --no-print-directory -C selftests OUT=$(B)/selftests HARNESS=$(HARNESS)
	@$(MAKE) --no-print-directory bench-build tools

bench-build: $(BENCH_BINS)
	@for f in $(B)/bench/*; do case " $(BENCH_BINS) " in *" $$f "*) ;; \
		*) [ ! -e "$$f" ] || { echo "  RM      $$f"; rm -rf "$$f"; } ;; esac; done

# every benchmark may use the simulated guest's driver, its daemons
# (qemu-storage-daemon) and the vhost-user frontend (the floor of
# bench_vhost_user)
BENCH_HELPERS := tools/sim-guest/vblk_guest.c tools/sim-guest/daemons.c \
	tools/vhost-user/vhu.c
$(B)/bench/%: bench/%.c $(BENCH_HELPERS) $(wildcard uapi/linux/*.h lib/include/*.h bench/*.h tools/sim-guest/*.h tools/vhost-user/*.h) $(LIBA) | $(HARNESS)/kselftest_harness.h
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -static -o $@ $< $(BENCH_HELPERS) $(LIBA) $(LIBFDT) -lm

tools: lib
	@for d in $(TOOL_DIRS); do $(MAKE) -C $$d || exit 1; done

$(HARNESS)/kselftest_harness.h:
	@scripts/harness.sh >/dev/null

# -------------------------------------------------------------------- check
check:
	@LANES="$(LANES)" scripts/check.sh

# opt-in: not part of check (Documentation/testing.rst, "Coverage")
coverage:
	@scripts/coverage.sh

# --------------------------------------------------------------- demo/bench
demo: deps
	scripts/xen-lane.sh --demo --log $(B)/xen/demo.log

demo-sim: deps
	@$(MAKE) --no-print-directory modules KVER=$(DEMO_LANE)
	@$(MAKE) --no-print-directory selftests
	@case "$(DEMO_CMD)" in /tools/*) \
		f=tools/$(patsubst /tools/%,%,$(firstword $(DEMO_CMD))); \
		if [ ! -e "$$f" ]; then \
			echo "demo: $$f does not exist yet: there is no demo to run."; \
			echo "demo: (make demo DEMO_CMD='...' runs any command in the VM instead)"; \
			exit 1; fi ;; esac
	@mkdir -p $(B)/demo
	@printf '#!/bin/sh\nexec %s "$$@"\n' '$(DEMO_CMD)' >$(B)/demo/vbe-demo
	@chmod +x $(B)/demo/vbe-demo
	scripts/vm-run.sh --extra $(CURDIR)/tools=/tools \
		$(if $(wildcard /usr/bin/qemu-storage-daemon),--extra /usr/bin/qemu-storage-daemon=/bin/qemu-storage-daemon) \
		$(if $(wildcard $(B)/bench/*),--extra $(B)/bench=/bench) \
		--extra $(B)/demo/vbe-demo=/bin/vbe-demo --cmd /bin/vbe-demo \
		--log $(B)/$(DEMO_LANE)/demo.log \
		$(DEMO_LANE) $(B)/$(DEMO_LANE)/ko $(B)/selftests demo

bench: deps
	@$(MAKE) --no-print-directory modules KVER=$(BENCH_LANE)
	@$(MAKE) --no-print-directory selftests
	@ls $(B)/bench/* >/dev/null 2>&1 || { echo "bench: no bench/*.c programs yet"; exit 1; }
	@# bench_vhost_user: vbe-blk, qemu-storage-daemon and the bridge in /bin
	vu=(--extra $(CURDIR)/tools/vbe-blk/vbe-blk=/bin/vbe-blk); \
	[ ! -x /usr/bin/qemu-storage-daemon ] || \
		vu+=(--extra /usr/bin/qemu-storage-daemon=/bin/qemu-storage-daemon); \
	[ ! -x tools/vhost-user/virtbe-vhost-user ] || \
		vu+=(--extra $(CURDIR)/tools/vhost-user/virtbe-vhost-user=/bin/virtbe-vhost-user); \
	scripts/vm-run.sh --extra $(CURDIR)/tools=/tools "$${vu[@]}" --log $(B)/$(BENCH_LANE)/bench.log \
		$(BENCH_LANE) $(B)/$(BENCH_LANE)/ko $(B)/bench bench

# BENCH_XEN_ARGS: more xen-lane.sh options, e.g. the head-to-head with
# privcmd's ioeventfd: BENCH_XEN_ARGS="--dom0 pvh --kver debug-6.12"
bench-xen: deps
	scripts/xen-lane.sh --bench $(BENCH_XEN_ARGS) --log $(B)/xen/bench.log

bench-bao: deps
	scripts/bao-lane.sh --bench --log $(B)/bao/bench.log

clean:
	rm -rf $(B)
	@if [ -f lib/Makefile ]; then $(MAKE) -C lib clean; fi
	@for d in $(TOOL_DIRS); do $(MAKE) -C $$d clean || true; done
