// SPDX-License-Identifier: GPL-2.0
/*
 * virtbe core: guest fds, claimed ranges and statistics.
 *
 * Copyright (C) 2026 The virtbe authors
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

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

/**
 * struct virtbe_hguest - a hypervisor guest, shared by its attachments
 * @node: entry in virtbe_hguests
 * @ops: the backend
 * @guest_id: the backend's id of the guest
 * @users: attachments holding it (guest fds, attaches in progress), under
 *	virtbe_hguests_lock
 * @lock: protects @ranges; nests inside virtbe_guest.lock
 * @ranges: the ranges claimed by all attachments (virtbe_range_ent.hnode)
 *
 * A guest may be attached by any number of guest fds; their claims must
 * not overlap, whichever attachment made them.  Locks: virtbe_guest.lock,
 * then @lock, then whatever &virtbe_hyp_ops.claim_range and
 * &virtbe_hyp_ops.release_range take.  virtbe_hguests_lock nests in none
 * and is taken with no other held.
 */
struct virtbe_hguest {
	struct list_head node;
	const struct virtbe_hyp_ops *ops;
	u64 guest_id;
	unsigned int users;
	struct mutex lock;		/* @ranges */
	struct list_head ranges;
};

static LIST_HEAD(virtbe_hguests);
static DEFINE_MUTEX(virtbe_hguests_lock);	/* virtbe_hguests, users */

/* Find or add the shared object of (@ops, @guest_id), one more user. */
static struct virtbe_hguest *virtbe_hguest_get(const struct virtbe_hyp_ops *ops,
					       u64 guest_id)
{
	struct virtbe_hguest *hg, *new;

	new = kzalloc(sizeof(*new), GFP_KERNEL_ACCOUNT);
	if (!new)
		return NULL;
	mutex_lock(&virtbe_hguests_lock);
	list_for_each_entry(hg, &virtbe_hguests, node) {
		if (hg->ops == ops && hg->guest_id == guest_id) {
			hg->users++;
			mutex_unlock(&virtbe_hguests_lock);
			kfree(new);
			return hg;
		}
	}
	new->ops = ops;
	new->guest_id = guest_id;
	new->users = 1;
	mutex_init(&new->lock);
	INIT_LIST_HEAD(&new->ranges);
	list_add(&new->node, &virtbe_hguests);
	mutex_unlock(&virtbe_hguests_lock);
	return new;
}

/* Drop a user taken by virtbe_hguest_get(); its ranges are released. */
static void virtbe_hguest_put(struct virtbe_hguest *hg)
{
	mutex_lock(&virtbe_hguests_lock);
	if (--hg->users) {
		hg = NULL;
	} else {
		list_del(&hg->node);
		WARN_ON_ONCE(!list_empty(&hg->ranges));
	}
	mutex_unlock(&virtbe_hguests_lock);
	if (hg) {
		mutex_destroy(&hg->lock);
		kfree(hg);
	}
}

/**
 * virtbe_guest_get() - take a reference on a guest
 * @g: the guest
 */
void virtbe_guest_get(struct virtbe_guest *g)
{
	kref_get(&g->ref);
}
EXPORT_SYMBOL_GPL(virtbe_guest_get);

static void virtbe_guest_release(struct kref *ref)
{
	struct virtbe_guest *g = container_of(ref, struct virtbe_guest, ref);

	virtbe_ioreq_free(g);
	kfree(g);
}

/**
 * virtbe_guest_put() - drop a reference taken by virtbe_guest_get()
 * @g: the guest
 */
void virtbe_guest_put(struct virtbe_guest *g)
{
	kref_put(&g->ref, virtbe_guest_release);
}
EXPORT_SYMBOL_GPL(virtbe_guest_put);

/* Stop serving the guest: requests, memory.  Idempotent; takes g->lock. */
static void virtbe_guest_stop(struct virtbe_guest *g)
{
	mutex_lock(&g->lock);
	if (!g->dead) {
		g->dead = true;
		if (g->ready) {
			virtbe_ioreq_abort_all(g);
			virtbe_mem_revoke_all(g);
		}
	}
	mutex_unlock(&g->lock);
}

