/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtbe core: private interfaces shared by the core and hypervisor backends.
 *
 * Copyright (C) 2026 The virtbe authors
 */
#ifndef _VIRTBE_H
#define _VIRTBE_H

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

/* vCPU index bits in a request id; the rest is a sequence number. */
#define VIRTBE_ID_VCPU_BITS	12
#define VIRTBE_MAX_VCPUS	BIT(VIRTBE_ID_VCPU_BITS)
#define VIRTBE_MAX_RANGES	64
#define VIRTBE_MAX_IOEVENTFDS	8192
#define VIRTBE_MAX_IRQFDS	1024
#define VIRTBE_MAX_MEM_PAGES	BIT(24)		/* 64 GiB of 4 KiB pages */
#define VIRTBE_DEFAULT_TIMEOUT_MS 1000
#define VIRTBE_MAX_TIMEOUT_MS	60000
#define VIRTBE_IOEV_HASH_BITS	10

struct virtbe_guest;
struct virtbe_hguest;

/**
 * struct virtbe_io - one trapped guest access, as a hypervisor reports it
 * @vcpu: the vCPU that made the access, below virtbe_guest.nr_vcpus
 * @len: 1, 2, 4 or 8
 * @write: true for a write
 * @pio: true for port I/O
 * @addr: guest address
 * @data: the value written (for a write)
 */
struct virtbe_io {
	u32 vcpu;
	u8 len;
	bool write;
	bool pio;
	u64 addr;
	u64 data;
};

/**
 * struct virtbe_irq - an interrupt as the core hands it to a backend
 * @type: VIRTBE_IRQ_*
 * @irq: line or event channel port
 * @msi_addr: MSI address (VIRTBE_IRQ_MSI)
 * @msi_data: MSI data (VIRTBE_IRQ_MSI)
 */
struct virtbe_irq {
	u32 type;
	u32 irq;
	u64 msi_addr;
	u32 msi_data;
};

/**
 * struct virtbe_vmmio - InterruptStatus of a virtio-mmio device, kept by
 *	the kernel for irqfds with VIRTBE_IRQFD_VIRTIO_MMIO
 * @node: entry in virtbe_guest.vmmios (RCU list, written under irqfd_lock)
 * @rcu: deferred free
 * @base: the device's register base
 * @isr: InterruptStatus: causes signalled and not acknowledged
 * @irq: the device's interrupt
 * @users: irqfds naming the device, under irqfd_lock
 */
struct virtbe_vmmio {
	struct list_head node;
	struct rcu_head rcu;
	u64 base;
	atomic_t isr;
	struct virtbe_irq irq;
	unsigned int users;
};

/* virtio-mmio register offsets the kernel serves. */
#define VIRTBE_VMMIO_ISR	0x60
#define VIRTBE_VMMIO_ACK	0x64
#define VIRTBE_VMMIO_STATUS	0x70
#define VIRTBE_VMMIO_SPAN	0x100

