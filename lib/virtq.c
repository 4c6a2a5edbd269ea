// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * libvirtbe: split virtqueues over guest memory.
 *
 * The rings live in memory the driver (a possibly hostile guest) writes
 * concurrently.  Rules followed here:
 * - every guest address goes through vbe_memtab_translate() with its full
 *   length, so nothing outside a mapped window is ever touched;
 * - every index read from guest memory is checked against the size of the
 *   table it indexes, before use;
 * - each descriptor is copied once into a local (memcpy + compiler barrier)
 *   and only the copy is used, so the driver cannot change it between check
 *   and use;
 * - the ring indexes use C11-style atomics: acquire on avail->idx before
 *   reading ring entries and descriptors, release on used->idx after
 *   writing the used element, and a full fence between publishing (used
 *   idx, avail_event) and reading the driver's suppression state.
 *
 * Copyright (C) 2026 The virtbe authors
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "internal.h"

struct vbe_vq {
	const struct vbe_memtab *mt;
	unsigned int num;
	const uint8_t *desc;		/* num * 16 bytes */
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t *used_event;		/* avail->ring[num] */
	uint16_t *avail_event;		/* (u16 *)&used->ring[num] */
	bool event_idx;
	bool indirect;
	bool broken;
	bool notify_enabled;
	bool signalled_used_valid;
	uint16_t last_avail;		/* next avail entry to pop */
	uint16_t used_idx;		/* our copy of used->idx */
	uint16_t signalled_used;	/* used_idx at the last need_notify */
};

#define DESC_SIZE 16U

static inline uint16_t load16(const uint16_t *p)
{
	return le16toh(__atomic_load_n(p, __ATOMIC_RELAXED));
}

static inline uint16_t load16_acquire(const uint16_t *p)
{
	return le16toh(__atomic_load_n(p, __ATOMIC_ACQUIRE));
}

static inline void store16(uint16_t *p, uint16_t v)
{
	__atomic_store_n(p, htole16(v), __ATOMIC_RELAXED);
}

static inline void store16_release(uint16_t *p, uint16_t v)
{
	__atomic_store_n(p, htole16(v), __ATOMIC_RELEASE);
}

static inline void store32(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, htole32(v), __ATOMIC_RELAXED);
}

static inline void full_fence(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static int vq_break(struct vbe_vq *vq)
{
	vq->broken = true;
	return -EIO;
}

static bool is_aligned(const void *p, uintptr_t a)
{
	return ((uintptr_t)p & (a - 1)) == 0;
}

static int map_ring(const struct vbe_memtab *mt, uint64_t gpa, uint64_t len,
		    uint64_t align, bool write, void **p)
{
	int ret;

	if (gpa & (align - 1))
		return -EINVAL;
	ret = vbe_memtab_translate(mt, gpa, len, write, p);
	if (ret)
		return ret;
	/* A window mapped at an odd host address cannot hold atomics. */
	if (!is_aligned(*p, align))
		return -EINVAL;
	return 0;
}

VBE_EXPORT int vbe_vq_new(const struct vbe_memtab *mt, unsigned int num,
			  uint64_t desc, uint64_t avail, uint64_t used,
			  uint64_t features, struct vbe_vq **vqp)
{
	void *d, *a, *u;
	struct vbe_vq *vq;
	int ret;

	if (!mt || !num || num > VBE_VQ_MAX_SIZE || (num & (num - 1)))
		return -EINVAL;
	ret = map_ring(mt, desc, (uint64_t)DESC_SIZE * num,
		       VRING_DESC_ALIGN_SIZE, false, &d);
	if (ret)
		return ret;
	/* flags, idx, ring[num], used_event */
	ret = map_ring(mt, avail, 6 + 2ULL * num, VRING_AVAIL_ALIGN_SIZE,
		       false, &a);
	if (ret)
		return ret;
	/* flags, idx, ring[num], avail_event */
	ret = map_ring(mt, used, 6 + 8ULL * num, VRING_USED_ALIGN_SIZE,
		       true, &u);
	if (ret)
		return ret;

	vq = calloc(1, sizeof(*vq));
	if (!vq)
		return -ENOMEM;
	vq->mt = mt;
	vq->num = num;
	vq->desc = d;
	vq->avail = a;
	vq->used = u;
	vq->used_event = &vq->avail->ring[num];
	vq->avail_event = (uint16_t *)&vq->used->ring[num];
	vq->event_idx = features & (1ULL << VIRTIO_RING_F_EVENT_IDX);
	vq->indirect = features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC);
	vq->notify_enabled = true;
	*vqp = vq;
	return 0;
}

