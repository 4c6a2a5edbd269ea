// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * libvirtbe: the guest-level request loop.
 *
 * vbe_guest_process() serves one guest fd's request channel for every device
 * attached to it: it reads the waiting requests, hands each to the device
 * model whose register window holds it (mmio.c, vbe__dev_find()), answers
 * the accesses no device claims, and writes the completions in batches.  It
 * knows nothing of the registers; mmio.c knows nothing of the channel.
 *
 * Copyright (C) 2026 The virtbe authors
 */
#include <errno.h>

#include "internal.h"

#define VBE_PROCESS_BATCH 32U
#define VBE_PROCESS_BUDGET 256U

/* All ones of an access of @len bytes: what a read of nothing returns. */
static uint64_t all_ones(uint32_t len)
{
	return len >= 8 ? UINT64_MAX : (1ULL << (8 * len)) - 1;
}

VBE_EXPORT int vbe_guest_process(struct vbe_guest *guest)
{
	struct virtbe_request reqs[VBE_PROCESS_BATCH];
	struct virtbe_completion comps[VBE_PROCESS_BATCH];
	struct vbe_dev *dev;
	unsigned int i, total = 0;
	uint64_t data;
	int n, ret;

	while (total < VBE_PROCESS_BUDGET) {
		n = vbe_guest_read_requests(guest, reqs, VBE_PROCESS_BATCH);
		if (n == -EAGAIN)
			break;
		if (n == 0)
			return -ENODEV;
		if (n < 0)
			return n;
		for (i = 0; i < (unsigned int)n; i++) {
			data = 0;
			dev = vbe__dev_find(guest, &reqs[i]);
			if (!dev || vbe_dev_handle_request(dev, &reqs[i], &data)) {
				guest->unmatched++;
				if (!(reqs[i].flags & VIRTBE_REQ_WRITE))
					data = all_ones(reqs[i].len);
			}
			comps[i].id = reqs[i].id;
			comps[i].data = data;
		}
		ret = vbe_guest_complete_batch(guest, comps, (unsigned int)n);
		if (ret && ret != -ENOENT)
			return ret;
		total += (unsigned int)n;
	}
	return (int)total;
}
