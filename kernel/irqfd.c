// SPDX-License-Identifier: GPL-2.0
/*
 * virtbe core: irqfd, an eventfd that raises a guest interrupt.
 *
 * The eventfd's wakeup callback runs with the eventfd's wait queue lock held
 * and interrupts disabled: it only calls the backend's non-sleeping
 * irq_set().  EPOLLHUP (the eventfd was closed) moves the irqfd to a
 * workqueue that unhooks it; it is freed after an RCU grace period, since
 * resampling walks the list under RCU: it signals eventfds, whose wait
 * queue locks rank above irqfd_lock (the EPOLLHUP path takes irqfd_lock
 * under them).
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
 * Backends defer the signal (e.g. to a workqueue) when this returns false.
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

	if (irqfd->vmmio) {
		atomic_or(irqfd->isr_bits, &irqfd->vmmio->isr);
		/* The cause is visible before the guest can take the irq. */
		smp_mb__after_atomic();
	}

	this_cpu_write(virtbe_irqfd_src, irqfd->eventfd);
	g->ops->irq_set(g, &irqfd->irq, true);
	this_cpu_write(virtbe_irqfd_src, NULL);
	atomic64_inc(&g->stat_irqs);
}

/* Drop an irqfd's use of its virtio-mmio device; free it with the last. */
static void virtbe_vmmio_put(struct virtbe_guest *g, struct virtbe_vmmio *v)
{
	unsigned long flags;
	bool last;

	spin_lock_irqsave(&g->irqfd_lock, flags);
	last = !--v->users;
	if (last)
		list_del_rcu(&v->node);
	spin_unlock_irqrestore(&g->irqfd_lock, flags);
	if (last)
		kfree_rcu(v, rcu);
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
		if (!cmd->isr_bits || cmd->isr_bits &
		    ~(VIRTBE_VIRTIO_ISR_USED | VIRTBE_VIRTIO_ISR_CONFIG))
			return -EINVAL;
		if (!IS_ALIGNED(cmd->vmmio_base, VIRTBE_VMMIO_SPAN) ||
		    !virtbe_range_claimed(g, false, cmd->vmmio_base,
					  VIRTBE_VMMIO_SPAN))
			return -EINVAL;
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

/* Find the device's InterruptStatus, or make it; takes a use of it. */
static int virtbe_vmmio_get(struct virtbe_guest *g,
			    struct virtbe_irqfd_ent *irqfd, u64 base)
{
	struct virtbe_vmmio *v, *new;
	int ret = 0;

	lockdep_assert_held(&g->lock);
	new = kzalloc(sizeof(*new), GFP_KERNEL_ACCOUNT);
	if (!new)
		return -ENOMEM;

	spin_lock_irq(&g->irqfd_lock);
	list_for_each_entry(v, &g->vmmios, node) {
		if (v->base != base)
			continue;
		/* One device, one interrupt. */
		if (v->irq.type != irqfd->irq.type ||
		    v->irq.irq != irqfd->irq.irq ||
		    v->irq.msi_addr != irqfd->irq.msi_addr ||
		    v->irq.msi_data != irqfd->irq.msi_data)
			ret = -EINVAL;
		else
			v->users++;
		goto out_unlock;
	}
	new->base = base;
	new->irq = irqfd->irq;
	new->users = 1;
	list_add_rcu(&new->node, &g->vmmios);
	v = new;
	new = NULL;
out_unlock:
	spin_unlock_irq(&g->irqfd_lock);
	kfree(new);
	if (!ret)
		irqfd->vmmio = v;
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

	if (g->ops->irq_check) {
		ret = g->ops->irq_check(g, &irqfd->irq);
		if (ret)
			goto err_free;
	}
	if (cmd->flags & VIRTBE_IRQFD_VIRTIO_MMIO) {
		irqfd->isr_bits = cmd->isr_bits;
		ret = virtbe_vmmio_get(g, irqfd, cmd->vmmio_base);
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
	struct virtbe_vmmio *v;

	/* Not under irqfd_lock: signalling takes eventfd locks. */
	rcu_read_lock();
	list_for_each_entry_rcu(irqfd, &g->irqfds, node)
		if (irqfd->irq.type == type && irqfd->irq.irq == irq &&
		    irqfd->resamplefd)
			virtbe_eventfd_signal(irqfd->resamplefd);
	list_for_each_entry_rcu(v, &g->vmmios, node)
		if (v->irq.type == type && v->irq.irq == irq &&
		    atomic_read(&v->isr))
			g->ops->irq_set(g, &v->irq, true);
	rcu_read_unlock();
}
EXPORT_SYMBOL_NS_GPL(virtbe_irq_resample, VIRTBE_NS);

/*
 * A level line follows InterruptStatus: it goes down once every cause is
 * acknowledged (or the device is reset).  Hypervisors that tell us of the
 * guest's EOI would also lower it then; Xen does not, so this is what
 * lowers it there.  A cause set meanwhile raises the line again: its
 * irqfd set the bit before raising, and we look at the bits after lowering.
 */
static void virtbe_vmmio_lower(struct virtbe_guest *g, struct virtbe_vmmio *v)
{
	if (v->irq.type != VIRTBE_IRQ_LEVEL)
		return;
	g->ops->irq_set(g, &v->irq, false);
	smp_mb();	/* the line is down before we look at the causes */
	if (atomic_read(&v->isr))
		g->ops->irq_set(g, &v->irq, true);
}

/**
 * virtbe_vmmio_access() - answer InterruptStatus and InterruptACK
 * @g: the guest
 * @io: a guest access; for a read of InterruptStatus, @io->data is set
 *
 * A write of 0 to the Status register (a device reset) clears the kept
 * InterruptStatus and is not consumed.  A level line goes down when no
 * cause is left.
 *
 * Return: true if the access was to a virtio-mmio device whose
 * InterruptStatus the kernel keeps and has been handled.  Any context.
 */
bool virtbe_vmmio_access(struct virtbe_guest *g, struct virtbe_io *io)
{
	struct virtbe_vmmio *v;
	bool done = false;

	if (io->len != 4 || io->pio)
		return false;
	rcu_read_lock();
	list_for_each_entry_rcu(v, &g->vmmios, node) {
		if (!io->write && io->addr == v->base + VIRTBE_VMMIO_ISR) {
			io->data = (u32)atomic_read(&v->isr);
			done = true;
		} else if (io->write &&
			   io->addr == v->base + VIRTBE_VMMIO_ACK) {
			u32 old = atomic_fetch_andnot((u32)io->data, &v->isr);

			if (old && !(old & ~(u32)io->data))
				virtbe_vmmio_lower(g, v);
			done = true;
		} else if (io->write && !io->data &&
			   io->addr == v->base + VIRTBE_VMMIO_STATUS) {
			/*
			 * A device reset clears InterruptStatus; the write
			 * itself still goes to userspace, which resets the
			 * rest of the device.
			 */
			if (atomic_xchg(&v->isr, 0))
				virtbe_vmmio_lower(g, v);
			break;
		}
		if (done)
			break;
	}
	rcu_read_unlock();
	return done;
}

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
