// SPDX-License-Identifier: GPL-2.0
/*
 * virtbe core: irqfd, an eventfd that raises a guest interrupt.
 *
 * The eventfd's wakeup callback runs with the eventfd's wait queue lock held
 * and interrupts disabled: it calls the backend's non-sleeping irq_set(),
 * and, when that cannot inject in this context (-EWOULDBLOCK), injects
 * from a work item instead, as KVM's irqfd does.  EPOLLHUP (the eventfd
 * was closed) moves the irqfd to a workqueue that unhooks it; it is freed
 * after an RCU grace period, since resampling walks the list under RCU: it
 * signals eventfds, whose wait queue locks rank above irqfd_lock (the
 * EPOLLHUP path takes irqfd_lock under them).  irqfd.c is eventfd
 * plumbing only: the virtio-mmio InterruptStatus an irqfd may set is
 * vmmio.c's.
 *
 * Copyright (C) 2026 The virtbe authors
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/module.h>
#include <linux/percpu.h>
#include <linux/poll.h>
#include <linux/slab.h>

#include "virtbe.h"

/**
 * struct virtbe_irqfd_ent - an assigned irqfd
 * @node: entry in virtbe_guest.irqfds (RCU list, written under irqfd_lock)
 * @active: on the list; cleared under irqfd_lock when it is taken off
 * @rcu: deferred free
 * @guest: the guest
 * @eventfd: the trigger
 * @resamplefd: signalled on EOI of a level interrupt, or NULL
 * @irq: the interrupt
 * @wait: our entry in the eventfd's wait queue
 * @pt: used to find the eventfd's wait queue
 * @wqh: the eventfd's wait queue
 * @shutdown: unhooks and frees the irqfd
 * @inject: injects in process context when the backend could not in the
 *	wakeup callback
 * @vmmio: the virtio-mmio device whose InterruptStatus it sets, or NULL
 * @isr_bits: the bits it sets there
 */
struct virtbe_irqfd_ent {
	struct list_head node;
	bool active;
	struct rcu_head rcu;
	struct virtbe_guest *guest;
	struct eventfd_ctx *eventfd;
	struct eventfd_ctx *resamplefd;
	struct virtbe_irq irq;
	wait_queue_entry_t wait;
	poll_table pt;
	wait_queue_head_t *wqh;
	struct work_struct shutdown;
	struct work_struct inject;
	struct virtbe_vmmio *vmmio;
	u32 isr_bits;
};

static struct workqueue_struct *virtbe_irqfd_wq;

/* The eventfd whose wakeup callback runs on this CPU, if any. */
static DEFINE_PER_CPU(struct eventfd_ctx *, virtbe_irqfd_src);

/**
 * virtbe_can_signal() - may a backend signal an eventfd here?
 * @ctx: the eventfd it wants to signal
 *
 * An irqfd injects with its eventfd's wait queue lock held.  Signalling
 * any eventfd there nests two locks of the same class: a deadlock when
 * @ctx is that eventfd, an ABBA deadlock when two irqfds signal each
 * other's eventfds on two CPUs (lockdep reports it as recursive locking),
 * and refused by the eventfd core when it nests in eventfd_signal().
 * When this returns false, a backend's &virtbe_hyp_ops.irq_set returns
 * -EWOULDBLOCK and the core injects again from a work item.
 *
 * Return: true if eventfd_signal(@ctx) is safe in the current context.
 */
bool virtbe_can_signal(struct eventfd_ctx *ctx)
{
	return eventfd_signal_allowed() && !this_cpu_read(virtbe_irqfd_src);
}
EXPORT_SYMBOL_NS_GPL(virtbe_can_signal, VIRTBE_NS);

static void virtbe_irqfd_inject(struct virtbe_irqfd_ent *irqfd)
{
	struct virtbe_guest *g = irqfd->guest;
	int ret;

	if (irqfd->vmmio)
		virtbe_vmmio_raise(irqfd->vmmio, irqfd->isr_bits);

	this_cpu_write(virtbe_irqfd_src, irqfd->eventfd);
	ret = g->ops->irq_set(g, &irqfd->irq, true);
	/* still marked: lowering again must not signal from here either */
	if (ret != -EWOULDBLOCK && irqfd->vmmio)
		virtbe_vmmio_raised(irqfd->vmmio);
	this_cpu_write(virtbe_irqfd_src, NULL);
	if (ret == -EWOULDBLOCK)
		schedule_work(&irqfd->inject);
	atomic64_inc(&g->stat_irqs);
}

