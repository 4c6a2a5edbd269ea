// SPDX-License-Identifier: GPL-2.0
/*
 * virtbe core: the request channel.
 *
 * Each vCPU has one request slot (a trapped vCPU makes one access at a
 * time).  A slot goes IDLE -> QUEUED (dispatched by the hypervisor) ->
 * INFLIGHT (read by userspace) -> IDLE (completed by userspace, by the
 * timeout or at teardown).  All transitions happen under req_lock; the
 * hypervisor's complete() callback is always called after dropping it.
 *
 * Copyright (C) 2026 The virtbe authors
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "virtbe.h"

#define VIRTBE_ID_VCPU_MASK	(VIRTBE_MAX_VCPUS - 1)
#define VIRTBE_READ_BATCH	16

static u64 virtbe_io_mask(u8 len)
{
	return len >= 8 ? ~0ULL : (1ULL << (len * 8)) - 1;
}

/* Move a slot back to IDLE.  Returns the vCPU to complete. */
static void virtbe_ioreq_finish(struct virtbe_ioreq *r)
{
	lockdep_assert_held(&r->guest->req_lock);
	if (r->state == VIRTBE_IOREQ_QUEUED)
		list_del_init(&r->node);
	r->state = VIRTBE_IOREQ_IDLE;
	r->id = 0;
}

static void virtbe_ioreq_timeout(struct timer_list *t)
{
	struct virtbe_ioreq *r = from_timer(r, t, timer);
	struct virtbe_guest *g = r->guest;
	unsigned long flags;
	bool expired = false;

	spin_lock_irqsave(&g->req_lock, flags);
	if (r->state != VIRTBE_IOREQ_IDLE && g->state == VIRTBE_GUEST_LIVE) {
		virtbe_ioreq_finish(r);
		expired = true;
	}
	spin_unlock_irqrestore(&g->req_lock, flags);

	if (expired) {
		atomic64_inc(&g->stat_timeouts);
		g->ops->complete(g, r->io.vcpu, ~0ULL, true);
	}
}

/**
 * virtbe_ioreq_init() - allocate the request slots of a guest
 * @g: the guest, with nr_vcpus set
 *
 * Return: 0 or -ENOMEM.
 */
int virtbe_ioreq_init(struct virtbe_guest *g)
{
	u32 i;

	g->reqs = kvcalloc(g->nr_vcpus, sizeof(*g->reqs), GFP_KERNEL_ACCOUNT);
	if (!g->reqs)
		return -ENOMEM;
	for (i = 0; i < g->nr_vcpus; i++) {
		INIT_LIST_HEAD(&g->reqs[i].node);
		g->reqs[i].guest = g;
		timer_setup(&g->reqs[i].timer, virtbe_ioreq_timeout, 0);
	}
	return 0;
}

/**
 * virtbe_ioreq_free() - free the request slots of a guest
 * @g: the guest; no request may be outstanding and no timer armed
 */
void virtbe_ioreq_free(struct virtbe_guest *g)
{
	/* kvfree(NULL) is fine: attach may fail before the slots exist. */
	kvfree(g->reqs);
	g->reqs = NULL;
}

/**
 * virtbe_io_handler_add() - offer a guest's accesses to an in-kernel handler
 * @g: the guest, still ATTACHING
 * @h: the handler; offered accesses after those added before it
 *
 * Return: 0, or -ENOSPC when the guest has VIRTBE_MAX_IO_HANDLERS.
 */
int virtbe_io_handler_add(struct virtbe_guest *g,
			  const struct virtbe_io_handler *h)
{
	if (WARN_ON_ONCE(g->state != VIRTBE_GUEST_ATTACHING))
		return -EBUSY;
	if (g->nr_io_handlers >= ARRAY_SIZE(g->io_handlers))
		return -ENOSPC;
	g->io_handlers[g->nr_io_handlers++] = h;
	return 0;
}

/* Offer @io to the in-kernel handlers; VIRTBE_IO_DONE/KERNEL or 0. */
static int virtbe_io_handle(struct virtbe_guest *g, struct virtbe_io *io)
{
	unsigned int i;
	int ret;

	for (i = 0; i < g->nr_io_handlers; i++) {
		ret = g->io_handlers[i]->access(g, io);
		if (ret)
			return ret;
	}
	return 0;
}

/**
 * virtbe_ioreq_abort_all() - complete everything outstanding
 * @g: the guest, no longer LIVE
 *
 * Every QUEUED or INFLIGHT request is completed with all-ones and counted
 * as aborted; readers see end of file and pollers EPOLLHUP.  Process
 * context.
 */
