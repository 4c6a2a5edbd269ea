// SPDX-License-Identifier: GPL-2.0
/*
 * vbe-xen-bench: the dom0 half of the Xen lane's benchmark.
 *
 *   vbe-xen-bench --guest DOMID --port PORT [--base ADDR] [--iters N]
 *                 [--mem GPA:LEN] [--maps N] [--budget S] [--timeout S]
 *
 * --budget S bounds each part (0: no bound): no new round of kicks and no
 * new pair of maps starts after S seconds (default 10); what was done
 * counts.
 *
 * 1. Kick round trips.  The domU module (vbe_xen_bench.ko) writes a notify
 *    register and waits for the interrupt dom0 sends back; it times the
 *    round trip on its own clock.  Here one daemon thread waits on one kick
 *    eventfd and answers each kick by signalling a virtbe irqfd (an event
 *    channel to the domU's PORT).  Three paths bring the kick to that
 *    eventfd, and nothing else differs:
 *
 *    virtbe  base + 0x50: a virtbe ioeventfd; virtbe_xen handles the ioreq
 *            in dom0's kernel and signals the eventfd.
 *    privcmd base + 0x2050: privcmd's ioeventfd (Linux 6.7+,
 *            CONFIG_XEN_PRIVCMD_EVENTFD), as xen-vhost-frontend uses it:
 *            a third IOREQ server set up as the evtchn one below, then
 *            IOCTL_PRIVCMD_IOEVENTFD; privcmd handles the ioreq in dom0's
 *            kernel and signals the eventfd.  Its process still reads
 *            /dev/xen/evtchn, to unmask each channel after the event
 *            (privcmd binds them lateeoi and never unmasks them itself).
 *            Skipped, with the reason, on a kernel without it and on a PV
 *            dom0 (see privcmd_usable()).
 *    evtchn  base + 0x1050: a second IOREQ server, run by a userspace
 *            process as QEMU and xen-vhost-frontend do without privcmd's
 *            ioeventfd: created with privcmd dm_op, its ioreq page mapped
 *            with IOCTL_PRIVCMD_MMAP_RESOURCE, its per-vCPU event channels
 *            read from /dev/xen/evtchn; the process writes the eventfd,
 *            then completes the ioreq.
 *    stub    base + 0x54: no ioeventfd: the write goes to virtbe's request
 *            channel, a stub process reads it, writes the eventfd and
 *            completes it.
 *
 *    All of them answer with the same virtbe irqfd (VIRTBE_IRQ_EVTCHN):
 *    privcmd's irqfd can only make a dm_op, no dm_op sends on an event
 *    channel, and the PVH domU has no emulated PIC or IOAPIC for
 *    set_isa_irq_level, nor a device with a vector for inject_msi.
 *
 *    floor   base + 0x1054: no eventfd and no daemon: the evtchn process
 *            sends the interrupt itself, on a second event channel (the
 *            domU's data/virtbe-bench-floor-port), and completes the ioreq:
 *            what is left is Xen's and the emulated CPUs' share of a round
 *            trip, plus one dom0 process wakeup.
 *
 *    dom0 writes the round-trip count and the paths to run to xenstore
 *    (data/virtbe-bench-go) and reads the domU's medians and 99th
 *    percentiles back (data/virtbe-bench-result), with the median time
 *    of the register write alone (until the ioreq was completed).
 *
 * 2. Whole-guest map time: VIRTBE_MEM_MAP of GPA:LEN (all of the domU's
 *    RAM), mmap of the memory fd and a read of every page, against the
 *    floor: mmap and a read of every page of a memfd of the same size
 *    whose pages exist already.  Runs alternate; medians are compared.
 *
 * Prints the results and the ratios; exits 0 if everything ran.
 *
 * Copyright (C) 2026 The virtbe authors
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/virtbe.h>

#define OFF_VIRTBE	0x50
#define OFF_STUB	0x54
#define OFF_FLOOR	0x1054	/* in the evtchn server's page */
#define OFF_PRIVCMD	0x2000	/* privcmd's ioeventfd adds 0x50 (QueueNotify) */
#define PAGE		4096UL

/* ---- Xen and privcmd ABI (xen/include/public, include/uapi/xen/privcmd.h) */

/*
 * <xen/privcmd.h> includes kernel-internal headers and <xen/evtchn.h> lacks
 * domid_t: the records used, from both.
 */
struct privcmd_dm_op_buf {
	void *uptr;
	size_t size;
};

struct privcmd_dm_op {
	uint16_t dom;
	uint16_t num;
	const struct privcmd_dm_op_buf *ubufs;
};

struct privcmd_mmap_resource {
	uint16_t dom;
	uint32_t type;
	uint32_t id;
	uint32_t idx;
	uint64_t num;
	uint64_t addr;
};

/*
 * Linux 6.7+, CONFIG_XEN_PRIVCMD_EVENTFD.  IOCTL_PRIVCMD_IOEVENTFD: an
 * ioreq that is a @addr_len-byte write to @addr + 0x50 (virtio-mmio's
 * QueueNotify) of value @vq (low 16 bits) signals @event_fd and is
 * completed in dom0's kernel; @ioreq is the address of the mapped ioreq
 * page of the IOREQ server, @ports a user pointer to its @vcpus local
 * ports, already bound (through /dev/xen/evtchn).  IOCTL_PRIVCMD_IRQFD
 * makes the dm_op at @dm_op (@size bytes) each time @fd is signalled.
 */