/* Inject where the backend can, out of the wakeup callback. */
static void virtbe_irqfd_inject_work(struct work_struct *work)
{
	struct virtbe_irqfd_ent *irqfd =
		container_of(work, struct virtbe_irqfd_ent, inject);
	struct virtbe_guest *g = irqfd->guest;

	/* A level cause acknowledged meanwhile needs no interrupt. */
	if (irqfd->vmmio && irqfd->irq.type == VIRTBE_IRQ_LEVEL &&
	    !virtbe_vmmio_pending(irqfd->vmmio))
		return;
	g->ops->irq_set(g, &irqfd->irq, true);
	/* ... nor one acknowledged while it was being raised */
	if (irqfd->vmmio)
		virtbe_vmmio_raised(irqfd->vmmio);
}

static void virtbe_irqfd_free_rcu(struct rcu_head *rcu)
{
	struct virtbe_irqfd_ent *irqfd =
		container_of(rcu, struct virtbe_irqfd_ent, rcu);

	eventfd_ctx_put(irqfd->eventfd);
	if (irqfd->resamplefd)
		eventfd_ctx_put(irqfd->resamplefd);
	kfree(irqfd);
}

static void virtbe_irqfd_shutdown(struct work_struct *work)
{
	struct virtbe_irqfd_ent *irqfd =
		container_of(work, struct virtbe_irqfd_ent, shutdown);
	u64 cnt;

	/* After this, the wakeup callback cannot run any more. */
	eventfd_ctx_remove_wait_queue(irqfd->eventfd, &irqfd->wait, &cnt);
	flush_work(&irqfd->inject);
	if (irqfd->vmmio)
		virtbe_vmmio_put(irqfd->guest, irqfd->vmmio);
	call_rcu(&irqfd->rcu, virtbe_irqfd_free_rcu);
}

/* Called with irqfd_lock held. */
static void virtbe_irqfd_deactivate(struct virtbe_irqfd_ent *irqfd)
{
	lockdep_assert_held(&irqfd->guest->irqfd_lock);
	if (!irqfd->active)
		return;
	irqfd->active = false;
	list_del_rcu(&irqfd->node);
	irqfd->guest->nr_irqfds--;
	queue_work(virtbe_irqfd_wq, &irqfd->shutdown);
}

static int virtbe_irqfd_wakeup(wait_queue_entry_t *wait, unsigned int mode,
			       int sync, void *key)
{
	struct virtbe_irqfd_ent *irqfd =
		container_of(wait, struct virtbe_irqfd_ent, wait);
	__poll_t flags = key_to_poll(key);
	struct virtbe_guest *g = irqfd->guest;
	unsigned long lflags;
	u64 cnt;

	if (flags & EPOLLIN) {
		eventfd_ctx_do_read(irqfd->eventfd, &cnt);
		virtbe_irqfd_inject(irqfd);
	}
	if (flags & EPOLLHUP) {
		spin_lock_irqsave(&g->irqfd_lock, lflags);
		virtbe_irqfd_deactivate(irqfd);
		spin_unlock_irqrestore(&g->irqfd_lock, lflags);
	}
	return 0;
}

static void virtbe_irqfd_ptable_queue_proc(struct file *file,
					   wait_queue_head_t *wqh,
					   poll_table *pt)
{
	struct virtbe_irqfd_ent *irqfd =
		container_of(pt, struct virtbe_irqfd_ent, pt);

	irqfd->wqh = wqh;
	add_wait_queue_priority(wqh, &irqfd->wait);
}

static int virtbe_irqfd_check(struct virtbe_guest *g,
			      const struct virtbe_irqfd *cmd)
{
	static const u64 feature[] = {
		[VIRTBE_IRQ_EDGE] = VIRTBE_HYP_F_IRQ_EDGE,
		[VIRTBE_IRQ_LEVEL] = VIRTBE_HYP_F_IRQ_LEVEL,
		[VIRTBE_IRQ_EVTCHN] = VIRTBE_HYP_F_IRQ_EVTCHN,
		[VIRTBE_IRQ_MSI] = VIRTBE_HYP_F_IRQ_MSI,
	};

	if (!cmd->type || cmd->type >= ARRAY_SIZE(feature))
		return -EINVAL;
	/* Level interrupts need a resample eventfd, others take -1. */
	if (cmd->type == VIRTBE_IRQ_LEVEL ? cmd->resamplefd < 0 :
	    cmd->resamplefd != -1)
		return -EINVAL;
	if (cmd->type == VIRTBE_IRQ_MSI ? cmd->irq :
	    (cmd->msi_addr || cmd->msi_data))
		return -EINVAL;
	if (cmd->flags & VIRTBE_IRQFD_VIRTIO_MMIO) {
		int ret = virtbe_vmmio_check(g, cmd->vmmio_base,
					     cmd->isr_bits);

		if (ret)
			return ret;
	} else if (cmd->isr_bits || cmd->vmmio_base) {
		return -EINVAL;
	}
	if (!(g->ops->features & feature[cmd->type]))
		return -EOPNOTSUPP;
	return 0;
}

