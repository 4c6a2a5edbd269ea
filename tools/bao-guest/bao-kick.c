// SPDX-License-Identifier: GPL-2.0
/*
 * bao-kick: the frontend half of the Bao lane's kick benchmark.
 *
 *   bao-kick ITERS ROUNDS WAIT_S NAME:UIO:OFFSET...
 *
 * Each UIO is the /dev/uioN of a register window that uio_pdrv_genirq
 * gives userspace (its interrupt too).  A round trip writes the 32-bit
 * register at OFFSET of the window and waits for the interrupt the
 * backend sends back; it is timed on this VM's clock, and so is the write
 * itself: how long the hypervisor held this vCPU until the backend
 * completed the access.  Before the timed ones, each path's kick is
 * repeated (one a second, for up to WAIT_S seconds) until one is
 * answered: the backend may not be serving yet.  The paths take turns,
 * ROUNDS rounds of ITERS / ROUNDS round trips each, so that a slow spell
 * of the emulating host is shared between them.  A kick whose interrupt
 * does not come within 2 s is counted as lost, not timed; one that comes
 * later is taken before the next kick, which would otherwise see it as
 * its own.  Prints per path
 *
 *   kick NAME: median M us, p99 P us, N round trips; vCPU held median H us; L lost
 *
 * and exits 0, or names what failed and exits 1.
 *
 * Copyright (C) 2026 The virtbe authors
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "timing.h"

#define MAX_ITERS 100000
#define MAX_PATHS 4

struct path {
	char name[32];
	const char *uio;
	int fd;
	volatile uint32_t *reg;
	uint64_t *t;		/* round trips */
	uint64_t *h;		/* vCPU held */
	unsigned long n;
	unsigned long lost;	/* no interrupt within 2 s */
};

/* /sys/class/uio/uioN/maps/map0/FIELD of /dev/uioN */
static int map_attr(const char *uio, const char *field, unsigned long *val)
{
	const char *n = strrchr(uio, '/');
	char path[128];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "/sys/class/uio/%s/maps/map0/%s",
		 n ? n + 1 : uio, field);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	ok = fscanf(f, "%lx", val) == 1;
	fclose(f);
	return ok ? 0 : -EINVAL;
}

/* Let the next interrupt through (uio_pdrv_genirq masks it on arrival). */
static int enable(int fd)
{
	uint32_t one = 1;

	return write(fd, &one, sizeof(one)) == sizeof(one) ? 0 : -errno;
}

/*
 * Kick, wait up to @ms for the interrupt: 1, 0 (none), -errno.  *@held:
 * when the write returned (the hypervisor resumed this vCPU).
 */
static int kick(struct path *p, int ms, uint64_t *held)
{
	struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
	uint32_t count;
	int ret;

	*p->reg = 0;
	*held = now_ns();
	ret = poll(&pfd, 1, ms);
	if (ret <= 0)
		return ret < 0 ? -errno : 0;
	if (read(p->fd, &count, sizeof(count)) != sizeof(count))
		return -errno;
	return 1;
}

static int open_path(struct path *p, char *spec, unsigned long iters)
{
	char *uio = strchr(spec, ':'), *off_s;
	unsigned long size, offs, off;
	void *map;

	off_s = uio ? strchr(uio + 1, ':') : NULL;
	if (!off_s) {
		fprintf(stderr, "bao-kick: \"%s\": want NAME:UIO:OFFSET\n", spec);
		return -1;
	}
	*uio++ = 0;
	*off_s++ = 0;
	snprintf(p->name, sizeof(p->name), "%s", spec);
	p->uio = uio;
	off = strtoul(off_s, NULL, 0);
	p->fd = open(uio, O_RDWR | O_CLOEXEC);
	if (p->fd < 0 || map_attr(uio, "size", &size) ||
	    map_attr(uio, "offset", &offs) || off % 4 || offs + off + 4 > size) {
		fprintf(stderr, "bao-kick: %s: %s: %s (is uio_pdrv_genirq bound to the window?)\n",
			p->name, uio, p->fd < 0 ? strerror(errno) :
			"no usable map0, or OFFSET outside it");
		return -1;
	}
	/* map0 is whole pages; the window starts @offs into them */
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, p->fd, 0);
	if (map == MAP_FAILED) {
		fprintf(stderr, "bao-kick: %s: mmap: %s\n", uio, strerror(errno));
		return -1;
	}
	p->reg = (volatile uint32_t *)((char *)map + offs + off);
	p->t = calloc(iters, sizeof(*p->t));
	p->h = calloc(iters, sizeof(*p->h));
	return p->t && p->h ? 0 : -1;
}

