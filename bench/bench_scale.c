// SPDX-License-Identifier: GPL-2.0
/*
 * One-way kick latency with 1, 64 and 4096 ioeventfds registered on the same
 * QueueNotify register (one datamatch value per queue), interleaved, with
 * the single registration as the reference.
 */
#include <sys/resource.h>

#include "bench_common.h"

#define ROUNDS 8
#define NCONF 3

static const int counts[NCONF] = { 1, 64, 4096 };

struct daemon {
	int kick, ack, iters;
	uint64_t t0;
	uint64_t *ns;
	pthread_t tid;
};

static void *daemon_fn(void *arg)
{
	struct daemon *d = arg;

	for (int i = 0; i < d->iters; i++) {
		efd_read(d->kick);
		d->ns[i] = since(&d->t0);
		efd_write(d->ack);
	}
	return NULL;
}

int main(void)
{
	int iters = bench_iters(2000), chunk = iters / ROUNDS;
	struct simenv e[NCONF];
	struct daemon d[NCONF];
	uint64_t *ns[NCONF];
	struct lat l[NCONF];
	int other = eventfd(0, EFD_CLOEXEC);

	for (int c = 0; c < NCONF; c++) {
		int target = counts[c] / 2;

		simenv_init(&e[c], 1, 0);
		ns[c] = calloc(iters, 8);
		d[c].ns = ns[c];
		d[c].kick = eventfd(0, EFD_CLOEXEC);
		d[c].ack = eventfd(0, EFD_CLOEXEC);
		d[c].iters = chunk * ROUNDS;
		for (int q = 0; q < counts[c]; q++)
			if (assign_ioeventfd(e[c].g, q == target ? d[c].kick : other,
					     NOTIFY, q))
				die("ioeventfd");
		pthread_create(&d[c].tid, NULL, daemon_fn, &d[c]);
	}
	for (int r = 0; r < ROUNDS; r++) {
		/* Rotate the order each round so no configuration is favoured. */
		for (int i = 0; i < NCONF; i++) {
			int c = (i + r) % NCONF;

			for (int k = 0; k < chunk; k++) {
				struct virtbe_sim_access a = {
					.size = sizeof(a),
					.flags = VIRTBE_SIM_ACCESS_WRITE,
					.len = 4, .addr = NOTIFY,
					.data = counts[c] / 2,
				};

				stamp(&d[c].t0);
				if (ioctl(e[c].sg, VIRTBE_SIM_ACCESS, &a) ||
				    a.out_result != VIRTBE_SIM_RESULT_IOEVENTFD)
					die("kick");
				efd_read(d[c].ack);
			}
		}
	}
	printf("bench_scale: %d kicks per configuration, %d rounds interleaved\n",
	       chunk * ROUNDS, ROUNDS);
	for (int c = 0; c < NCONF; c++) {
		pthread_join(d[c].tid, NULL);
		l[c] = lat_stats(ns[c], chunk * ROUNDS);
	}
	for (int c = 0; c < NCONF; c++) {
		char name[64];

		snprintf(name, sizeof(name), "kick, %d ioeventfds", counts[c]);
		report(name, l[c], "reference: 1 ioeventfd", l[0],
		       c == NCONF - 1 ? "<= 1.10" : NULL);
	}
	for (int c = 0; c < NCONF; c++)
		simenv_fini(&e[c]);
	return 0;
}
