// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * Split virtqueue helpers against well-behaved and hostile drivers.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "harness.h"
#include "internal.h"
#include "vring_drv.h"

#define G 0x40000000ULL		/* guest-physical base of the RAM window */
#define RAM_SIZE (1U << 20)
#define DATA (G + 0x80000)	/* a data area inside the window */

#define F_INDIRECT (1ULL << VIRTIO_RING_F_INDIRECT_DESC)
#define F_EVENT_IDX (1ULL << VIRTIO_RING_F_EVENT_IDX)

struct env {
	uint8_t *ram;
	struct vbe_memtab *mt;
	struct drv v;
	struct vbe_vq *vq;
	struct iovec iov[64];
	struct vbe_vq_elem elem;
};

static void env_init(struct env *e, unsigned int num, uint64_t features)
{
	memset(e, 0, sizeof(*e));
	e->ram = aligned_alloc(4096, RAM_SIZE);
	REQUIRE(e->ram);
	memset(e->ram, 0, RAM_SIZE);
	REQUIRE_EQ(vbe_memtab_new(&e->mt), 0);
	REQUIRE_EQ(vbe_memtab_add(e->mt, G, RAM_SIZE, e->ram, 0), 0);
	drv_init(&e->v, e->ram, G, 0, num);
	REQUIRE_EQ(vbe_vq_new(e->mt, num, e->v.desc, e->v.avail, e->v.used,
			      features, &e->vq), 0);
}

static void env_fini(struct env *e)
{
	vbe_vq_free(e->vq);
	vbe_memtab_free(e->mt);
	free(e->ram);
}

static int pop(struct env *e)
{
	return vbe_vq_pop(e->vq, e->iov, 64, &e->elem);
}

/* The queue is broken and stays broken. */
static void check_broken(struct env *e)
{
	CHECK_EQ(pop(e), -EIO);
	CHECK(vbe_vq_broken(e->vq));
	CHECK_EQ(pop(e), -EIO);
	CHECK_EQ(vbe_vq_push(e->vq, 0, 0), -EIO);
	CHECK_EQ(vbe_vq_enable_notify(e->vq), -EIO);
	CHECK(!vbe_vq_need_notify(e->vq));
	CHECK_EQ(e->v.u->idx, 0);
}