struct privcmd_irqfd {
	uint64_t dm_op;
	uint32_t size;
	uint32_t fd;
	uint32_t flags;
	uint16_t dom;
	uint8_t pad[2];
};

struct privcmd_ioeventfd {
	uint64_t ioreq;
	uint64_t ports;
	uint64_t addr;
	uint32_t addr_len;
	uint32_t event_fd;
	uint32_t vcpus;
	uint32_t vq;
	uint32_t flags;
	uint16_t dom;
	uint8_t pad[2];
};

_Static_assert(sizeof(struct privcmd_irqfd) == 24, "privcmd_irqfd");
_Static_assert(sizeof(struct privcmd_ioeventfd) == 48, "privcmd_ioeventfd");

#define PRIVCMD_IRQFD_FLAG_DEASSIGN	1
#define PRIVCMD_IOEVENTFD_FLAG_DEASSIGN	1

#define IOCTL_PRIVCMD_DM_OP \
	_IOC(_IOC_NONE, 'P', 5, sizeof(struct privcmd_dm_op))
#define IOCTL_PRIVCMD_MMAP_RESOURCE \
	_IOC(_IOC_NONE, 'P', 7, sizeof(struct privcmd_mmap_resource))
#define IOCTL_PRIVCMD_IRQFD		_IOW('P', 8, struct privcmd_irqfd)
#define IOCTL_PRIVCMD_IOEVENTFD		_IOW('P', 9, struct privcmd_ioeventfd)

struct ioctl_evtchn_bind_interdomain {
	unsigned int remote_domain, remote_port;
};

struct ioctl_evtchn_notify {
	unsigned int port;
};

#define IOCTL_EVTCHN_BIND_INTERDOMAIN \
	_IOC(_IOC_NONE, 'E', 1, sizeof(struct ioctl_evtchn_bind_interdomain))
#define IOCTL_EVTCHN_NOTIFY \
	_IOC(_IOC_NONE, 'E', 4, sizeof(struct ioctl_evtchn_notify))

#define DMOP_create_ioreq_server		1
#define DMOP_map_io_range_to_ioreq_server	3
#define DMOP_set_ioreq_server_state		5
#define DMOP_destroy_ioreq_server		6
#define DMOP_IO_RANGE_MEMORY			1
#define RESOURCE_ioreq_server			0
#define RESOURCE_frame_ioreq0			1

struct dm_op {			/* struct xen_dm_op */
	uint32_t op;
	uint32_t pad;
	union {
		struct {
			uint8_t handle_bufioreq;
			uint8_t pad[3];
			uint16_t id;
		} create;
		struct {
			uint16_t id;
			uint16_t pad;
			uint32_t type;
			uint64_t start;
			uint64_t end;
		} range;
		struct {
			uint16_t id;
			uint8_t enabled;
			uint8_t pad;
		} state;
		struct {
			uint16_t id;
			uint16_t pad;
		} destroy;
		uint64_t raw[6];
	} u;
};

struct ioreq {			/* struct ioreq, one per vCPU */
	uint64_t addr;
	uint64_t data;
	uint32_t count;
	uint32_t size;
	uint32_t vp_eport;
	uint16_t pad0;
	uint8_t flags;		/* state:4, data_is_ptr:1, dir:1 (1 = read) */
	uint8_t type;
};

#define IOREQ_STATE		0x0f
#define IOREQ_PTR		0x10
#define IOREQ_READ		0x20
#define STATE_READY		1
#define STATE_INPROCESS		2
#define STATE_RESP_READY	3

/* ---- helpers */

static const char *prog = "vbe-xen-bench";

static void die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(errno));
	exit(1);
}

static void efd_write(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) != sizeof(one))
		die("eventfd write");
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* ---- the daemon: every kick raises the domU's interrupt */

struct daemon {
	int kick, call, stop;
	uint64_t kicks;
};

static void *daemon_fn(void *arg)
{
	struct daemon *d = arg;
	struct pollfd p[2] = {
		{ .fd = d->kick, .events = POLLIN },
		{ .fd = d->stop, .events = POLLIN },
	};
	uint64_t v;

	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		if (p[1].revents)
			return NULL;
		if (read(d->kick, &v, sizeof(v)) != sizeof(v))
			die("kick eventfd read");
		__atomic_fetch_add(&d->kicks, v, __ATOMIC_RELAXED);
		efd_write(d->call);
	}
}

/* ---- the stub: virtbe's request channel -> kick eventfd */

static void stub_loop(int g, int kick)
{
	struct virtbe_request req;

	for (;;) {
		struct pollfd p = { .fd = g, .events = POLLIN };
		struct virtbe_completion c = { .size = sizeof(c) };

		if (poll(&p, 1, -1) < 0 || (p.revents & POLLHUP))
			_exit(0);
		if (read(g, &req, sizeof(req)) != sizeof(req))
			continue;
		if (req.flags & VIRTBE_REQ_WRITE)
			efd_write(kick);
		c.id = req.id;
		c.data = 0;
		if (write(g, &c, sizeof(c)) != sizeof(c))
			_exit(1);
	}
}

