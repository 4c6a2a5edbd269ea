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
 *    dom0 writes the round-trip count to xenstore (data/virtbe-bench-go)
 *    and reads the domU's medians and 99th percentiles back
 *    (data/virtbe-bench-result).
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

#define IOCTL_PRIVCMD_DM_OP \
	_IOC(_IOC_NONE, 'P', 5, sizeof(struct privcmd_dm_op))
#define IOCTL_PRIVCMD_MMAP_RESOURCE \
	_IOC(_IOC_NONE, 'P', 7, sizeof(struct privcmd_mmap_resource))

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

/* ---- the userspace IOREQ server: /dev/xen/evtchn -> kick eventfd */

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

/*
 * Runs in its own process; writes one status byte to @ready (0 = serving)
 * once its range is claimed and its channels bound.  Exits on SIGTERM,
 * destroying its server.
 */
static void server_main(uint16_t domid, uint32_t nr_vcpus, uint64_t start,
			uint64_t end, int kick, int ready)
{
	struct dm_op op = { .op = DMOP_create_ioreq_server };
	struct privcmd_mmap_resource res = {
		.dom = domid, .type = RESOURCE_ioreq_server,
		.idx = RESOURCE_frame_ioreq0, .num = 1,
	};
	struct sigaction sa = { .sa_handler = on_term };	/* no SA_RESTART */
	uint32_t *local = calloc(nr_vcpus, sizeof(*local));
	volatile struct ioreq *slots;
	int privcmd, evtchn, ret;
	uint16_t id = 0;
	char st = 1;
	void *page;

	sigaction(SIGTERM, &sa, NULL);
	privcmd = open("/dev/xen/privcmd", O_RDWR | O_CLOEXEC);
	evtchn = open("/dev/xen/evtchn", O_RDWR | O_CLOEXEC);
	if (privcmd < 0 || evtchn < 0 || !local) {
		perror("vbe-xen-bench: server: /dev/xen/{privcmd,evtchn}");
		goto fail;
	}
	ret = dm_op(privcmd, domid, &op);
	if (ret) {
		fprintf(stderr, "%s: server: create_ioreq_server: %s\n", prog,
			strerror(-ret));
		goto fail;
	}
	id = op.u.create.id;
	page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, privcmd, 0);
	if (page == MAP_FAILED) {
		perror("vbe-xen-bench: server: mmap privcmd");
		goto fail_destroy;
	}
	res.id = id;
	res.addr = (uintptr_t)page;
	if (ioctl(privcmd, IOCTL_PRIVCMD_MMAP_RESOURCE, &res) < 0) {
		perror("vbe-xen-bench: server: IOCTL_PRIVCMD_MMAP_RESOURCE");
		goto fail_destroy;
	}
	slots = page;
	op = (struct dm_op){
		.op = DMOP_map_io_range_to_ioreq_server,
		.u.range = { .id = id, .type = DMOP_IO_RANGE_MEMORY,
			     .start = start, .end = end },
	};
	ret = dm_op(privcmd, domid, &op);
	if (!ret) {
		op = (struct dm_op){
			.op = DMOP_set_ioreq_server_state,
			.u.state = { .id = id, .enabled = 1 },
		};
		ret = dm_op(privcmd, domid, &op);
	}
	if (ret) {
		fprintf(stderr, "%s: server: claiming %#llx..%#llx: %s\n", prog,
			(unsigned long long)start, (unsigned long long)end,
			strerror(-ret));
		goto fail_destroy;
	}
	/* vp_eport is valid once the server is enabled */
	for (uint32_t i = 0; i < nr_vcpus; i++) {
		struct ioctl_evtchn_bind_interdomain b = {
			.remote_domain = domid,
			.remote_port = slots[i].vp_eport,
		};

		ret = ioctl(evtchn, IOCTL_EVTCHN_BIND_INTERDOMAIN, &b);
		if (ret < 0) {
			perror("vbe-xen-bench: server: IOCTL_EVTCHN_BIND_INTERDOMAIN");
			goto fail_destroy;
		}
		local[i] = ret;
	}
	st = 0;
	if (write(ready, &st, 1) != 1)
		goto out;
	close(ready);

	while (!server_stop) {
		struct ioctl_evtchn_notify n;
		volatile struct ioreq *r;
		uint32_t port, v;
		uint8_t flags;

		if (read(evtchn, &port, sizeof(port)) != sizeof(port)) {
			if (errno == EINTR)
				continue;
			perror("vbe-xen-bench: server: read /dev/xen/evtchn");
			break;
		}
		/* unmask at once, as QEMU does */
		if (write(evtchn, &port, sizeof(port)) != sizeof(port))
			perror("vbe-xen-bench: server: unmask");
		for (v = 0; v < nr_vcpus && local[v] != port; v++)
			;
		if (v == nr_vcpus)
			continue;
		r = &slots[v];
		flags = r->flags;
		if ((flags & IOREQ_STATE) != STATE_READY)
			continue;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		r->flags = (flags & ~IOREQ_STATE) | STATE_INPROCESS;
		if (!(flags & IOREQ_READ))
			efd_write(kick);	/* any write is a kick */
		else if (!(flags & IOREQ_PTR))
			r->data = 0;
		__atomic_thread_fence(__ATOMIC_RELEASE);
		r->flags = (flags & ~IOREQ_STATE) | STATE_RESP_READY;
		n.port = port;
		if (ioctl(evtchn, IOCTL_EVTCHN_NOTIFY, &n) < 0)
			perror("vbe-xen-bench: server: notify");
	}
