// SPDX-License-Identifier: GPL-2.0
/*
 * virtbe core: ioeventfd, guest writes that signal an eventfd.
 *
 * Lookups run in the hypervisor's notification path (possibly hard interrupt
 * context) under RCU on a hash of (address, data); assignment and removal
 * are serialised by the guest's mutex.
 *
 * Copyright (C) 2026 The virtbe authors
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/eventfd.h>
#include <linux/hash.h>
#include <linux/rculist.h>
#include <linux/slab.h>

#include "virtbe.h"

#define VIRTBE_IOEVENTFD_VALID_FLAGS \
	(VIRTBE_IOEVENTFD_DATAMATCH | VIRTBE_IOEVENTFD_PIO | \
	 VIRTBE_IOEVENTFD_DEASSIGN)

/**
 * struct virtbe_ioeventfd_ent - an assigned ioeventfd
 * @node: entry in virtbe_guest.ioevs
 * @hnode: entry in virtbe_guest.ioev_hash
 * @rcu: deferred free
 * @eventfd: the eventfd to signal
 * @addr: register address
 * @len: access length, 0 for any
 * @pio: port I/O space
 * @wildcard: no datamatch
 * @datamatch: value to match when !@wildcard
 */
struct virtbe_ioeventfd_ent {
	struct list_head node;
	struct hlist_node hnode;
	struct rcu_head rcu;
	struct eventfd_ctx *eventfd;
	u64 addr;
	u32 len;
	bool pio;
	bool wildcard;
	u64 datamatch;
};

static u32 virtbe_ioev_hash(u64 addr, bool pio, bool wildcard, u64 data)
{
	u64 key = addr ^ ((u64)pio << 63);

	if (!wildcard)
		key ^= hash_64(data + 1, 64);
	return hash_64(key, VIRTBE_IOEV_HASH_BITS);
}

static bool virtbe_ioev_matches(const struct virtbe_ioeventfd_ent *e,
				const struct virtbe_io *io)
{
	return e->addr == io->addr && e->pio == io->pio &&
	       (!e->len || e->len == io->len) &&
	       (e->wildcard || e->datamatch == io->data);
}

static struct virtbe_ioeventfd_ent *
virtbe_ioev_lookup(struct virtbe_guest *g, const struct virtbe_io *io,
		   bool wildcard)
{
	struct virtbe_ioeventfd_ent *e;
	u32 h = virtbe_ioev_hash(io->addr, io->pio, wildcard, io->data);

	hlist_for_each_entry_rcu(e, &g->ioev_hash[h], hnode)
		if (e->wildcard == wildcard && virtbe_ioev_matches(e, io))
			return e;
	return NULL;
}

/* The in-kernel access handler: signal the ioeventfd a write matches. */
static int virtbe_ioeventfd_access(struct virtbe_guest *g,
				   struct virtbe_io *io)
{
	struct virtbe_ioeventfd_ent *e;
	struct virtbe_io w = *io;

	if (!io->write)
		return 0;
	if (io->len < 8)
		w.data &= (1ULL << (io->len * 8)) - 1;

	rcu_read_lock();
	e = virtbe_ioev_lookup(g, &w, false);
	if (!e)
		e = virtbe_ioev_lookup(g, &w, true);
	if (e)
		virtbe_eventfd_signal(e->eventfd);
	rcu_read_unlock();
	if (!e)
		return 0;
	atomic64_inc(&g->stat_kicks);
	return VIRTBE_IO_DONE;
}

static const struct virtbe_io_handler virtbe_ioeventfd_handler = {
	.name = "ioeventfd",
	.access = virtbe_ioeventfd_access,
};

/**
 * virtbe_ioeventfd_init() - let a new guest's writes signal its ioeventfds
 * @g: the guest, still ATTACHING
 *
 * Return: 0 or -ENOSPC.
 */
int virtbe_ioeventfd_init(struct virtbe_guest *g)
{
	return virtbe_io_handler_add(g, &virtbe_ioeventfd_handler);
}

static bool virtbe_ioev_conflict(const struct virtbe_ioeventfd_ent *a,
				 const struct virtbe_ioeventfd_ent *b)
{
	u64 alen = a->len ?: 1, blen = b->len ?: 1;

	if (a->pio != b->pio)
		return false;
	if (a->addr >= b->addr + blen || b->addr >= a->addr + alen)
		return false;
	/* Same register, both datamatch, different values: no conflict. */
	return a->wildcard || b->wildcard || a->addr != b->addr ||
	       a->len != b->len || a->datamatch == b->datamatch;
}

static bool virtbe_ioev_replay_match(const struct virtbe_io *io,
				     const void *arg)
{
	const struct virtbe_ioeventfd_ent *e = arg;

	return virtbe_ioev_matches(e, io);
}

static int virtbe_ioeventfd_assign(struct virtbe_guest *g,
				   struct virtbe_ioeventfd_ent *new)
{
	struct virtbe_ioeventfd_ent *e;
	unsigned int n;

	lockdep_assert_held(&g->lock);
	if (g->nr_ioevs >= VIRTBE_MAX_IOEVENTFDS)
		return -ENOSPC;
	list_for_each_entry(e, &g->ioevs, node)
		if (virtbe_ioev_conflict(e, new))
			return -EEXIST;

