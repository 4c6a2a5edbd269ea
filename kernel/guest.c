// SPDX-License-Identifier: GPL-2.0
/*
 * virtbe core: guest fds, their lifecycle and statistics.
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
EXPORT_SYMBOL_NS_GPL(virtbe_guest_get, VIRTBE_NS);

static void virtbe_guest_release(struct kref *ref)
{
	struct virtbe_guest *g = container_of(ref, struct virtbe_guest, ref);

	WARN_ON_ONCE(g->state != VIRTBE_GUEST_DETACHED);
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
EXPORT_SYMBOL_NS_GPL(virtbe_guest_put, VIRTBE_NS);

/**
 * virtbe_guest_hyp_data() - the backend's data of an attachment
 * @g: the guest
 *
 * Return: &virtbe_attach_info.hyp_data as &virtbe_hyp_ops.attach set it.
 */
void *virtbe_guest_hyp_data(const struct virtbe_guest *g)
{
	return g->hyp_data;
}
EXPORT_SYMBOL_NS_GPL(virtbe_guest_hyp_data, VIRTBE_NS);

/**
 * virtbe_guest_set_state() - move an attachment to its next lifecycle state
 * @g: the guest, with g->lock held
 * @state: the new state (see enum virtbe_guest_state)
 */
void virtbe_guest_set_state(struct virtbe_guest *g,
			    enum virtbe_guest_state state)
{
	unsigned long flags;

	lockdep_assert_held(&g->lock);
	spin_lock_irqsave(&g->req_lock, flags);
	/* LIVE pairs with the acquire in the request path: slots set up. */
	smp_store_release(&g->state, state);
	spin_unlock_irqrestore(&g->req_lock, flags);
}

/* Stop serving the guest: requests, memory.  Idempotent; takes g->lock. */
static void virtbe_guest_stop(struct virtbe_guest *g)
{
	enum virtbe_guest_state old;

	mutex_lock(&g->lock);
	old = g->state;
	if (old == VIRTBE_GUEST_ATTACHING || old == VIRTBE_GUEST_LIVE)
		virtbe_guest_set_state(g, VIRTBE_GUEST_DEAD);
	if (old == VIRTBE_GUEST_LIVE) {
		virtbe_ioreq_abort_all(g);
		virtbe_mem_revoke_all(g);
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
EXPORT_SYMBOL_NS_GPL(virtbe_guest_gone, VIRTBE_NS);

static int virtbe_guest_fop_release(struct inode *inode, struct file *file)
{
	struct virtbe_guest *g = file->private_data;

	virtbe_irqfd_release_all(g);
	virtbe_guest_stop(g);

	mutex_lock(&g->lock);
	virtbe_ioeventfd_release_all(g);
	virtbe_ranges_release_all(g);
	g->ops->detach(g);
	virtbe_guest_set_state(g, VIRTBE_GUEST_DETACHED);
	mutex_unlock(&g->lock);

	virtbe_hguest_put(g->hg);
	virtbe_hyp_put(g->ops);
	virtbe_guest_put(g);
	return 0;
}

static long virtbe_get_stats(struct virtbe_ucmd *ucmd)
{
	struct virtbe_guest *g = ucmd->obj;
	struct virtbe_stats *cmd = ucmd->cmd;

	if (cmd->flags)
		return -EOPNOTSUPP;
	/*
	 * The four ends of requests before the requests: each request is
	 * counted under req_lock before it can end, so out_requests is never
	 * below their sum.
	 */
	cmd->out_completions = atomic64_read(&g->stat_completions);
	cmd->out_timeouts = atomic64_read(&g->stat_timeouts);
	cmd->out_aborted = atomic64_read(&g->stat_aborted);
	cmd->out_kicks_replayed = atomic64_read(&g->stat_kicks_replayed);
	smp_rmb();	/* the ends read above before the requests */
	cmd->out_requests = atomic64_read(&g->stat_requests);
	cmd->out_kicks = atomic64_read(&g->stat_kicks);
	cmd->out_irqs = atomic64_read(&g->stat_irqs);
	cmd->out_rejected = atomic64_read(&g->stat_rejected);
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
	if (g->state != VIRTBE_GUEST_LIVE)
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
	struct virtbe_attach_info info = {};
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

	ret = virtbe_ioeventfd_init(g);
	if (!ret)
		ret = virtbe_vmmio_init(g);
	if (ret)
		goto err_put_hg;

	ret = ops->attach(g, cmd->guest_id, &info);
	if (ret)
		goto err_put_hg;
	g->hyp_data = info.hyp_data;
	g->nr_vcpus = info.nr_vcpus;
	g->mem_pfnmap = info.mem_pfnmap;
	ret = -EINVAL;
	if (!g->nr_vcpus || g->nr_vcpus > VIRTBE_MAX_VCPUS ||
	    (g->mem_pfnmap && !ops->mem_fault))
		goto err_detach;
	ret = virtbe_ioreq_init(g);
	if (ret)
		goto err_detach;
	/*
	 * From attach on, the hypervisor may dispatch or report the guest
	 * dead; requests are refused until LIVE, and a guest that died
	 * meanwhile fails.
	 */
	mutex_lock(&g->lock);
	ret = g->state == VIRTBE_GUEST_DEAD ? -ENOENT : 0;
	if (!ret)
		virtbe_guest_set_state(g, VIRTBE_GUEST_LIVE);
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
	mutex_lock(&g->lock);
	virtbe_guest_set_state(g, VIRTBE_GUEST_DETACHED);
	mutex_unlock(&g->lock);
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
