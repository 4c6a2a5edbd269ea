/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * What the libFuzzer harnesses share: the entry point's prototype, an
 * invariant check that crashes (libFuzzer keeps the input), and the test
 * that a segment lies inside a guest window.
 */
#ifndef VBE_FUZZ_H
#define VBE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define CHECK(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* [p, p + len) lies inside the window [base, base + wlen). */
static inline int inside(const void *p, size_t len, const uint8_t *base,
			 size_t wlen)
{
	const uint8_t *b = p;

	return b >= base && (size_t)(b - base) <= wlen &&
	       len <= wlen - (size_t)(b - base);
}

#endif
