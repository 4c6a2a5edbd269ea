// SPDX-License-Identifier: GPL-2.0
/*
 * virtbe core: the virtio-mmio registers the kernel keeps.
 *
 * For a virtio-mmio device whose interrupt an irqfd with
 * VIRTBE_IRQFD_VIRTIO_MMIO raises, the kernel keeps InterruptStatus: the
 * irqfd sets its cause bits before raising the interrupt, and this file's
 * in-kernel access handler answers the guest's reads of InterruptStatus,
 * its writes to InterruptACK, and clears the causes when the driver resets
 * the device (a write of 0 to Status, which still goes to userspace).  A
 * level line follows InterruptStatus.
 *
 * Copyright (C) 2026 The virtbe authors
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/rculist.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "virtbe.h"

/* virtio-mmio register offsets the kernel serves. */
#define VIRTBE_VMMIO_ISR	0x60
#define VIRTBE_VMMIO_ACK	0x64
#define VIRTBE_VMMIO_STATUS	0x70
#define VIRTBE_VMMIO_SPAN	0x100

/**
 * struct virtbe_vmmio - InterruptStatus of a virtio-mmio device
 * @node: entry in virtbe_guest.vmmios (RCU list, written under irqfd_lock)
 * @rcu: deferred free
 * @guest: the guest
 * @base: the device's register base
 * @isr: InterruptStatus: causes signalled and not acknowledged
 * @irq: the device's interrupt
 * @users: irqfds naming the device, under irqfd_lock
 * @level_work: sets a level line to follow @isr where the backend could
 *	not (&virtbe_hyp_ops.irq_set returned -EWOULDBLOCK)
 */
struct virtbe_vmmio {
	struct list_head node;
	struct rcu_head rcu;
	struct virtbe_guest *guest;
	u64 base;
	atomic_t isr;
	struct virtbe_irq irq;
	unsigned int users;
	struct work_struct level_work;
};

static void virtbe_vmmio_lower(struct virtbe_vmmio *v);

/* Out of the wakeup callback a backend can always set the line. */
static void virtbe_vmmio_level_work(struct work_struct *work)
{
	virtbe_vmmio_lower(container_of(work, struct virtbe_vmmio,
					level_work));
}

/* Set @v's line to @level, or leave it to the work item. */
static void virtbe_vmmio_irq_set(struct virtbe_vmmio *v, bool level)
{
	struct virtbe_guest *g = v->guest;

	if (g->ops->irq_set(g, &v->irq, level) == -EWOULDBLOCK)
		schedule_work(&v->level_work);
}

/**
 * virtbe_vmmio_check() - can an irqfd keep a device's InterruptStatus?
 * @g: the guest, with g->lock held
 * @base: the device's register base
 * @isr_bits: the causes the irqfd sets
 *
 * Return: 0, or -EINVAL for bad bits, a misaligned base or a device
 * outside the ranges @g claimed.
 */
int virtbe_vmmio_check(struct virtbe_guest *g, u64 base, u32 isr_bits)
{
	if (!isr_bits ||
	    isr_bits & ~(VIRTBE_VIRTIO_ISR_USED | VIRTBE_VIRTIO_ISR_CONFIG))
		return -EINVAL;
	if (!IS_ALIGNED(base, VIRTBE_VMMIO_SPAN) ||
	    !virtbe_range_claimed(g, false, base, VIRTBE_VMMIO_SPAN))
		return -EINVAL;
	return 0;
}

/**
 * virtbe_vmmio_get() - find a device's InterruptStatus, or make it
 * @g: the guest, with g->lock held
 * @base: the device's register base
 * @irq: the device's interrupt: every irqfd of one device names the same
 * @vp: set to the device, with one more use taken
 *
 * Return: 0, -EINVAL (the device has another interrupt) or -ENOMEM.
 */
int virtbe_vmmio_get(struct virtbe_guest *g, u64 base,
		     const struct virtbe_irq *irq, struct virtbe_vmmio **vp)
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
		if (v->irq.type != irq->type || v->irq.irq != irq->irq ||
		    v->irq.msi_addr != irq->msi_addr ||
		    v->irq.msi_data != irq->msi_data)
			ret = -EINVAL;
		else
			v->users++;
		goto out_unlock;
	}
	new->guest = g;
	new->base = base;
	new->irq = *irq;
	new->users = 1;
	INIT_WORK(&new->level_work, virtbe_vmmio_level_work);
	list_add_rcu(&new->node, &g->vmmios);
	v = new;
	new = NULL;
out_unlock:
	spin_unlock_irq(&g->irqfd_lock);
	kfree(new);
	if (!ret)
		*vp = v;
	return ret;
}

/**
 * virtbe_vmmio_put() - drop a use taken by virtbe_vmmio_get()
 * @g: the guest
 * @v: the device; freed with its last use
 *
 * Process context.
 */
void virtbe_vmmio_put(struct virtbe_guest *g, struct virtbe_vmmio *v)
{
	unsigned long flags;
	bool last;

	spin_lock_irqsave(&g->irqfd_lock, flags);
	last = !--v->users;
	if (last)
		list_del_rcu(&v->node);
	spin_unlock_irqrestore(&g->irqfd_lock, flags);
	if (!last)
		return;
	/*
	 * Readers under RCU may still queue it: wait for them first.  Then
	 * let a queued level change happen rather than cancel it: a lowering
	 * lost here would leave the line up for the next device on it.
	 */
	synchronize_rcu();
	flush_work(&v->level_work);
	kfree(v);
}

