// SPDX-License-Identifier: GPL-2.0
/*
 * Interrupt latency, one way: from the daemon writing its call eventfd to
 * the simulated guest's thread waking on its interrupt (irqfd -> simulator
 * -> guest eventfd).  Compared with one eventfd signal between two threads
 * (the floor).
 */
#include "bench_common.h"

#define ROUNDS 8

struct guest {
	int irq, ack, iters;
	uint64_t t0;
	uint64_t *ns;
	pthread_t tid;
};

static void *guest_fn(void *arg)
{
	struct guest *gu = arg;

	for (int i = 0; i < gu->iters; i++) {
		efd_read(gu->irq);
		gu->ns[i] = since(&gu->t0);
		efd_write(gu->ack);
	}
	return NULL;
}

int main(void)
{
	int iters = bench_iters(2000), chunk = iters / ROUNDS;
	uint64_t *floor_ns = calloc(iters, 8), *irq_ns = calloc(iters, 8);
	struct virtbe_sim_bind_irq b = {
		.size = sizeof(b), .type = VIRTBE_IRQ_EDGE, .irq = 5,
	};
	struct virtbe_irqfd i = {
		.size = sizeof(i), .resamplefd = -1, .type = VIRTBE_IRQ_EDGE,
		.irq = 5,
	};
	struct guest gu;
	struct simenv e;
	int call;

	simenv_init(&e, 1, 0);
	call = eventfd(0, EFD_CLOEXEC);
	gu.irq = eventfd(0, EFD_CLOEXEC);
	gu.ack = eventfd(0, EFD_CLOEXEC);
	gu.iters = chunk * ROUNDS;
	gu.ns = irq_ns;
	b.fd = gu.irq;
	i.fd = call;
	if (ioctl(e.sg, VIRTBE_SIM_BIND_IRQ, &b) || ioctl(e.g, VIRTBE_IRQFD, &i))
		die("irq setup");
	pthread_create(&gu.tid, NULL, guest_fn, &gu);

	for (int r = 0; r < ROUNDS; r++) {
		floor_pingpong(floor_ns + r * chunk, chunk);
		for (int k = 0; k < chunk; k++) {
			stamp(&gu.t0);
			efd_write(call);
			efd_read(gu.ack);
		}
	}
	pthread_join(gu.tid, NULL);
	printf("bench_irq: %d interrupts, %d rounds interleaved\n",
	       chunk * ROUNDS, ROUNDS);
	report("interrupt (virtbe irqfd)", lat_stats(irq_ns, chunk * ROUNDS),
	       "floor: eventfd ping-pong", lat_stats(floor_ns, chunk * ROUNDS),
	       "<= 1.50");
	simenv_fini(&e);
	return 0;
}
