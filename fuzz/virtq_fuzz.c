// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * libFuzzer harness: libvirtbe's split virtqueue against a driver that
 * writes anything into the rings.  The input is the guest's memory: a
 * 64 KiB writable window holding the rings and data, and a 4 KiB
 * read-only one; its first two bytes choose the queue size and the
 * features.  Every chain popped is checked: at most iov_max segments, each
 * inside one window of the guest (a writable segment never in the
 * read-only one), the totals what the segments add up to; a broken queue
 * stays broken; the read-only window is never written.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <linux/virtio_ring.h>

#include <virtbe/virtbe.h>

#include "fuzz.h"

#define RW_GPA 0x40000000ULL
#define RW_SIZE 0x10000U
#define RO_GPA 0x80000000ULL
#define RO_SIZE 0x1000U
#define USED_OFF 0x2000U		/* after 256 descriptors and their ring */
#define USED_END (USED_OFF + 4 + 8 * 256 + 2)
#define IOV_MAX_FUZZ 16U

static uint8_t rw[RW_SIZE] __attribute__((aligned(4096)));
static uint8_t ro[RO_SIZE] __attribute__((aligned(4096)));
static uint8_t ro_before[RO_SIZE];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct iovec iov[IOV_MAX_FUZZ];
	struct vbe_memtab *mt;
	struct vbe_vq_elem elem;
	struct vbe_vq *vq;
	unsigned int num, i, rounds;
	uint64_t features = 0;
	size_t n;
	int ret;

	if (size < 2)
		return 0;
	num = 1U << (data[0] % 9);		/* 1 .. 256 */
	if (data[1] & 1)
		features |= 1ULL << VIRTIO_RING_F_INDIRECT_DESC;
	if (data[1] & 2)
		features |= 1ULL << VIRTIO_RING_F_EVENT_IDX;
	data += 2;
	size -= 2;
	memset(rw, 0, sizeof(rw));
	memset(ro, 0xa5, sizeof(ro));
	n = size < RW_SIZE ? size : RW_SIZE;
	memcpy(rw, data, n);
	if (size > RW_SIZE)
		memcpy(ro, data + RW_SIZE,
		       size - RW_SIZE < RO_SIZE ? size - RW_SIZE : RO_SIZE);
	/* the device starts with an empty used ring */
	memset(rw + USED_OFF, 0, USED_END - USED_OFF);
	memcpy(ro_before, ro, sizeof(ro));

	CHECK(!vbe_memtab_new(&mt));
	CHECK(!vbe_memtab_add(mt, RW_GPA, RW_SIZE, rw, 0));
	CHECK(!vbe_memtab_add(mt, RO_GPA, RO_SIZE, ro, VBE_MEM_RDONLY));
	CHECK(!vbe_vq_new(mt, num, RW_GPA, RW_GPA + 16 * num,
			  RW_GPA + USED_OFF, features, &vq));

	for (rounds = 0; rounds < 2 * num + 2; rounds++) {
		uint64_t out = 0, in = 0;

		ret = vbe_vq_pop(vq, iov, IOV_MAX_FUZZ, &elem);
		if (ret <= 0) {
			CHECK(ret == 0 || ret == -EIO);
			if (ret == -EIO) {
				CHECK(vbe_vq_broken(vq));
				CHECK(vbe_vq_pop(vq, iov, IOV_MAX_FUZZ, &elem) == -EIO);
				CHECK(vbe_vq_push(vq, 0, 0) == -EIO);
				CHECK(!vbe_vq_need_notify(vq));
				break;
			}
			ret = vbe_vq_enable_notify(vq);
			CHECK(ret == 0 || ret == 1 || ret == -EIO);
			if (ret != 1)
				break;
			continue;
		}
		CHECK(elem.iov == iov);
		CHECK(elem.head < num);
		CHECK(elem.out_num + elem.in_num <= IOV_MAX_FUZZ);
		for (i = 0; i < elem.out_num + elem.in_num; i++) {
			int writable = i >= elem.out_num;

			if (!iov[i].iov_len)
				continue;
			CHECK(inside(iov[i].iov_base, iov[i].iov_len, rw,
				     RW_SIZE) ||
			      (!writable && inside(iov[i].iov_base,
						   iov[i].iov_len, ro,
						   RO_SIZE)));
			if (writable)
				in += iov[i].iov_len;
			else
				out += iov[i].iov_len;
		}
		CHECK(out == elem.out_len && in == elem.in_len);
		/* the device writes its whole writable part, then returns it */
		for (i = elem.out_num; i < elem.out_num + elem.in_num; i++)
			if (iov[i].iov_len)
				memset(iov[i].iov_base, 0x5a, iov[i].iov_len);
		CHECK(!vbe_vq_push(vq, elem.head, elem.in_len));
		vbe_vq_need_notify(vq);
		if (rounds & 1)
			vbe_vq_disable_notify(vq);
	}
	vbe_vq_free(vq);
	vbe_memtab_free(mt);
	/* the read-only window was never written */
	CHECK(!memcmp(ro, ro_before, sizeof(ro)));
	return 0;
}