static int virtbe_irqfd_deassign(struct virtbe_guest *g, int fd)
{
	struct virtbe_irqfd_ent *irqfd;
	struct eventfd_ctx *eventfd;
	int ret = -ENOENT;

	eventfd = eventfd_ctx_fdget(fd);
	if (IS_ERR(eventfd))
		return PTR_ERR(eventfd);

	spin_lock_irq(&g->irqfd_lock);
	list_for_each_entry(irqfd, &g->irqfds, node) {
		if (irqfd->eventfd == eventfd) {
			virtbe_irqfd_deactivate(irqfd);
			ret = 0;
			break;
		}
	}
	spin_unlock_irq(&g->irqfd_lock);
	eventfd_ctx_put(eventfd);

	/* After return, the irqfd raises no more interrupts. */
	flush_workqueue(virtbe_irqfd_wq);
	return ret;
}

static int virtbe_irqfd_assign(struct virtbe_guest *g,
			       const struct virtbe_irqfd *cmd)
{
	struct virtbe_irqfd_ent *irqfd, *tmp;
	struct file *file;
	__poll_t events;
	int ret;

	ret = virtbe_irqfd_check(g, cmd);
	if (ret)
		return ret;

	irqfd = kzalloc(sizeof(*irqfd), GFP_KERNEL_ACCOUNT);
	if (!irqfd)
		return -ENOMEM;
	irqfd->guest = g;
	irqfd->irq = (struct virtbe_irq) {
		.type = cmd->type,
		.irq = cmd->irq,
		.msi_addr = cmd->msi_addr,
		.msi_data = cmd->msi_data,
	};
	INIT_WORK(&irqfd->shutdown, virtbe_irqfd_shutdown);
	INIT_WORK(&irqfd->inject, virtbe_irqfd_inject_work);

	if (g->ops->irq_check) {
		ret = g->ops->irq_check(g, &irqfd->irq);
		if (ret)
			goto err_free;
	}
	if (cmd->flags & VIRTBE_IRQFD_VIRTIO_MMIO) {
		irqfd->isr_bits = cmd->isr_bits;
		ret = virtbe_vmmio_get(g, cmd->vmmio_base, &irqfd->irq,
				       &irqfd->vmmio);
		if (ret)
			goto err_free;
	}

	file = fget(cmd->fd);
	if (!file) {
		ret = -EBADF;
		goto err_free;
	}
	irqfd->eventfd = eventfd_ctx_fileget(file);
	if (IS_ERR(irqfd->eventfd)) {
		ret = PTR_ERR(irqfd->eventfd);
		goto err_fput;
	}
	if (cmd->type == VIRTBE_IRQ_LEVEL) {
		irqfd->resamplefd = eventfd_ctx_fdget(cmd->resamplefd);
		if (IS_ERR(irqfd->resamplefd)) {
			ret = PTR_ERR(irqfd->resamplefd);
			goto err_put_eventfd;
		}
	}

	init_waitqueue_func_entry(&irqfd->wait, virtbe_irqfd_wakeup);
	init_poll_funcptr(&irqfd->pt, virtbe_irqfd_ptable_queue_proc);

	spin_lock_irq(&g->irqfd_lock);
	ret = g->nr_irqfds >= VIRTBE_MAX_IRQFDS ? -ENOSPC : 0;
	list_for_each_entry(tmp, &g->irqfds, node)
		if (!ret && tmp->eventfd == irqfd->eventfd)
			ret = -EBUSY;
	if (!ret) {
		irqfd->active = true;
		list_add_tail_rcu(&irqfd->node, &g->irqfds);
		g->nr_irqfds++;
	}
	spin_unlock_irq(&g->irqfd_lock);
	if (ret)
		goto err_put_resamplefd;

	/* Hook into the eventfd; deliver a signal that is already pending. */
	events = vfs_poll(file, &irqfd->pt);
	if (events & EPOLLIN) {
		u64 cnt;
		unsigned long flags;

		spin_lock_irqsave(&irqfd->wqh->lock, flags);
		eventfd_ctx_do_read(irqfd->eventfd, &cnt);
		virtbe_irqfd_inject(irqfd);
		spin_unlock_irqrestore(&irqfd->wqh->lock, flags);
	}
	fput(file);
	return 0;

err_put_resamplefd:
	if (irqfd->resamplefd)
		eventfd_ctx_put(irqfd->resamplefd);
err_put_eventfd:
	eventfd_ctx_put(irqfd->eventfd);
err_fput:
	fput(file);
err_free:
	if (irqfd->vmmio)
		virtbe_vmmio_put(g, irqfd->vmmio);
	kfree(irqfd);
	return ret;
}

