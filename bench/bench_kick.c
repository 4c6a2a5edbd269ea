// SPDX-License-Identifier: GPL-2.0
/*
 * Kick latency, one way: from a simulated vCPU's QueueNotify write to the
 * daemon thread waking on its kick eventfd.  Compared with the floor (one
 * eventfd signal between two threads) and with the design virtbe replaces:
 * the kick relayed by a userspace stub process (request channel -> stub ->
 * eventfd -> daemon).  Also reported: how long the vCPU stays trapped.
 */
#include <signal.h>
#include <sys/wait.h>

#include "bench_common.h"

#define ROUNDS 8

struct daemon {
	int kick, ack, iters;
	uint64_t t0;
	uint64_t *ns;		/* where the next latency goes */
	pthread_t tid;
};

static void *daemon_fn(void *arg)
{
	struct daemon *d = arg;

	for (int i = 0; i < d->iters; i++) {
		efd_read(d->kick);
		*d->ns = since(&d->t0);
		efd_write(d->ack);
	}
	return NULL;
}

/* The stub: forwards every request on the channel to the kick eventfd. */
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
		efd_write(kick);
		c.id = req.id;
		if (write(g, &c, sizeof(c)) != sizeof(c))
			_exit(1);
	}
}

static void run_kicks(int sg, uint64_t addr, struct daemon *d, uint64_t *ns,
		      uint64_t *trap_ns, int n, uint32_t want)
{
	for (int i = 0; i < n; i++) {
		uint32_t res = ~0U;

		d->ns = &ns[i];
		stamp(&d->t0);
		if (sim_write(sg, 0, addr, 0, &res) || res != want)
			die("kick");
		trap_ns[i] = since(&d->t0);
		efd_read(d->ack);
	}
}

int main(void)
{
	int iters = bench_iters(2000), chunk = iters / ROUNDS;
	uint64_t *floor_ns = calloc(iters, 8), *kick_ns = calloc(iters, 8);
	uint64_t *stub_ns = calloc(iters, 8), *ktrap = calloc(iters, 8);
	uint64_t *strap = calloc(iters, 8);
	struct daemon d;
	struct simenv e;
	pid_t stub;

	simenv_init(&e, 1, 0);
	d.kick = eventfd(0, EFD_CLOEXEC);
	d.ack = eventfd(0, EFD_CLOEXEC);
	d.iters = 2 * chunk * ROUNDS;
	if (assign_ioeventfd(e.g, d.kick, NOTIFY, 0))
		die("ioeventfd");
	/* NOTIFY + 4 has no ioeventfd: it goes through the stub. */
	stub = fork();
	if (!stub)
		stub_loop(e.g, d.kick);
	pthread_create(&d.tid, NULL, daemon_fn, &d);

	for (int r = 0; r < ROUNDS; r++) {
		floor_pingpong(floor_ns + r * chunk, chunk);
		run_kicks(e.sg, NOTIFY, &d, kick_ns + r * chunk,
			  ktrap + r * chunk, chunk, VIRTBE_SIM_RESULT_IOEVENTFD);
		run_kicks(e.sg, NOTIFY + 4, &d, stub_ns + r * chunk,
			  strap + r * chunk, chunk, VIRTBE_SIM_RESULT_BACKEND);
	}
	pthread_join(d.tid, NULL);
	kill(stub, SIGKILL);
	waitpid(stub, NULL, 0);

	{
		int n = chunk * ROUNDS;
		struct lat f = lat_stats(floor_ns, n), k = lat_stats(kick_ns, n);
		struct lat s = lat_stats(stub_ns, n);
		struct lat kt = lat_stats(ktrap, n), st = lat_stats(strap, n);

		printf("bench_kick: %d kicks each, %d rounds interleaved\n", n,
		       ROUNDS);
		report("kick (virtbe ioeventfd)", k, "floor: eventfd ping-pong", f,
		       "<= 1.50");
		report("kick (userspace stub relay)", s,
		       "floor: eventfd ping-pong", f, NULL);
		printf("%-28s stub median / virtbe median = %.2fx faster (target >= 2.00)\n",
		       "kick vs stub relay", s.median_us / k.median_us);
		report("vCPU trapped (virtbe)", kt, "vCPU trapped (stub relay)",
		       st, NULL);
	}
	simenv_fini(&e);
	return 0;
}
