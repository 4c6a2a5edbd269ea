// SPDX-License-Identifier: GPL-2.0
/*
 * vbe-pin: the dom0 half of the Xen lanes' tests of guest pages referenced
 * beyond the revocation of their window (tools/xen-guest/dom0-test.sh).
 *
 *   vbe-pin --guest DOMID --gfn GFN --gen N [--go FILE] [--keep] vmsplice
 *   vbe-pin --guest DOMID --gfn GFN --gen N --dev BLOCKDEV odirect
 *   vbe-pin --guest DOMID --gfn GFN --gen N --dev BLOCKDEV efault
 *
 * GFN is the domU's test page (vbe_xen_guest.ko publishes it as
 * data/virtbe-page-gfn); byte i of generation N of it is
 * (uint8_t)(N * 151 + i * 7 + (i >> 8) * 13 + 1).  Every mode attaches to
 * the domain, maps the 64-page window holding GFN read-only
 * (VIRTBE_MEM_MAP_RDONLY), mmaps it and checks that the page holds
 * generation N.  Then:
 *
 * vmsplice  vmsplice the page into a pipe (a page reference, as
 *           get_user_pages() takes), close the memory fd and, without
 *           --keep, the guest fd: the window is revoked, and the mapping
 *           must fault.  Prints "HELD", then waits for FILE to hold a
 *           generation M (the test has the domU rewrite the page, or
 *           destroys the domain, meanwhile), reads the pipe and checks
 *           that it returns generation M of the guest's page.  With
 *           --keep the guest fd stays open: the window is revoked when
 *           the domain dies, which is checked after the wait.
 * odirect   write the page to BLOCKDEV with O_DIRECT from another thread
 *           (a null_blk device whose completions take seconds keeps it
 *           in flight), and while the write is in flight close the memory
 *           fd and the guest fd; the write must complete, and BLOCKDEV
 *           must then hold generation N.
 * efault    (a PV dom0, whose memory fds are VM_PFNMAP) vmsplice of the
 *           page and an O_DIRECT write of it to BLOCKDEV must both fail
 *           with EFAULT.
 *
 * Exits 0 if every check passed, 1 if one failed, 2 on usage errors.
 *
 * Copyright (C) 2026 The virtbe authors
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <linux/virtbe.h>

#define PAGE		4096UL
#define WINDOW		64		/* pages */
#define GO_WAIT_S	300

static const char *prog = "vbe-pin";

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	printf("%s: ", prog);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void __attribute__((noreturn)) fail(const char *what)
{
	say("FAIL: %s: %s", what, strerror(errno));
	exit(1);
}

static uint8_t pattern(unsigned int gen, unsigned int i)
{
	return (uint8_t)(gen * 151 + i * 7 + (i >> 8) * 13 + 1);
}

/* NULL if @p holds generation @gen, else what it holds instead */
static const char *check(const uint8_t *p, unsigned int gen, char *why,
			 size_t len)
{
	unsigned int i, g;

	for (i = 0; i < PAGE && p[i] == pattern(gen, i); i++)
		;
	if (i == PAGE)
		return NULL;
	for (i = 0; i < PAGE && p[i] == 0xff; i++)
		;
	if (i == PAGE)
		return "all-ones (a hole in dom0's physmap?)";
	for (i = 0; i < PAGE && !p[i]; i++)
		;
	if (i == PAGE)
		return "zeros";
	for (g = 0; g < 1000; g++) {
		for (i = 0; i < PAGE && p[i] == pattern(g, i); i++)
			;
		if (i == PAGE) {
			snprintf(why, len, "generation %u instead", g);
			return why;
		}
	}
	for (i = 0; p[i] == pattern(gen, i); i++)
		;
	snprintf(why, len,
		 "something else: byte %u is %#x, not %#x (bytes 0-7: %02x %02x %02x %02x %02x %02x %02x %02x)",
		 i, p[i], pattern(gen, i), p[0], p[1], p[2], p[3], p[4], p[5],
		 p[6], p[7]);
	return why;
}

static sigjmp_buf bus_jmp;

static void on_sigbus(int sig)
{
	(void)sig;
	siglongjmp(bus_jmp, 1);
}

/* true if reading *@p raises SIGBUS */
static bool faults(const volatile uint8_t *p)
{
	struct sigaction sa = { .sa_handler = on_sigbus }, old;
	bool bus = false;

	sigaction(SIGBUS, &sa, &old);
	if (sigsetjmp(bus_jmp, 1))
		bus = true;
	else
		(void)*p;
	sigaction(SIGBUS, &old, NULL);
	return bus;
}

