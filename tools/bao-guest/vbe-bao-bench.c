// SPDX-License-Identifier: GPL-2.0
/*
 * vbe-bao-bench: the backend VM's half of the Bao lane's kick benchmark.
 *
 *   vbe-bao-bench --guest ID --base ADDR --irq N [--floor N]
 *   vbe-bao-bench --bao-dm ID --bao-base ADDR
 *
 * The frontend (bao-kick) writes a register and waits for the interrupt
 * that comes back, on three paths that differ only in how the kick
 * reaches the backend's eventfd:
 *
 *   virtbe  ADDR + 0x50: a virtbe ioeventfd; virtbe_bao fetches the
 *           request in its interrupt handler and signals the eventfd.
 *   stub    ADDR + 0x54: no ioeventfd: the request goes to virtbe's
 *           request channel; a thread here reads it, completes it and
 *           raises the interrupt (a userspace relay).
 *   bao     --bao-base + 0x50 of Bao's own I/O dispatcher (its
 *           out-of-tree driver, /dev/bao-io-dispatcher, device model
 *           --bao-dm): its ioeventfd and irqfd, its request path (an
 *           interrupt, a workqueue, a kernel thread).
 *
 * The virtbe and bao paths are answered alike: one thread per path reads
 * the kick eventfd and writes the irqfd eventfd.  The first form serves
 * the virtbe and stub paths, after the floor: the same exchange between
 * two threads of this VM over two eventfds, --floor N round trips
 * (default 2000), printed as
 *
 *   floor eventfd ping-pong: median M us, p99 P us, N round trips
 *
 * The second form serves the bao path: a process of its own, because
 * Bao's driver (bao-linux-drivers eed38dc) corrupts its irqfd list when
 * the eventfd of an irqfd is closed (a BUG in irqfd_shutdown_work), so
 * the lane never stops it.  Each prints "serving" when it serves, and
 * serves until SIGTERM or SIGINT.
 *
 * Bao's driver ABI (its bao.h) is re-declared here: three ioctls.
 *
 * Copyright (C) 2026 The virtbe authors
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
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
#include <time.h>
#include <unistd.h>
#include <virtbe/virtbe.h>

#include "timing.h"

#define OFF_KICK	0x50
#define OFF_STUB	0x54
#define WINDOW		0x200

/* ---- Bao's I/O dispatcher (bao-linux-drivers, iodispatcher/bao.h) ---- */
struct bao_dm_info {
	uint32_t id;
	uint64_t shmem_addr;
	uint64_t shmem_size;
	uint32_t irq;
	int32_t fd;
};

struct bao_ioeventfd {
	uint32_t fd;
	uint32_t flags;
	uint64_t addr;
	uint32_t len;
	uint32_t reserved;
	uint64_t data;
};

struct bao_irqfd {
	int32_t fd;
	uint32_t flags;
};

#define BAO_IOCTL_TYPE		0xA6
#define BAO_IOCTL_DM_GET_INFO	_IOWR(BAO_IOCTL_TYPE, 0x01, struct bao_dm_info)
#define BAO_IOCTL_IOEVENTFD	_IOW(BAO_IOCTL_TYPE, 0x04, struct bao_ioeventfd)
#define BAO_IOCTL_IRQFD		_IOW(BAO_IOCTL_TYPE, 0x05, struct bao_irqfd)

struct relay {
	int kick, call;
};

static void die(const char *what, int err)
{
	fprintf(stderr, "vbe-bao-bench: %s: %s\n", what, strerror(err));
	exit(1);
}

static int efd(void)
{
	int fd = eventfd(0, EFD_CLOEXEC);

	if (fd < 0)
		die("eventfd", errno);
	return fd;
}

static void efd_wait(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		die("eventfd read", errno);
}

static void efd_signal(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) != sizeof(one))
		die("eventfd write", errno);
}

/* One path: every kick is answered by an interrupt. */
static void *relay_thread(void *arg)
{
	struct relay *r = arg;

	for (;;) {
		efd_wait(r->kick);
		efd_signal(r->call);
	}
	return NULL;
}

static void floor_run(unsigned int n)
{
	struct relay echo = { .kick = efd(), .call = efd() };
	uint64_t *t = calloc(n, sizeof(*t));
	pthread_t th;
	unsigned int i;

	if (!t)
		die("floor", ENOMEM);
	if (pthread_create(&th, NULL, relay_thread, &echo))
		die("pthread_create", EAGAIN);
	for (i = 0; i < n; i++) {
		uint64_t t0 = now_ns();

		efd_signal(echo.kick);
		efd_wait(echo.call);
		t[i] = now_ns() - t0;
	}
	qsort(t, n, sizeof(*t), cmp_u64);
	printf("floor eventfd ping-pong: median %.1f us, p99 %.1f us, %u round trips\n",
	       t[n / 2] / 1000.0, t[(uint64_t)n * 99 / 100] / 1000.0, n);
	fflush(stdout);
	free(t);
}

/* The stub path: requests from the channel, answered from userspace. */
struct stub {
	struct vbe_guest *guest;
	uint64_t addr;
	int call;
};

