/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the virtbe selftests.  Each helper comes in up to three
 * forms, as in the iommufd selftests: _x() returns 0 or -errno, x() asserts
 * success, x_err(errno, ...) asserts that exact failure.
 */
#ifndef VIRTBE_UTILS_H
#define VIRTBE_UTILS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/virtbe.h>
#include <linux/virtbe_sim.h>

#include "kselftest_harness.h"

_Static_assert(sizeof(struct virtbe_info) == 48, "abi");
_Static_assert(sizeof(struct virtbe_attach) == 32, "abi");
_Static_assert(sizeof(struct virtbe_mem_map) == 32, "abi");
_Static_assert(sizeof(struct virtbe_range) == 24, "abi");
_Static_assert(sizeof(struct virtbe_ioeventfd) == 40, "abi");
_Static_assert(sizeof(struct virtbe_irqfd) == 48, "abi");
_Static_assert(sizeof(struct virtbe_stats) == 72, "abi");
_Static_assert(sizeof(struct virtbe_request) == 64, "abi");
_Static_assert(sizeof(struct virtbe_completion) == 32, "abi");
_Static_assert(sizeof(struct virtbe_sim_create) == 24, "abi");
_Static_assert(sizeof(struct virtbe_sim_ram) == 40, "abi");
_Static_assert(sizeof(struct virtbe_sim_access) == 40, "abi");
_Static_assert(sizeof(struct virtbe_sim_bind_irq) == 24, "abi");
_Static_assert(sizeof(struct virtbe_sim_irq_state) == 32, "abi");
_Static_assert(sizeof(struct virtbe_sim_fault) == 16, "abi");
_Static_assert(sizeof(struct virtbe_sim_destroy) == 8, "abi");

#define RAM_GPA		0x0ULL
#define RAM_SIZE	(16ULL << 20)
#define MMIO_BASE	0x10000000ULL
#define MMIO_SIZE	0x1000ULL

#define SKIP_IF_NO_VIRTBE(_metadata)					\
	do {								\
		if (access("/dev/virtbe", F_OK) ||			\
		    access("/dev/virtbe_sim", F_OK))			\
			SKIP(return, "virtbe modules not loaded");	\
	} while (0)

static inline int vbe_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) < 0 ? -errno : 0;
}

/* ioctl returning an fd or -errno */
static inline int vbe_ioctl_fd(int fd, unsigned long cmd, void *arg)
{
	int ret = ioctl(fd, cmd, arg);

	return ret < 0 ? -errno : ret;
}

static inline int memfd_ram(uint64_t size)
{
	int fd = memfd_create("virtbe-test-ram", MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, size))
		return -1;
	return fd;
}

static inline int _sim_create(int simctl, uint32_t nr_vcpus, uint64_t *id)
{
	struct virtbe_sim_create c = {
		.size = sizeof(c), .nr_vcpus = nr_vcpus,
	};
	int fd = vbe_ioctl_fd(simctl, VIRTBE_SIM_CREATE, &c);

	if (fd >= 0 && id)
		*id = c.out_guest_id;
	return fd;
}

static inline int _sim_add_ram(int sg, int memfd, uint64_t gpa, uint64_t len,
			       uint64_t off)
{
	struct virtbe_sim_ram r = {
		.size = sizeof(r), .memfd = memfd, .gpa = gpa, .len = len,
		.offset = off,
	};

	return vbe_ioctl(sg, VIRTBE_SIM_ADD_RAM, &r);
}

static inline int _attach(int ctl, uint32_t hyp, uint64_t id,
			  uint32_t timeout_ms)
{
	struct virtbe_attach a = {
		.size = sizeof(a), .hyp = hyp, .guest_id = id,
		.request_timeout_ms = timeout_ms,
	};

	return vbe_ioctl_fd(ctl, VIRTBE_ATTACH, &a);
}

static inline int _claim(int g, uint32_t flags, uint64_t addr, uint64_t len)
{
	struct virtbe_range r = {
		.size = sizeof(r), .flags = flags, .addr = addr, .len = len,
	};

	return vbe_ioctl(g, VIRTBE_CLAIM_RANGE, &r);
}

static inline int _mem_map(int g, uint64_t gpa, uint64_t len, uint32_t flags)
{
	struct virtbe_mem_map m = {
		.size = sizeof(m), .flags = flags, .gpa = gpa, .len = len,
	};

	return vbe_ioctl_fd(g, VIRTBE_MEM_MAP, &m);
}

static inline int _ioeventfd(int g, int efd, uint64_t addr, uint32_t len,
			     uint32_t flags, uint64_t datamatch)
{
	struct virtbe_ioeventfd io = {
		.size = sizeof(io), .flags = flags, .fd = efd, .len = len,
		.addr = addr, .datamatch = datamatch,
	};

	return vbe_ioctl(g, VIRTBE_IOEVENTFD, &io);
}

static inline int _irqfd(int g, int efd, int resamplefd, uint32_t type,
			 uint32_t irq, uint32_t flags)
{
	struct virtbe_irqfd i = {
		.size = sizeof(i), .flags = flags, .fd = efd,
		.resamplefd = resamplefd, .type = type, .irq = irq,
	};

	return vbe_ioctl(g, VIRTBE_IRQFD, &i);
}