/**
 * struct virtbe_hyp_ops - a hypervisor backend
 * @owner: the module providing the backend; pinned while a guest uses it
 * @name: short name, e.g. "xen"
 * @id: VIRTBE_HYP_*
 * @features: VIRTBE_HYP_F_* this backend supports
 *
 * @attach: bind @g, one attachment (guest fd), to the hypervisor's guest
 *	@guest_id.  A guest may have any number of attachments at once, each
 *	its own server (Xen: its own IOREQ server) with its own ranges: the
 *	backend keeps nothing per guest that two attachments would share or
 *	free twice, and routes an access to the attachment whose
 *	@claim_range covered it (the core keeps claims of one guest's
 *	attachments from overlapping).  Sets @g->nr_vcpus and may set
 *	@g->hyp_data and (with @mem_fault) @g->mem_pfnmap.  Returns 0,
 *	-ENOENT (no such guest), -ENOSPC (the hypervisor has no room for
 *	another attachment of the guest) or another -errno.  Process context.
 * @detach: undo @attach.  After it returns the backend makes no more calls
 *	into the core for @g.  Every request was completed before.  Called
 *	once, in process context, also when the guest died.
 * @mem_map: (optional: without it VIRTBE_MEM_MAP fails with EOPNOTSUPP)
 *	fill @pages with referenced pages for @nr_pages guest frames
 *	from @gpa.  Returns 0, -ENXIO (not guest RAM), -EIO (the hypervisor
 *	failed) or -ENOMEM.  On failure no page is left referenced.  Process
 *	context, may sleep.
 * @mem_unmap: (optional) release pages filled by @mem_map.  Process
 *	context.
 * @mem_fault: (optional) for guests whose frames cannot be inserted into
 *	a user mapping as ordinary pages (Xen PV: only the hypervisor may
 *	write a page table entry naming another domain's frame).  Used for
 *	the guests whose @attach set @g->mem_pfnmap: their memory fds are
 *	mapped VM_IO | VM_PFNMAP and a fault calls it to map @nr_pages guest
 *	frames from @gpa at @addr of @vma (all inside one window filled by
 *	@mem_map).  Returns 0 or -errno.  Process context, mmap lock held
 *	for reading.
 * @claim_range: (optional: without it VIRTBE_CLAIM_RANGE fails with
 *	EOPNOTSUPP) route guest accesses to [@addr, @addr + @len) to @g.
 *	The core has checked arguments and overlaps with the ranges of every
 *	attachment of the guest, and holds the lock that keeps them so.
 *	Process context.
 * @release_range: (optional) undo @claim_range.  Process context.
 * @complete: finish the access of @vcpu that virtbe_ioreq_dispatch()
 *	queued: @data is the value read (ignored for writes), @aborted true
 *	when the kernel completed it (timeout or teardown).  May be called in
 *	any context, including hard interrupt context: must not sleep.
 * @irq_check: (optional) validate an interrupt at irqfd assignment
 *	(e.g. the line exists); returns 0 or -EINVAL.  Process context.
 * @irq_set: raise @irq: a pulse for edge, event channel and MSI kinds;
 *	for a level line, set it to @level.  The hypervisor lowers a level
 *	line when the guest EOIs, if it can tell, then calls
 *	virtbe_irq_resample(); the core lowers it (@level false) only for a
 *	virtio-mmio device whose InterruptStatus it keeps, once no cause is
 *	left.  Mandatory when @features offers an interrupt kind.  Called
 *	from the eventfd wakeup callback with the eventfd's lock held and
 *	interrupts possibly disabled, from virtbe_irq_resample() under RCU,
 *	and from virtbe_ioreq_dispatch() (in the backend's context): must
 *	not sleep, and must not signal an eventfd unless virtbe_can_signal()
 *	says so (defer otherwise).  Must cope with a guest that already
 *	died.
 */
struct virtbe_hyp_ops {
	struct module *owner;
	const char *name;
	u32 id;
	u64 features;

	/* Guest */
	int (*attach)(struct virtbe_guest *g, u64 guest_id);
	void (*detach)(struct virtbe_guest *g);

	/* Memory */
	int (*mem_map)(struct virtbe_guest *g, u64 gpa, unsigned long nr_pages,
		       struct page **pages);
	void (*mem_unmap)(struct virtbe_guest *g, unsigned long nr_pages,
			  struct page **pages);
	int (*mem_fault)(struct virtbe_guest *g, struct vm_area_struct *vma,
			 unsigned long addr, u64 gpa, unsigned long nr_pages);

	/* Ranges and requests */
	int (*claim_range)(struct virtbe_guest *g, bool pio, u64 addr, u64 len);
	void (*release_range)(struct virtbe_guest *g, bool pio, u64 addr,
			      u64 len);
	void (*complete)(struct virtbe_guest *g, u32 vcpu, u64 data,
			 bool aborted);