VBE_EXPORT void vbe_vq_free(struct vbe_vq *vq)
{
	free(vq);
}

VBE_EXPORT unsigned int vbe_vq_num(const struct vbe_vq *vq)
{
	return vq->num;
}

VBE_EXPORT bool vbe_vq_broken(const struct vbe_vq *vq)
{
	return vq->broken;
}

/* Copy descriptor @i of @table once; only the copy is used afterwards. */
static void read_desc(const uint8_t *table, unsigned int i,
		      struct vring_desc *d)
{
	memcpy(d, table + (size_t)i * DESC_SIZE, sizeof(*d));
	__asm__ __volatile__("" : : : "memory");
}

/* Number of entries the driver made available and we did not pop. */
static int avail_pending(struct vbe_vq *vq)
{
	uint16_t idx = load16_acquire(&vq->avail->idx);
	uint16_t pending = (uint16_t)(idx - vq->last_avail);

	if (pending > vq->num)
		return vq_break(vq);
	return pending;
}

static int walk_chain(struct vbe_vq *vq, uint16_t head, struct iovec *iov,
		      unsigned int iov_max, struct vbe_vq_elem *elem)
{
	const uint8_t *table = vq->desc;
	unsigned int size = vq->num;	/* entries of @table */
	unsigned int count = 0;		/* descriptors seen in @table */
	unsigned int nseg = 0, in_num = 0, out_num = 0;
	uint64_t in_len = 0, out_len = 0;
	bool in_indirect = false;
	unsigned int i = head;
	struct vring_desc d;
	uint16_t flags;
	uint32_t len;
	uint64_t addr;
	void *p;

	for (;;) {
		/* A chain longer than its table must revisit an entry. */
		if (++count > size)
			return vq_break(vq);
		read_desc(table, i, &d);
		flags = le16toh(d.flags);
		len = le32toh(d.len);
		addr = le64toh(d.addr);

		if (flags & VRING_DESC_F_INDIRECT) {
			if (!vq->indirect || in_indirect ||
			    (flags & VRING_DESC_F_NEXT))
				return vq_break(vq);
			if (!len || len % DESC_SIZE ||
			    len / DESC_SIZE > VBE_VQ_MAX_SIZE)
				return vq_break(vq);
			if (vbe_memtab_translate(vq->mt, addr, len, false, &p))
				return vq_break(vq);
			table = p;
			size = len / DESC_SIZE;
			count = 0;
			i = 0;
			in_indirect = true;
			continue;
		}

		if (nseg == iov_max)
			return vq_break(vq);
		if (flags & VRING_DESC_F_WRITE) {
			if (vbe_memtab_translate(vq->mt, addr, len, true, &p))
				return vq_break(vq);
			in_len += len;
			if (in_len > UINT32_MAX)
				return vq_break(vq);
			in_num++;
		} else {
			/* Readable segments must come first. */
			if (in_num)
				return vq_break(vq);
			if (vbe_memtab_translate(vq->mt, addr, len, false, &p))
				return vq_break(vq);
			out_len += len;
			if (out_len > UINT32_MAX)
				return vq_break(vq);
			out_num++;
		}
		iov[nseg].iov_base = p;
		iov[nseg].iov_len = len;
		nseg++;

		if (!(flags & VRING_DESC_F_NEXT))
			break;
		i = le16toh(d.next);
		if (i >= size)
			return vq_break(vq);
	}

	elem->head = head;
	elem->out_num = out_num;
	elem->in_num = in_num;
	elem->out_len = (uint32_t)out_len;
	elem->in_len = (uint32_t)in_len;
	elem->iov = iov;
	return 0;
}

