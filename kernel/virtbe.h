/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtbe core: private interfaces of the core's files.  No backend
 * includes this: backends see only <virtbe_backend.h>.
 *
 * Copyright (C) 2026 The virtbe authors
 */
#ifndef _VIRTBE_H
#define _VIRTBE_H

/**
 * DOC: Locking
 *
 * Lock order, outermost first; a lock is never taken while one listed
 * after it is held:
 *
 * 1. virtbe_guest.lock (mutex): one attachment's configuration (ranges,
 *    memory windows, ioeventfds, irqfd assignment) and teardown.
 * 2. virtbe_hguest.lock (mutex): the ranges claimed by all attachments of
 *    one hypervisor guest; &virtbe_hyp_ops.claim_range and
 *    &virtbe_hyp_ops.release_range run under it and take only the
 *    backend's own locks.
 * 3. virtbe_mem.sem (rwsem): one memory window; faults read, revocation
 *    writes (under virtbe_guest.lock).
 * 4. An eventfd's wait queue lock (spinlock, taken by the eventfd core):
 *    irqfd wakeup callbacks run under it and call &virtbe_hyp_ops.irq_set.
 * 5. virtbe_guest.irqfd_lock (spinlock, irqs off): the irqfd and
 *    virtio-mmio device lists; never held while signalling an eventfd
 *    (resampling walks the lists under RCU instead).
 * 6. virtbe_guest.req_lock (spinlock, irqs off): request slots, the queue
 *    and the lifecycle state; innermost: &virtbe_hyp_ops.complete and
 *    wake-ups run after dropping it.
 *
 * virtbe_hguests_lock and virtbe_hyp_lock (mutexes, the global lists of
 * hypervisor guests and of backends) are taken with no other lock held.
 * Lookups in the request path (ioeventfds, virtio-mmio devices, irqfds for
 * resampling) run under RCU.
 */

#include <linux/atomic.h>
#include <linux/bits.h>
#include <linux/eventfd.h>
#include <linux/hashtable.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/timer.h>
#include <linux/types.h>
#include <linux/version.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <uapi/linux/virtbe.h>
#include <virtbe_backend.h>

#define VIRTBE_MAX_RANGES	64
#define VIRTBE_MAX_IOEVENTFDS	8192
#define VIRTBE_MAX_IRQFDS	1024
#define VIRTBE_MAX_MEM_PAGES	BIT(24)		/* 64 GiB of 4 KiB pages */
#define VIRTBE_DEFAULT_TIMEOUT_MS 1000
#define VIRTBE_MAX_TIMEOUT_MS	60000
#define VIRTBE_IOEV_HASH_BITS	10
#define VIRTBE_MAX_IO_HANDLERS	4

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
 * not overlap, whichever attachment made them.
 */
struct virtbe_hguest {
	struct list_head node;
	const struct virtbe_hyp_ops *ops;
	u64 guest_id;
	unsigned int users;
	struct mutex lock;		/* @ranges */
	struct list_head ranges;
};

/**
 * enum virtbe_guest_state - the lifecycle of an attachment
 * @VIRTBE_GUEST_ATTACHING: &virtbe_hyp_ops.attach runs, or the core sets
 *	the attachment up: the hypervisor may already call in, requests are
 *	refused (-ENODEV)
 * @VIRTBE_GUEST_LIVE: serving requests
 * @VIRTBE_GUEST_DEAD: the guest died (virtbe_guest_gone()) or its fd is
 *	closing: requests were completed, memory windows revoked, no new
 *	object may be made (-ENODEV); readers see end of file
 * @VIRTBE_GUEST_DETACHED: &virtbe_hyp_ops.detach was called
 *
 * Transitions: ATTACHING -> LIVE when attach succeeded; ATTACHING -> DEAD
 * when the guest died during attach (which then fails with ENOENT);
 * LIVE -> DEAD; ATTACHING or DEAD -> DETACHED.  Written with both
 * virtbe_guest.lock and virtbe_guest.req_lock held (LIVE with release
 * semantics, for the request path's lockless check); read under either.
 */
enum virtbe_guest_state {
	VIRTBE_GUEST_ATTACHING,
	VIRTBE_GUEST_LIVE,
	VIRTBE_GUEST_DEAD,
	VIRTBE_GUEST_DETACHED,
};