	list_add_tail(&new->node, &g->ioevs);
	hlist_add_head_rcu(&new->hnode,
			   &g->ioev_hash[virtbe_ioev_hash(new->addr, new->pio,
							  new->wildcard,
							  new->datamatch)]);
	g->nr_ioevs++;

	n = virtbe_ioreq_replay(g, virtbe_ioev_replay_match, new);
	while (n--)
		virtbe_eventfd_signal(new->eventfd);
	return 0;
}

static void virtbe_ioeventfd_free_rcu(struct rcu_head *rcu)
{
	struct virtbe_ioeventfd_ent *e =
		container_of(rcu, struct virtbe_ioeventfd_ent, rcu);

	eventfd_ctx_put(e->eventfd);
	kfree(e);
}

/* Unlink an entry; it is freed after the current RCU readers are done. */
static void virtbe_ioeventfd_free(struct virtbe_guest *g,
				  struct virtbe_ioeventfd_ent *e)
{
	lockdep_assert_held(&g->lock);
	list_del(&e->node);
	hlist_del_rcu(&e->hnode);
	g->nr_ioevs--;
	call_rcu(&e->rcu, virtbe_ioeventfd_free_rcu);
}

static int virtbe_ioeventfd_deassign(struct virtbe_guest *g,
				     const struct virtbe_ioeventfd_ent *key)
{
	struct virtbe_ioeventfd_ent *e;

	lockdep_assert_held(&g->lock);
	list_for_each_entry(e, &g->ioevs, node) {
		if (e->eventfd == key->eventfd && e->addr == key->addr &&
		    e->len == key->len && e->pio == key->pio &&
		    e->wildcard == key->wildcard &&
		    e->datamatch == key->datamatch) {
			virtbe_ioeventfd_free(g, e);
			return 0;
		}
	}
	return -ENOENT;
}

/**
 * virtbe_ioeventfd() - VIRTBE_IOEVENTFD
 * @ucmd: the call, on a guest fd
 *
 * Return: 0 or -errno as documented in the uapi.
 */
long virtbe_ioeventfd(struct virtbe_ucmd *ucmd)
{
	struct virtbe_guest *g = ucmd->obj;
	struct virtbe_ioeventfd *cmd = ucmd->cmd;
	struct virtbe_ioeventfd_ent *e;
	struct eventfd_ctx *eventfd;
	int ret;

	if (cmd->flags & ~VIRTBE_IOEVENTFD_VALID_FLAGS)
		return -EOPNOTSUPP;
	if (cmd->__reserved)
		return -EINVAL;
	if (cmd->len != 0 && cmd->len != 1 && cmd->len != 2 && cmd->len != 4 &&
	    cmd->len != 8)
		return -EINVAL;
	if (cmd->addr + (cmd->len ?: 1) < cmd->addr)
		return -EINVAL;
	if (!(cmd->flags & VIRTBE_IOEVENTFD_DATAMATCH) && cmd->datamatch)
		return -EINVAL;
	/* A datamatch needs a length to compare against. */
	if ((cmd->flags & VIRTBE_IOEVENTFD_DATAMATCH) && !cmd->len)
		return -EINVAL;
	if (cmd->len && cmd->len < 8 && cmd->datamatch >> (cmd->len * 8))
		return -EINVAL;
	if ((cmd->flags & VIRTBE_IOEVENTFD_PIO) &&
	    !(g->ops->features & VIRTBE_HYP_F_PIO))
		return -EOPNOTSUPP;

	eventfd = eventfd_ctx_fdget(cmd->fd);
	if (IS_ERR(eventfd))
		return PTR_ERR(eventfd);

	e = kzalloc(sizeof(*e), GFP_KERNEL_ACCOUNT);
	if (!e) {
		ret = -ENOMEM;
		goto err_put_eventfd;
	}
	e->eventfd = eventfd;
	e->addr = cmd->addr;
	e->len = cmd->len;
	e->pio = cmd->flags & VIRTBE_IOEVENTFD_PIO;
	e->wildcard = !(cmd->flags & VIRTBE_IOEVENTFD_DATAMATCH);
	e->datamatch = cmd->datamatch;

	mutex_lock(&g->lock);
	if (g->state != VIRTBE_GUEST_LIVE)
		ret = -ENODEV;
	else if (cmd->flags & VIRTBE_IOEVENTFD_DEASSIGN)
		ret = virtbe_ioeventfd_deassign(g, e);
	else
		ret = virtbe_ioeventfd_assign(g, e);
	mutex_unlock(&g->lock);

	if (ret || (cmd->flags & VIRTBE_IOEVENTFD_DEASSIGN))
		goto err_free;
	return 0;

err_free:
	kfree(e);
err_put_eventfd:
	eventfd_ctx_put(eventfd);
	return ret;
}

/**
 * virtbe_ioeventfd_release_all() - remove every ioeventfd of a guest
 * @g: the guest, with g->lock held
 */
void virtbe_ioeventfd_release_all(struct virtbe_guest *g)
{
	struct virtbe_ioeventfd_ent *e, *tmp;

	lockdep_assert_held(&g->lock);
	list_for_each_entry_safe(e, tmp, &g->ioevs, node)
		virtbe_ioeventfd_free(g, e);
}
