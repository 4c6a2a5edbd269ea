// SPDX-License-Identifier: GPL-2.0
/*
 * virtbe core: the guest-physical ranges an attachment claims.
 *
 * Claims are exclusive across every attachment of one hypervisor guest:
 * each is on its attachment's list and on the shared virtbe_hguest's.
 *
 * Copyright (C) 2026 The virtbe authors
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/slab.h>

#include "virtbe.h"

/**
 * struct virtbe_range_ent - a range claimed by a guest fd
 * @node: entry in virtbe_guest.ranges, under virtbe_guest.lock
 * @hnode: entry in virtbe_hguest.ranges, under virtbe_hguest.lock
 * @pio: port I/O space
 * @addr: first address
 * @len: length in bytes
 */
struct virtbe_range_ent {
	struct list_head node;
	struct list_head hnode;
	bool pio;
	u64 addr;
	u64 len;
};

/* Release @r, a range of @g: in the backend, then for every attachment. */
static void virtbe_range_release(struct virtbe_guest *g,
				 struct virtbe_range_ent *r)
{
	lockdep_assert_held(&g->lock);
	mutex_lock(&g->hg->lock);
	if (g->ops->release_range)
		g->ops->release_range(g, r->pio, r->addr, r->len);
	list_del(&r->hnode);
	mutex_unlock(&g->hg->lock);
	list_del(&r->node);
	g->nr_ranges--;
	kfree(r);
}

/**
 * virtbe_ranges_release_all() - release every range of an attachment
 * @g: the guest, with g->lock held
 */
void virtbe_ranges_release_all(struct virtbe_guest *g)
{
	struct virtbe_range_ent *r, *tmp;

	list_for_each_entry_safe(r, tmp, &g->ranges, node)
		virtbe_range_release(g, r);
}

static bool virtbe_range_overlaps(u64 a, u64 alen, u64 b, u64 blen)
{
	return a < b + blen && b < a + alen;
}

/**
 * virtbe_range_claimed() - is [@addr, @addr + @len) inside one claimed range?
 * @g: the guest, with g->lock held
 * @pio: port I/O space
 * @addr: first address
 * @len: length
 *
 * Return: true if one range claimed by @g covers it all.
 */
bool virtbe_range_claimed(struct virtbe_guest *g, bool pio, u64 addr, u64 len)
{
	struct virtbe_range_ent *r;

	lockdep_assert_held(&g->lock);
	list_for_each_entry(r, &g->ranges, node)
		if (r->pio == pio && addr >= r->addr &&
		    addr - r->addr < r->len && r->len - (addr - r->addr) >= len)
			return true;
	return false;
}

/**
 * virtbe_claim_range() - VIRTBE_CLAIM_RANGE
 * @ucmd: the call, on a guest fd
 *
 * Return: 0 or -errno as documented in the uapi.
 */
long virtbe_claim_range(struct virtbe_ucmd *ucmd)
{
	struct virtbe_guest *g = ucmd->obj;
	struct virtbe_range *cmd = ucmd->cmd;
	bool pio = cmd->flags & VIRTBE_RANGE_PIO;
	struct virtbe_range_ent *r, *new;
	int ret;

	if (cmd->flags & ~(VIRTBE_RANGE_PIO | VIRTBE_RANGE_RELEASE))
		return -EOPNOTSUPP;
	if (!cmd->len || cmd->addr + cmd->len < cmd->addr)
		return -EINVAL;
	if (pio && !(g->ops->features & VIRTBE_HYP_F_PIO))
		return -EOPNOTSUPP;
	if (!pio && !(g->ops->features & VIRTBE_HYP_F_MMIO))
		return -EOPNOTSUPP;

	new = kzalloc(sizeof(*new), GFP_KERNEL_ACCOUNT);
	if (!new)
		return -ENOMEM;

	mutex_lock(&g->lock);
	ret = -ENODEV;
	if (g->state != VIRTBE_GUEST_LIVE)
		goto out_unlock;

	if (cmd->flags & VIRTBE_RANGE_RELEASE) {
		ret = -ENOENT;
		list_for_each_entry(r, &g->ranges, node) {
			if (r->pio == pio && r->addr == cmd->addr &&
			    r->len == cmd->len) {
				virtbe_range_release(g, r);
				ret = 0;
				break;
			}
		}
		goto out_unlock;
	}

	/* Claims are exclusive across every attachment of the guest. */
	mutex_lock(&g->hg->lock);
	ret = -EEXIST;
	list_for_each_entry(r, &g->hg->ranges, hnode)
		if (r->pio == pio &&
		    virtbe_range_overlaps(r->addr, r->len, cmd->addr, cmd->len))
			goto out_unlock_hg;
	ret = -ENOSPC;
	if (g->nr_ranges >= VIRTBE_MAX_RANGES)
		goto out_unlock_hg;
	ret = g->ops->claim_range ?
		g->ops->claim_range(g, pio, cmd->addr, cmd->len) : -EOPNOTSUPP;
	if (ret)
		goto out_unlock_hg;
	new->pio = pio;
	new->addr = cmd->addr;
	new->len = cmd->len;
	list_add_tail(&new->hnode, &g->hg->ranges);
	list_add_tail(&new->node, &g->ranges);
	g->nr_ranges++;
	new = NULL;

out_unlock_hg:
	mutex_unlock(&g->hg->lock);
out_unlock:
	mutex_unlock(&g->lock);
	kfree(new);
	return ret;
}