/**
 * struct virtbe_io_handler - an in-kernel handler of guest accesses
 * @name: for debugging
 * @access: handle @io if it is for this handler: returns VIRTBE_IO_DONE
 *	(consumed, e.g. by an ioeventfd), VIRTBE_IO_KERNEL (answered, a
 *	read's value in @io->data) or 0 (not this handler's).  Any context,
 *	including hard interrupt context: must not sleep.
 *
 * The request path offers every access to the guest's handlers in the
 * order they were added (virtbe_io_handler_add()) before queuing it to
 * userspace.
 */
struct virtbe_io_handler {
	const char *name;
	int (*access)(struct virtbe_guest *g, struct virtbe_io *io);
};

enum virtbe_ioreq_state {
	VIRTBE_IOREQ_IDLE,
	VIRTBE_IOREQ_QUEUED,	/* waiting in the channel, not read yet */
	VIRTBE_IOREQ_INFLIGHT,	/* read by userspace, not completed yet */
};

/**
 * struct virtbe_ioreq - the request slot of one vCPU
 * @node: entry in virtbe_guest.req_queue while QUEUED
 * @guest: owner
 * @timer: completes the request when the guest's timeout expires
 * @id: the id handed to userspace; 0 when idle
 * @state: enum virtbe_ioreq_state
 * @io: the access
 */
struct virtbe_ioreq {
	struct list_head node;
	struct virtbe_guest *guest;
	struct timer_list timer;
	u64 id;
	enum virtbe_ioreq_state state;
	struct virtbe_io io;
};

/**
 * struct virtbe_guest - one attachment to a guest, owned by a guest fd
 * @ref: held by the guest fd and by each memory fd
 * @ops: the hypervisor backend
 * @hyp_data: the backend's per-guest data
 * @guest_id: the hypervisor's id of the guest
 * @hg: the hypervisor guest, shared with the other attachments of the same
 *	guest: the claimed ranges of all of them
 * @nr_vcpus: number of vCPUs (&virtbe_attach_info.nr_vcpus)
 * @mem_pfnmap: the guest's memory fds are mapped through
 *	&virtbe_hyp_ops.mem_fault (&virtbe_attach_info.mem_pfnmap)
 * @lock: serialises configuration (ranges, memory, ioeventfds, irqfds) and
 *	teardown
 * @state: enum virtbe_guest_state, written under @lock and @req_lock
 * @timeout: request timeout in jiffies
 * @io_handlers: in-kernel access handlers, in the order they are offered
 *	accesses; set while ATTACHING, read-only once LIVE
 * @nr_io_handlers: entries in @io_handlers
 * @req_lock: protects @req_queue, @reqs[].state/id, @seq
 * @req_queue: QUEUED requests in arrival order
 * @reqs: one request slot per vCPU
 * @seq: sequence number of the last request id
 * @wq: readers and pollers of the request channel
 * @ranges: ranges claimed by this attachment (struct virtbe_range_ent)
 * @nr_ranges: entries in @ranges
 * @mems: memory windows (struct virtbe_mem)
 * @ioevs: all ioeventfds (struct virtbe_ioeventfd_ent), under @lock
 * @nr_ioevs: entries in @ioevs
 * @ioev_hash: the same ioeventfds hashed for lookup under RCU
 * @irqfd_lock: protects @irqfds and @vmmios (taken in wakeup callbacks)
 * @irqfds: assigned irqfds
 * @nr_irqfds: entries in @irqfds
 * @vmmios: virtio-mmio devices whose InterruptStatus the kernel keeps
 *	(struct virtbe_vmmio, an RCU list written under @irqfd_lock)
 * @stat_requests: see struct virtbe_stats
 * @stat_completions: see struct virtbe_stats
 * @stat_timeouts: see struct virtbe_stats
 * @stat_aborted: see struct virtbe_stats
 * @stat_kicks: see struct virtbe_stats
 * @stat_kicks_replayed: see struct virtbe_stats
 * @stat_irqs: see struct virtbe_stats
 * @stat_rejected: see struct virtbe_stats (out_rejected)
 */
struct virtbe_guest {
	struct kref ref;
	const struct virtbe_hyp_ops *ops;
	void *hyp_data;
	u64 guest_id;
	struct virtbe_hguest *hg;
	u32 nr_vcpus;
	bool mem_pfnmap;

	struct mutex lock;		/* configuration and teardown */
	enum virtbe_guest_state state;
	unsigned long timeout;
	const struct virtbe_io_handler *io_handlers[VIRTBE_MAX_IO_HANDLERS];
	unsigned int nr_io_handlers;