/**
 * virtbe_guest_gone() - the hypervisor reports that the guest died
 * @g: the guest, attached
 *
 * Completes every outstanding request, revokes all memory windows and wakes
 * the request channel's readers and pollers with EPOLLHUP.  Later calls on
 * the guest fd fail with ENODEV.  The backend stays attached until the guest
 * fd is closed.  Process context; the caller must hold a reference on @g
 * and no lock that &virtbe_hyp_ops callbacks take.
 */
void virtbe_guest_gone(struct virtbe_guest *g)
{
	virtbe_guest_stop(g);
}
EXPORT_SYMBOL_GPL(virtbe_guest_gone);

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

static void virtbe_ranges_release_all(struct virtbe_guest *g)
{
	struct virtbe_range_ent *r, *tmp;

	list_for_each_entry_safe(r, tmp, &g->ranges, node)
		virtbe_range_release(g, r);
}

static int virtbe_guest_fop_release(struct inode *inode, struct file *file)
{
	struct virtbe_guest *g = file->private_data;

	virtbe_irqfd_release_all(g);
	virtbe_guest_stop(g);

	mutex_lock(&g->lock);
	virtbe_ioeventfd_release_all(g);
	virtbe_ranges_release_all(g);
	g->ops->detach(g);
	g->detached = true;
	mutex_unlock(&g->lock);

	virtbe_hguest_put(g->hg);
	virtbe_hyp_put(g->ops);
	virtbe_guest_put(g);
	return 0;
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

static long virtbe_claim_range(struct virtbe_ucmd *ucmd)
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
	if (g->dead)
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

static long virtbe_get_stats(struct virtbe_ucmd *ucmd)
{
	struct virtbe_guest *g = ucmd->obj;
	struct virtbe_stats *cmd = ucmd->cmd;

	if (cmd->flags)
		return -EOPNOTSUPP;
	cmd->out_requests = atomic64_read(&g->stat_requests);
	cmd->out_completions = atomic64_read(&g->stat_completions);
	cmd->out_timeouts = atomic64_read(&g->stat_timeouts);
	cmd->out_aborted = atomic64_read(&g->stat_aborted);
	cmd->out_kicks = atomic64_read(&g->stat_kicks);
	cmd->out_kicks_replayed = atomic64_read(&g->stat_kicks_replayed);
	cmd->out_irqs = atomic64_read(&g->stat_irqs);
	return 0;
}

static const struct virtbe_ioctl_op virtbe_guest_ops[] = {
	VIRTBE_IOCTL_OP_OUT(VIRTBE_GET_INFO, virtbe_get_info,
			    struct virtbe_info, out_hyp_features),
	VIRTBE_IOCTL_OP(VIRTBE_MEM_MAP, virtbe_mem_map, struct virtbe_mem_map,
			__reserved),
	VIRTBE_IOCTL_OP(VIRTBE_CLAIM_RANGE, virtbe_claim_range,
			struct virtbe_range, len),
	VIRTBE_IOCTL_OP(VIRTBE_IOEVENTFD, virtbe_ioeventfd,
			struct virtbe_ioeventfd, __reserved),
	VIRTBE_IOCTL_OP(VIRTBE_IRQFD, virtbe_irqfd, struct virtbe_irqfd,
			vmmio_base),
	VIRTBE_IOCTL_OP_OUT(VIRTBE_GET_STATS, virtbe_get_stats,
			    struct virtbe_stats, out_irqs),
};

static long virtbe_guest_fop_ioctl(struct file *file, unsigned int cmd,
				   unsigned long arg)
{
	return virtbe_ioctl_dispatch(virtbe_guest_ops,
				     ARRAY_SIZE(virtbe_guest_ops),
				     file->private_data, cmd, arg);
}

static ssize_t virtbe_guest_fop_read(struct file *file, char __user *buf,
				     size_t count, loff_t *ppos)
{
	return virtbe_ioreq_read(file->private_data, buf, count,
				 file->f_flags & O_NONBLOCK);
}

static ssize_t virtbe_guest_fop_write(struct file *file,
				      const char __user *buf, size_t count,
				      loff_t *ppos)
{
	return virtbe_ioreq_write(file->private_data, buf, count);
}

static __poll_t virtbe_guest_fop_poll(struct file *file, poll_table *wait)
{
	struct virtbe_guest *g = file->private_data;
	__poll_t mask = EPOLLOUT | EPOLLWRNORM;
	unsigned long flags;

	poll_wait(file, &g->wq, wait);
	spin_lock_irqsave(&g->req_lock, flags);
	if (!list_empty(&g->req_queue))
		mask |= EPOLLIN | EPOLLRDNORM;
	if (g->gone)
		mask |= EPOLLHUP;
	spin_unlock_irqrestore(&g->req_lock, flags);
	return mask;
}

static const struct file_operations virtbe_guest_fops = {
	.owner = THIS_MODULE,
	.release = virtbe_guest_fop_release,
	.unlocked_ioctl = virtbe_guest_fop_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.read = virtbe_guest_fop_read,
	.write = virtbe_guest_fop_write,
	.poll = virtbe_guest_fop_poll,
	.llseek = noop_llseek,
};

/**
 * virtbe_guest_attach() - VIRTBE_ATTACH
 * @ucmd: the call
 *
 * Return: 0 with the guest file handed to the dispatcher, which returns
 * its fd; or -errno as documented in the uapi.
 */
long virtbe_guest_attach(struct virtbe_ucmd *ucmd)
{
	struct virtbe_attach *cmd = ucmd->cmd;
	const struct virtbe_hyp_ops *ops;
	struct virtbe_guest *g;
	struct file *file;
	int ret;

	if (cmd->flags)
		return -EOPNOTSUPP;
	if (cmd->__reserved || cmd->request_timeout_ms > VIRTBE_MAX_TIMEOUT_MS)
		return -EINVAL;
	if (!cmd->hyp || cmd->hyp > VIRTBE_HYP_MAX)
		return -EINVAL;

	ops = virtbe_hyp_get(cmd->hyp);
	if (!ops)
		return -ENODEV;

	ret = -ENOMEM;
	g = kzalloc(sizeof(*g), GFP_KERNEL_ACCOUNT);
	if (!g)
		goto err_put_hyp;
	g->hg = virtbe_hguest_get(ops, cmd->guest_id);
	if (!g->hg)
		goto err_free_guest;
	kref_init(&g->ref);
	g->ops = ops;
	g->guest_id = cmd->guest_id;
	mutex_init(&g->lock);
	spin_lock_init(&g->req_lock);
	INIT_LIST_HEAD(&g->req_queue);
	init_waitqueue_head(&g->wq);
	INIT_LIST_HEAD(&g->ranges);
	INIT_LIST_HEAD(&g->mems);
	INIT_LIST_HEAD(&g->ioevs);
	hash_init(g->ioev_hash);
	spin_lock_init(&g->irqfd_lock);
	INIT_LIST_HEAD(&g->irqfds);
	INIT_LIST_HEAD(&g->vmmios);
	g->timeout = msecs_to_jiffies(cmd->request_timeout_ms ?:
				      VIRTBE_DEFAULT_TIMEOUT_MS);

	ret = ops->attach(g, cmd->guest_id);
	if (ret)
		goto err_put_hg;
	ret = -EINVAL;
	if (!g->nr_vcpus || g->nr_vcpus > VIRTBE_MAX_VCPUS ||
	    (g->mem_pfnmap && !ops->mem_fault))
		goto err_detach;
	ret = virtbe_ioreq_init(g);
	if (ret)
		goto err_detach;
	/*
	 * From attach on, the hypervisor may dispatch or report the guest
	 * dead; both wait for ready, and a guest that died meanwhile fails.
	 */
	mutex_lock(&g->lock);
	ret = g->dead ? -ENOENT : 0;
	if (!ret)	/* pairs with virtbe_ioreq_dispatch(): slots set up */
		smp_store_release(&g->ready, true);
	mutex_unlock(&g->lock);
	if (ret)
		goto err_detach;

	file = anon_inode_getfile("[virtbe-guest]", &virtbe_guest_fops, g,
				  O_RDWR);
	if (IS_ERR(file)) {
		ret = PTR_ERR(file);
		goto err_stop;
	}
	cmd->out_nr_vcpus = g->nr_vcpus;
	return virtbe_ucmd_return_file(ucmd, file);

err_stop:
	virtbe_guest_stop(g);
err_detach:
	/* The hypervisor may hold a reference (see virtbe_guest_gone()). */
	ops->detach(g);
	virtbe_hguest_put(g->hg);
	virtbe_hyp_put(ops);
	virtbe_guest_put(g);
	return ret;
err_put_hg:
	virtbe_hguest_put(g->hg);
err_free_guest:
	kfree(g);
err_put_hyp:
	virtbe_hyp_put(ops);
	return ret;
}