static inline int _irqfd_vmmio(int g, int efd, int resamplefd, uint32_t type,
			       uint32_t irq, uint64_t base, uint32_t bits)
{
	struct virtbe_irqfd i = {
		.size = sizeof(i), .flags = VIRTBE_IRQFD_VIRTIO_MMIO, .fd = efd,
		.resamplefd = resamplefd, .type = type, .irq = irq,
		.vmmio_base = base, .isr_bits = bits,
	};

	return vbe_ioctl(g, VIRTBE_IRQFD, &i);
}

static inline int _bind_irq(int sg, uint32_t type, uint32_t irq, int efd)
{
	struct virtbe_sim_bind_irq b = {
		.size = sizeof(b), .type = type, .irq = irq, .fd = efd,
	};

	return vbe_ioctl(sg, VIRTBE_SIM_BIND_IRQ, &b);
}

static inline int _irq_state(int sg, uint32_t type, uint32_t irq, bool eoi,
			     struct virtbe_sim_irq_state *st)
{
	*st = (struct virtbe_sim_irq_state) {
		.size = sizeof(*st), .flags = eoi ? VIRTBE_SIM_IRQ_EOI : 0,
		.type = type, .irq = irq,
	};
	return vbe_ioctl(sg, VIRTBE_SIM_IRQ_STATE, st);
}

static inline int _sim_fault(int sg, uint32_t fault, uint32_t arg)
{
	struct virtbe_sim_fault f = {
		.size = sizeof(f), .fault = fault, .arg = arg,
	};

	return vbe_ioctl(sg, VIRTBE_SIM_FAULT, &f);
}

/* One vCPU access; returns 0 or -errno, result and data through pointers. */
static inline int _access_flags(int sg, uint32_t vcpu, uint32_t flags,
				uint64_t addr, uint32_t len, uint64_t *data,
				uint32_t *result)
{
	struct virtbe_sim_access a = {
		.size = sizeof(a),
		.flags = flags,
		.vcpu = vcpu, .len = len, .addr = addr,
		.data = data ? *data : 0,
	};
	int ret = vbe_ioctl(sg, VIRTBE_SIM_ACCESS, &a);

	if (!ret) {
		if (data)
			*data = a.data;
		if (result)
			*result = a.out_result;
	}
	return ret;
}

static inline int _access(int sg, uint32_t vcpu, bool write, uint64_t addr,
			  uint32_t len, uint64_t *data, uint32_t *result)
{
	return _access_flags(sg, vcpu, write ? VIRTBE_SIM_ACCESS_WRITE : 0,
			     addr, len, data, result);
}

static inline int _get_stats(int g, struct virtbe_stats *st)
{
	*st = (struct virtbe_stats) { .size = sizeof(*st) };
	return vbe_ioctl(g, VIRTBE_GET_STATS, st);
}

/* Read one request, waiting up to timeout_ms; returns 0 or -errno. */
static inline int read_request(int g, struct virtbe_request *req,
			       int timeout_ms)
{
	struct pollfd p = { .fd = g, .events = POLLIN };
	ssize_t n;

	if (poll(&p, 1, timeout_ms) != 1)
		return -ETIMEDOUT;
	n = read(g, req, sizeof(*req));
	if (n < 0)
		return -errno;
	return n == sizeof(*req) ? 0 : -EIO;
}

static inline int complete_request(int g, uint64_t id, uint64_t data)
{
	struct virtbe_completion c = {
		.size = sizeof(c), .id = id, .data = data,
	};
	ssize_t n = write(g, &c, sizeof(c));

	if (n < 0)
		return -errno;
	return n == sizeof(c) ? 0 : -EIO;
}

/* Read an eventfd counter within timeout_ms; returns count or -errno. */
static inline int64_t eventfd_wait(int efd, int timeout_ms)
{
	struct pollfd p = { .fd = efd, .events = POLLIN };
	uint64_t v;

	if (poll(&p, 1, timeout_ms) != 1)
		return -ETIMEDOUT;
	if (read(efd, &v, sizeof(v)) != sizeof(v))
		return -errno;
	return v;
}

static inline void eventfd_kick(int efd)
{
	uint64_t one = 1;

	if (write(efd, &one, sizeof(one)) != sizeof(one))
		abort();
}

/* An address with nothing mapped at it, hidden from the compiler. */
static inline void *unmapped_ptr(void)
{
	void *p = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	if (p == MAP_FAILED || munmap(p, 4096))
		abort();
	return p;
}

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* A vCPU access run from its own thread, so the test can serve it. */
struct vcpu_thread {
	pthread_t tid;
	int sg;
	uint32_t vcpu;
	bool write;
	bool pio;
	uint64_t addr;
	uint32_t len;
	uint64_t data;
	uint32_t result;
	int ret;
};

static inline void *vcpu_thread_fn(void *arg)
{
	struct vcpu_thread *t = arg;

	t->ret = _access_flags(t->sg, t->vcpu,
			       (t->write ? VIRTBE_SIM_ACCESS_WRITE : 0) |
			       (t->pio ? VIRTBE_SIM_ACCESS_PIO : 0),
			       t->addr, t->len, &t->data, &t->result);
	return NULL;
}

static inline int vcpu_start(struct vcpu_thread *t)
{
	return pthread_create(&t->tid, NULL, vcpu_thread_fn, t);
}

static inline int vcpu_join(struct vcpu_thread *t)
{
	return pthread_join(t->tid, NULL);
}

#endif /* VIRTBE_UTILS_H */