TEST(vq_new_validation)
{
	struct vbe_memtab *mt;
	struct vbe_vq *vq;
	uint8_t *ram = aligned_alloc(4096, RAM_SIZE);
	uint8_t *ro = aligned_alloc(4096, 4096);

	REQUIRE(ram && ro);
	REQUIRE_EQ(vbe_memtab_new(&mt), 0);
	REQUIRE_EQ(vbe_memtab_add(mt, G, RAM_SIZE, ram, 0), 0);
	REQUIRE_EQ(vbe_memtab_add(mt, 0x1000, 4096, ro, VBE_MEM_RDONLY), 0);

	CHECK_EQ(vbe_vq_new(mt, 0, G, G + 0x1000, G + 0x2000, 0, &vq), -EINVAL);
	CHECK_EQ(vbe_vq_new(mt, 3, G, G + 0x1000, G + 0x2000, 0, &vq), -EINVAL);
	CHECK_EQ(vbe_vq_new(mt, 65536, G, G + 0x1000, G + 0x2000, 0, &vq),
		 -EINVAL);
	CHECK_EQ(vbe_vq_new(NULL, 4, G, G + 0x1000, G + 0x2000, 0, &vq),
		 -EINVAL);
	/* alignment */
	CHECK_EQ(vbe_vq_new(mt, 4, G + 8, G + 0x1000, G + 0x2000, 0, &vq),
		 -EINVAL);
	CHECK_EQ(vbe_vq_new(mt, 4, G, G + 0x1001, G + 0x2000, 0, &vq), -EINVAL);
	CHECK_EQ(vbe_vq_new(mt, 4, G, G + 0x1000, G + 0x2002, 0, &vq), -EINVAL);
	/* rings outside the window, straddling its end, wrapping 2^64 */
	CHECK_EQ(vbe_vq_new(mt, 4, 0x100000, G + 0x1000, G + 0x2000, 0, &vq),
		 -EFAULT);
	CHECK_EQ(vbe_vq_new(mt, 4, G + RAM_SIZE - 48, G + 0x1000, G + 0x2000,
			    0, &vq), -EFAULT);
	CHECK_EQ(vbe_vq_new(mt, 4, UINT64_MAX - 15, G + 0x1000, G + 0x2000, 0,
			    &vq), -EFAULT);
	/* avail: 6 + 2 * 4 = 14 bytes, including used_event */
	CHECK_EQ(vbe_vq_new(mt, 4, G, G + RAM_SIZE - 12, G + 0x2000, 0, &vq),
		 -EFAULT);
	CHECK_EQ(vbe_vq_new(mt, 4, G, G + RAM_SIZE - 14, G + 0x2000, 0, &vq), 0);
	vbe_vq_free(vq);
	/* used: 6 + 8 * 4 = 38 bytes, including avail_event */
	CHECK_EQ(vbe_vq_new(mt, 4, G, G + 0x1000, G + RAM_SIZE - 36, 0, &vq),
		 -EFAULT);
	CHECK_EQ(vbe_vq_new(mt, 4, G, G + 0x1000, G + RAM_SIZE - 40, 0, &vq), 0);
	vbe_vq_free(vq);
	/* the used ring must be writable; desc and avail may be read-only */
	CHECK_EQ(vbe_vq_new(mt, 4, G, G + 0x1000, 0x1000, 0, &vq), -EFAULT);
	CHECK_EQ(vbe_vq_new(mt, 4, 0x1000, 0x1100, G, 0, &vq), 0);
	vbe_vq_free(vq);
	/* largest queue */
	CHECK_EQ(vbe_vq_new(mt, 32768, G, G + 0x80000, G + 0x90000, 0, &vq), 0);
	CHECK_EQ(vbe_vq_num(vq), 32768);
	vbe_vq_free(vq);
	vbe_memtab_free(mt);
	free(ram);
	free(ro);
}

TEST(vq_pop_push_simple)
{
	struct env e;
	uint32_t id, len;

	env_init(&e, 8, 0);
	CHECK_EQ(pop(&e), 0);
	/* header (readable), data (readable), status (writable) */
	drv_desc(&e.v, 2, DATA, 16, VRING_DESC_F_NEXT, 5);
	drv_desc(&e.v, 5, DATA + 0x100, 512, VRING_DESC_F_NEXT, 7);
	drv_desc(&e.v, 7, DATA + 0x400, 1, VRING_DESC_F_WRITE, 0);
	drv_publish(&e.v, 2);

	REQUIRE_EQ(pop(&e), 1);
	CHECK_EQ(e.elem.head, 2);
	CHECK_EQ(e.elem.out_num, 2);
	CHECK_EQ(e.elem.in_num, 1);
	CHECK_EQ(e.elem.out_len, 528);
	CHECK_EQ(e.elem.in_len, 1);
	CHECK(e.elem.iov == e.iov);
	CHECK(e.iov[0].iov_base == e.ram + 0x80000);
	CHECK_EQ(e.iov[0].iov_len, 16);
	CHECK(e.iov[1].iov_base == e.ram + 0x80100);
	CHECK(e.iov[2].iov_base == e.ram + 0x80400);
	CHECK_EQ(pop(&e), 0);

	CHECK_EQ(vbe_vq_push(e.vq, 2, 1), 0);
	REQUIRE_EQ(drv_get_used(&e.v, &id, &len), 1);
	CHECK_EQ(id, 2);
	CHECK_EQ(len, 1);
	CHECK_EQ(vbe_vq_push(e.vq, 8, 0), -EINVAL);
	CHECK(!vbe_vq_broken(e.vq));
	CHECK_EQ(vbe_vq_pop(e.vq, e.iov, 0, &e.elem), -EINVAL);
	env_fini(&e);
}