	spinlock_t req_lock;		/* request slots, queue and state */
	struct list_head req_queue;
	struct virtbe_ioreq *reqs;
	u64 seq;
	wait_queue_head_t wq;

	struct list_head ranges;
	unsigned int nr_ranges;
	struct list_head mems;

	struct list_head ioevs;
	unsigned int nr_ioevs;
	DECLARE_HASHTABLE(ioev_hash, VIRTBE_IOEV_HASH_BITS);

	spinlock_t irqfd_lock;		/* irqfd list, in wakeups */
	struct list_head irqfds;
	unsigned int nr_irqfds;
	struct list_head vmmios;

	atomic64_t stat_requests;
	atomic64_t stat_completions;
	atomic64_t stat_timeouts;
	atomic64_t stat_aborted;
	atomic64_t stat_kicks;
	atomic64_t stat_kicks_replayed;
	atomic64_t stat_irqs;
	atomic64_t stat_rejected;
};

/* Backend registry and GET_INFO (hyp.c) */
const struct virtbe_hyp_ops *virtbe_hyp_get(u32 id);
void virtbe_hyp_put(const struct virtbe_hyp_ops *ops);
u64 virtbe_hyp_loaded_mask(void);
long virtbe_get_info(struct virtbe_ucmd *ucmd);

/* Guests (guest.c) */
long virtbe_guest_attach(struct virtbe_ucmd *ucmd);
void virtbe_guest_set_state(struct virtbe_guest *g,
			    enum virtbe_guest_state state);

/* Claimed ranges (range.c) */
long virtbe_claim_range(struct virtbe_ucmd *ucmd);
bool virtbe_range_claimed(struct virtbe_guest *g, bool pio, u64 addr, u64 len);
void virtbe_ranges_release_all(struct virtbe_guest *g);

/* Memory windows (mem.c) */
int virtbe_mem_init(void);
void virtbe_mem_exit(void);
long virtbe_mem_map(struct virtbe_ucmd *ucmd);
void virtbe_mem_revoke_all(struct virtbe_guest *g);

/* Requests (ioreq.c) */
int virtbe_ioreq_init(struct virtbe_guest *g);
void virtbe_ioreq_free(struct virtbe_guest *g);
void virtbe_ioreq_abort_all(struct virtbe_guest *g);
int virtbe_io_handler_add(struct virtbe_guest *g,
			  const struct virtbe_io_handler *h);
unsigned int virtbe_ioreq_replay(struct virtbe_guest *g,
				 bool (*match)(const struct virtbe_io *io,
					       const void *arg),
				 const void *arg);
ssize_t virtbe_ioreq_read(struct virtbe_guest *g, char __user *buf,
			  size_t count, bool nonblock);
ssize_t virtbe_ioreq_write(struct virtbe_guest *g, const char __user *buf,
			   size_t count);

/* ioeventfd (ioeventfd.c) */
int virtbe_ioeventfd_init(struct virtbe_guest *g);
long virtbe_ioeventfd(struct virtbe_ucmd *ucmd);
void virtbe_ioeventfd_release_all(struct virtbe_guest *g);

/* irqfd (irqfd.c) */
int virtbe_irqfd_init(void);
void virtbe_irqfd_exit(void);
long virtbe_irqfd(struct virtbe_ucmd *ucmd);
void virtbe_irqfd_release_all(struct virtbe_guest *g);

/* The virtio-mmio registers the kernel keeps (vmmio.c) */
struct virtbe_vmmio;
int virtbe_vmmio_init(struct virtbe_guest *g);
int virtbe_vmmio_check(struct virtbe_guest *g, u64 base, u32 isr_bits);
int virtbe_vmmio_get(struct virtbe_guest *g, u64 base,
		     const struct virtbe_irq *irq, struct virtbe_vmmio **vp);
void virtbe_vmmio_put(struct virtbe_guest *g, struct virtbe_vmmio *v);
void virtbe_vmmio_raise(struct virtbe_vmmio *v, u32 isr_bits);
bool virtbe_vmmio_pending(struct virtbe_vmmio *v);
void virtbe_vmmio_raised(struct virtbe_vmmio *v);
void virtbe_vmmio_resample(struct virtbe_guest *g, u32 type, u32 irq);

/* vm_flags became read-only in 6.3. */
static inline void virtbe_vma_set_flags(struct vm_area_struct *vma,
					unsigned long set, unsigned long clear)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	vm_flags_mod(vma, set, clear);
#else
	vma->vm_flags = (vma->vm_flags | set) & ~clear;
#endif
}

#endif /* _VIRTBE_H */