/**
 * virtbe_irqfd() - VIRTBE_IRQFD
 * @ucmd: the call, on a guest fd
 *
 * Return: 0 or -errno as documented in the uapi.
 */
long virtbe_irqfd(struct virtbe_ucmd *ucmd)
{
	struct virtbe_guest *g = ucmd->obj;
	struct virtbe_irqfd *cmd = ucmd->cmd;
	int ret;

	if (cmd->flags & ~(VIRTBE_IRQFD_DEASSIGN | VIRTBE_IRQFD_VIRTIO_MMIO))
		return -EOPNOTSUPP;

	/* Serialises assignment against deassignment. */
	mutex_lock(&g->lock);
	if (g->state != VIRTBE_GUEST_LIVE)
		ret = -ENODEV;
	else if (cmd->flags & VIRTBE_IRQFD_DEASSIGN)
		ret = virtbe_irqfd_deassign(g, cmd->fd);
	else
		ret = virtbe_irqfd_assign(g, cmd);
	mutex_unlock(&g->lock);
	return ret;
}

/**
 * virtbe_irqfd_release_all() - remove every irqfd of a guest
 * @g: the guest
 *
 * On return no irqfd of @g raises interrupts any more.  Process context.
 */
void virtbe_irqfd_release_all(struct virtbe_guest *g)
{
	struct virtbe_irqfd_ent *irqfd, *tmp;

	spin_lock_irq(&g->irqfd_lock);
	list_for_each_entry_safe(irqfd, tmp, &g->irqfds, node)
		virtbe_irqfd_deactivate(irqfd);
	spin_unlock_irq(&g->irqfd_lock);
	flush_workqueue(virtbe_irqfd_wq);
}

/**
 * virtbe_irq_resample() - the guest acknowledged a level interrupt
 * @g: the guest
 * @type: VIRTBE_IRQ_LEVEL
 * @irq: the line, which the hypervisor has lowered
 *
 * Signals the resample eventfd of every level irqfd on @irq, so that the
 * daemon re-raises the line if its device still needs service, and raises
 * the line again at once for a virtio-mmio device whose InterruptStatus the
 * kernel keeps and which still has a cause pending.  Process context.
 */
void virtbe_irq_resample(struct virtbe_guest *g, u32 type, u32 irq)
{
	struct virtbe_irqfd_ent *irqfd;

	/* Not under irqfd_lock: signalling takes eventfd locks. */
	rcu_read_lock();
	list_for_each_entry_rcu(irqfd, &g->irqfds, node)
		if (irqfd->irq.type == type && irqfd->irq.irq == irq &&
		    irqfd->resamplefd)
			virtbe_eventfd_signal(irqfd->resamplefd);
	rcu_read_unlock();
	virtbe_vmmio_resample(g, type, irq);
}
EXPORT_SYMBOL_NS_GPL(virtbe_irq_resample, VIRTBE_NS);

/**
 * virtbe_irqfd_init() - module init for irqfds
 *
 * Return: 0 or -ENOMEM.
 */
int virtbe_irqfd_init(void)
{
	virtbe_irqfd_wq = alloc_workqueue("virtbe-irqfd", 0, 0);
	return virtbe_irqfd_wq ? 0 : -ENOMEM;
}

/**
 * virtbe_irqfd_exit() - module exit for irqfds
 */
void virtbe_irqfd_exit(void)
{
	destroy_workqueue(virtbe_irqfd_wq);
}