out:
	op = (struct dm_op){
		.op = DMOP_set_ioreq_server_state,
		.u.state = { .id = id, .enabled = 0 },
	};
	dm_op(privcmd, domid, &op);
	op = (struct dm_op){
		.op = DMOP_destroy_ioreq_server,
		.u.destroy = { .id = id },
	};
	dm_op(privcmd, domid, &op);
	_exit(0);

fail_destroy:
	op = (struct dm_op){
		.op = DMOP_destroy_ioreq_server,
		.u.destroy = { .id = id },
	};
	dm_op(privcmd, domid, &op);
fail:
	if (write(ready, &st, 1) != 1)
		_exit(1);
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
	double med_us, p99_us;
};

static int parse_result(const char *s, const char *name, struct kick_result *k)
{
	char key[32];
	unsigned long long med, p99;
	const char *p;

	snprintf(key, sizeof(key), " %s=", name);
	p = strstr(s, key);
	if (!p || sscanf(p + strlen(key), "%llu,%llu", &med, &p99) != 2)
		return -1;
	k->med_us = med / 1000.0;
	k->p99_us = p99 / 1000.0;
	return 0;
}

static void print_kick(const char *name, struct kick_result k,
		       const struct kick_result *base)
{
	printf("%-36s median %8.1f us  p99 %8.1f us", name, k.med_us, k.p99_us);
	if (base)
		printf(" | / virtbe ioeventfd: median %.2fx, p99 %.2fx",
		       k.med_us / base->med_us, k.p99_us / base->p99_us);
	printf("\n");
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
	pid_t stub, server;
	int ctl, g, c, pipefd[2], failed = 0;
	char st = 1, buf[512], val[32];
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
	if (!domid || !port || (base & (2 * PAGE - 1)) || !iters)
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
	if (pipe(pipefd))
		die("pipe");
	server = fork();
	if (server < 0)
		die("fork");
	if (!server) {
		/* destroys its IOREQ server on SIGTERM */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		close(pipefd[0]);
		server_main(domid, a.out_nr_vcpus, base + PAGE,
			    base + 2 * PAGE - 1, d.kick, pipefd[1]);
	}
	close(pipefd[1]);
	if (read(pipefd[0], &st, 1) != 1 || st) {
		fprintf(stderr, "%s: the userspace IOREQ server did not start\n",
			prog);
		failed = 1;
	}
	close(pipefd[0]);
	if (pthread_create(&dt, NULL, daemon_fn, &d))
		die("pthread_create");

	if (!failed) {
		snprintf(val, sizeof(val), "%u %u", iters, budget * 1000);
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
		} else {
			struct kick_result kv, ke, ks;

			if (parse_result(buf, "virtbe", &kv) ||
			    parse_result(buf, "evtchn", &ke) ||
			    parse_result(buf, "stub", &ks)) {
				fprintf(stderr, "%s: cannot parse '%s'\n", prog, buf);
				failed = 1;
			} else {
				print_kick("xen kick rtt (virtbe ioeventfd)", kv,
					   NULL);
				print_kick("xen kick rtt (evtchn IOREQ server)", ke,
					   &kv);
				print_kick("xen kick rtt (request channel stub)", ks,
					   &kv);
			}
		}
	}
	efd_write(d.stop);
	pthread_join(dt, NULL);
	kill(server, SIGTERM);
	waitpid(server, NULL, 0);
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
