/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * The driver side of a split virtqueue, for tests: lays the rings out in a
 * buffer that plays guest RAM, writes descriptors and publishes them, and
 * reads the used ring.  Deliberately able to write anything (hostile
 * rings).
 */
#ifndef VBE_TEST_VRING_DRV_H
#define VBE_TEST_VRING_DRV_H

#include <stdint.h>
#include <string.h>

#include <linux/virtio_ring.h>

struct drv {
	uint8_t *ram;		/* host address of guest-physical @gpa */
	uint64_t gpa;
	unsigned int num;
	uint64_t desc, avail, used;	/* guest-physical */
	struct vring_desc *d;
	struct vring_avail *a;
	struct vring_used *u;
	uint16_t avail_idx;
	uint16_t last_used;
};

/* Rings at @gpa + @off: desc, then avail, then used (4096-aligned). */
static inline void drv_init(struct drv *v, void *ram, uint64_t gpa,
			    uint64_t off, unsigned int num)
{
	uint64_t a = off + 16ULL * num;
	uint64_t u = (a + 6 + 2ULL * num + 4095) & ~4095ULL;

	memset(v, 0, sizeof(*v));
	v->ram = ram;
	v->gpa = gpa;
	v->num = num;
	v->desc = gpa + off;
	v->avail = gpa + a;
	v->used = gpa + u;
	v->d = (struct vring_desc *)(v->ram + off);
	v->a = (struct vring_avail *)(v->ram + a);
	v->u = (struct vring_used *)(v->ram + u);
	memset(v->d, 0, 16ULL * num);
	memset(v->a, 0, 6 + 2ULL * num);
	memset(v->u, 0, 6 + 8ULL * num);
}

static inline uint64_t drv_end(const struct drv *v)
{
	return v->used + 6 + 8ULL * v->num - v->gpa;
}

static inline void drv_desc(struct drv *v, unsigned int i, uint64_t addr,
			    uint32_t len, uint16_t flags, uint16_t next)
{
	v->d[i].addr = addr;
	v->d[i].len = len;
	v->d[i].flags = flags;
	v->d[i].next = next;
}

/* Put @head in the avail ring and publish it. */
static inline void drv_publish(struct drv *v, uint16_t head)
{
	v->a->ring[v->avail_idx % v->num] = head;
	v->avail_idx++;
	__atomic_store_n(&v->a->idx, v->avail_idx, __ATOMIC_RELEASE);
}

/* Set avail->idx to anything (hostile driver). */
static inline void drv_set_avail_idx(struct drv *v, uint16_t idx)
{
	v->avail_idx = idx;
	__atomic_store_n(&v->a->idx, idx, __ATOMIC_RELEASE);
}

/* 1 and the element if the device used a buffer, 0 if not. */
static inline int drv_get_used(struct drv *v, uint32_t *id, uint32_t *len)
{
	uint16_t idx = __atomic_load_n(&v->u->idx, __ATOMIC_ACQUIRE);
	struct vring_used_elem *e;

	if (idx == v->last_used)
		return 0;
	e = &v->u->ring[v->last_used % v->num];
	*id = e->id;
	*len = e->len;
	v->last_used++;
	return 1;
}

static inline uint16_t *drv_used_event(struct drv *v)
{
	return &v->a->ring[v->num];
}

static inline uint16_t *drv_avail_event(struct drv *v)
{
	return (uint16_t *)&v->u->ring[v->num];
}

#endif
