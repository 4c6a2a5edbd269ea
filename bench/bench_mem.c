// SPDX-License-Identifier: GPL-2.0
/*
 * Memory: map a window over the whole of a simulated guest's RAM through
 * virtbe and touch every page, against the floor: mmap and touch a memfd of
 * the same size.  BENCH_MEM_MB sets the size (default 1024).
 */
#include "bench_common.h"

#define ROUNDS 2

static uint64_t touch(uint8_t *p, uint64_t len)
{
	uint64_t t0 = now_ns();

	for (uint64_t o = 0; o < len; o += 4096)
		p[o] = 1;
	return now_ns() - t0;
}

static uint64_t floor_run(uint64_t len)
{
	uint64_t t0 = now_ns();
	int fd = memfd_create("bench-floor", MFD_CLOEXEC);
	uint8_t *p;

	if (fd < 0 || ftruncate(fd, len))
		die("memfd");
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("mmap memfd");
	touch(p, len);
	t0 = now_ns() - t0;
	munmap(p, len);
	close(fd);
	return t0;
}

static uint64_t virtbe_run(uint64_t len, uint64_t *map_ns)
{
	struct virtbe_mem_map m = { .size = sizeof(m), .gpa = 0, .len = len };
	struct simenv e;
	uint64_t t0;
	uint8_t *p;
	int mfd;

	simenv_init(&e, 1, len);
	t0 = now_ns();
	mfd = ioctl(e.g, VIRTBE_MEM_MAP, &m);
	if (mfd < 0)
		die("MEM_MAP");
	*map_ns = now_ns() - t0;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (p == MAP_FAILED)
		die("mmap window");
	touch(p, len);
	t0 = now_ns() - t0;
	munmap(p, len);
	close(mfd);
	simenv_fini(&e);
	return t0;
}

int main(void)
{
	const char *s = getenv("BENCH_MEM_MB");
	uint64_t len = (s ? strtoull(s, NULL, 0) : 1024) << 20;
	uint64_t best_floor = ~0ULL, best_ours = ~0ULL, best_map = ~0ULL;

	for (int r = 0; r < ROUNDS; r++) {
		uint64_t f = floor_run(len), map, o = virtbe_run(len, &map);

		if (f < best_floor)
			best_floor = f;
		if (o < best_ours) {
			best_ours = o;
			best_map = map;
		}
	}
	printf("bench_mem: %llu MiB, best of %d\n",
	       (unsigned long long)(len >> 20), ROUNDS);
	printf("%-28s %8.3f s (MEM_MAP call %.3f s) | %-26s %8.3f s | ratio %.2f  target <= 1.20\n",
	       "map + touch guest window", best_ours / 1e9, best_map / 1e9,
	       "floor: memfd mmap + touch", best_floor / 1e9,
	       (double)best_ours / best_floor);
	return 0;
}