VBE_EXPORT int vbe_vq_pop(struct vbe_vq *vq, struct iovec *iov,
			  unsigned int iov_max, struct vbe_vq_elem *elem)
{
	uint16_t head;
	int pending, ret;

	if (vq->broken)
		return -EIO;
	if (!iov_max)
		return -EINVAL;
	pending = avail_pending(vq);
	if (pending < 0)
		return pending;
	if (!pending) {
		if (!vq->notify_enabled || !vq->event_idx)
			return 0;
		/*
		 * Going idle with EVENT_IDX: publish where we are, then look
		 * again, so a buffer added after our first look is either
		 * seen now or kicked by the driver (which reads avail_event
		 * after writing its idx).
		 */
		store16(vq->avail_event, vq->last_avail);
		full_fence();
		pending = avail_pending(vq);
		if (pending <= 0)
			return pending;
	}

	head = load16(&vq->avail->ring[vq->last_avail & (vq->num - 1)]);
	if (head >= vq->num)
		return vq_break(vq);
	ret = walk_chain(vq, head, iov, iov_max, elem);
	if (ret)
		return ret;
	vq->last_avail++;
	if (vq->event_idx && vq->notify_enabled)
		store16(vq->avail_event, vq->last_avail);
	return 1;
}

VBE_EXPORT int vbe_vq_push(struct vbe_vq *vq, uint16_t head, uint32_t len)
{
	struct vring_used_elem *e;

	if (vq->broken)
		return -EIO;
	if (head >= vq->num)
		return -EINVAL;
	e = &vq->used->ring[vq->used_idx & (vq->num - 1)];
	store32(&e->id, head);
	store32(&e->len, len);
	vq->used_idx++;
	store16_release(&vq->used->idx, vq->used_idx);
	return 0;
}

VBE_EXPORT bool vbe_vq_need_notify(struct vbe_vq *vq)
{
	uint16_t old, new;
	bool valid;

	if (vq->broken)
		return false;
	/* Order our used->idx store before reading the driver's state. */
	full_fence();
	if (!vq->event_idx)
		return !(load16(&vq->avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);

	old = vq->signalled_used;
	valid = vq->signalled_used_valid;
	new = vq->used_idx;
	vq->signalled_used = new;
	vq->signalled_used_valid = true;
	if (!valid)
		return true;
	return vring_need_event(load16(vq->used_event), new, old);
}

VBE_EXPORT void vbe_vq_disable_notify(struct vbe_vq *vq)
{
	if (vq->broken || !vq->notify_enabled)
		return;
	vq->notify_enabled = false;
	if (!vq->event_idx)
		store16(&vq->used->flags, VRING_USED_F_NO_NOTIFY);
}

VBE_EXPORT int vbe_vq_enable_notify(struct vbe_vq *vq)
{
	int pending;

	if (vq->broken)
		return -EIO;
	vq->notify_enabled = true;
	if (vq->event_idx)
		store16(vq->avail_event, vq->last_avail);
	else
		store16(&vq->used->flags, 0);
	/* Publish before looking at avail->idx again (see vbe_vq_pop()). */
	full_fence();
	pending = avail_pending(vq);
	if (pending < 0)
		return pending;
	return pending > 0;
}

VBE_EXPORT size_t vbe_iov_to_buf(const struct iovec *iov, unsigned int iovcnt,
				 size_t offset, void *buf, size_t len)
{
	size_t done = 0, n;
	unsigned int i;

	for (i = 0; i < iovcnt && done < len; i++) {
		if (offset >= iov[i].iov_len) {
			offset -= iov[i].iov_len;
			continue;
		}
		n = iov[i].iov_len - offset;
		if (n > len - done)
			n = len - done;
		memcpy((uint8_t *)buf + done,
		       (const uint8_t *)iov[i].iov_base + offset, n);
		done += n;
		offset = 0;
	}
	return done;
}

VBE_EXPORT size_t vbe_iov_from_buf(const struct iovec *iov,
				   unsigned int iovcnt, size_t offset,
				   const void *buf, size_t len)
{
	size_t done = 0, n;
	unsigned int i;

	for (i = 0; i < iovcnt && done < len; i++) {
		if (offset >= iov[i].iov_len) {
			offset -= iov[i].iov_len;
			continue;
		}
		n = iov[i].iov_len - offset;
		if (n > len - done)
			n = len - done;
		memcpy((uint8_t *)iov[i].iov_base + offset,
		       (const uint8_t *)buf + done, n);
		done += n;
		offset = 0;
	}
	return done;
}