/* The first answered kick, within @wait_s seconds. */
static int wait_served(struct path *p, unsigned long wait_s)
{
	uint64_t held;
	unsigned long i;
	int ret = 0;

	for (i = 0; i < wait_s && !ret; i++) {
		ret = enable(p->fd);
		if (!ret)
			ret = kick(p, 1000, &held);
	}
	if (ret > 0)
		return 0;
	fprintf(stderr, "bao-kick: %s: %s\n", p->name, ret ? strerror(-ret) :
		"no interrupt came back: is the backend serving the window?");
	return -1;
}

/* Take a late interrupt (within @ms) of a kick counted as lost. */
static void drain(struct path *p, int ms)
{
	struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
	uint32_t count;

	if (!enable(p->fd) && poll(&pfd, 1, ms) > 0 &&
	    read(p->fd, &count, sizeof(count)) != sizeof(count))
		fprintf(stderr, "bao-kick: %s: read: %s\n", p->name,
			strerror(errno));
}

static int run(struct path *p, unsigned long n)
{
	while (n--) {
		uint64_t t0, held = 0;
		int ret;

		ret = enable(p->fd);
		t0 = now_ns();
		if (!ret)
			ret = kick(p, 2000, &held);
		if (!ret) {
			p->lost++;
			drain(p, 1000);
			continue;
		}
		if (ret < 0) {
			fprintf(stderr, "bao-kick: %s: round trip %lu: %s\n",
				p->name, p->n, strerror(-ret));
			return -1;
		}
		p->t[p->n] = now_ns() - t0;
		p->h[p->n++] = held - t0;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct path paths[MAX_PATHS] = { 0 };
	unsigned long iters, rounds, wait_s, per, r;
	int i, np = argc - 4;

	if (argc < 5 || np > MAX_PATHS) {
		fprintf(stderr, "usage: bao-kick ITERS ROUNDS WAIT_S NAME:UIO:OFFSET... (at most %d)\n",
			MAX_PATHS);
		return 1;
	}
	iters = strtoul(argv[1], NULL, 0);
	rounds = strtoul(argv[2], NULL, 0);
	wait_s = strtoul(argv[3], NULL, 0);
	if (!iters || iters > MAX_ITERS || !rounds || iters % rounds) {
		fprintf(stderr, "bao-kick: ITERS 1 to %d, a multiple of ROUNDS\n",
			MAX_ITERS);
		return 1;
	}
	per = iters / rounds;
	for (i = 0; i < np; i++)
		if (open_path(&paths[i], argv[4 + i], iters) ||
		    wait_served(&paths[i], wait_s))
			return 1;
	for (r = 0; r < rounds; r++)
		for (i = 0; i < np; i++)
			if (run(&paths[i], per))
				return 1;
	for (i = 0; i < np; i++) {
		struct path *p = &paths[i];

		qsort(p->t, p->n, sizeof(*p->t), cmp_u64);
		qsort(p->h, p->n, sizeof(*p->h), cmp_u64);
		if (!p->n) {
			printf("kick %s: every interrupt lost (%lu)\n", p->name,
			       p->lost);
			continue;
		}
		printf("kick %s: median %.1f us, p99 %.1f us, %lu round trips; vCPU held median %.1f us; %lu lost\n",
		       p->name, p->t[p->n / 2] / 1000.0,
		       p->t[p->n * 99 / 100] / 1000.0, p->n,
		       p->h[p->n / 2] / 1000.0, p->lost);
	}
	return 0;
}