void virtbe_ioreq_abort_all(struct virtbe_guest *g)
{
	unsigned long flags;
	u32 i;

	/* No timer can be armed once not LIVE; wait for running ones. */
	for (i = 0; i < g->nr_vcpus; i++)
		del_timer_sync(&g->reqs[i].timer);

	for (i = 0; i < g->nr_vcpus; i++) {
		struct virtbe_ioreq *r = &g->reqs[i];
		bool abort = false;

		spin_lock_irqsave(&g->req_lock, flags);
		if (r->state != VIRTBE_IOREQ_IDLE) {
			virtbe_ioreq_finish(r);
			abort = true;
		}
		spin_unlock_irqrestore(&g->req_lock, flags);
		if (abort) {
			atomic64_inc(&g->stat_aborted);
			g->ops->complete(g, i, ~0ULL, true);
		}
	}
	wake_up_interruptible_poll(&g->wq, EPOLLHUP | EPOLLIN);
}

/**
 * virtbe_ioreq_posted() - route a guest write that no vCPU waits for
 * @g: the guest
 * @io: the write (@io->vcpu is ignored), in a range the backend claimed
 *
 * For hypervisors that batch writes without stopping the vCPU (Xen's
 * buffered ioreqs).  Such a write has nobody to complete, so it cannot go
 * to the request channel: only an in-kernel handler (an ioeventfd, a
 * register the kernel keeps such as virtio-mmio InterruptACK) can take it.
 * Any context.
 *
 * Return: VIRTBE_IO_DONE (an ioeventfd took it), VIRTBE_IO_KERNEL (a
 * kernel-kept register did), or, when the backend must drop it (the core
 * counted it in virtbe_stats.out_rejected): -ENODEV (the guest is not
 * ready), -EINVAL (not a write, bad length) or -EOPNOTSUPP (nothing in
 * the kernel serves that address).
 */
int virtbe_ioreq_posted(struct virtbe_guest *g, struct virtbe_io *io)
{
	int ret;

	/* Pairs with the release in virtbe_guest_set_state(). */
	if (smp_load_acquire(&g->state) != VIRTBE_GUEST_LIVE)
		ret = -ENODEV;
	else if (!io->write || !is_power_of_2(io->len) || io->len > 8)
		ret = -EINVAL;
	else
		ret = virtbe_io_handle(g, io) ?: -EOPNOTSUPP;
	if (ret < 0)
		atomic64_inc(&g->stat_rejected);
	return ret;
}
EXPORT_SYMBOL_NS_GPL(virtbe_ioreq_posted, VIRTBE_NS);

/**
 * virtbe_ioreq_rejected() - count an access the backend answered itself
 * @g: the guest (attachment) whose claimed range the access hit
 *
 * For an access in a range @g claimed that the backend cannot hand to
 * virtbe_ioreq_dispatch() or virtbe_ioreq_posted() because a &struct
 * virtbe_io cannot express it: Xen's string and rep accesses (a count
 * above 1, data in guest memory), a size other than 1, 2, 4 or 8, an
 * access type the core does not know.  The backend answers it itself:
 * all-ones for a read, a write is dropped.  It is counted in
 * virtbe_stats.out_rejected.  The accesses the core refuses (the
 * negative returns of virtbe_ioreq_dispatch() and virtbe_ioreq_posted())
 * are counted there by the core already: a backend does not call this for
 * them.  Any context, including hard interrupt context.
 */
void virtbe_ioreq_rejected(struct virtbe_guest *g)
{
	atomic64_inc(&g->stat_rejected);
}
EXPORT_SYMBOL_NS_GPL(virtbe_ioreq_rejected, VIRTBE_NS);

/* virtbe_ioreq_dispatch() but for the count of what it refuses */
static int virtbe_ioreq_route(struct virtbe_guest *g, struct virtbe_io *io)
{
	struct virtbe_ioreq *r;
	unsigned long flags;
	int ret;

	/* Pairs with the release in virtbe_guest_set_state(): reqs set up. */
	if (smp_load_acquire(&g->state) != VIRTBE_GUEST_LIVE)
		return -ENODEV;
	if (io->vcpu >= g->nr_vcpus || !is_power_of_2(io->len) || io->len > 8)
		return -EINVAL;
	ret = virtbe_io_handle(g, io);
	if (ret)
		return ret;

	ret = VIRTBE_IO_QUEUED;
	r = &g->reqs[io->vcpu];
	spin_lock_irqsave(&g->req_lock, flags);
	if (g->state != VIRTBE_GUEST_LIVE) {
		ret = -ENODEV;
	} else if (r->state != VIRTBE_IOREQ_IDLE) {
		ret = -EBUSY;
	} else {
		r->io = *io;
		if (io->write)
			r->io.data &= virtbe_io_mask(io->len);
		else
			r->io.data = 0;
		r->id = (++g->seq << VIRTBE_ID_VCPU_BITS) | io->vcpu;
		r->state = VIRTBE_IOREQ_QUEUED;
		/* counted before anything can read, time out or abort it */
		atomic64_inc(&g->stat_requests);
		list_add_tail(&r->node, &g->req_queue);
		mod_timer(&r->timer, jiffies + g->timeout);
	}
	spin_unlock_irqrestore(&g->req_lock, flags);

	if (ret == VIRTBE_IO_QUEUED)
		wake_up_interruptible_poll(&g->wq, EPOLLIN | EPOLLRDNORM);
	return ret;
}