/* ---- userspace IOREQ servers: the evtchn relay and privcmd's ioeventfd */

static volatile sig_atomic_t server_stop;

static void on_term(int sig)
{
	(void)sig;
	server_stop = 1;
}

static int dm_op(int privcmd, uint16_t domid, struct dm_op *op)
{
	struct privcmd_dm_op_buf buf = { .uptr = op, .size = sizeof(*op) };
	struct privcmd_dm_op arg = { .dom = domid, .num = 1, .ubufs = &buf };

	return ioctl(privcmd, IOCTL_PRIVCMD_DM_OP, &arg) < 0 ? -errno : 0;
}

struct server {
	uint16_t domid, id;
	uint32_t nr_vcpus;
	bool created;
	int privcmd, evtchn;
	void *page;			/* the ioreq page */
	volatile struct ioreq *slots;	/* one per vCPU */
	uint32_t *local;		/* each vCPU's channel, dom0's port */
};

/*
 * An IOREQ server for @start..@end of @s->domid, as QEMU sets one up:
 * created with privcmd dm_op, its ioreq page mapped with
 * IOCTL_PRIVCMD_MMAP_RESOURCE, the range claimed, the server enabled, its
 * per-vCPU event channels bound through /dev/xen/evtchn.  0, or -1 with
 * what failed in @why.
 */
static int server_open(struct server *s, uint64_t start, uint64_t end,
		       char *why, size_t len)
{
	struct dm_op op = { .op = DMOP_create_ioreq_server };
	struct privcmd_mmap_resource res = {
		.dom = s->domid, .type = RESOURCE_ioreq_server,
		.idx = RESOURCE_frame_ioreq0, .num = 1,
	};
	int ret;

	s->local = calloc(s->nr_vcpus, sizeof(*s->local));
	if (!s->local) {
		snprintf(why, len, "out of memory");
		return -1;
	}
	s->privcmd = open("/dev/xen/privcmd", O_RDWR | O_CLOEXEC);
	if (s->privcmd < 0) {
		snprintf(why, len, "/dev/xen/privcmd: %s", strerror(errno));
		return -1;
	}
	s->evtchn = open("/dev/xen/evtchn", O_RDWR | O_CLOEXEC);
	if (s->evtchn < 0) {
		snprintf(why, len, "/dev/xen/evtchn: %s", strerror(errno));
		return -1;
	}
	ret = dm_op(s->privcmd, s->domid, &op);
	if (ret) {
		snprintf(why, len, "create_ioreq_server: %s", strerror(-ret));
		return -1;
	}
	s->id = op.u.create.id;
	s->created = true;
	s->page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
		       s->privcmd, 0);
	if (s->page == MAP_FAILED) {
		snprintf(why, len, "mmap /dev/xen/privcmd: %s", strerror(errno));
		return -1;
	}
	res.id = s->id;
	res.addr = (uintptr_t)s->page;
	if (ioctl(s->privcmd, IOCTL_PRIVCMD_MMAP_RESOURCE, &res) < 0) {
		snprintf(why, len, "IOCTL_PRIVCMD_MMAP_RESOURCE: %s",
			 strerror(errno));
		return -1;
	}
	s->slots = s->page;
	op = (struct dm_op){
		.op = DMOP_map_io_range_to_ioreq_server,
		.u.range = { .id = s->id, .type = DMOP_IO_RANGE_MEMORY,
			     .start = start, .end = end },
	};
	ret = dm_op(s->privcmd, s->domid, &op);
	if (!ret) {
		op = (struct dm_op){
			.op = DMOP_set_ioreq_server_state,
			.u.state = { .id = s->id, .enabled = 1 },
		};
		ret = dm_op(s->privcmd, s->domid, &op);
	}
	if (ret) {
		snprintf(why, len, "claiming %#llx..%#llx: %s",
			 (unsigned long long)start, (unsigned long long)end,
			 strerror(-ret));
		return -1;
	}
	/* vp_eport is valid once the server is enabled */
	for (uint32_t i = 0; i < s->nr_vcpus; i++) {
		struct ioctl_evtchn_bind_interdomain b = {
			.remote_domain = s->domid,
			.remote_port = s->slots[i].vp_eport,
		};

		ret = ioctl(s->evtchn, IOCTL_EVTCHN_BIND_INTERDOMAIN, &b);
		if (ret < 0) {
			snprintf(why, len,
				 "IOCTL_EVTCHN_BIND_INTERDOMAIN (vCPU %u): %s",
				 i, strerror(errno));
			return -1;
		}
		s->local[i] = ret;
	}
	return 0;
}

/* Disables and destroys the server (the process's exit closes the rest). */
static void server_close(struct server *s)
{
	struct dm_op op = {
		.op = DMOP_set_ioreq_server_state,
		.u.state = { .id = s->id, .enabled = 0 },
	};

	if (!s->created)
		return;
	dm_op(s->privcmd, s->domid, &op);
	op = (struct dm_op){
		.op = DMOP_destroy_ioreq_server,
		.u.destroy = { .id = s->id },
	};
	dm_op(s->privcmd, s->domid, &op);
	s->created = false;
}

/*
 * A server process's status, on its pipe to the parent: "ok" (serving),
 * "skip: WHY" (the path cannot run here) or "fail: WHY".
 */