TEST(vq_index_wraparound)
{
	struct env e;
	uint32_t id, len;
	unsigned int i;

	/* 70000 buffers through a 4-entry queue: 16-bit indexes wrap. */
	env_init(&e, 4, 0);
	drv_desc(&e.v, 0, DATA, 8, 0, 0);
	drv_desc(&e.v, 1, DATA + 8, 8, VRING_DESC_F_WRITE, 0);
	for (i = 0; i < 70000; i++) {
		drv_publish(&e.v, i & 1);
		if (!CHECK_EQ(pop(&e), 1))
			break;
		CHECK_EQ(e.elem.head, i & 1);
		CHECK_EQ(vbe_vq_push(e.vq, e.elem.head, i), 0);
		REQUIRE_EQ(drv_get_used(&e.v, &id, &len), 1);
		CHECK_EQ(id, i & 1);
		CHECK_EQ(len, i);
	}
	CHECK_EQ(e.v.u->idx, (uint16_t)70000);
	env_fini(&e);
}

TEST(vq_full_ring_and_max_chain)
{
	struct env e;
	unsigned int i;

	/* A chain through all 8 descriptors is legal... */
	env_init(&e, 8, 0);
	for (i = 0; i < 8; i++)
		drv_desc(&e.v, i, DATA + 16 * i, 16,
			 i < 7 ? VRING_DESC_F_NEXT : 0, i + 1);
	drv_publish(&e.v, 0);
	CHECK_EQ(pop(&e), 1);
	CHECK_EQ(e.elem.out_num, 8);
	/* ... and so are exactly num outstanding entries. */
	for (i = 0; i < 8; i++)
		drv_desc(&e.v, i, DATA, 4, 0, 0);
	for (i = 0; i < 8; i++)
		drv_publish(&e.v, i);
	for (i = 0; i < 8; i++) {
		CHECK_EQ(pop(&e), 1);
		CHECK_EQ(e.elem.head, i);
	}
	CHECK_EQ(pop(&e), 0);
	env_fini(&e);
}

TEST(vq_hostile_descriptor_loop)
{
	struct env e;

	env_init(&e, 8, 0);
	drv_desc(&e.v, 0, DATA, 16, VRING_DESC_F_NEXT, 1);
	drv_desc(&e.v, 1, DATA, 16, VRING_DESC_F_NEXT, 0);
	drv_publish(&e.v, 0);
	check_broken(&e);
	env_fini(&e);

	/* a self-loop */
	env_init(&e, 8, 0);
	drv_desc(&e.v, 3, DATA, 16, VRING_DESC_F_NEXT, 3);
	drv_publish(&e.v, 3);
	check_broken(&e);
	env_fini(&e);
}

TEST(vq_hostile_indexes)
{
	struct env e;

	/* next out of range */
	env_init(&e, 8, 0);
	drv_desc(&e.v, 0, DATA, 16, VRING_DESC_F_NEXT, 8);
	drv_publish(&e.v, 0);
	check_broken(&e);
	env_fini(&e);

	env_init(&e, 8, 0);
	drv_desc(&e.v, 0, DATA, 16, VRING_DESC_F_NEXT, 0xffff);
	drv_publish(&e.v, 0);
	check_broken(&e);
	env_fini(&e);

	/* head out of range */
	env_init(&e, 8, 0);
	drv_publish(&e.v, 8);
	check_broken(&e);
	env_fini(&e);

	/* avail idx jumping by more than the queue size */
	env_init(&e, 8, 0);
	drv_set_avail_idx(&e.v, 9);
	check_broken(&e);
	env_fini(&e);

	env_init(&e, 8, 0);
	drv_set_avail_idx(&e.v, 0x8000);
	CHECK_EQ(vbe_vq_enable_notify(e.vq), -EIO);
	check_broken(&e);
	env_fini(&e);

	/* ... also later, relative to what was popped */
	env_init(&e, 8, 0);
	drv_desc(&e.v, 0, DATA, 16, 0, 0);
	drv_publish(&e.v, 0);
	CHECK_EQ(pop(&e), 1);
	drv_set_avail_idx(&e.v, 10);
	CHECK_EQ(pop(&e), -EIO);
	env_fini(&e);

	/* the driver moving avail idx backwards looks like a jump too */
	env_init(&e, 8, 0);
	drv_desc(&e.v, 0, DATA, 16, 0, 0);
	drv_publish(&e.v, 0);
	drv_publish(&e.v, 0);
	CHECK_EQ(pop(&e), 1);
	CHECK_EQ(pop(&e), 1);
	drv_set_avail_idx(&e.v, 1);
	CHECK_EQ(pop(&e), -EIO);
	env_fini(&e);
}

