// SPDX-License-Identifier: GPL-2.0
/*
 * vbe-randread: 4 KiB random reads with O_DIRECT from a block device, at a
 * queue depth of N (N threads, each with one read in flight), for S
 * seconds.  The Xen lane's benchmark runs it in the domU on the virtio-blk
 * disk served through virtbe and on Xen's own PV disk (xen-blkfront) over
 * the same backing file, and prints one line per run:
 *
 *   randread DEV qd N: IOPS iops, median LAT us, p99 LAT us, READS reads
 *
 *   vbe-randread DEV QD SECONDS
 *
 * Copyright (C) 2026 The virtbe authors
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/fs.h>

#define BS 4096
#define MAX_QD 64
#define MAX_SAMPLES (1 << 20)

struct worker {
	pthread_t t;
	unsigned int seed;
	unsigned long reads;
	int err;
};

static int fd;
static uint64_t blocks;
static uint64_t deadline_ns;
static uint32_t *lat_us;		/* every read's latency */
static unsigned long nlat;		/* atomic */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	uint64_t t0, t1, blk;
	unsigned long i;
	void *buf;

	if (posix_memalign(&buf, BS, BS)) {
		w->err = ENOMEM;
		return NULL;
	}
	for (;;) {
		t0 = now_ns();
		if (t0 >= deadline_ns)
			break;
		blk = ((uint64_t)rand_r(&w->seed) << 16 ^
		       (uint64_t)rand_r(&w->seed)) % blocks;
		if (pread(fd, buf, BS, (off_t)(blk * BS)) != BS) {
			w->err = errno ? errno : EIO;
			break;
		}
		t1 = now_ns();
		w->reads++;
		i = __atomic_fetch_add(&nlat, 1, __ATOMIC_RELAXED);
		if (i < MAX_SAMPLES)
			lat_us[i] = (uint32_t)((t1 - t0) / 1000);
	}
	free(buf);
	return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	struct worker w[MAX_QD];
	unsigned long reads = 0, n;
	unsigned int qd, i;
	uint64_t size, t0, t1;
	double secs;
	int err = 0;

	if (argc != 4 || !(qd = (unsigned int)atoi(argv[2])) || qd > MAX_QD ||
	    atoi(argv[3]) <= 0) {
		fprintf(stderr, "usage: vbe-randread DEV QD(1..%d) SECONDS\n",
			MAX_QD);
		return 2;
	}
	fd = open(argv[1], O_RDONLY | O_DIRECT);
	if (fd >= 0 && ioctl(fd, BLKGETSIZE64, &size)) {
		struct stat st;	/* a regular file */

		size = fstat(fd, &st) ? 0 : (uint64_t)st.st_size;
	}
	if (fd < 0) {
		fprintf(stderr, "vbe-randread: %s: %s\n", argv[1],
			strerror(errno));
		return 1;
	}
	blocks = size / BS;
	lat_us = calloc(MAX_SAMPLES, sizeof(*lat_us));
	if (!blocks || !lat_us) {
		fprintf(stderr, "vbe-randread: %s: empty device or no memory\n",
			argv[1]);
		return 1;
	}
	t0 = now_ns();
	deadline_ns = t0 + (uint64_t)atoi(argv[3]) * 1000000000ULL;
	for (i = 0; i < qd; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].seed = 12345 + i * 7919;
		if (pthread_create(&w[i].t, NULL, work, &w[i])) {
			fprintf(stderr, "vbe-randread: pthread_create failed\n");
			return 1;
		}
	}
	for (i = 0; i < qd; i++) {
		pthread_join(w[i].t, NULL);
		reads += w[i].reads;
		if (w[i].err)
			err = w[i].err;
	}
	t1 = now_ns();
	if (err) {
		fprintf(stderr, "vbe-randread: %s: read: %s\n", argv[1],
			strerror(err));
		return 1;
	}
	n = nlat < MAX_SAMPLES ? nlat : MAX_SAMPLES;
	if (!n) {
		fprintf(stderr, "vbe-randread: %s: no read finished\n", argv[1]);
		return 1;
	}
	qsort(lat_us, n, sizeof(*lat_us), cmp_u32);
	secs = (double)(t1 - t0) / 1e9;
	printf("randread %s qd %u: %.0f iops, median %u us, p99 %u us, %lu reads\n",
	       argv[1], qd, (double)reads / secs, lat_us[n / 2],
	       lat_us[n * 99 / 100], reads);
	return 0;
}