static int status(int fd, const char *kind, const char *why)
{
	char msg[320];
	int n = snprintf(msg, sizeof(msg), "%s%s%s", kind, *why ? ": " : "",
			 why);
	int ret = write(fd, msg, n) == n ? 0 : -1;

	close(fd);
	return ret;
}

/*
 * Stop a server process: SIGTERM until it exits (one sent between its
 * loop's check and its read() would be lost), at most 10 s; SIGKILL then,
 * which for privcmd's would leave its ioeventfd in dom0's kernel.
 */
static void stop_child(pid_t pid, const char *what)
{
	for (int i = 0; i < 100; i++) {
		kill(pid, SIGTERM);
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		usleep(100000);
	}
	fprintf(stderr, "%s: the %s did not stop on SIGTERM in 10 s: killed\n",
		prog, what);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* The parent's side: 0 (serving), 1 (skipped) or -1, the reason in @why. */
static int child_status(int fd, char *why, size_t len)
{
	char msg[320];
	ssize_t n = read(fd, msg, sizeof(msg) - 1);
	const char *r;
	size_t rlen;

	close(fd);
	if (n <= 0) {
		snprintf(why, len, "exited without a status");
		return -1;
	}
	msg[n] = 0;
	if (!strcmp(msg, "ok"))
		return 0;
	r = strchr(msg, ':') ? strchr(msg, ':') + 2 : msg;
	rlen = strnlen(r, len - 1);
	memcpy(why, r, rlen);
	why[rlen] = 0;
	return strncmp(msg, "skip", 4) ? -1 : 1;
}

/*
 * The evtchn relay, in its own process: an IOREQ server for @start..@end
 * that writes @kick for every write, then completes it; and the floor: for
 * a write to @floor the process sends the interrupt itself, on the domU's
 * port @floor_port (0: no floor), and completes the write; no eventfd.  Reports
 * on @ready; exits on SIGTERM, destroying its server.
 */
static void relay_main(uint16_t domid, uint32_t nr_vcpus, uint64_t start,
		       uint64_t end, int kick, uint64_t floor,
		       uint32_t floor_port, int ready)
{
	struct sigaction sa = { .sa_handler = on_term };	/* no SA_RESTART */
	struct server s = { .domid = domid, .nr_vcpus = nr_vcpus };
	uint32_t lfloor = 0;
	char why[256] = "";

	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);	/* a status for a parent gone: an error */
	if (server_open(&s, start, end, why, sizeof(why)))
		goto fail;
	if (floor_port) {
		struct ioctl_evtchn_bind_interdomain b = {
			.remote_domain = domid, .remote_port = floor_port,
		};
		int ret = ioctl(s.evtchn, IOCTL_EVTCHN_BIND_INTERDOMAIN, &b);

		if (ret < 0) {
			snprintf(why, sizeof(why),
				 "binding the domU's floor port %u: %s",
				 floor_port, strerror(errno));
			goto fail;
		}
		lfloor = ret;
	}
	status(ready, "ok", "");

	while (!server_stop) {
		struct ioctl_evtchn_notify n;
		volatile struct ioreq *r;
		uint32_t port, v;
		uint8_t flags;
		bool to_floor;

		if (read(s.evtchn, &port, sizeof(port)) != sizeof(port)) {
			if (errno == EINTR)
				continue;
			perror("vbe-xen-bench: server: read /dev/xen/evtchn");
			break;
		}
		/* unmask at once, as QEMU does */
		if (write(s.evtchn, &port, sizeof(port)) != sizeof(port))
			perror("vbe-xen-bench: server: unmask");
		for (v = 0; v < nr_vcpus && s.local[v] != port; v++)
			;
		if (v == nr_vcpus)
			continue;
		r = &s.slots[v];
		flags = r->flags;
		if ((flags & IOREQ_STATE) != STATE_READY)
			continue;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		r->flags = (flags & ~IOREQ_STATE) | STATE_INPROCESS;
		to_floor = lfloor && !(flags & IOREQ_READ) && r->addr == floor;
		/*
		 * The floor's interrupt first: it waits in the domU until the
		 * vCPU resumes, and the vCPU the completion wakes does not
		 * delay it (Xen may run that vCPU in this process's place).
		 */
		n.port = lfloor;
		if (to_floor && ioctl(s.evtchn, IOCTL_EVTCHN_NOTIFY, &n) < 0)
			perror("vbe-xen-bench: server: notify the floor port");
		if (!(flags & IOREQ_READ) && !to_floor)
			efd_write(kick);	/* any other write is a kick */
		else if (!(flags & IOREQ_PTR))
			r->data = 0;
		__atomic_thread_fence(__ATOMIC_RELEASE);
		r->flags = (flags & ~IOREQ_STATE) | STATE_RESP_READY;
		n.port = port;
		if (ioctl(s.evtchn, IOCTL_EVTCHN_NOTIFY, &n) < 0)
			perror("vbe-xen-bench: server: notify");
	}
	server_close(&s);
	_exit(0);

fail:
	server_close(&s);
	status(ready, "fail", why);
	_exit(1);
}

static bool errno_is_unsupported(int e)
{
	return e == ENOTTY || e == EINVAL || e == EOPNOTSUPP;
}

