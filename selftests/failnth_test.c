// SPDX-License-Identifier: GPL-2.0
/*
 * Error-path sweep, in the manner of iommufd's fail_nth selftest: for every
 * operation, make the Nth fault-injection point of the calling task fail
 * (slab allocations, user copies) for N = 1, 2, ... until the operation
 * runs without reaching the Nth point.  After each injected failure the
 * call returned 0 or a documented errno, and the operation then succeeds
 * on the same objects: nothing was left half done.  Leaks are caught by
 * the debug lane's kmemleak scan.  Needs CONFIG_FAULT_INJECTION and
 * debugfs: skipped elsewhere.
 */
#include <dirent.h>
#include <stdlib.h>
#include <sys/syscall.h>

#include "virtbe_utils.h"

#define MAX_NTH 2000

static bool have_fault_injection;
static int nth_fd = -1;	/* opened before arming: opening can fail too */

static int writeat(int dfd, const char *fn, const char *val)
{
	int fd = openat(dfd, fn, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

/* As iommufd's test: let every allocation be failed, quietly. */
static void __attribute__((constructor)) setup_fault_injection(void)
{
	DIR *debugfs = opendir("/sys/kernel/debug/");
	struct dirent *dent;

	if (!debugfs)
		return;
	if (writeat(dirfd(debugfs), "failslab/ignore-gfp-wait", "N"))
		goto out;
	writeat(dirfd(debugfs), "fail_page_alloc/ignore-gfp-wait", "N");
	writeat(dirfd(debugfs), "fail_page_alloc/ignore-gfp-highmem", "N");
	while ((dent = readdir(debugfs))) {
		char fn[300];

		if (strncmp(dent->d_name, "fail", 4))
			continue;
		snprintf(fn, sizeof(fn), "%s/verbose", dent->d_name);
		writeat(dirfd(debugfs), fn, "0");
	}
	have_fault_injection = true;
out:
	closedir(debugfs);
}

static void nth_arm(unsigned int nth)
{
	char buf[16];

	if (nth_fd < 0) {
		snprintf(buf, sizeof(buf), "%ld", (long)syscall(SYS_gettid));
		{
			char path[64];

			snprintf(path, sizeof(path),
				 "/proc/self/task/%s/fail-nth", buf);
			nth_fd = open(path, O_RDWR | O_CLOEXEC);
		}
		if (nth_fd < 0)
			abort();
	}
	snprintf(buf, sizeof(buf), "%u", nth);
	if (pwrite(nth_fd, buf, strlen(buf), 0) < 0)
		abort();
}

/*
 * Disarm; returns true if the armed fault was injected.  As in iommufd's
 * test: reading the counter is itself a fault point (a user copy), so an
 * EFAULT there means the fault had not been reached by the operation; the
 * disarming write may fail the same way once and is retried.
 */
static bool nth_disarm(void)
{
	char buf[16] = { 0 };
	bool injected;
	ssize_t n;

	n = pread(nth_fd, buf, sizeof(buf) - 1, 0);
	if (n < 0 && errno == EFAULT)
		injected = false;
	else if (n < 0)
		abort();
	else
		injected = atoi(buf) == 0;
	if (pwrite(nth_fd, "0", 1, 0) < 0 &&
	    (errno != EFAULT || pwrite(nth_fd, "0", 1, 0) < 0))
		abort();
	return injected;
}

/* The objects every operation may need, made fresh for each N. */
struct env {
	int ctl, simctl, sg, sg2, g, memfd, efd, efd2, rs;
	uint64_t id, id2;
	struct vcpu_thread vcpu;
	bool vcpu_running;
	uint64_t req_id;
};

static int env_init(struct env *e)
{
	memset(e, 0, sizeof(*e));
	e->ctl = open("/dev/virtbe", O_RDWR | O_CLOEXEC);
	e->simctl = open("/dev/virtbe_sim", O_RDWR | O_CLOEXEC);
	e->sg = _sim_create(e->simctl, 2, &e->id);
	e->sg2 = _sim_create(e->simctl, 1, &e->id2);
	e->memfd = memfd_ram(1 << 20);
	e->efd = eventfd(0, EFD_CLOEXEC);
	e->efd2 = eventfd(0, EFD_CLOEXEC);
	e->rs = eventfd(0, EFD_CLOEXEC);
	if (e->ctl < 0 || e->simctl < 0 || e->sg < 0 || e->sg2 < 0 ||
	    e->memfd < 0 || _sim_add_ram(e->sg, e->memfd, 0, 1 << 20, 0))
		return -1;
	e->g = _attach(e->ctl, VIRTBE_HYP_SIM, e->id, 2000);
	if (e->g < 0 || _claim(e->g, 0, MMIO_BASE, MMIO_SIZE))
		return -1;
	return _bind_irq(e->sg, VIRTBE_IRQ_LEVEL, 4, e->efd2);
}

static void env_fini(struct env *e)
{
	if (e->vcpu_running)
		vcpu_join(&e->vcpu);
	close(e->g);
	close(e->sg);
	close(e->sg2);
	close(e->memfd);
	close(e->efd);
	close(e->efd2);
	close(e->rs);
	close(e->simctl);
	close(e->ctl);
}

/* A request queued on vCPU 1, for the channel operations. */
static int queue_request(struct env *e)
{
	struct pollfd p = { .fd = e->g, .events = POLLIN };

	e->vcpu = (struct vcpu_thread) {
		.sg = e->sg, .vcpu = 1, .addr = MMIO_BASE + 0x10, .len = 4,
	};
	if (vcpu_start(&e->vcpu))
		return -1;
	e->vcpu_running = true;
	return poll(&p, 1, 2000) == 1 ? 0 : -1;
}

static int close_ret(int fd)
{
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

struct op {
	const char *name;
	int (*prepare)(struct env *e);	/* optional, not under injection */
	int (*run)(struct env *e);	/* 0 or -errno */
};

static int op_attach(struct env *e)
{
	return close_ret(_attach(e->ctl, VIRTBE_HYP_SIM, e->id2, 0));
}

static int op_mem_map(struct env *e)
{
	return close_ret(_mem_map(e->g, 0, 1 << 20, 0));
}

static int op_claim(struct env *e)
{
	return _claim(e->g, 0, MMIO_BASE + MMIO_SIZE, 0x1000);
}

static int op_ioeventfd(struct env *e)
{
	return _ioeventfd(e->g, e->efd, MMIO_BASE + 0x50, 4,
			  VIRTBE_IOEVENTFD_DATAMATCH, 1);
}

static int op_irqfd(struct env *e)
{
	return _irqfd(e->g, e->efd, -1, VIRTBE_IRQ_EDGE, 3, 0);
}

static int op_irqfd_vmmio(struct env *e)
{
	return _irqfd_vmmio(e->g, e->efd, e->rs, VIRTBE_IRQ_LEVEL, 4,
			    MMIO_BASE, VIRTBE_VIRTIO_ISR_USED);
}

static int op_info(struct env *e)
{
	struct virtbe_info i = { .size = sizeof(i), .hyp = VIRTBE_HYP_SIM };

	return vbe_ioctl(e->ctl, VIRTBE_GET_INFO, &i);
}

static int op_stats(struct env *e)
{
	struct virtbe_stats s;

	return _get_stats(e->g, &s);
}

static int op_sim_create(struct env *e)
{
	return close_ret(_sim_create(e->simctl, 4, NULL));
}

static int op_sim_add_ram(struct env *e)
{
	return _sim_add_ram(e->sg2, e->memfd, 0, 1 << 20, 0);
}

static int op_sim_access(struct env *e)
{
	uint64_t data = 0;
	uint32_t res;

	return _access(e->sg, 0, false, 0x20000000, 4, &data, &res);
}

static int op_bind_irq(struct env *e)
{
	return _bind_irq(e->sg, VIRTBE_IRQ_EDGE, 5, e->efd);
}

static int op_irq_state(struct env *e)
{
	struct virtbe_sim_irq_state st;

	return _irq_state(e->sg, VIRTBE_IRQ_LEVEL, 4, true, &st);
}

static int op_fault(struct env *e)
{
	return _sim_fault(e->sg, VIRTBE_SIM_FAULT_DELAY_IRQ, 1);
}

static int op_destroy(struct env *e)
{
	struct virtbe_sim_destroy d = { .size = sizeof(d) };

	return vbe_ioctl(e->sg, VIRTBE_SIM_DESTROY, &d);
}

static int op_read(struct env *e)
{
	struct virtbe_request req;
	ssize_t n = read(e->g, &req, sizeof(req));

	if (n < 0)
		return -errno;
	if (n != sizeof(req))
		return -EIO;
	/* settle() answers it, outside the injection. */
	e->req_id = req.id;
	return 0;
}

static int prep_read(struct env *e)
{
	return queue_request(e);
}

static int prep_write(struct env *e)
{
	struct virtbe_request req;

	if (queue_request(e) || read_request(e->g, &req, 2000))
		return -1;
	e->req_id = req.id;
	return 0;
}

static int op_write(struct env *e)
{
	return complete_request(e->g, e->req_id, 0);
}

static const struct op ops[] = {
	{ "GET_INFO", NULL, op_info },
	{ "ATTACH", NULL, op_attach },
	{ "MEM_MAP", NULL, op_mem_map },
	{ "CLAIM_RANGE", NULL, op_claim },
	{ "IOEVENTFD", NULL, op_ioeventfd },
	{ "IRQFD", NULL, op_irqfd },
	{ "IRQFD virtio-mmio level", NULL, op_irqfd_vmmio },
	{ "GET_STATS", NULL, op_stats },
	{ "SIM_CREATE", NULL, op_sim_create },
	{ "SIM_ADD_RAM", NULL, op_sim_add_ram },
	{ "SIM_ACCESS", NULL, op_sim_access },
	{ "SIM_BIND_IRQ", NULL, op_bind_irq },
	{ "SIM_IRQ_STATE", NULL, op_irq_state },
	{ "SIM_FAULT", NULL, op_fault },
	{ "SIM_DESTROY", NULL, op_destroy },
	{ "read request", prep_read, op_read },
	{ "write completion", prep_write, op_write },
};

/* Finish whatever a queued request left behind. */
static void settle(struct env *e)
{
	struct virtbe_request req;

	if (!e->vcpu_running)
		return;
	while (!read_request(e->g, &req, 0))
		complete_request(e->g, req.id, 0);
	if (e->req_id)
		complete_request(e->g, e->req_id, 0);
}

FIXTURE(failnth) {
};

FIXTURE_SETUP(failnth)
{
}

FIXTURE_TEARDOWN(failnth)
{
}

TEST_F_TIMEOUT(failnth, sweep, 1800)
{
	unsigned int total = 0;

	if (access("/dev/virtbe", F_OK))
		SKIP(return, "virtbe modules not loaded");
	{
		char p[64];

		snprintf(p, sizeof(p), "/proc/self/task/%ld/fail-nth",
			 (long)syscall(SYS_gettid));
		if (!have_fault_injection || access(p, W_OK))
			SKIP(return, "no fault injection (CONFIG_FAULT_INJECTION, FAILSLAB, debugfs)");
	}

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		const struct op *op = &ops[i];
		unsigned int nth;

		for (nth = 1; nth < MAX_NTH; nth++) {
			struct env e;
			bool injected;
			int ret;

			ASSERT_EQ(0, env_init(&e)) {
				TH_LOG("%s: setup failed", op->name);
			}
			if (op->prepare)
				ASSERT_EQ(0, op->prepare(&e));
			nth_arm(nth);
			ret = op->run(&e);
			injected = nth_disarm();
			if (!injected) {
				/* The whole path ran: it must have worked. */
				EXPECT_EQ(0, ret) {
					TH_LOG("%s: %d without injection",
					       op->name, ret);
				}
				settle(&e);
				env_fini(&e);
				break;
			}
			EXPECT_TRUE(ret == 0 || ret == -ENOMEM ||
				    ret == -EFAULT) {
				TH_LOG("%s: fault %u gave %d", op->name, nth,
				       ret);
			}
			/* Nothing half done: the operation works now. */
			if (ret)
				EXPECT_EQ(0, op->run(&e)) {
					TH_LOG("%s: retry after fault %u failed",
					       op->name, nth);
				}
			settle(&e);
			env_fini(&e);
		}
		EXPECT_GT(MAX_NTH, nth);
		TH_LOG("%-24s %3u fault points", op->name, nth - 1);
		total += nth - 1;
	}
	TH_LOG("%u error paths reached in total", total);
}

TEST_HARNESS_MAIN