/* the generation FILE holds, once it exists */
static unsigned int wait_go(const char *file)
{
	struct timespec ts = { .tv_nsec = 100 * 1000 * 1000 };
	unsigned int gen, i;
	FILE *f;

	for (i = 0; i < GO_WAIT_S * 10; i++) {
		f = fopen(file, "r");
		if (f) {
			if (fscanf(f, "%u", &gen) == 1) {
				fclose(f);
				return gen;
			}
			fclose(f);
		}
		nanosleep(&ts, NULL);
	}
	say("FAIL: %s did not appear in %d s", file, GO_WAIT_S);
	exit(1);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: vbe-pin --guest DOMID --gfn GFN --gen N [--go FILE] [--keep] vmsplice\n"
		"       vbe-pin --guest DOMID --gfn GFN --gen N --dev BLOCKDEV odirect|efault\n");
	exit(2);
}

struct writer {
	int fd;
	const void *buf;
	ssize_t ret;
	int err;
};

static void *write_page(void *arg)
{
	struct writer *w = arg;

	w->ret = pwrite(w->fd, w->buf, PAGE, 0);
	w->err = errno;
	return NULL;
}

/* writes in flight on block device @dev, from sysfs; -1 if unknown */
static int inflight_writes(const char *dev)
{
	const char *name = strrchr(dev, '/');
	char path[256];
	int r, w = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/block/%s/inflight",
		 name ? name + 1 : dev);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%d %d", &r, &w) != 2)
		w = -1;
	fclose(f);
	return w;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "guest", required_argument, NULL, 'g' },
		{ "gfn", required_argument, NULL, 'f' },
		{ "gen", required_argument, NULL, 'n' },
		{ "go", required_argument, NULL, 'o' },
		{ "dev", required_argument, NULL, 'd' },
		{ "keep", no_argument, NULL, 'k' },
		{ }
	};
	const char *go = NULL, *dev = NULL, *mode, *bad;
	unsigned long long domid = 0, gfn = 0;
	unsigned int gen = 0, gen2;
	bool keep = false, ok = true;
	struct virtbe_attach a = {
		.size = sizeof(a), .hyp = VIRTBE_HYP_XEN,
	};
	struct virtbe_mem_map m = {
		.size = sizeof(m), .flags = VIRTBE_MEM_MAP_RDONLY,
		.len = WINDOW * PAGE,
	};
	static uint8_t buf[PAGE] __attribute__((aligned(PAGE)));
	char why[256];
	int c, ctl, g, mfd, pfd[2];
	uint8_t *map, *page;
	struct iovec iov;
	ssize_t n;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'g': domid = strtoull(optarg, NULL, 0); break;
		case 'f': gfn = strtoull(optarg, NULL, 0); break;
		case 'n': gen = strtoul(optarg, NULL, 0); break;
		case 'o': go = optarg; break;
		case 'd': dev = optarg; break;
		case 'k': keep = true; break;
		default: usage();
		}
	}
	if (optind != argc - 1 || !domid || !gfn || !gen)
		usage();
	mode = argv[optind];
	if (!strcmp(mode, "vmsplice")) {
		if (!go)
			usage();
	} else if (strcmp(mode, "odirect") && strcmp(mode, "efault")) {
		usage();
	} else if (!dev) {
		usage();
	}

	ctl = open("/dev/virtbe", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		fail("/dev/virtbe");
	a.guest_id = domid;
	g = ioctl(ctl, VIRTBE_ATTACH, &a);
	if (g < 0)
		fail("VIRTBE_ATTACH");
	close(ctl);
	m.gpa = (gfn & ~(WINDOW - 1ULL)) * PAGE;
	mfd = ioctl(g, VIRTBE_MEM_MAP, &m);
	if (mfd < 0)
		fail("VIRTBE_MEM_MAP");
	map = mmap(NULL, WINDOW * PAGE, PROT_READ, MAP_SHARED, mfd, 0);
	if (map == MAP_FAILED)
		fail("mmap of the memory fd");
	page = map + (gfn & (WINDOW - 1)) * PAGE;
	bad = check(page, gen, why, sizeof(why));
	if (bad) {
		say("FAIL: the mapping of gfn %#llx holds %s, not generation %u",
		    gfn, bad, gen);
		return 1;
	}
	say("d%llu: gfn %#llx mapped (window %#llx+%#llx, read-only): generation %u of the guest's page",
	    domid, gfn, (unsigned long long)m.gpa,
	    (unsigned long long)m.len, gen);

	if (!strcmp(mode, "efault")) {
		int fd = open(dev, O_WRONLY | O_DIRECT);

		if (fd < 0)
			fail(dev);
		if (pipe(pfd))
			fail("pipe");
		iov = (struct iovec){ .iov_base = page, .iov_len = PAGE };
		n = vmsplice(pfd[1], &iov, 1, 0);
		if (n < 0 && errno == EFAULT) {
			say("vmsplice of the page: EFAULT");
		} else {
			say("FAIL: vmsplice of the page returned %zd (%s), not EFAULT",
			    n, n < 0 ? strerror(errno) : "no error");
			ok = false;
		}
		n = pwrite(fd, page, PAGE, 0);
		if (n < 0 && errno == EFAULT) {
			say("O_DIRECT write of the page to %s: EFAULT", dev);
		} else {
			say("FAIL: O_DIRECT write of the page to %s returned %zd (%s), not EFAULT",
			    dev, n, n < 0 ? strerror(errno) : "no error");
			ok = false;
		}
		close(fd);
		munmap(map, WINDOW * PAGE);
		close(mfd);
		close(g);
		say("%s: memory fd and guest fd closed", ok ? "EFAULT OK" : "FAIL");
		return !ok;
	}

	if (!strcmp(mode, "odirect")) {
		struct timespec ts = { .tv_nsec = 10 * 1000 * 1000 };
		struct writer w = { .buf = page };
		pthread_t t;
		int i, inflight = -1;

		w.fd = open(dev, O_RDWR | O_DIRECT);
		if (w.fd < 0)
			fail(dev);
		errno = pthread_create(&t, NULL, write_page, &w);
		if (errno)
			fail("pthread_create");
		for (i = 0; i < 200 && inflight < 1; i++) {
			nanosleep(&ts, NULL);
			inflight = inflight_writes(dev);
		}
		close(mfd);
		close(g);
		say("REVOKED: memory fd and guest fd closed with %d write(s) in flight on %s; the mapping %s",
		    inflight, dev, faults(page) ? "faults (SIGBUS)" :
						  "STILL READS");
		if (inflight < 1 || !faults(page))
			ok = false;
		pthread_join(t, NULL);
		if (w.ret != (ssize_t)PAGE) {
			errno = w.err;
			say("FAIL: the O_DIRECT write returned %zd (%s)", w.ret,
			    w.ret < 0 ? strerror(errno) : "short");
			return 1;
		}
		n = pread(w.fd, buf, PAGE, 0);
		if (n != (ssize_t)PAGE)
			fail("O_DIRECT read back");
		bad = check(buf, gen, why, sizeof(why));
		if (bad) {
			say("FAIL: %s holds %s, not generation %u", dev, bad,
			    gen);
			return 1;
		}
		close(w.fd);
		munmap(map, WINDOW * PAGE);
		say("%s: the write completed after the revocation; %s holds generation %u of the guest's page",
		    ok ? "ODIRECT OK" : "FAIL", dev, gen);
		return !ok;
	}

	/* vmsplice */
	if (pipe(pfd))
		fail("pipe");
	iov = (struct iovec){ .iov_base = page, .iov_len = PAGE };
	n = vmsplice(pfd[1], &iov, 1, 0);
	if (n != (ssize_t)PAGE) {
		say("FAIL: vmsplice of the page returned %zd (%s)", n,
		    n < 0 ? strerror(errno) : "short");
		return 1;
	}
	close(mfd);
	if (!keep) {
		close(g);
		if (!faults(page)) {
			say("FAIL: the mapping still reads after the guest fd's close");
			ok = false;
		}
	}
	say("HELD: the page is in a pipe; memory fd closed, guest fd %s",
	    keep ? "kept open" : "closed, the mapping faults (SIGBUS)");
	gen2 = wait_go(go);
	if (keep) {
		if (!faults(page)) {
			say("FAIL: the mapping still reads after the domain's death");
			ok = false;
		}
		close(g);
	}
	n = read(pfd[0], buf, PAGE);
	if (n != (ssize_t)PAGE)
		fail("read of the pipe");
	bad = check(buf, gen2, why, sizeof(why));
	if (bad) {
		say("FAIL: the pipe read returns %s, not generation %u of the guest's page",
		    bad, gen2);
		return 1;
	}
	munmap(map, WINDOW * PAGE);
	close(pfd[0]);
	close(pfd[1]);
	say("%s: the pipe read returns generation %u of the guest's page",
	    ok ? "PIPE OK" : "FAIL", gen2);
	return !ok;
}