TEST(vq_hostile_addresses)
{
	static const struct {
		uint64_t addr;
		uint32_t len;
	} bad[] = {
		{ 0, 16 },			/* below the window */
		{ G - 8, 16 },			/* straddles the start */
		{ G + RAM_SIZE - 8, 16 },	/* straddles the end */
		{ G + RAM_SIZE, 1 },		/* just past the end */
		{ UINT64_MAX - 7, 16 },		/* wraps 2^64 */
		{ UINT64_MAX, 0xffffffff },	/* wraps 2^64 */
		{ G, 0xffffffff },		/* longer than the window */
	};
	struct env e;
	unsigned int i;

	for (i = 0; i < VBE_ARRAY_SIZE(bad); i++) {
		env_init(&e, 8, 0);
		drv_desc(&e.v, 0, DATA, 16, VRING_DESC_F_NEXT, 1);
		drv_desc(&e.v, 1, bad[i].addr, bad[i].len, VRING_DESC_F_WRITE,
			 0);
		drv_publish(&e.v, 0);
		check_broken(&e);
		env_fini(&e);
	}
	/* a zero-length segment needs no memory at all */
	env_init(&e, 8, 0);
	drv_desc(&e.v, 0, UINT64_MAX, 0, 0, 0);
	drv_publish(&e.v, 0);
	CHECK_EQ(pop(&e), 1);
	CHECK_EQ(e.iov[0].iov_len, 0);
	env_fini(&e);
}