/**
 * virtbe_vmmio_raise() - set causes in a device's InterruptStatus
 * @v: the device
 * @isr_bits: VIRTBE_VIRTIO_ISR_*
 *
 * Called before the interrupt is raised.  Any context.
 */
void virtbe_vmmio_raise(struct virtbe_vmmio *v, u32 isr_bits)
{
	atomic_or(isr_bits, &v->isr);
	/* The cause is visible before the guest can take the irq. */
	smp_mb__after_atomic();
}

/**
 * virtbe_vmmio_pending() - does a device have a cause not acknowledged?
 * @v: the device
 *
 * Return: true if its InterruptStatus is not 0.  Any context.
 */
bool virtbe_vmmio_pending(struct virtbe_vmmio *v)
{
	return atomic_read(&v->isr);
}

/**
 * virtbe_vmmio_resample() - re-raise a level line whose device has causes
 * @g: the guest
 * @type: the interrupt's type
 * @irq: the line, which the hypervisor has lowered
 *
 * Process context or RCU read side; part of virtbe_irq_resample().
 */
void virtbe_vmmio_resample(struct virtbe_guest *g, u32 type, u32 irq)
{
	struct virtbe_vmmio *v;

	rcu_read_lock();
	list_for_each_entry_rcu(v, &g->vmmios, node)
		if (v->irq.type == type && v->irq.irq == irq &&
		    atomic_read(&v->isr))
			virtbe_vmmio_irq_set(v, true);
	rcu_read_unlock();
}

/*
 * A level line follows InterruptStatus: it goes down once every cause is
 * acknowledged (or the device is reset).  Hypervisors that tell us of the
 * guest's EOI would also lower it then; Xen does not, so this is what
 * lowers it there.  A cause set meanwhile raises the line again: its
 * irqfd set the bit before raising, and we look at the bits after lowering.
 */
static void virtbe_vmmio_lower(struct virtbe_vmmio *v)
{
	if (v->irq.type != VIRTBE_IRQ_LEVEL)
		return;
	if (v->guest->ops->irq_set(v->guest, &v->irq, false) == -EWOULDBLOCK) {
		schedule_work(&v->level_work);
		return;
	}
	smp_mb();	/* the line is down before we look at the causes */
	if (atomic_read(&v->isr))
		virtbe_vmmio_irq_set(v, true);
}

/**
 * virtbe_vmmio_raised() - a device's level line was just raised: lower it
 *	again if every cause was acknowledged meanwhile
 * @v: the device
 *
 * An acknowledgment racing with the raise may have lowered the line
 * before it went up; without this the line would stay up with no cause
 * (Xen reports no EOI that would lower it).  Any context.
 */
void virtbe_vmmio_raised(struct virtbe_vmmio *v)
{
	if (v->irq.type != VIRTBE_IRQ_LEVEL)
		return;
	smp_mb();	/* the line is up before we look at the causes */
	if (!atomic_read(&v->isr))
		virtbe_vmmio_lower(v);
}

/*
 * The in-kernel access handler: answer InterruptStatus and InterruptACK of
 * the devices whose InterruptStatus the kernel keeps.  A write of 0 to the
 * Status register (a device reset) clears the kept InterruptStatus and is
 * not consumed.  Any context.
 */
static int virtbe_vmmio_access(struct virtbe_guest *g, struct virtbe_io *io)
{
	struct virtbe_vmmio *v;
	bool done = false;

	if (io->len != 4 || io->pio)
		return 0;
	rcu_read_lock();
	list_for_each_entry_rcu(v, &g->vmmios, node) {
		if (!io->write && io->addr == v->base + VIRTBE_VMMIO_ISR) {
			io->data = (u32)atomic_read(&v->isr);
			done = true;
		} else if (io->write &&
			   io->addr == v->base + VIRTBE_VMMIO_ACK) {
			u32 old = atomic_fetch_andnot((u32)io->data, &v->isr);

			if (old && !(old & ~(u32)io->data))
				virtbe_vmmio_lower(v);
			done = true;
		} else if (io->write && !io->data &&
			   io->addr == v->base + VIRTBE_VMMIO_STATUS) {
			/*
			 * A device reset clears InterruptStatus; the write
			 * itself still goes to userspace, which resets the
			 * rest of the device.
			 */
			if (atomic_xchg(&v->isr, 0))
				virtbe_vmmio_lower(v);
			break;
		}
		if (done)
			break;
	}
	rcu_read_unlock();
	return done ? VIRTBE_IO_KERNEL : 0;
}

static const struct virtbe_io_handler virtbe_vmmio_handler = {
	.name = "virtio-mmio",
	.access = virtbe_vmmio_access,
};

/**
 * virtbe_vmmio_init() - let the kernel answer a new guest's virtio-mmio
 *	InterruptStatus and InterruptACK
 * @g: the guest, still ATTACHING
 *
 * Return: 0 or -ENOSPC.
 */
int virtbe_vmmio_init(struct virtbe_guest *g)
{
	return virtbe_io_handler_add(g, &virtbe_vmmio_handler);
}
