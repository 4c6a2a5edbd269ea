/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared code of the virtbe benchmarks: a simulated guest with an attached
 * backend, latency statistics, and the floor every result is compared to,
 * measured in the same run.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/virtbe.h>
#include <linux/virtbe_sim.h>

#define MMIO_BASE	0x10000000ULL
#define NOTIFY		(MMIO_BASE + 0x50)

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static inline void die(const char *what)
{
	fprintf(stderr, "bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static inline void efd_write(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) != sizeof(one))
		die("eventfd write");
}

static inline void efd_read(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		die("eventfd read");
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct lat {
	double median_us;
	double p99_us;
};

static inline struct lat lat_stats(uint64_t *ns, int n)
{
	struct lat l;

	qsort(ns, n, sizeof(*ns), cmp_u64);
	l.median_us = ns[n / 2] / 1000.0;
	l.p99_us = ns[(int)(n * 0.99)] / 1000.0;
	return l;
}

static inline void report(const char *name, struct lat ours,
			  const char *floor_name, struct lat floor,
			  const char *target)
{
	printf("%-28s median %8.1f us  p99 %8.1f us | %-26s median %8.1f us  p99 %8.1f us | ratio %.2f%s%s\n",
	       name, ours.median_us, ours.p99_us, floor_name, floor.median_us,
	       floor.p99_us, ours.median_us / floor.median_us,
	       target ? "  target " : "", target ? target : "");
}

/*
 * Latencies are one-way: the sending thread stores its timestamp in *t0
 * just before it signals, the receiving thread takes its own as it wakes.
 * The receiver then answers on `ack`, which only paces the next iteration.
 */
static inline void stamp(uint64_t *t0)
{
	__atomic_store_n(t0, now_ns(), __ATOMIC_RELEASE);
}

static inline uint64_t since(uint64_t *t0)
{
	return now_ns() - __atomic_load_n(t0, __ATOMIC_ACQUIRE);
}

/* The floor: a raw eventfd ping-pong between two threads. */
struct pingpong {
	int go, ack;
	int iters;
	uint64_t t0;
	uint64_t *ns;
	pthread_t tid;
};

static void *pingpong_peer(void *arg)
{
	struct pingpong *p = arg;

	for (int i = 0; i < p->iters; i++) {
		efd_read(p->go);
		p->ns[i] = since(&p->t0);
		efd_write(p->ack);
	}
	return NULL;
}

static inline void floor_pingpong(uint64_t *ns, int iters)
{
	struct pingpong p = {
		.go = eventfd(0, EFD_CLOEXEC), .ack = eventfd(0, EFD_CLOEXEC),
		.iters = iters, .ns = ns,
	};

	pthread_create(&p.tid, NULL, pingpong_peer, &p);
	for (int i = 0; i < iters; i++) {
		stamp(&p.t0);
		efd_write(p.go);
		efd_read(p.ack);
	}
	pthread_join(p.tid, NULL);
	close(p.go);
	close(p.ack);
}

/* A simulated guest and a backend guest fd attached to it. */
struct simenv {
	int ctl, simctl, sg, g, memfd;
	uint64_t id;
};

static inline void simenv_init(struct simenv *e, uint32_t nr_vcpus,
			       uint64_t ram)
{
	struct virtbe_sim_create c = { .size = sizeof(c), .nr_vcpus = nr_vcpus };
	struct virtbe_attach a = { .size = sizeof(a), .hyp = VIRTBE_HYP_SIM };
	struct virtbe_range r = {
		.size = sizeof(r), .addr = MMIO_BASE, .len = 0x100000,
	};

	e->ctl = open("/dev/virtbe", O_RDWR | O_CLOEXEC);
	e->simctl = open("/dev/virtbe_sim", O_RDWR | O_CLOEXEC);
	if (e->ctl < 0 || e->simctl < 0)
		die("open /dev/virtbe*");
	e->sg = ioctl(e->simctl, VIRTBE_SIM_CREATE, &c);
	if (e->sg < 0)
		die("SIM_CREATE");
	e->id = c.out_guest_id;
	e->memfd = -1;
	if (ram) {
		struct virtbe_sim_ram rr = { .size = sizeof(rr), .len = ram };

		e->memfd = memfd_create("bench-ram", MFD_CLOEXEC);
		if (e->memfd < 0 || ftruncate(e->memfd, ram))
			die("memfd");
		rr.memfd = e->memfd;
		if (ioctl(e->sg, VIRTBE_SIM_ADD_RAM, &rr) < 0)
			die("SIM_ADD_RAM");
	}
	a.guest_id = e->id;
	e->g = ioctl(e->ctl, VIRTBE_ATTACH, &a);
	if (e->g < 0)
		die("ATTACH");
	if (ioctl(e->g, VIRTBE_CLAIM_RANGE, &r) < 0)
		die("CLAIM_RANGE");
}

static inline void simenv_fini(struct simenv *e)
{
	close(e->g);
	close(e->sg);
	if (e->memfd >= 0)
		close(e->memfd);
	close(e->simctl);
	close(e->ctl);
}

static inline int sim_write(int sg, uint32_t vcpu, uint64_t addr,
			    uint64_t val, uint32_t *result)
{
	struct virtbe_sim_access a = {
		.size = sizeof(a), .flags = VIRTBE_SIM_ACCESS_WRITE,
		.vcpu = vcpu, .len = 4, .addr = addr, .data = val,
	};

	if (ioctl(sg, VIRTBE_SIM_ACCESS, &a) < 0)
		return -errno;
	if (result)
		*result = a.out_result;
	return 0;
}

static inline int sim_read(int sg, uint32_t vcpu, uint64_t addr,
			   uint64_t *val)
{
	struct virtbe_sim_access a = {
		.size = sizeof(a), .vcpu = vcpu, .len = 4, .addr = addr,
	};

	if (ioctl(sg, VIRTBE_SIM_ACCESS, &a) < 0)
		return -errno;
	*val = a.data;
	return 0;
}

static inline int assign_ioeventfd(int g, int efd, uint64_t addr,
				   uint64_t datamatch)
{
	struct virtbe_ioeventfd io = {
		.size = sizeof(io), .flags = VIRTBE_IOEVENTFD_DATAMATCH,
		.fd = efd, .len = 4, .addr = addr, .datamatch = datamatch,
	};

	return ioctl(g, VIRTBE_IOEVENTFD, &io) < 0 ? -errno : 0;
}

static inline int bench_iters(int dflt)
{
	const char *s = getenv("BENCH_ITERS");

	return s ? atoi(s) : dflt;
}

#endif /* BENCH_COMMON_H */