	/* Interrupts */
	int (*irq_check)(struct virtbe_guest *g, const struct virtbe_irq *irq);
	void (*irq_set)(struct virtbe_guest *g, const struct virtbe_irq *irq,
			bool level);
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
 * @nr_vcpus: number of vCPUs, set by &virtbe_hyp_ops.attach
 * @mem_pfnmap: set by &virtbe_hyp_ops.attach: the guest's memory fds are
 *	mapped through &virtbe_hyp_ops.mem_fault
 * @lock: serialises configuration (ranges, memory, ioeventfds, irqfds) and
 *	teardown
 * @dead: the guest is gone or being torn down: no new objects
 * @ready: set (release) once the core can take requests; the hypervisor
 *	may call in before that, e.g. as soon as &virtbe_hyp_ops.attach
 *	published the guest
 * @detached: &virtbe_hyp_ops.detach was called
 * @timeout: request timeout in jiffies
 * @req_lock: protects @req_queue, @reqs[].state/id, @seq, @gone
 * @gone: set with @req_lock: no new requests are queued
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
 * @stat_requests: see struct virtbe_stats
 * @stat_completions: see struct virtbe_stats
 * @stat_timeouts: see struct virtbe_stats
 * @stat_aborted: see struct virtbe_stats
 * @stat_kicks: see struct virtbe_stats
 * @stat_kicks_replayed: see struct virtbe_stats
 * @stat_irqs: see struct virtbe_stats
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
	bool dead;
	bool ready;
	bool detached;
	unsigned long timeout;

	spinlock_t req_lock;		/* request slots and queue */
	bool gone;
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
};

/**
 * struct virtbe_ucmd - an ioctl call being executed
 * @obj: the object the ioctl was issued on (control device or guest)
 * @cmd: the struct copied from userspace, sized for the kernel
 * @user_size: the caller's size field
 * @new_file: a file the handler created (see virtbe_ucmd_return_file())
 */
struct virtbe_ucmd {
	void *obj;
	void *cmd;
	u32 user_size;
	struct file *new_file;
};

/**
 * virtbe_ucmd_return_file() - hand a new file back from an ioctl handler
 * @ucmd: the call
 * @file: the new file, fully set up: its release undoes everything
 *
 * The dispatcher gives the file an fd (O_CLOEXEC) and installs it only
 * once the output struct reached userspace; on any failure it releases
 * the file instead, so a failed call leaves nothing behind.
 *
 * Return: 0, for the handler to return; the ioctl returns the fd.
 */
static inline long virtbe_ucmd_return_file(struct virtbe_ucmd *ucmd,
					   struct file *file)
{
	ucmd->new_file = file;
	return 0;
}

/**
 * struct virtbe_ioctl_op - one entry of an ioctl table
 * @size: sizeof() the kernel's struct
 * @min_size: offsetofend() of the last field of the first version
 * @ioctl_num: the ioctl number
 * @out: the struct has output fields and is copied back
 * @execute: the handler; returns a non-negative value (e.g. an fd) or -errno
 */
struct virtbe_ioctl_op {
	unsigned int size;
	unsigned int min_size;
	unsigned int ioctl_num;
	bool out;
	long (*execute)(struct virtbe_ucmd *ucmd);
};

#define __VIRTBE_IOCTL_OP(_ioctl, _fn, _struct, _last, _out)		\
	[_IOC_NR(_ioctl) & 0x3f] = {					\
		.size = sizeof(_struct) +				\
			BUILD_BUG_ON_ZERO(sizeof(_struct) <		\
					  2 * sizeof(u32)),		\
		.min_size = offsetofend(_struct, _last),		\
		.ioctl_num = _ioctl,					\
		.out = _out,						\
		.execute = _fn,						\
	}

/* An ioctl whose struct is input only. */
#define VIRTBE_IOCTL_OP(_ioctl, _fn, _struct, _last)			\
	__VIRTBE_IOCTL_OP(_ioctl, _fn, _struct, _last, false)
