/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The Bao lane's benchmark programs' timing (bao-kick.c in the frontend,
 * vbe-bao-bench.c in the backend): a monotonic clock in nanoseconds and
 * the comparison that sorts samples for their median and percentiles.
 *
 * Copyright (C) 2026 The virtbe authors
 */
#ifndef VBE_BAO_TIMING_H
#define VBE_BAO_TIMING_H

#include <stdint.h>
#include <time.h>

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* qsort() comparison of uint64_t samples */
static inline int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

#endif /* VBE_BAO_TIMING_H */