/*
 * Whether privcmd's ioeventfd can run in this dom0; if not, why.  The
 * probe is a deassign of an eventfd never assigned (a no-op that returns
 * 0 where CONFIG_XEN_PRIVCMD_EVENTFD is built in, EOPNOTSUPP where it is
 * not, ENOTTY before 6.7); IOCTL_PRIVCMD_IRQFD, because its deassign logs
 * nothing.
 *
 * A PV dom0 is refused without trying: IOCTL_PRIVCMD_IOEVENTFD takes the
 * ioreq page's VMA's vm_private_data for its array of pages, but on a PV
 * dom0 IOCTL_PRIVCMD_MMAP_RESOURCE leaves a marker there, not pages (Linux
 * 6.12 drivers/xen/privcmd.c, alloc_ioreq() and
 * privcmd_ioctl_mmap_resource()): the ioctl would crash dom0's kernel.
 */
static bool privcmd_usable(uint16_t domid, char *why, size_t len)
{
	struct privcmd_irqfd probe = {
		.flags = PRIVCMD_IRQFD_FLAG_DEASSIGN, .dom = domid,
	};
	char type[16] = "";
	int fd, efd, ret, e;
	FILE *f = NULL;

	fd = open("/dev/xen/privcmd", O_RDWR | O_CLOEXEC);
	efd = eventfd(0, EFD_CLOEXEC);
	if (fd < 0 || efd < 0) {
		snprintf(why, len, "/dev/xen/privcmd or eventfd: %s",
			 strerror(errno));
		goto out_no;
	}
	probe.fd = efd;
	ret = ioctl(fd, IOCTL_PRIVCMD_IRQFD, &probe);
	e = errno;
	close(fd);
	close(efd);
	fd = efd = -1;
	if (ret < 0) {
		snprintf(why, len, "IOCTL_PRIVCMD_IRQFD: %s%s", strerror(e),
			 errno_is_unsupported(e) ?
			 " (the dom0 kernel lacks CONFIG_XEN_PRIVCMD_EVENTFD)" :
			 "");
		return false;
	}
	f = fopen("/sys/hypervisor/guest_type", "r");
	if (!f || !fgets(type, sizeof(type), f)) {
		snprintf(why, len, "/sys/hypervisor/guest_type: %s",
			 f ? "empty" : strerror(errno));
		goto out_no;
	}
	fclose(f);
	f = NULL;
	type[strcspn(type, "\n")] = 0;
	if (!strcmp(type, "PV")) {
		snprintf(why, len,
			 "a PV dom0: IOCTL_PRIVCMD_IOEVENTFD reads the ioreq "
			 "page's pages from its VMA, where privcmd keeps none "
			 "on PV (it would oops); it needs an auto-translated "
			 "dom0 (--dom0 pvh, Arm)");
		return false;
	}
	return true;

out_no:
	if (f)
		fclose(f);
	if (fd >= 0)
		close(fd);
	if (efd >= 0)
		close(efd);
	return false;
}

/*
 * privcmd's ioeventfd, in its own process: an IOREQ server for the page at
 * @start, whose notify register (@start + 0x50, 4 bytes, value 0) privcmd
 * handles in dom0's kernel, signalling @kick.  The process only unmasks
 * each channel after its event, as xen-vhost-frontend does: privcmd binds
 * them lateeoi, so a channel stays masked until /dev/xen/evtchn's unmask.
 * Reports on @ready ("skip" if the kernel refuses the ioctl as
 * unsupported); exits on SIGTERM, deassigning first.
 */
static void privcmd_main(uint16_t domid, uint32_t nr_vcpus, uint64_t start,
			 int kick, int ready)
{
	struct sigaction sa = { .sa_handler = on_term };	/* no SA_RESTART */
	struct server s = { .domid = domid, .nr_vcpus = nr_vcpus };
	struct privcmd_ioeventfd io = {
		.addr = start, .addr_len = 4, .event_fd = kick,
		.vcpus = nr_vcpus, .vq = 0, .dom = domid,
	};
	char why[256] = "";
	uint32_t ports[64];

	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);	/* a status for a parent gone: an error */
	if (server_open(&s, start, start + PAGE - 1, why, sizeof(why)))
		goto fail;
	io.ioreq = (uintptr_t)s.page;
	io.ports = (uintptr_t)s.local;
	if (ioctl(s.privcmd, IOCTL_PRIVCMD_IOEVENTFD, &io) < 0) {
		int e = errno;

		snprintf(why, sizeof(why), "IOCTL_PRIVCMD_IOEVENTFD: %s%s",
			 strerror(e), errno_is_unsupported(e) ?
			 " (the dom0 kernel lacks CONFIG_XEN_PRIVCMD_EVENTFD)" :
			 "");
		server_close(&s);
		/* EINVAL here is an error: privcmd_usable() saw the ioctls */
		status(ready, e == ENOTTY || e == EOPNOTSUPP ? "skip" : "fail",
		       why);
		_exit(1);
	}
	/* a parent gone: deassign all the same */
	if (status(ready, "ok", ""))
		server_stop = 1;

	while (!server_stop) {
		ssize_t n = read(s.evtchn, ports, sizeof(ports));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("vbe-xen-bench: privcmd: read /dev/xen/evtchn");
			break;
		}
		if (write(s.evtchn, ports, n) != n)
			perror("vbe-xen-bench: privcmd: unmask");
	}
	io.flags = PRIVCMD_IOEVENTFD_FLAG_DEASSIGN;
	if (ioctl(s.privcmd, IOCTL_PRIVCMD_IOEVENTFD, &io) < 0)
		perror("vbe-xen-bench: privcmd: IOCTL_PRIVCMD_IOEVENTFD deassign");
	server_close(&s);
	_exit(0);