/* An ioctl with out_* fields: the struct is copied back. */
#define VIRTBE_IOCTL_OP_OUT(_ioctl, _fn, _struct, _last)		\
	__VIRTBE_IOCTL_OP(_ioctl, _fn, _struct, _last, true)

/* Largest ioctl struct handled by virtbe_ioctl_dispatch(). */
#define VIRTBE_UCMD_MAX	64

long virtbe_ioctl_dispatch(const struct virtbe_ioctl_op *ops,
			   unsigned int nr_ops, void *obj, unsigned int cmd,
			   unsigned long arg);

/* Backend registry (main.c) */
int virtbe_hyp_register(const struct virtbe_hyp_ops *ops);
void virtbe_hyp_unregister(const struct virtbe_hyp_ops *ops);
const struct virtbe_hyp_ops *virtbe_hyp_get(u32 id);
void virtbe_hyp_put(const struct virtbe_hyp_ops *ops);
u64 virtbe_hyp_loaded_mask(void);

/* Guests (guest.c) */
long virtbe_guest_attach(struct virtbe_ucmd *ucmd);
void virtbe_guest_get(struct virtbe_guest *g);
void virtbe_guest_put(struct virtbe_guest *g);
void virtbe_guest_gone(struct virtbe_guest *g);
long virtbe_get_info(struct virtbe_ucmd *ucmd);
bool virtbe_range_claimed(struct virtbe_guest *g, bool pio, u64 addr, u64 len);

/* Memory windows (mem.c) */
int virtbe_mem_init(void);
void virtbe_mem_exit(void);
long virtbe_mem_map(struct virtbe_ucmd *ucmd);
void virtbe_mem_revoke_all(struct virtbe_guest *g);

/* Requests (ioreq.c) */
int virtbe_ioreq_init(struct virtbe_guest *g);
void virtbe_ioreq_free(struct virtbe_guest *g);
void virtbe_ioreq_abort_all(struct virtbe_guest *g);
unsigned int virtbe_ioreq_replay(struct virtbe_guest *g,
				 bool (*match)(const struct virtbe_io *io,
					       const void *arg),
				 const void *arg);
ssize_t virtbe_ioreq_read(struct virtbe_guest *g, char __user *buf,
			  size_t count, bool nonblock);
ssize_t virtbe_ioreq_write(struct virtbe_guest *g, const char __user *buf,
			   size_t count);

/* Return values of virtbe_ioreq_dispatch() */
#define VIRTBE_IO_QUEUED	0	/* &virtbe_hyp_ops.complete will follow */
#define VIRTBE_IO_DONE		1	/* consumed by an ioeventfd */
#define VIRTBE_IO_KERNEL	2	/* answered by the kernel, io->data set */
int virtbe_ioreq_dispatch(struct virtbe_guest *g, struct virtbe_io *io);
int virtbe_ioreq_posted(struct virtbe_guest *g, struct virtbe_io *io);

/* ioeventfd (ioeventfd.c) */
long virtbe_ioeventfd(struct virtbe_ucmd *ucmd);
bool virtbe_ioeventfd_signal(struct virtbe_guest *g,
			     const struct virtbe_io *io);
void virtbe_ioeventfd_release_all(struct virtbe_guest *g);

/* irqfd (irqfd.c) */
int virtbe_irqfd_init(void);
void virtbe_irqfd_exit(void);
long virtbe_irqfd(struct virtbe_ucmd *ucmd);
void virtbe_irqfd_release_all(struct virtbe_guest *g);
void virtbe_irq_resample(struct virtbe_guest *g, u32 type, u32 irq);
bool virtbe_vmmio_access(struct virtbe_guest *g, struct virtbe_io *io);
bool virtbe_can_signal(struct eventfd_ctx *ctx);

/* eventfd_signal() lost its count argument in 6.8. */
static inline void virtbe_eventfd_signal(struct eventfd_ctx *ctx)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
	eventfd_signal(ctx);
#else
	eventfd_signal(ctx, 1);
#endif
}

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