static void *stub_thread(void *arg)
{
	struct stub *s = arg;
	struct pollfd p = { .fd = vbe_guest_fd(s->guest), .events = POLLIN };
	struct virtbe_request req[16];
	int n, i, ret;

	for (;;) {
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			die("poll", errno);
		n = vbe_guest_read_requests(s->guest, req, 16);
		if (n == -EAGAIN)
			continue;
		if (n <= 0)
			die("request channel", n ? -n : ENODEV);
		for (i = 0; i < n; i++) {
			bool kick = (req[i].flags & VIRTBE_REQ_WRITE) &&
				    req[i].addr == s->addr;

			ret = vbe_guest_complete(s->guest, req[i].id, 0);
			if (ret && ret != -ENOENT)
				die("complete", -ret);
			if (kick)
				efd_signal(s->call);
		}
	}
	return NULL;
}

static void start(void *(*fn)(void *), void *arg)
{
	pthread_t th;

	if (pthread_create(&th, NULL, fn, arg))
		die("pthread_create", EAGAIN);
}

static void bao_path(const char *dm, uint64_t base)
{
	static struct relay r;
	struct bao_dm_info info = { .id = (uint32_t)strtoul(dm, NULL, 0) };
	struct bao_ioeventfd ioe;
	struct bao_irqfd irq;
	int fd = open("/dev/bao-io-dispatcher", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		die("/dev/bao-io-dispatcher (is Bao's iodispatcher.ko loaded?)",
		    errno);
	if (ioctl(fd, BAO_IOCTL_DM_GET_INFO, &info) < 0)
		die("BAO_IOCTL_DM_GET_INFO", errno);
	r.kick = efd();
	r.call = efd();
	ioe = (struct bao_ioeventfd) {
		.fd = (uint32_t)r.kick, .addr = base + OFF_KICK, .len = 4,
	};
	if (ioctl(info.fd, BAO_IOCTL_IOEVENTFD, &ioe) < 0)
		die("BAO_IOCTL_IOEVENTFD", errno);
	irq = (struct bao_irqfd) { .fd = r.call };
	if (ioctl(info.fd, BAO_IOCTL_IRQFD, &irq) < 0)
		die("BAO_IOCTL_IRQFD", errno);
	start(relay_thread, &r);
}

static void virtbe_paths(uint64_t guest_id, uint64_t base, uint32_t irq)
{
	static struct relay r;
	static struct stub s;
	struct vbe_guest *guest;
	struct vbe_ctl *ctl;
	int ret;

	ret = vbe_ctl_open(&ctl);
	if (ret)
		die("/dev/virtbe", -ret);
	/* a stub that a slow spell of the emulator keeps from its request
	 * for over the default second must still answer it */
	ret = vbe_guest_attach(ctl, VIRTBE_HYP_BAO, guest_id, 10000, &guest);
	if (ret)
		die("attach (is virtbe_bao loaded?)", -ret);
	ret = vbe_guest_claim_range(guest, base, WINDOW, 0);
	if (ret)
		die("claim", -ret);
	r.kick = efd();
	r.call = efd();
	ret = vbe_guest_assign_ioeventfd(guest, r.kick, base + OFF_KICK, 4, 0, 0);
	if (!ret)
		ret = vbe_guest_assign_irqfd_edge(guest, r.call, irq);
	if (ret)
		die("ioeventfd/irqfd", -ret);
	s = (struct stub) { .guest = guest, .addr = base + OFF_STUB,
			    .call = r.call };
	start(relay_thread, &r);
	start(stub_thread, &s);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "guest", required_argument, NULL, 'g' },
		{ "base", required_argument, NULL, 'b' },
		{ "irq", required_argument, NULL, 'i' },
		{ "bao-dm", required_argument, NULL, 'd' },
		{ "bao-base", required_argument, NULL, 'B' },
		{ "floor", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t guest = 0, base = 0, bao_base = 0;
	const char *dm = NULL;
	unsigned int floor_n = 2000;
	uint32_t irq = 0;
	sigset_t set;
	int o, sig;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'g':
			guest = strtoull(optarg, NULL, 0);
			break;
		case 'b':
			base = strtoull(optarg, NULL, 0);
			break;
		case 'i':
			irq = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'd':
			dm = optarg;
			break;
		case 'B':
			bao_base = strtoull(optarg, NULL, 0);
			break;
		case 'f':
			floor_n = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		default:
			fprintf(stderr,
				"usage: vbe-bao-bench --guest ID --base ADDR --irq N [--floor N]\n"
				"       vbe-bao-bench --bao-dm ID --bao-base ADDR\n");
			return 1;
		}
	}
	if (dm ? !bao_base || base : !base || !irq || !floor_n) {
		fprintf(stderr, "vbe-bao-bench: --guest, --base and --irq, or --bao-dm and --bao-base\n");
		return 1;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	if (dm) {
		bao_path(dm, bao_base);
	} else {
		floor_run(floor_n);
		virtbe_paths(guest, base, irq);
	}
	printf("serving\n");
	fflush(stdout);
	sigwait(&set, &sig);
	return 0;
}
