// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * libvirtbe: guest-physical to host address translation.
 *
 * A sorted array of non-overlapping windows.  Every check is written so
 * that no sum can wrap: a buffer [gpa, gpa + len) is inside a window
 * [w.gpa, w.gpa + w.len) iff gpa >= w.gpa, gpa - w.gpa < w.len and
 * len <= w.len - (gpa - w.gpa).
 *
 * Copyright (C) 2026 The virtbe authors
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

VBE_EXPORT int vbe_memtab_new(struct vbe_memtab **mtp)
{
	struct vbe_memtab *mt = calloc(1, sizeof(*mt));

	if (!mt)
		return -ENOMEM;
	*mtp = mt;
	return 0;
}

VBE_EXPORT void vbe_memtab_free(struct vbe_memtab *mt)
{
	free(mt);
}

/* Index of the first window starting above @gpa (0..n). */
static unsigned int upper_bound(const struct vbe_memtab *mt, uint64_t gpa)
{
	unsigned int lo = 0, hi = mt->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (mt->win[mid].gpa <= gpa)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Last byte of a window, which cannot overflow once the window is valid. */
static uint64_t win_last(const struct vbe_memtab_win *w)
{
	return w->gpa + (w->len - 1);
}

VBE_EXPORT int vbe_memtab_add(struct vbe_memtab *mt, uint64_t gpa,
			      uint64_t len, void *ptr, uint32_t flags)
{
	unsigned int i;

	if (!len || !ptr || (flags & ~VBE_MEM_RDONLY))
		return -EINVAL;
	if (gpa > UINT64_MAX - (len - 1))
		return -EINVAL;
	if (len - 1 > SIZE_MAX || (uintptr_t)ptr > UINTPTR_MAX - (len - 1))
		return -EINVAL;
	if (mt->n == VBE_MEMTAB_MAX)
		return -ENOSPC;

	i = upper_bound(mt, gpa);
	/* The window before must end below gpa ... */
	if (i > 0 && win_last(&mt->win[i - 1]) >= gpa)
		return -EEXIST;
	/* ... and the window after must start above our last byte. */
	if (i < mt->n && mt->win[i].gpa <= gpa + (len - 1))
		return -EEXIST;

	memmove(&mt->win[i + 1], &mt->win[i], (mt->n - i) * sizeof(mt->win[0]));
	mt->win[i] = (struct vbe_memtab_win){
		.gpa = gpa,
		.len = len,
		.ptr = ptr,
		.flags = flags,
	};
	mt->n++;
	return 0;
}

VBE_EXPORT int vbe_memtab_remove(struct vbe_memtab *mt, uint64_t gpa)
{
	unsigned int i = upper_bound(mt, gpa);

	if (i == 0 || mt->win[i - 1].gpa != gpa)
		return -ENOENT;
	i--;
	memmove(&mt->win[i], &mt->win[i + 1],
		(mt->n - i - 1) * sizeof(mt->win[0]));
	mt->n--;
	return 0;
}

VBE_EXPORT int vbe_memtab_translate(const struct vbe_memtab *mt, uint64_t gpa,
				    uint64_t len, bool write, void **ptr)
{
	const struct vbe_memtab_win *w;
	uint64_t off;
	unsigned int i;

	if (!len) {
		*ptr = NULL;
		return 0;
	}
	i = upper_bound(mt, gpa);
	if (i == 0)
		return -EFAULT;
	w = &mt->win[i - 1];
	off = gpa - w->gpa;		/* gpa >= w->gpa by construction */
	if (off >= w->len || len > w->len - off)
		return -EFAULT;
	if (write && (w->flags & VBE_MEM_RDONLY))
		return -EFAULT;
	*ptr = w->ptr + off;
	return 0;
}