/**
 * virtbe_ioreq_dispatch() - route a trapped guest access
 * @g: the guest the access belongs to
 * @io: the access, in a range the backend claimed
 *
 * The guest's in-kernel handlers (virtbe_io_handler_add()) are offered
 * the access first, in order: e.g. a write matching an ioeventfd signals
 * it and is done.  Anything else is queued to the request channel; the
 * backend's &virtbe_hyp_ops.complete callback is called exactly once when
 * it is completed (by userspace, by the timeout or at teardown).  Callable
 * from any context, including hard interrupt context.
 *
 * Return: VIRTBE_IO_DONE (an ioeventfd consumed the write),
 * VIRTBE_IO_KERNEL (the kernel answered, a read's value is in @io->data),
 * VIRTBE_IO_QUEUED, -EINVAL for a bad vCPU or length, -EBUSY if the vCPU
 * already has a request outstanding, or -ENODEV if the guest is gone; on
 * error the backend completes the access itself (all-ones for a read),
 * and the core has counted it in virtbe_stats.out_rejected.
 */
int virtbe_ioreq_dispatch(struct virtbe_guest *g, struct virtbe_io *io)
{
	int ret = virtbe_ioreq_route(g, io);

	if (ret < 0)
		atomic64_inc(&g->stat_rejected);
	return ret;
}
EXPORT_SYMBOL_NS_GPL(virtbe_ioreq_dispatch, VIRTBE_NS);

/**
 * virtbe_ioreq_replay() - hand queued writes to a new ioeventfd
 * @g: the guest
 * @match: returns true for an access the new ioeventfd consumes
 * @arg: passed to @match
 *
 * Completes every QUEUED (not yet read) write that @match accepts, so that a
 * kick which arrived before its ioeventfd was assigned is not lost.
 *
 * Return: the number of writes consumed; the caller signals its eventfd
 * that many times.
 */
unsigned int virtbe_ioreq_replay(struct virtbe_guest *g,
				 bool (*match)(const struct virtbe_io *io,
					       const void *arg),
				 const void *arg)
{
	struct virtbe_ioreq *r, *tmp;
	unsigned long flags;
	unsigned int n = 0;
	LIST_HEAD(done);

	spin_lock_irqsave(&g->req_lock, flags);
	list_for_each_entry_safe(r, tmp, &g->req_queue, node) {
		if (!r->io.write || !match(&r->io, arg))
			continue;
		virtbe_ioreq_finish(r);
		/* Reuse the node to collect the slot; it is IDLE now. */
		list_add_tail(&r->node, &done);
		n++;
	}
	spin_unlock_irqrestore(&g->req_lock, flags);

	list_for_each_entry_safe(r, tmp, &done, node) {
		list_del_init(&r->node);
		atomic64_inc(&g->stat_kicks_replayed);
		g->ops->complete(g, r->io.vcpu, 0, false);
	}
	return n;
}

static unsigned int virtbe_ioreq_take(struct virtbe_guest *g,
				      struct virtbe_request *recs,
				      unsigned int max)
{
	struct virtbe_ioreq *r, *tmp;
	unsigned int n = 0;

	lockdep_assert_held(&g->req_lock);
	list_for_each_entry_safe(r, tmp, &g->req_queue, node) {
		if (n == max)
			break;
		recs[n] = (struct virtbe_request) {
			.size = sizeof(struct virtbe_request),
			.flags = (r->io.write ? VIRTBE_REQ_WRITE : 0) |
				 (r->io.pio ? VIRTBE_REQ_PIO : 0),
			.id = r->id,
			.vcpu = r->io.vcpu,
			.len = r->io.len,
			.addr = r->io.addr,
			.data = r->io.data,
		};
		list_del_init(&r->node);
		r->state = VIRTBE_IOREQ_INFLIGHT;
		n++;
	}
	return n;
}

