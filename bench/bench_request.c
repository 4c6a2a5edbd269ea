// SPDX-License-Identifier: GPL-2.0
/*
 * Request round trips: a simulated vCPU reads a register, a daemon thread
 * answers it through the request channel.  Operations per second, against
 * the floor: eventfd ping-pong round trips per second in the same run.
 */
#include "bench_common.h"

struct daemon {
	int g, iters;
	pthread_t tid;
};

static void *daemon_fn(void *arg)
{
	struct daemon *d = arg;
	struct virtbe_request req[16];
	struct virtbe_completion c[16];
	int done = 0;

	while (done < d->iters) {
		struct pollfd p = { .fd = d->g, .events = POLLIN };
		ssize_t n;
		int k;

		if (poll(&p, 1, 5000) != 1)
			die("request poll");
		n = read(d->g, req, sizeof(req));
		if (n <= 0)
			die("request read");
		k = n / sizeof(req[0]);
		for (int i = 0; i < k; i++)
			c[i] = (struct virtbe_completion) {
				.size = sizeof(c[0]), .id = req[i].id,
				.data = req[i].addr,
			};
		if (write(d->g, c, k * sizeof(c[0])) != (ssize_t)(k * sizeof(c[0])))
			die("completion write");
		done += k;
	}
	return NULL;
}

int main(void)
{
	int iters = bench_iters(2000);
	uint64_t *floor_ns = calloc(iters, 8), t0, ours, floor = 0;
	struct daemon d;
	struct simenv e;

	simenv_init(&e, 1, 0);
	d.g = e.g;
	d.iters = iters;

	floor_pingpong(floor_ns, iters);
	for (int i = 0; i < iters; i++)
		floor += floor_ns[i];

	pthread_create(&d.tid, NULL, daemon_fn, &d);
	t0 = now_ns();
	for (int i = 0; i < iters; i++) {
		uint64_t v = 0;

		if (sim_read(e.sg, 0, MMIO_BASE + 0x70, &v) ||
		    v != (uint32_t)(MMIO_BASE + 0x70))
			die("register read");
	}
	ours = now_ns() - t0;
	pthread_join(d.tid, NULL);

	printf("bench_request: %d register reads answered by userspace\n", iters);
	printf("%-28s %10.0f ops/s | %-26s %10.0f round trips/s | ratio %.2f (floor ops / ours)\n",
	       "request round trip", iters * 1e9 / ours,
	       "floor: eventfd ping-pong", iters * 1e9 / floor,
	       (double)ours / floor);
	simenv_fini(&e);
	return 0;
}