TEST(vq_hostile_readonly_and_order)
{
	struct env e;
	uint8_t *ro = aligned_alloc(4096, 4096);

	REQUIRE(ro);
	/* writable segment in a read-only window */
	env_init(&e, 8, 0);
	REQUIRE_EQ(vbe_memtab_add(e.mt, 0x1000, 4096, ro, VBE_MEM_RDONLY), 0);
	drv_desc(&e.v, 0, 0x1000, 16, VRING_DESC_F_NEXT, 1);	/* fine */
	drv_desc(&e.v, 1, 0x1010, 16, VRING_DESC_F_WRITE, 0);	/* not */
	drv_publish(&e.v, 0);
	check_broken(&e);
	env_fini(&e);

	/* readable after writable */
	env_init(&e, 8, 0);
	drv_desc(&e.v, 0, DATA, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	drv_desc(&e.v, 1, DATA, 16, 0, 0);
	drv_publish(&e.v, 0);
	check_broken(&e);
	env_fini(&e);
	free(ro);
}

TEST(vq_hostile_oversized_chain)
{
	struct env e;
	struct iovec iov[4];
	struct vbe_vq_elem elem;
	unsigned int i;
	void *huge;

	/* more segments than the caller accepts */
	env_init(&e, 8, 0);
	for (i = 0; i < 5; i++)
		drv_desc(&e.v, i, DATA, 16, i < 4 ? VRING_DESC_F_NEXT : 0,
			 i + 1);
	drv_publish(&e.v, 0);
	CHECK_EQ(vbe_vq_pop(e.vq, iov, 4, &elem), -EIO);
	CHECK(vbe_vq_broken(e.vq));
	env_fini(&e);

	/* total length above 4 GiB - 1 (the memory is never touched) */
	huge = mmap(NULL, 1ULL << 33, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	REQUIRE(huge != MAP_FAILED);
	for (i = 0; i < 2; i++) {
		uint16_t f = i ? VRING_DESC_F_WRITE : 0;

		env_init(&e, 8, 0);
		REQUIRE_EQ(vbe_memtab_add(e.mt, 1ULL << 40, 1ULL << 33, huge,
					  0), 0);
		drv_desc(&e.v, 0, 1ULL << 40, 0xffffffff,
			 f | VRING_DESC_F_NEXT, 1);
		drv_desc(&e.v, 1, (1ULL << 40) + 0x100000000ULL, 1, f, 0);
		drv_publish(&e.v, 0);
		check_broken(&e);
		env_fini(&e);
	}
	/* exactly 4 GiB - 1 is fine */
	env_init(&e, 8, 0);
	REQUIRE_EQ(vbe_memtab_add(e.mt, 1ULL << 40, 1ULL << 33, huge, 0), 0);
	drv_desc(&e.v, 0, 1ULL << 40, 0xfffffffe, VRING_DESC_F_NEXT, 1);
	drv_desc(&e.v, 1, (1ULL << 40) + 0x100000000ULL, 1, 0, 0);
	drv_publish(&e.v, 0);
	CHECK_EQ(pop(&e), 1);
	CHECK_EQ(e.elem.out_len, 0xffffffffU);
	env_fini(&e);
	munmap(huge, 1ULL << 33);
}

/* Indirect table of @n entries at DATA + 0x1000. */
static struct vring_desc *itable(struct env *e)
{
	return (struct vring_desc *)(e->ram + 0x81000);
}

static void set_idesc(struct env *e, unsigned int i, uint64_t addr,
		      uint32_t len, uint16_t flags, uint16_t next)
{
	struct vring_desc *t = itable(e);

	t[i].addr = addr;
	t[i].len = len;
	t[i].flags = flags;
	t[i].next = next;
}

TEST(vq_indirect)
{
	struct env e;

	env_init(&e, 8, F_INDIRECT);
	set_idesc(&e, 0, DATA, 16, VRING_DESC_F_NEXT, 2);
	set_idesc(&e, 2, DATA + 16, 32, VRING_DESC_F_NEXT, 1);
	set_idesc(&e, 1, DATA + 64, 1, VRING_DESC_F_WRITE, 0);
	/* a direct descriptor first, then the indirect table */
	drv_desc(&e.v, 4, DATA + 128, 8, VRING_DESC_F_NEXT, 6);
	drv_desc(&e.v, 6, DATA + 0x1000, 3 * 16, VRING_DESC_F_INDIRECT, 0);
	drv_publish(&e.v, 4);
	REQUIRE_EQ(pop(&e), 1);
	CHECK_EQ(e.elem.head, 4);
	CHECK_EQ(e.elem.out_num, 3);
	CHECK_EQ(e.elem.in_num, 1);
	CHECK_EQ(e.elem.out_len, 8 + 16 + 32);
	CHECK(e.iov[3].iov_base == e.ram + 0x80040);
	env_fini(&e);

	/* a table may sit at an odd address */
	env_init(&e, 8, F_INDIRECT);
	memcpy(e.ram + 0x82001, itable(&e), 16);
	set_idesc(&e, 0, DATA, 16, 0, 0);
	memcpy(e.ram + 0x82001, itable(&e), 16);
	drv_desc(&e.v, 0, DATA + 0x2001, 16, VRING_DESC_F_INDIRECT, 0);
	drv_publish(&e.v, 0);
	CHECK_EQ(pop(&e), 1);
	env_fini(&e);
}

TEST(vq_hostile_indirect)
{
	static const struct {
		uint64_t features;
		uint64_t addr;
		uint32_t len;
		uint16_t flags;
	} bad[] = {
		{ 0, DATA + 0x1000, 16, 0 },		/* not negotiated */
		{ F_INDIRECT, DATA + 0x1000, 0, 0 },	/* empty */
		{ F_INDIRECT, DATA + 0x1000, 24, 0 },	/* not 16 * n */
		{ F_INDIRECT, DATA + 0x1000, 16, VRING_DESC_F_NEXT },
		{ F_INDIRECT, G + RAM_SIZE - 16, 32, 0 },	/* outside */
		{ F_INDIRECT, UINT64_MAX - 15, 32, 0 },		/* wraps */
		{ F_INDIRECT, G, 16 * 32769, 0 },	/* too many entries */
	};
	struct env e;
	unsigned int i;

	for (i = 0; i < VBE_ARRAY_SIZE(bad); i++) {
		env_init(&e, 8, bad[i].features);
		set_idesc(&e, 0, DATA, 16, 0, 0);
		drv_desc(&e.v, 0, bad[i].addr, bad[i].len,
			 VRING_DESC_F_INDIRECT | bad[i].flags, 1);
		drv_desc(&e.v, 1, DATA, 16, 0, 0);
		drv_publish(&e.v, 0);
		check_broken(&e);
		env_fini(&e);
	}

	/* nested indirect */
	env_init(&e, 8, F_INDIRECT);
	set_idesc(&e, 0, DATA + 0x1000, 16, VRING_DESC_F_INDIRECT, 0);
	drv_desc(&e.v, 0, DATA + 0x1000, 16, VRING_DESC_F_INDIRECT, 0);
	drv_publish(&e.v, 0);
	check_broken(&e);
	env_fini(&e);

	/* a loop inside the table */
	env_init(&e, 8, F_INDIRECT);
	set_idesc(&e, 0, DATA, 16, VRING_DESC_F_NEXT, 1);
	set_idesc(&e, 1, DATA, 16, VRING_DESC_F_NEXT, 0);
	drv_desc(&e.v, 0, DATA + 0x1000, 2 * 16, VRING_DESC_F_INDIRECT, 0);
	drv_publish(&e.v, 0);
	check_broken(&e);
	env_fini(&e);

	/* next beyond the table (but inside the queue size) */
	env_init(&e, 8, F_INDIRECT);
	set_idesc(&e, 0, DATA, 16, VRING_DESC_F_NEXT, 2);
	set_idesc(&e, 1, DATA, 16, 0, 0);
	drv_desc(&e.v, 0, DATA + 0x1000, 2 * 16, VRING_DESC_F_INDIRECT, 0);
	drv_publish(&e.v, 0);
	check_broken(&e);
	env_fini(&e);

	/* a chain through a whole 64-entry table is fine */
	env_init(&e, 8, F_INDIRECT);
	for (i = 0; i < 64; i++)
		set_idesc(&e, i, DATA, 1, i < 63 ? VRING_DESC_F_NEXT : 0,
			  i + 1);
	drv_desc(&e.v, 0, DATA + 0x1000, 64 * 16, VRING_DESC_F_INDIRECT, 0);
	drv_publish(&e.v, 0);
	CHECK_EQ(pop(&e), 1);
	CHECK_EQ(e.elem.out_num, 64);
	env_fini(&e);
}

TEST(vq_notify_flags)
{
	struct env e;

	env_init(&e, 8, 0);
	drv_desc(&e.v, 0, DATA, 16, 0, 0);
	drv_publish(&e.v, 0);
	CHECK_EQ(pop(&e), 1);
	CHECK_EQ(vbe_vq_push(e.vq, 0, 0), 0);
	CHECK(vbe_vq_need_notify(e.vq));
	e.v.a->flags = VRING_AVAIL_F_NO_INTERRUPT;
	CHECK(!vbe_vq_need_notify(e.vq));

	vbe_vq_disable_notify(e.vq);
	CHECK_EQ(e.v.u->flags, VRING_USED_F_NO_NOTIFY);
	CHECK_EQ(vbe_vq_enable_notify(e.vq), 0);
	CHECK_EQ(e.v.u->flags, 0);
	vbe_vq_disable_notify(e.vq);
	drv_publish(&e.v, 0);
	CHECK_EQ(vbe_vq_enable_notify(e.vq), 1);
	env_fini(&e);
}

TEST(vq_event_idx)
{
	struct env e;
	unsigned int i;

	env_init(&e, 8, F_EVENT_IDX);
	drv_desc(&e.v, 0, DATA, 16, 0, 0);
	for (i = 0; i < 3; i++)
		drv_publish(&e.v, 0);
	/* each pop publishes avail_event = the next index to pop */
	CHECK_EQ(pop(&e), 1);
	CHECK_EQ(*drv_avail_event(&e.v), 1);
	CHECK_EQ(pop(&e), 1);
	CHECK_EQ(*drv_avail_event(&e.v), 2);
	/* while disabled, avail_event stays behind (suppresses kicks) */
	vbe_vq_disable_notify(e.vq);
	CHECK_EQ(e.v.u->flags, 0);
	CHECK_EQ(pop(&e), 1);
	CHECK_EQ(*drv_avail_event(&e.v), 2);
	CHECK_EQ(pop(&e), 0);
	CHECK_EQ(vbe_vq_enable_notify(e.vq), 0);
	CHECK_EQ(*drv_avail_event(&e.v), 3);

	/* used_event: interrupt only when used idx crosses it */
	*drv_used_event(&e.v) = 0;
	CHECK_EQ(vbe_vq_push(e.vq, 0, 0), 0);		/* used idx 1 */
	CHECK(vbe_vq_need_notify(e.vq));		/* first call */
	CHECK_EQ(vbe_vq_push(e.vq, 0, 0), 0);		/* used idx 2 */
	CHECK(!vbe_vq_need_notify(e.vq));		/* 0 not crossed */
	*drv_used_event(&e.v) = 2;
	CHECK_EQ(vbe_vq_push(e.vq, 0, 0), 0);		/* used idx 3 */
	CHECK(vbe_vq_need_notify(e.vq));		/* crossed 2 */
	CHECK(!vbe_vq_need_notify(e.vq));		/* nothing new */
	CHECK_EQ(vbe_vq_push(e.vq, 0, 0), 0);		/* used idx 4 */
	CHECK_EQ(vbe_vq_push(e.vq, 0, 0), 0);		/* used idx 5 */
	*drv_used_event(&e.v) = 3;
	CHECK(vbe_vq_need_notify(e.vq));		/* 3 in (3, 5] */
	env_fini(&e);
}

TEST(vq_iov_copy)
{
	uint8_t a[3], b[5], c[2], out[16];
	struct iovec iov[3] = {
		{ a, sizeof(a) }, { b, sizeof(b) }, { c, sizeof(c) },
	};
	const uint8_t src[10] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 };

	CHECK_EQ(vbe_iov_from_buf(iov, 3, 0, src, 10), 10);
	CHECK_EQ(a[2], 2);
	CHECK_EQ(b[0], 3);
	CHECK_EQ(c[1], 9);
	memset(out, 0xff, sizeof(out));
	CHECK_EQ(vbe_iov_to_buf(iov, 3, 2, out, 16), 8);
	CHECK_EQ(out[0], 2);
	CHECK_EQ(out[7], 9);
	CHECK_EQ(vbe_iov_to_buf(iov, 3, 4, out, 3), 3);
	CHECK_EQ(out[0], 4);
	CHECK_EQ(out[2], 6);
	CHECK_EQ(vbe_iov_to_buf(iov, 3, 10, out, 3), 0);
	CHECK_EQ(vbe_iov_from_buf(iov, 3, 9, src, 5), 1);
	CHECK_EQ(c[1], 0);
}

/*
 * A driver thread and a device thread exchange 200000 buffers through an
 * 8-entry queue (one at a time, then in batches) with EVENT_IDX, each side sleeping on an eventfd (kick,
 * call) whenever the other side asked to be notified.  A lost
 * notification deadlocks, which the poll timeout turns into a failure.
 */
struct stress {
	struct env e;
	int kick, call;
	unsigned int total;
	bool failed;
};

static bool wait_fd(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint64_t v;

	if (poll(&p, 1, 5000) != 1)
		return false;
	return read(fd, &v, sizeof(v)) == sizeof(v);
}

static void *device_thread(void *arg)
{
	struct stress *s = arg;
	unsigned int done = 0;
	uint64_t one = 1;
	int ret;

	while (done < s->total) {
		vbe_vq_disable_notify(s->e.vq);
		while ((ret = pop(&s->e)) == 1) {
			vbe_vq_push(s->e.vq, s->e.elem.head, done++);
			if (vbe_vq_need_notify(s->e.vq) &&
			    write(s->call, &one, sizeof(one)) != sizeof(one))
				s->failed = true;
		}
		if (ret < 0) {
			s->failed = true;
			return NULL;
		}
		ret = vbe_vq_enable_notify(s->e.vq);
		if (ret < 0) {
			s->failed = true;
			return NULL;
		}
		if (ret == 0 && done < s->total && !wait_fd(s->kick)) {
			s->failed = true;
			return NULL;
		}
	}
	return NULL;
}

TEST(vq_stress_notifications)
{
	struct stress s = { .total = 200000 };
	struct drv *v = &s.e.v;
	unsigned int sent = 0, got = 0, inflight = 0, i;
	uint32_t id, len;
	uint16_t old;
	uint64_t one = 1;
	pthread_t t;

	env_init(&s.e, 8, F_EVENT_IDX);
	s.kick = eventfd(0, EFD_CLOEXEC);
	s.call = eventfd(0, EFD_CLOEXEC);
	for (i = 0; i < 8; i++)
		drv_desc(v, i, DATA + 8 * i, 8, VRING_DESC_F_WRITE, 0);
	REQUIRE_EQ(pthread_create(&t, NULL, device_thread, &s), 0);

	while (got < s.total) {
		/* first half one at a time (most races), then batches */
		while (inflight < (sent < s.total / 2 ? 1U : 8U) &&
		       sent < s.total) {
			old = v->avail_idx;
			drv_publish(v, (uint16_t)(sent % 8));
			sent++;
			inflight++;
			/* the driver's side of the barrier protocol */
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
			if (vring_need_event(__atomic_load_n(drv_avail_event(v),
							     __ATOMIC_RELAXED),
					     v->avail_idx, old) &&
			    write(s.kick, &one, sizeof(one)) != sizeof(one))
				goto fail;
		}
		/* ask for an interrupt at the next used entry, then recheck */
		__atomic_store_n(drv_used_event(v), v->last_used,
				 __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (!drv_get_used(v, &id, &len)) {
			/* spin a little first: more interleavings */
			for (i = 0; i < 200 && !drv_get_used(v, &id, &len); i++)
				__asm__ __volatile__("" : : : "memory");
			if (i == 200) {
				if (!wait_fd(s.call))
					goto fail;
				continue;
			}
		}
		do {
			if (!CHECK_EQ(len, got))
				goto fail;
			got++;
			inflight--;
		} while (drv_get_used(v, &id, &len));
	}
	pthread_join(t, NULL);
	CHECK(!s.failed);
	CHECK_EQ(got, s.total);
	env_fini(&s.e);
	return;
fail:
	harness_fail(__FILE__, __LINE__, "stuck after %u of %u (device %s)",
		     got, s.total, s.failed ? "failed" : "waiting");
	exit(1);
}
