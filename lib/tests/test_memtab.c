// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"
#include "internal.h"

static uint8_t buf[3][4096];

TEST(memtab_translate_bounds)
{
	struct vbe_memtab *mt;
	void *p;

	REQUIRE_EQ(vbe_memtab_new(&mt), 0);
	REQUIRE_EQ(vbe_memtab_add(mt, 0x10000, 4096, buf[0], 0), 0);

	CHECK_EQ(vbe_memtab_translate(mt, 0x10000, 4096, true, &p), 0);
	CHECK(p == buf[0]);
	CHECK_EQ(vbe_memtab_translate(mt, 0x10fff, 1, false, &p), 0);
	CHECK(p == &buf[0][4095]);
	CHECK_EQ(vbe_memtab_translate(mt, 0x10800, 2048, false, &p), 0);
	/* one byte too far, one byte before, past the end */
	CHECK_EQ(vbe_memtab_translate(mt, 0x10001, 4096, false, &p), -EFAULT);
	CHECK_EQ(vbe_memtab_translate(mt, 0xffff, 2, false, &p), -EFAULT);
	CHECK_EQ(vbe_memtab_translate(mt, 0x11000, 1, false, &p), -EFAULT);
	CHECK_EQ(vbe_memtab_translate(mt, 0, 1, false, &p), -EFAULT);
	/* lengths that wrap the 64-bit space */
	CHECK_EQ(vbe_memtab_translate(mt, 0x10000, UINT64_MAX, false, &p),
		 -EFAULT);
	CHECK_EQ(vbe_memtab_translate(mt, 0x10010, UINT64_MAX - 8, false, &p),
		 -EFAULT);
	CHECK_EQ(vbe_memtab_translate(mt, UINT64_MAX, 2, false, &p), -EFAULT);
	/* zero length always succeeds, with no pointer */
	p = buf;
	CHECK_EQ(vbe_memtab_translate(mt, 0xdead0000, 0, true, &p), 0);
	CHECK(p == NULL);
	vbe_memtab_free(mt);
}

TEST(memtab_top_of_address_space)
{
	struct vbe_memtab *mt;
	void *p;

	REQUIRE_EQ(vbe_memtab_new(&mt), 0);
	/* A window ending exactly at 2^64 - 1. */
	CHECK_EQ(vbe_memtab_add(mt, UINT64_MAX - 4095, 4096, buf[0], 0), 0);
	CHECK_EQ(vbe_memtab_translate(mt, UINT64_MAX, 1, false, &p), 0);
	CHECK(p == &buf[0][4095]);
	CHECK_EQ(vbe_memtab_translate(mt, UINT64_MAX, 2, false, &p), -EFAULT);
	CHECK_EQ(vbe_memtab_translate(mt, UINT64_MAX - 4095, 4096, false, &p),
		 0);
	/* Windows that wrap are refused. */
	CHECK_EQ(vbe_memtab_add(mt, UINT64_MAX - 4094, 4097, buf[1], 0),
		 -EINVAL);
	CHECK_EQ(vbe_memtab_add(mt, 1, UINT64_MAX, buf[1], 0), -EINVAL);
	CHECK_EQ(vbe_memtab_add(mt, 0, 0, buf[1], 0), -EINVAL);
	CHECK_EQ(vbe_memtab_add(mt, 0, 4096, NULL, 0), -EINVAL);
	CHECK_EQ(vbe_memtab_add(mt, 0, 4096, buf[1], 0x80), -EINVAL);
	/* A host range that would wrap the address space. */
	CHECK_EQ(vbe_memtab_add(mt, 0, 2, (void *)UINTPTR_MAX, 0), -EINVAL);
	vbe_memtab_free(mt);
}

TEST(memtab_overlap_and_remove)
{
	struct vbe_memtab *mt;
	void *p;

	REQUIRE_EQ(vbe_memtab_new(&mt), 0);
	REQUIRE_EQ(vbe_memtab_add(mt, 0x2000, 0x1000, buf[0], 0), 0);
	CHECK_EQ(vbe_memtab_add(mt, 0x2000, 0x1000, buf[1], 0), -EEXIST);
	CHECK_EQ(vbe_memtab_add(mt, 0x1001, 0x1000, buf[1], 0), -EEXIST);
	CHECK_EQ(vbe_memtab_add(mt, 0x2fff, 0x1000, buf[1], 0), -EEXIST);
	CHECK_EQ(vbe_memtab_add(mt, 0x2100, 0x10, buf[1], 0), -EEXIST);
	CHECK_EQ(vbe_memtab_add(mt, 0x1000, 0x3000, buf[1], 0), -EEXIST);
	/* adjacent on both sides is fine */
	CHECK_EQ(vbe_memtab_add(mt, 0x1000, 0x1000, buf[1], 0), 0);
	CHECK_EQ(vbe_memtab_add(mt, 0x3000, 0x1000, buf[2], VBE_MEM_RDONLY), 0);
	/* a buffer spanning two adjacent windows is not translated */
	CHECK_EQ(vbe_memtab_translate(mt, 0x1ff0, 0x20, false, &p), -EFAULT);
	CHECK_EQ(vbe_memtab_translate(mt, 0x3000, 16, false, &p), 0);
	CHECK(p == buf[2]);
	CHECK_EQ(vbe_memtab_translate(mt, 0x3000, 16, true, &p), -EFAULT);
	CHECK_EQ(vbe_memtab_remove(mt, 0x2001), -ENOENT);
	CHECK_EQ(vbe_memtab_remove(mt, 0x2000), 0);
	CHECK_EQ(vbe_memtab_remove(mt, 0x2000), -ENOENT);
	CHECK_EQ(vbe_memtab_translate(mt, 0x2000, 1, false, &p), -EFAULT);
	CHECK_EQ(vbe_memtab_translate(mt, 0x1000, 1, false, &p), 0);
	CHECK(p == buf[1]);
	vbe_memtab_free(mt);
}

TEST(memtab_many_windows)
{
	static uint8_t big[VBE_MEMTAB_MAX][64];
	struct vbe_memtab *mt;
	unsigned int i, k;
	void *p;

	REQUIRE_EQ(vbe_memtab_new(&mt), 0);
	/* insert in a scrambled order, 64-byte windows 128 bytes apart */
	for (i = 0; i < VBE_MEMTAB_MAX; i++) {
		k = (i * 37) % VBE_MEMTAB_MAX;
		CHECK_EQ(vbe_memtab_add(mt, 128ULL * k, 64, big[k], 0), 0);
	}
	CHECK_EQ(vbe_memtab_add(mt, 1ULL << 40, 64, big[0], 0), -ENOSPC);
	for (k = 0; k < VBE_MEMTAB_MAX; k++) {
		CHECK_EQ(vbe_memtab_translate(mt, 128ULL * k + 5, 59, false, &p),
			 0);
		CHECK(p == &big[k][5]);
		CHECK_EQ(vbe_memtab_translate(mt, 128ULL * k + 64, 1, false, &p),
			 -EFAULT);
	}
	vbe_memtab_free(mt);
}