/* Put requests whose copy to userspace failed back at the queue's head. */
static void virtbe_ioreq_untake(struct virtbe_guest *g,
				const struct virtbe_request *recs,
				unsigned int n)
{
	unsigned long flags;

	spin_lock_irqsave(&g->req_lock, flags);
	while (n--) {
		struct virtbe_ioreq *r = &g->reqs[recs[n].vcpu];

		if (r->state == VIRTBE_IOREQ_INFLIGHT && r->id == recs[n].id) {
			r->state = VIRTBE_IOREQ_QUEUED;
			list_add(&r->node, &g->req_queue);
		}
	}
	spin_unlock_irqrestore(&g->req_lock, flags);
}

/**
 * virtbe_ioreq_read() - read() on a guest fd
 * @g: the guest
 * @buf: user buffer
 * @count: its size
 * @nonblock: O_NONBLOCK
 *
 * Return: bytes read (whole records), 0 once the guest is gone, or -EINVAL,
 * -EAGAIN, -EFAULT, -ERESTARTSYS.
 */
ssize_t virtbe_ioreq_read(struct virtbe_guest *g, char __user *buf,
			  size_t count, bool nonblock)
{
	const size_t rec = sizeof(struct virtbe_request);
	struct virtbe_request recs[VIRTBE_READ_BATCH];
	unsigned int max, n;
	unsigned long flags;
	int ret;

	if (count < rec)
		return -EINVAL;
	max = min_t(size_t, count / rec, VIRTBE_READ_BATCH);

	for (;;) {
		spin_lock_irqsave(&g->req_lock, flags);
		n = virtbe_ioreq_take(g, recs, max);
		if (n || g->state != VIRTBE_GUEST_LIVE) {
			spin_unlock_irqrestore(&g->req_lock, flags);
			break;
		}
		spin_unlock_irqrestore(&g->req_lock, flags);
		if (nonblock)
			return -EAGAIN;
		ret = wait_event_interruptible(g->wq,
					       READ_ONCE(g->state) !=
					       VIRTBE_GUEST_LIVE ||
					       !list_empty_careful(&g->req_queue));
		if (ret)
			return ret;
	}
	if (!n)
		return 0;
	if (copy_to_user(buf, recs, n * rec)) {
		virtbe_ioreq_untake(g, recs, n);
		return -EFAULT;
	}
	return n * rec;
}

static int virtbe_ioreq_complete_one(struct virtbe_guest *g,
				     const struct virtbe_completion *c)
{
	u32 vcpu = c->id & VIRTBE_ID_VCPU_MASK;
	struct virtbe_ioreq *r;
	unsigned long flags;
	u64 data;

	if (c->size != sizeof(*c) || c->__reserved)
		return -EINVAL;
	if (c->flags)
		return -EOPNOTSUPP;
	if (vcpu >= g->nr_vcpus || !c->id)
		return -ENOENT;

	r = &g->reqs[vcpu];
	spin_lock_irqsave(&g->req_lock, flags);
	if (r->state != VIRTBE_IOREQ_INFLIGHT || r->id != c->id) {
		spin_unlock_irqrestore(&g->req_lock, flags);
		return -ENOENT;
	}
	data = r->io.write ? 0 : c->data & virtbe_io_mask(r->io.len);
	virtbe_ioreq_finish(r);
	spin_unlock_irqrestore(&g->req_lock, flags);

	/* The timer checks the state under req_lock: a late run is harmless. */
	del_timer(&r->timer);
	atomic64_inc(&g->stat_completions);
	g->ops->complete(g, vcpu, data, false);
	return 0;
}

/**
 * virtbe_ioreq_write() - write() of completions on a guest fd
 * @g: the guest
 * @buf: user buffer of struct virtbe_completion records
 * @count: its size
 *
 * Return: bytes consumed, or the error of the first record if none was.
 */
ssize_t virtbe_ioreq_write(struct virtbe_guest *g, const char __user *buf,
			   size_t count)
{
	const size_t rec = sizeof(struct virtbe_completion);
	struct virtbe_completion c;
	size_t done = 0;
	int ret = 0;

	if (count < rec)
		return -EINVAL;
	if (READ_ONCE(g->state) != VIRTBE_GUEST_LIVE)
		return -ENODEV;

	while (count - done >= rec) {
		if (copy_from_user(&c, buf + done, rec)) {
			ret = -EFAULT;
			break;
		}
		ret = virtbe_ioreq_complete_one(g, &c);
		if (ret)
			break;
		done += rec;
	}
	return done ? done : ret;
}