fail:
	server_close(&s);
	status(ready, "fail", why);
	_exit(1);
}

/* ---- xenstore, through the toolstack's programs */

static int xs_write(unsigned int domid, const char *key, const char *val)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "xenstore-write /local/domain/%u/data/%s '%s'",
		 domid, key, val);
	return system(cmd) == 0 ? 0 : -1;
}

static int xs_read(unsigned int domid, const char *key, char *buf, size_t len)
{
	char cmd[256];
	FILE *f;
	int ok;

	snprintf(cmd, sizeof(cmd),
		 "xenstore-read /local/domain/%u/data/%s 2>/dev/null", domid,
		 key);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	ok = fgets(buf, (int)len, f) != NULL;
	if (pclose(f) != 0 || !ok)
		return -1;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

/* ---- whole-guest map time */

static volatile uint64_t sink;

static uint64_t touch(const volatile uint8_t *p, uint64_t len)
{
	uint64_t sum = 0;

	for (uint64_t off = 0; off < len; off += PAGE)
		sum += p[off];
	return sum;
}

/*
 * The floor: a memfd of the same size, its pages allocated beforehand (the
 * guest's RAM exists too), mmap + read of every page in *@map_ns, munmap in
 * *@unmap_ns.
 */
static void map_floor(uint64_t len, uint64_t *map_ns, uint64_t *unmap_ns)
{
	int fd = memfd_create("vbe-xen-bench", MFD_CLOEXEC);
	uint64_t t0, t1;
	void *p;

	if (fd < 0 || fallocate(fd, 0, 0, (off_t)len))
		die("memfd");
	t0 = now_ns();
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("mmap memfd");
	sink += touch(p, len);
	t1 = now_ns();
	munmap(p, len);
	*map_ns = t1 - t0;
	*unmap_ns = now_ns() - t1;
	close(fd);
}

/*
 * VIRTBE_MEM_MAP + mmap + read of every page in *@map_ns, munmap + close
 * (which releases the window) in *@unmap_ns.
 */
static void map_guest(int g, uint64_t gpa, uint64_t len, uint64_t *map_ns,
		      uint64_t *unmap_ns)
{
	struct virtbe_mem_map m = { .size = sizeof(m), .gpa = gpa, .len = len };
	uint64_t t0 = now_ns(), t1;
	int fd = ioctl(g, VIRTBE_MEM_MAP, &m);
	void *p;

	if (fd < 0)
		die("VIRTBE_MEM_MAP");
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("mmap memory fd");
	sink += touch(p, len);
	t1 = now_ns();
	munmap(p, len);
	close(fd);
	*map_ns = t1 - t0;
	*unmap_ns = now_ns() - t1;
}

static double median_ms(uint64_t *ns, int n)
{
	qsort(ns, n, sizeof(*ns), cmp_u64);
	return ns[n / 2] / 1e6;
}

/* ---- main */

static void usage(void)
{
	fprintf(stderr,
		"usage: %s --guest DOMID --port PORT [--base ADDR] [--iters N]\n"
		"       [--mem GPA:LEN] [--maps N] [--budget S] [--timeout S]\n",
		prog);
	exit(2);
}

struct kick_result {
	double med_us, p99_us, write_us;
};

static int parse_result(const char *s, const char *name, struct kick_result *k)
{
	char key[32];
	unsigned long long med, p99, wr;
	const char *p;

	snprintf(key, sizeof(key), " %s=", name);
	p = strstr(s, key);
	if (!p || sscanf(p + strlen(key), "%llu,%llu,%llu", &med, &p99, &wr) != 3)
		return -1;
	k->med_us = med / 1000.0;
	k->p99_us = p99 / 1000.0;
	k->write_us = wr / 1000.0;
	return 0;
}

static void print_kick(const char *name, struct kick_result k,
		       const struct kick_result *base)
{
	printf("%-38s median %8.1f us  p99 %8.1f us  write %7.1f us", name,
	       k.med_us, k.p99_us, k.write_us);
	if (base)
		printf(" | / virtbe ioeventfd: median %.2fx, p99 %.2fx",
		       k.med_us / base->med_us, k.p99_us / base->p99_us);
	printf("\n");
}

/* The kick paths: the domU's names (vbe_xen_bench.c), in printing order. */
enum { P_VIRTBE, P_PRIVCMD, P_EVTCHN, P_STUB, P_FLOOR, NR_P };

static const char *const path_name[NR_P] = {
	"virtbe", "privcmd", "evtchn", "stub", "floor",
};

static const char *const path_label[NR_P] = {
	"xen kick rtt (virtbe ioeventfd)",
	"xen kick rtt (privcmd ioeventfd)",
	"xen kick rtt (evtchn IOREQ server)",
	"xen kick rtt (request channel stub)",
	"xen kick rtt (floor: no eventfd)",
};

/*
 * The paths' lines and the goals: virtbe within 1.1x of privcmd (both in
 * the kernel), at least 2x faster than the userspace relay.
 */
static int print_kicks(const char *res, const char skip[NR_P][256])
{
	struct kick_result k[NR_P];
	bool ran[NR_P];

	for (int p = 0; p < NR_P; p++) {
		ran[p] = !skip[p][0];
		if (ran[p] && parse_result(res, path_name[p], &k[p])) {
			fprintf(stderr, "%s: no %s result in '%s'\n", prog,
				path_name[p], res);
			return -1;
		}
	}
	for (int p = 0; p < NR_P; p++) {
		if (ran[p])
			print_kick(path_label[p], k[p], p ? &k[P_VIRTBE] : NULL);
		else
			printf("%-38s skipped: %s\n", path_label[p], skip[p]);
	}
	printf("xen kick goals:");
	if (ran[P_PRIVCMD])
		printf(" virtbe / privcmd median %.2fx (goal <= 1.10x: %s);",
		       k[P_VIRTBE].med_us / k[P_PRIVCMD].med_us,
		       k[P_VIRTBE].med_us <= 1.1 * k[P_PRIVCMD].med_us ?
		       "met" : "missed");
	else
		printf(" virtbe / privcmd: privcmd skipped;");
	printf(" relay (evtchn) / virtbe median %.2fx (goal >= 2x: %s)",
	       k[P_EVTCHN].med_us / k[P_VIRTBE].med_us,
	       k[P_EVTCHN].med_us >= 2 * k[P_VIRTBE].med_us ? "met" : "missed");
	if (ran[P_FLOOR])
		printf("; floor / virtbe median %.2fx (Xen's, the emulated CPUs' and one dom0 wakeup's share)",
		       k[P_FLOOR].med_us / k[P_VIRTBE].med_us);
	printf("\n");
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "guest", required_argument, NULL, 'g' },
		{ "port", required_argument, NULL, 'p' },
		{ "base", required_argument, NULL, 'b' },
		{ "iters", required_argument, NULL, 'n' },
		{ "mem", required_argument, NULL, 'm' },
		{ "maps", required_argument, NULL, 'M' },
		{ "timeout", required_argument, NULL, 't' },
		{ "budget", required_argument, NULL, 'B' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long long base = 0xfe010000ULL, gpa = 0, len = 0;
	unsigned int domid = 0, port = 0, iters = 960, maps = 3, timeout = 120;
	unsigned int budget = 10;
	struct virtbe_attach a = { .size = sizeof(a), .hyp = VIRTBE_HYP_XEN };
	struct daemon d = { .kick = -1 };
	pthread_t dt;
	pid_t stub, server, pserver = -1;
	int ctl, g, c, pipefd[2], failed = 0;
	char buf[512], val[128], why[256], skip[NR_P][256] = { "" };
	unsigned int floor_port = 0;
	uint64_t t0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'g': domid = strtoul(optarg, NULL, 0); break;
		case 'p': port = strtoul(optarg, NULL, 0); break;
		case 'b': base = strtoull(optarg, NULL, 0); break;
		case 'n': iters = strtoul(optarg, NULL, 0); break;
		case 'M': maps = strtoul(optarg, NULL, 0); break;
		case 't': timeout = strtoul(optarg, NULL, 0); break;
		case 'B': budget = strtoul(optarg, NULL, 0); break;
		case 'm': {
			char *e;

			gpa = strtoull(optarg, &e, 0);
			if (*e != ':')
				usage();
			len = strtoull(e + 1, NULL, 0);
			break;
		}
		default: usage();
		}
	}
	if (!domid || !port || (base & (PAGE - 1)) || !iters)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);

	ctl = open("/dev/virtbe", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		die("/dev/virtbe");
	a.guest_id = domid;
	g = ioctl(ctl, VIRTBE_ATTACH, &a);
	if (g < 0)
		die("VIRTBE_ATTACH");

	/* ---- kicks */
	{
		struct virtbe_range r = {
			.size = sizeof(r), .addr = base, .len = PAGE,
		};
		struct virtbe_ioeventfd io = {
			.size = sizeof(io), .len = 4, .addr = base + OFF_VIRTBE,
		};
		struct virtbe_irqfd irq = {
			.size = sizeof(irq), .resamplefd = -1,
			.type = VIRTBE_IRQ_EVTCHN, .irq = port,
		};

		d.kick = eventfd(0, EFD_CLOEXEC);
		d.call = eventfd(0, EFD_CLOEXEC);
		d.stop = eventfd(0, EFD_CLOEXEC);
		if (d.kick < 0 || d.call < 0 || d.stop < 0)
			die("eventfd");
		if (ioctl(g, VIRTBE_CLAIM_RANGE, &r) < 0)
			die("VIRTBE_CLAIM_RANGE");
		io.fd = d.kick;
		if (ioctl(g, VIRTBE_IOEVENTFD, &io) < 0)
			die("VIRTBE_IOEVENTFD");
		irq.fd = d.call;
		if (ioctl(g, VIRTBE_IRQFD, &irq) < 0)
			die("VIRTBE_IRQFD");
	}
	stub = fork();
	if (stub < 0)
		die("fork");
	if (!stub) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		stub_loop(g, d.kick);
	}
	if (xs_read(domid, "virtbe-bench-floor-port", buf, sizeof(buf)) ||
	    !(floor_port = strtoul(buf, NULL, 0)))
		snprintf(skip[P_FLOOR], sizeof(skip[P_FLOOR]),
			 "the domU published no data/virtbe-bench-floor-port");
	if (pipe(pipefd))
		die("pipe");
	server = fork();
	if (server < 0)
		die("fork");
	if (!server) {
		/* destroys its IOREQ server on SIGTERM */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		close(pipefd[0]);
		relay_main(domid, a.out_nr_vcpus, base + PAGE,
			   base + 2 * PAGE - 1, d.kick, base + OFF_FLOOR,
			   floor_port, pipefd[1]);
	}
	close(pipefd[1]);
	if (child_status(pipefd[0], why, sizeof(why))) {
		fprintf(stderr, "%s: the userspace IOREQ server did not start: %s\n",
			prog, why);
		failed = 1;
	}
	if (!privcmd_usable(domid, skip[P_PRIVCMD], sizeof(skip[P_PRIVCMD]))) {
		/* skip[P_PRIVCMD] says why */
	} else if (pipe(pipefd)) {
		die("pipe");
	} else {
		pserver = fork();
		if (pserver < 0)
			die("fork");
		if (!pserver) {
			/* deassigns and destroys its IOREQ server on SIGTERM */
			prctl(PR_SET_PDEATHSIG, SIGTERM);
			close(pipefd[0]);
			privcmd_main(domid, a.out_nr_vcpus, base + OFF_PRIVCMD,
				     d.kick, pipefd[1]);
		}
		close(pipefd[1]);
		switch (child_status(pipefd[0], why, sizeof(why))) {
		case 0:
			break;
		case 1:
			snprintf(skip[P_PRIVCMD], sizeof(skip[P_PRIVCMD]), "%s",
				 why);
			break;
		default:
			fprintf(stderr, "%s: privcmd's ioeventfd path did not start: %s\n",
				prog, why);
			failed = 1;
		}
	}
	if (pthread_create(&dt, NULL, daemon_fn, &d))
		die("pthread_create");

	if (!failed) {
		int len = snprintf(val, sizeof(val), "%u %u ", iters,
				   budget * 1000);

		for (int p = 0, first = 1; p < NR_P; p++)
			if (!skip[p][0]) {
				len += snprintf(val + len, sizeof(val) - len,
						"%s%s", first ? "" : ",",
						path_name[p]);
				first = 0;
			}
		t0 = now_ns();
		if (xs_write(domid, "virtbe-bench-go", val))
			die("xenstore-write");
		for (;;) {
			if (!xs_read(domid, "virtbe-bench-result", buf, sizeof(buf)))
				break;
			if (now_ns() - t0 > timeout * 1000000000ULL) {
				snprintf(buf, sizeof(buf), "error no result after %us",
					 timeout);
				break;
			}
			usleep(300000);
		}
		unsigned int n, rounds;

		if (sscanf(buf, "n=%u rounds=%u", &n, &rounds) == 2)
			printf("xen kick: domU d%u (%u vCPUs), %u round trips per path in %u interleaved rounds, %.1f s; timed by the domU\n",
			       domid, a.out_nr_vcpus, n, rounds,
			       (now_ns() - t0) / 1e9);
		else
			printf("xen kick: domU d%u: %s\n", domid, buf);
		if (strncmp(buf, "n=", 2)) {
			fprintf(stderr, "%s: the daemon saw %llu kicks\n", prog,
				(unsigned long long)__atomic_load_n(&d.kicks,
								    __ATOMIC_RELAXED));
			failed = 1;
		} else if (print_kicks(buf, (const char (*)[256])skip)) {
			failed = 1;
		}
	}
	efd_write(d.stop);
	pthread_join(dt, NULL);
	if (pserver > 0)
		stop_child(pserver, "privcmd ioeventfd's process");
	stop_child(server, "userspace IOREQ server");
	kill(stub, SIGKILL);
	waitpid(stub, NULL, 0);

	/* ---- whole-guest map */
	if (len && maps) {
		uint64_t *fm = calloc(maps, 8), *fu = calloc(maps, 8);
		uint64_t *gm = calloc(maps, 8), *gu = calloc(maps, 8);
		unsigned int done = 0;
		double f, m;

		t0 = now_ns();
		while (done < maps && (!done || !budget ||
				       now_ns() - t0 < budget * 1000000000ULL)) {
			map_floor(len, &fm[done], &fu[done]);
			map_guest(g, gpa, len, &gm[done], &gu[done]);
			done++;
		}
		maps = done;
		f = median_ms(fm, maps);
		m = median_ms(gm, maps);
		printf("%-36s median %8.1f ms | floor: memfd mmap + read pages  median %8.1f ms | ratio %.2f (%llu MiB, %u runs)\n",
		       "xen map whole guest + read pages", m, f, m / f, len >> 20,
		       maps);
		f = median_ms(fu, maps);
		m = median_ms(gu, maps);
		printf("%-36s median %8.1f ms | floor: memfd munmap             median %8.1f ms | ratio %.2f\n",
		       "xen munmap + close whole guest", m, f, m / f);
	}
	close(g);
	close(ctl);
	return failed;
}
