// SPDX-License-Identifier: GPL-2.0
/*
 * virtbe_sim: a hypervisor in software.
 *
 * /dev/virtbe_sim is the frontend side: it creates guests, gives them RAM
 * (memfd regions), runs trapped vCPU accesses and receives interrupts on
 * eventfds.  The backend side registers with the virtbe core as
 * VIRTBE_HYP_SIM and obeys the same contract a real hypervisor does: only
 * claimed ranges reach the backend, each access the attachment (guest fd)
 * that claimed its address, a trapped vCPU waits for the completion,
 * unclaimed reads return all-ones, and the guest can die at any time.
 *
 * Copyright (C) 2026 The virtbe authors
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/delay.h>
#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/pagemap.h>
#include <linux/sched/signal.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/xarray.h>

#include <virtbe_backend.h>

#define SIM_MAX_VCPUS		256
#define SIM_MAX_RAM		16
#define SIM_NR_LINES		1024
#define SIM_NR_PORTS		1024
#define SIM_MAX_FAULT_MS	10000
#define SIM_WATCHDOG_MS		2000

/**
 * struct sim_ram - one RAM region of a simulated guest
 * @file: the memfd (a reference is held)
 * @gpa: guest-physical base
 * @len: length in bytes
 * @offset: offset in @file
 */
struct sim_ram {
	struct file *file;
	u64 gpa;
	u64 len;
	u64 offset;
};

/**
 * struct sim_be - one attachment of the core to a simulated guest
 * @node: entry in sim_guest.bes: an RCU list, written under its slock
 * @sg: the guest, referenced
 * @g: the core's guest (one guest fd)
 * @gone: sim_guest_destroy() reported the guest's death to @g (slock)
 */
struct sim_be {
	struct list_head node;
	struct sim_guest *sg;
	struct virtbe_guest *g;
	bool gone;
};

/**
 * struct sim_range - a range claimed by an attachment
 * @node: entry in sim_guest.ranges, under its slock
 * @be: the attachment accesses to the range go to
 * @pio: port I/O space
 * @addr: first address
 * @len: length
 */
struct sim_range {
	struct list_head node;
	struct sim_be *be;
	bool pio;
	u64 addr;
	u64 len;
};

/**
 * struct sim_irq - an interrupt line or event channel port
 * @eventfd: the frontend's eventfd, or NULL; signalled under RCU, never
 *	under the guest's spinlock (a wakeup may re-enter the simulator)
 * @level: a level line is asserted
 * @count: interrupts delivered
 */
struct sim_irq {
	struct eventfd_ctx __rcu *eventfd;
	bool level;
	u64 count;
};

/**
 * struct sim_vcpu - a simulated vCPU
 * @lock: held while the vCPU makes an access
 * @wq: the vCPU waits here for its completion
 * @busy: an access was handed to the backend and is not completed
 * @done: the completion arrived
 * @aborted: it was completed by the kernel, not the backend
 * @data: the value read
 * @delay_work: delivers a completion late (fault injection)
 */
struct sim_vcpu {
	struct mutex lock;		/* one access at a time */
	wait_queue_head_t wq;
	bool busy;
	bool done;
	bool aborted;
	u64 data;
	struct delayed_work delay_work;
};

/**
 * struct sim_guest - a simulated guest
 * @ref: held by the sim guest fd and by an attached backend
 * @id: the guest id backends attach with
 * @nr_vcpus: number of vCPUs
 * @vcpus: the vCPUs
 * @lock: protects @ram, @nr_ram, @destroyed against configuration
 * @ram: RAM regions
 * @nr_ram: entries in @ram
 * @slock: protects @bes (writers), @ranges, @lines, @ports, @destroyed for
 *	readers in atomic context
 * @destroyed: the guest is dead
 * @bes: the attachments (struct sim_be); read under RCU or @slock
 * @ranges: ranges claimed by all of @bes (struct sim_range); the core
 *	keeps them from overlapping
 * @lines: interrupt lines
 * @ports: event channel ports
 * @pending: lines (0..1023) and ports (1024..) with a deferred delivery
 * @irq_work: delivers deferred interrupts
 * @fail_map: fault: map calls left to fail
 * @drop_irq: fault: interrupts left to drop
 * @drop_event: fault: request events left to drop
 * @delay_irq_ms: fault: interrupt delay
 * @delay_completion_ms: fault: completion delay
 */
struct sim_guest {
	struct kref ref;
	u32 id;
	u32 nr_vcpus;
	struct sim_vcpu *vcpus;

	struct mutex lock;		/* RAM regions */
	struct sim_ram ram[SIM_MAX_RAM];
	unsigned int nr_ram;

	spinlock_t slock;		/* attachments, ranges, interrupts */
	bool destroyed;
	struct list_head bes;
	struct list_head ranges;
	struct sim_irq lines[SIM_NR_LINES];
	struct sim_irq ports[SIM_NR_PORTS];
	DECLARE_BITMAP(pending, SIM_NR_LINES + SIM_NR_PORTS);
	struct delayed_work irq_work;

	atomic_t fail_map;
	atomic_t drop_irq;
	atomic_t drop_event;
	unsigned int delay_irq_ms;
	unsigned int delay_completion_ms;
};

static DEFINE_XARRAY_ALLOC1(sim_guests);

static void sim_guest_free(struct kref *ref)
{
	struct sim_guest *sg = container_of(ref, struct sim_guest, ref);
	unsigned int i;

	xa_erase(&sim_guests, sg->id);
	/* Every attachment held a reference: none is left, nor its ranges. */
	WARN_ON_ONCE(!list_empty(&sg->bes) || !list_empty(&sg->ranges));
	cancel_delayed_work_sync(&sg->irq_work);
	for (i = 0; i < sg->nr_vcpus; i++)
		cancel_delayed_work_sync(&sg->vcpus[i].delay_work);
	for (i = 0; i < sg->nr_ram; i++)
		fput(sg->ram[i].file);
	for (i = 0; i < SIM_NR_LINES + SIM_NR_PORTS; i++) {
		struct sim_irq *si = i < SIM_NR_LINES ?
			&sg->lines[i] : &sg->ports[i - SIM_NR_LINES];
		struct eventfd_ctx *ctx = rcu_dereference_protected(si->eventfd,
								    true);

		if (ctx)
			eventfd_ctx_put(ctx);
	}
	kfree(sg->vcpus);
	kvfree(sg);
}

static void sim_guest_put(struct sim_guest *sg)
{
	kref_put(&sg->ref, sim_guest_free);
}

static struct sim_irq *sim_irq_get(struct sim_guest *sg, u32 type, u32 irq,
				   unsigned int *bit)
{
	switch (type) {
	case VIRTBE_IRQ_EDGE:
	case VIRTBE_IRQ_LEVEL:
		if (irq >= SIM_NR_LINES)
			return NULL;
		*bit = irq;
		return &sg->lines[irq];
	case VIRTBE_IRQ_EVTCHN:
		if (irq >= SIM_NR_PORTS)
			return NULL;
		*bit = SIM_NR_LINES + irq;
		return &sg->ports[irq];
	default:
		return NULL;
	}
}

/*
 * Count an interrupt and return the frontend eventfd to signal now, or NULL
 * when there is none or delivery is delayed to irq_work (fault injection).
 * The caller signals it after dropping slock, inside the RCU read section
 * it held slock in.
 */
static struct eventfd_ctx *sim_irq_deliver(struct sim_guest *sg,
					   struct sim_irq *si,
					   unsigned int bit)
{
	struct eventfd_ctx *ctx;

	lockdep_assert_held(&sg->slock);
	si->count++;
	ctx = rcu_dereference_protected(si->eventfd,
					lockdep_is_held(&sg->slock));
	if (!ctx)
		return NULL;
	if (!sg->delay_irq_ms)
		return ctx;
	set_bit(bit, sg->pending);
	/* A pending delivery keeps its deadline: later ones join it. */
	queue_delayed_work(system_highpri_wq, &sg->irq_work,
			   msecs_to_jiffies(sg->delay_irq_ms));
	return NULL;
}

static void sim_irq_work(struct work_struct *work)
{
	struct sim_guest *sg = container_of(to_delayed_work(work),
					    struct sim_guest, irq_work);
	unsigned int bit;

	for_each_set_bit(bit, sg->pending, SIM_NR_LINES + SIM_NR_PORTS) {
		struct sim_irq *si = bit < SIM_NR_LINES ?
			&sg->lines[bit] : &sg->ports[bit - SIM_NR_LINES];
		struct eventfd_ctx *ctx;

		if (!test_and_clear_bit(bit, sg->pending))
			continue;
		rcu_read_lock();
		ctx = rcu_dereference(si->eventfd);
		if (ctx)
			virtbe_eventfd_signal(ctx);
		rcu_read_unlock();
	}
}

/* ---- The hypervisor side: struct virtbe_hyp_ops ---- */

static struct sim_guest *sim_sg(struct virtbe_guest *g)
{
	struct sim_be *be = virtbe_guest_hyp_data(g);

	return be->sg;
}

/* Any number of attachments: each one a struct sim_be. */
static int sim_attach(struct virtbe_guest *g, u64 guest_id,
		      struct virtbe_attach_info *info)
{
	struct sim_guest *sg;
	struct sim_be *be;
	unsigned long flags;
	int ret = 0;

	if (guest_id > U32_MAX)
		return -ENOENT;
	be = kzalloc(sizeof(*be), GFP_KERNEL_ACCOUNT);
	if (!be)
		return -ENOMEM;
	xa_lock(&sim_guests);
	sg = xa_load(&sim_guests, guest_id);
	if (!sg || !kref_get_unless_zero(&sg->ref))
		sg = NULL;
	xa_unlock(&sim_guests);
	if (!sg) {
		kfree(be);
		return -ENOENT;
	}
	be->sg = sg;
	be->g = g;

	spin_lock_irqsave(&sg->slock, flags);
	if (sg->destroyed)
		ret = -ENOENT;
	else
		list_add_tail_rcu(&be->node, &sg->bes);
	spin_unlock_irqrestore(&sg->slock, flags);
	if (ret) {
		sim_guest_put(sg);
		kfree(be);
		return ret;
	}
	info->hyp_data = be;
	info->nr_vcpus = sg->nr_vcpus;
	return 0;
}

static void sim_detach(struct virtbe_guest *g)
{
	struct sim_be *be = virtbe_guest_hyp_data(g);
	struct sim_guest *sg = be->sg;
	struct sim_range *r, *tmp;
	unsigned long flags;
	LIST_HEAD(ranges);

	spin_lock_irqsave(&sg->slock, flags);
	list_del_rcu(&be->node);
	/* The core released them all; a range left would route to nobody. */
	list_for_each_entry_safe(r, tmp, &sg->ranges, node)
		if (r->be == be)
			list_move(&r->node, &ranges);
	spin_unlock_irqrestore(&sg->slock, flags);
	WARN_ON_ONCE(!list_empty(&ranges));
	/*
	 * vCPUs dispatch to an attachment and resample its irqfds under RCU:
	 * wait for them, the other attachments are not affected.
	 */
	synchronize_rcu();
	list_for_each_entry_safe(r, tmp, &ranges, node)
		kfree(r);
	kfree(be);
	sim_guest_put(sg);
}

static void sim_mem_unmap(struct virtbe_guest *g, unsigned long nr_pages,
			  struct page **pages)
{
	unsigned long i;

	for (i = 0; i < nr_pages; i++)
		if (pages[i])
			put_page(pages[i]);
}

static int sim_mem_map(struct virtbe_guest *g, u64 gpa, unsigned long nr_pages,
		       struct page **pages)
{
	struct sim_guest *sg = sim_sg(g);
	unsigned long i = 0;
	int ret = 0;

	if (atomic_dec_if_positive(&sg->fail_map) >= 0)
		return -EIO;

	mutex_lock(&sg->lock);
	while (i < nr_pages) {
		u64 addr = gpa + ((u64)i << PAGE_SHIFT);
		struct address_space *mapping;
		struct sim_ram *r = NULL;
		unsigned int k;
		pgoff_t idx;

		for (k = 0; k < sg->nr_ram; k++)
			if (addr >= sg->ram[k].gpa &&
			    addr - sg->ram[k].gpa < sg->ram[k].len)
				r = &sg->ram[k];
		if (!r) {
			ret = -ENXIO;
			break;
		}
		mapping = r->file->f_mapping;
		idx = (r->offset + addr - r->gpa) >> PAGE_SHIFT;
		/* Fill every page of this region that the window covers. */
		while (i < nr_pages && addr - r->gpa < r->len) {
			struct page *page = shmem_read_mapping_page(mapping,
								    idx);

			if (IS_ERR(page)) {
				ret = PTR_ERR(page);
				goto out;
			}
			pages[i++] = page;
			idx++;
			addr += PAGE_SIZE;
			if (fatal_signal_pending(current)) {
				ret = -EINTR;
				goto out;
			}
			cond_resched();
		}
	}
out:
	mutex_unlock(&sg->lock);
	if (ret) {
		sim_mem_unmap(g, i, pages);
		memset(pages, 0, i * sizeof(*pages));
	}
	return ret;
}

/* The core limits the ranges of each attachment and checks overlaps. */
static int sim_claim_range(struct virtbe_guest *g, bool pio, u64 addr,
			   u64 len)
{
	struct sim_be *be = virtbe_guest_hyp_data(g);
	struct sim_guest *sg = be->sg;
	struct sim_range *r;
	unsigned long flags;

	r = kzalloc(sizeof(*r), GFP_KERNEL_ACCOUNT);
	if (!r)
		return -ENOMEM;
	*r = (struct sim_range) {
		.be = be, .pio = pio, .addr = addr, .len = len,
	};
	spin_lock_irqsave(&sg->slock, flags);
	list_add_tail(&r->node, &sg->ranges);
	spin_unlock_irqrestore(&sg->slock, flags);
	return 0;
}

static void sim_release_range(struct virtbe_guest *g, bool pio, u64 addr,
			      u64 len)
{
	struct sim_be *be = virtbe_guest_hyp_data(g);
	struct sim_guest *sg = be->sg;
	struct sim_range *r, *found = NULL;
	unsigned long flags;

	spin_lock_irqsave(&sg->slock, flags);
	list_for_each_entry(r, &sg->ranges, node) {
		if (r->be == be && r->pio == pio && r->addr == addr &&
		    r->len == len) {
			list_del(&r->node);
			found = r;
			break;
		}
	}
	spin_unlock_irqrestore(&sg->slock, flags);
	/* Readers look at ranges under slock only. */
	kfree(found);
}

static void sim_vcpu_wake(struct sim_vcpu *v)
{
	/* Publish data and aborted before done; pairs with the waiters. */
	smp_store_release(&v->done, true);
	wake_up(&v->wq);
}

static void sim_vcpu_delay_work(struct work_struct *work)
{
	struct sim_vcpu *v = container_of(to_delayed_work(work),
					  struct sim_vcpu, delay_work);

	sim_vcpu_wake(v);
}

static void sim_complete(struct virtbe_guest *g, u32 vcpu, u64 data,
			 bool aborted)
{
	struct sim_guest *sg = sim_sg(g);
	struct sim_vcpu *v = &sg->vcpus[vcpu];
	unsigned int delay = READ_ONCE(sg->delay_completion_ms);

	v->data = data;
	v->aborted = aborted;
	if (delay && !aborted)
		mod_delayed_work(system_wq, &v->delay_work,
				 msecs_to_jiffies(delay));
	else
		sim_vcpu_wake(v);
}

static int sim_irq_check(struct virtbe_guest *g, const struct virtbe_irq *irq)
{
	unsigned int bit;

	return sim_irq_get(sim_sg(g), irq->type, irq->irq, &bit) ?
		0 : -EINVAL;
}

static int sim_irq_set(struct virtbe_guest *g, const struct virtbe_irq *irq,
		       bool level)
{
	struct sim_guest *sg = sim_sg(g);
	struct eventfd_ctx *ctx = NULL, *efd;
	struct sim_irq *si;
	unsigned long flags;
	unsigned int bit;
	int ret = 0;

	rcu_read_lock();
	spin_lock_irqsave(&sg->slock, flags);
	si = sim_irq_get(sg, irq->type, irq->irq, &bit);
	if (!si || sg->destroyed)
		goto out_unlock;
	/*
	 * Delivery signals the frontend's eventfd: where that is not allowed
	 * (inside an irqfd's wakeup), the core calls again from a work item.
	 */
	efd = rcu_dereference_protected(si->eventfd,
					lockdep_is_held(&sg->slock));
	if (efd && !sg->delay_irq_ms && !virtbe_can_signal(efd)) {
		ret = -EWOULDBLOCK;
		goto out_unlock;
	}
	if (atomic_dec_if_positive(&sg->drop_irq) >= 0)
		goto out_unlock;
	if (irq->type == VIRTBE_IRQ_LEVEL) {
		if (!level || si->level) {
			si->level = level;
			goto out_unlock;
		}
		si->level = true;
	}
	ctx = sim_irq_deliver(sg, si, bit);
out_unlock:
	spin_unlock_irqrestore(&sg->slock, flags);
	if (ctx)
		virtbe_eventfd_signal(ctx);
	rcu_read_unlock();
	return ret;
}

static const struct virtbe_hyp_ops sim_hyp_ops = {
	.owner = THIS_MODULE,
	.name = "sim",
	.id = VIRTBE_HYP_SIM,
	.features = VIRTBE_HYP_F_MMIO | VIRTBE_HYP_F_PIO |
		    VIRTBE_HYP_F_IRQ_EDGE | VIRTBE_HYP_F_IRQ_LEVEL |
		    VIRTBE_HYP_F_IRQ_EVTCHN,
	.attach = sim_attach,
	.detach = sim_detach,
	.mem_map = sim_mem_map,
	.mem_unmap = sim_mem_unmap,
	.claim_range = sim_claim_range,
	.release_range = sim_release_range,
	.complete = sim_complete,
	.irq_check = sim_irq_check,
	.irq_set = sim_irq_set,
};

/* ---- The frontend side: /dev/virtbe_sim ---- */

/* The attachment whose range holds the whole access, or NULL. */
static struct sim_be *sim_claimed(struct sim_guest *sg, bool pio, u64 addr,
				  u32 len)
{
	const struct sim_range *r;

	lockdep_assert_held(&sg->slock);
	list_for_each_entry(r, &sg->ranges, node)
		if (r->pio == pio && addr >= r->addr &&
		    addr - r->addr < r->len && r->len - (addr - r->addr) >= len)
			return r->be;
	return NULL;
}

static long sim_add_ram(struct virtbe_ucmd *ucmd)
{
	struct sim_guest *sg = ucmd->obj;
	struct virtbe_sim_ram *cmd = ucmd->cmd;
	struct file *file;
	unsigned int i;
	int ret;

	if (cmd->flags)
		return -EOPNOTSUPP;
	if (cmd->__reserved || !cmd->len || !PAGE_ALIGNED(cmd->gpa) ||
	    !PAGE_ALIGNED(cmd->len) || !PAGE_ALIGNED(cmd->offset) ||
	    cmd->gpa + cmd->len < cmd->gpa ||
	    cmd->offset + cmd->len < cmd->offset)
		return -EINVAL;

	file = fget(cmd->memfd);
	if (!file)
		return -EBADF;
	ret = -EINVAL;
	if (!shmem_file(file) || !(file->f_mode & FMODE_WRITE) ||
	    cmd->offset + cmd->len > i_size_read(file_inode(file)))
		goto err_fput;

	mutex_lock(&sg->lock);
	ret = -ENODEV;
	if (READ_ONCE(sg->destroyed))
		goto err_unlock;
	ret = -EEXIST;
	for (i = 0; i < sg->nr_ram; i++)
		if (cmd->gpa < sg->ram[i].gpa + sg->ram[i].len &&
		    sg->ram[i].gpa < cmd->gpa + cmd->len)
			goto err_unlock;
	ret = -ENOSPC;
	if (sg->nr_ram >= SIM_MAX_RAM)
		goto err_unlock;
	sg->ram[sg->nr_ram++] = (struct sim_ram) {
		.file = file, .gpa = cmd->gpa, .len = cmd->len,
		.offset = cmd->offset,
	};
	mutex_unlock(&sg->lock);
	return 0;

err_unlock:
	mutex_unlock(&sg->lock);
err_fput:
	fput(file);
	return ret;
}

/* A completion for a vCPU whose waiter was killed: just clear busy. */
static bool sim_vcpu_reclaim(struct sim_vcpu *v)
{
	/* Acquire pairs with sim_vcpu_wake(). */
	if (v->busy && smp_load_acquire(&v->done))
		v->busy = false;
	return !v->busy;
}

static long sim_access(struct virtbe_ucmd *ucmd)
{
	struct sim_guest *sg = ucmd->obj;
	struct virtbe_sim_access *cmd = ucmd->cmd;
	bool write = cmd->flags & VIRTBE_SIM_ACCESS_WRITE;
	u64 mask = cmd->len >= 8 ? ~0ULL : (1ULL << (cmd->len * 8)) - 1;
	struct virtbe_io io = {
		.vcpu = cmd->vcpu, .len = cmd->len, .write = write,
		.pio = cmd->flags & VIRTBE_SIM_ACCESS_PIO,
		.addr = cmd->addr, .data = cmd->data & mask,
	};
	struct virtbe_guest *be;
	struct sim_be *sbe;
	struct sim_vcpu *v;
	unsigned long flags;
	bool dropped = false;
	long ret = 0;
	int disp;

	if (cmd->flags & ~(VIRTBE_SIM_ACCESS_WRITE | VIRTBE_SIM_ACCESS_PIO |
			   VIRTBE_SIM_ACCESS_POSTED))
		return -EOPNOTSUPP;
	if ((cmd->flags & VIRTBE_SIM_ACCESS_POSTED) && !write)
		return -EINVAL;
	if (cmd->__reserved || cmd->vcpu >= sg->nr_vcpus ||
	    (cmd->len != 1 && cmd->len != 2 && cmd->len != 4 && cmd->len != 8))
		return -EINVAL;
	if (cmd->addr + cmd->len - 1 < cmd->addr)
		return -EINVAL;

	v = &sg->vcpus[cmd->vcpu];
	if (!mutex_trylock(&v->lock))
		return -EBUSY;
	if (!sim_vcpu_reclaim(v)) {
		ret = -EBUSY;
		goto out_unlock;
	}

	/*
	 * The access goes to the attachment that claimed its address, which
	 * stays attached for the RCU read section (sim_detach() waits for
	 * it); dispatch outside slock, since signalling an ioeventfd may
	 * re-enter the simulator through an irqfd.
	 */
	rcu_read_lock();
	spin_lock_irqsave(&sg->slock, flags);
	if (sg->destroyed) {
		spin_unlock_irqrestore(&sg->slock, flags);
		rcu_read_unlock();
		ret = -ENODEV;
		goto out_unlock;
	}
	sbe = sim_claimed(sg, io.pio, io.addr, io.len);
	if (!sbe) {
		spin_unlock_irqrestore(&sg->slock, flags);
		rcu_read_unlock();
		cmd->out_result = VIRTBE_SIM_RESULT_UNCLAIMED;
		cmd->data = write ? cmd->data : mask;
		goto out_unlock;
	}
	be = sbe->g;
	spin_unlock_irqrestore(&sg->slock, flags);
	if (cmd->flags & VIRTBE_SIM_ACCESS_POSTED) {
		disp = virtbe_ioreq_posted(be, &io);
		rcu_read_unlock();
		cmd->out_result = disp == VIRTBE_IO_DONE ?
					VIRTBE_SIM_RESULT_IOEVENTFD :
				  disp == VIRTBE_IO_KERNEL ?
					VIRTBE_SIM_RESULT_KERNEL :
					VIRTBE_SIM_RESULT_DROPPED;
		goto out_unlock;
	}
	v->done = false;
	if (atomic_dec_if_positive(&sg->drop_event) >= 0) {
		dropped = true;
		disp = VIRTBE_IO_QUEUED;
	} else {
		disp = virtbe_ioreq_dispatch(be, &io);
	}
	rcu_read_unlock();
	if (disp == VIRTBE_IO_QUEUED && !dropped)
		v->busy = true;

	if (disp == VIRTBE_IO_DONE) {
		cmd->out_result = VIRTBE_SIM_RESULT_IOEVENTFD;
		goto out_unlock;
	}
	if (disp == VIRTBE_IO_KERNEL) {
		cmd->out_result = VIRTBE_SIM_RESULT_KERNEL;
		if (!write)
			cmd->data = io.data & mask;
		goto out_unlock;
	}
	if (disp < 0) {
		cmd->out_result = VIRTBE_SIM_RESULT_ABORTED;
		cmd->data = write ? cmd->data : mask;
		goto out_unlock;
	}
	if (dropped) {
		/* Lost notification: only the watchdog releases the vCPU. */
		schedule_timeout_killable(msecs_to_jiffies(SIM_WATCHDOG_MS));
		cmd->out_result = VIRTBE_SIM_RESULT_ABORTED;
		cmd->data = write ? cmd->data : mask;
		goto out_unlock;
	}

	/* Acquire: data and aborted were written before done. */
	ret = wait_event_killable(v->wq, smp_load_acquire(&v->done));
	if (ret) {
		/* v->busy stays set until the completion arrives. */
		ret = -EINTR;
		goto out_unlock;
	}
	v->busy = false;
	cmd->out_result = v->aborted ? VIRTBE_SIM_RESULT_ABORTED :
				       VIRTBE_SIM_RESULT_BACKEND;
	if (!write)
		cmd->data = v->aborted ? mask : v->data & mask;

out_unlock:
	mutex_unlock(&v->lock);
	return ret;
}

static long sim_bind_irq(struct virtbe_ucmd *ucmd)
{
	struct sim_guest *sg = ucmd->obj;
	struct virtbe_sim_bind_irq *cmd = ucmd->cmd;
	struct eventfd_ctx *new = NULL, *old;
	struct sim_irq *si;
	unsigned long flags;
	unsigned int bit;

	if (cmd->flags & ~VIRTBE_SIM_BIND_IRQ_UNBIND)
		return -EOPNOTSUPP;
	if (cmd->__reserved)
		return -EINVAL;
	si = sim_irq_get(sg, cmd->type, cmd->irq, &bit);
	if (!si)
		return -EINVAL;
	if (!(cmd->flags & VIRTBE_SIM_BIND_IRQ_UNBIND)) {
		new = eventfd_ctx_fdget(cmd->fd);
		if (IS_ERR(new))
			return PTR_ERR(new);
	}

	spin_lock_irqsave(&sg->slock, flags);
	old = rcu_dereference_protected(si->eventfd,
					lockdep_is_held(&sg->slock));
	rcu_assign_pointer(si->eventfd, new);
	clear_bit(bit, sg->pending);
	spin_unlock_irqrestore(&sg->slock, flags);
	if (old) {
		synchronize_rcu();
		eventfd_ctx_put(old);
	}
	return 0;
}

static long sim_irq_state(struct virtbe_ucmd *ucmd)
{
	struct sim_guest *sg = ucmd->obj;
	struct virtbe_sim_irq_state *cmd = ucmd->cmd;
	bool resample = false;
	struct sim_be *be;
	struct sim_irq *si;
	unsigned long flags;
	unsigned int bit;

	if (cmd->flags & ~VIRTBE_SIM_IRQ_EOI)
		return -EOPNOTSUPP;
	if (cmd->__reserved)
		return -EINVAL;
	si = sim_irq_get(sg, cmd->type, cmd->irq, &bit);
	if (!si)
		return -EINVAL;

	/* The attachments stay attached for the RCU read section. */
	rcu_read_lock();
	spin_lock_irqsave(&sg->slock, flags);
	if ((cmd->flags & VIRTBE_SIM_IRQ_EOI) && si->level) {
		si->level = false;
		resample = !sg->destroyed;
	}
	cmd->out_level = si->level;
	cmd->out_count = si->count;
	spin_unlock_irqrestore(&sg->slock, flags);

	/* Outside slock: resampling may raise the line again. */
	if (resample)
		list_for_each_entry_rcu(be, &sg->bes, node)
			virtbe_irq_resample(be->g, VIRTBE_IRQ_LEVEL, cmd->irq);
	rcu_read_unlock();
	return 0;
}

static long sim_fault(struct virtbe_ucmd *ucmd)
{
	struct sim_guest *sg = ucmd->obj;
	struct virtbe_sim_fault *cmd = ucmd->cmd;

	if (cmd->flags)
		return -EOPNOTSUPP;
	if (cmd->arg > SIM_MAX_FAULT_MS)
		return -EINVAL;
	switch (cmd->fault) {
	case VIRTBE_SIM_FAULT_FAIL_MAP:
		atomic_set(&sg->fail_map, cmd->arg);
		break;
	case VIRTBE_SIM_FAULT_DROP_IRQ:
		atomic_set(&sg->drop_irq, cmd->arg);
		break;
	case VIRTBE_SIM_FAULT_DELAY_IRQ:
		WRITE_ONCE(sg->delay_irq_ms, cmd->arg);
		break;
	case VIRTBE_SIM_FAULT_DELAY_COMPLETION:
		WRITE_ONCE(sg->delay_completion_ms, cmd->arg);
		break;
	case VIRTBE_SIM_FAULT_DROP_EVENT:
		atomic_set(&sg->drop_event, cmd->arg);
		break;
	default:
		return -EINVAL;
	}
	return 0;
}

/* Kill the guest, as a hypervisor destroying a domain would. */
static void sim_guest_destroy(struct sim_guest *sg)
{
	struct virtbe_guest *g;
	unsigned long flags;
	struct sim_be *be;

	spin_lock_irqsave(&sg->slock, flags);
	if (sg->destroyed) {
		spin_unlock_irqrestore(&sg->slock, flags);
		return;
	}
	sg->destroyed = true;
	spin_unlock_irqrestore(&sg->slock, flags);

	/*
	 * Tell every attachment, one at a time: virtbe_guest_gone() sleeps,
	 * so not under slock, and attachments may detach meanwhile (none
	 * can be added: the guest is destroyed).
	 */
	for (;;) {
		g = NULL;
		spin_lock_irqsave(&sg->slock, flags);
		list_for_each_entry(be, &sg->bes, node) {
			if (!be->gone) {
				be->gone = true;
				g = be->g;
				virtbe_guest_get(g);
				break;
			}
		}
		spin_unlock_irqrestore(&sg->slock, flags);
		if (!g)
			break;
		virtbe_guest_gone(g);
		virtbe_guest_put(g);
	}
}

static long sim_destroy(struct virtbe_ucmd *ucmd)
{
	struct virtbe_sim_destroy *cmd = ucmd->cmd;

	if (cmd->flags)
		return -EOPNOTSUPP;
	sim_guest_destroy(ucmd->obj);
	return 0;
}

static const struct virtbe_ioctl_op sim_guest_ops[] = {
	VIRTBE_IOCTL_OP(VIRTBE_SIM_ADD_RAM, sim_add_ram, struct virtbe_sim_ram,
			offset),
	VIRTBE_IOCTL_OP_OUT(VIRTBE_SIM_ACCESS, sim_access,
			    struct virtbe_sim_access, __reserved),
	VIRTBE_IOCTL_OP(VIRTBE_SIM_BIND_IRQ, sim_bind_irq,
			struct virtbe_sim_bind_irq, __reserved),
	VIRTBE_IOCTL_OP_OUT(VIRTBE_SIM_IRQ_STATE, sim_irq_state,
			    struct virtbe_sim_irq_state, out_count),
	VIRTBE_IOCTL_OP(VIRTBE_SIM_FAULT, sim_fault, struct virtbe_sim_fault,
			arg),
	VIRTBE_IOCTL_OP(VIRTBE_SIM_DESTROY, sim_destroy,
			struct virtbe_sim_destroy, flags),
};

static long sim_guest_fop_ioctl(struct file *file, unsigned int cmd,
				unsigned long arg)
{
	struct sim_guest *sg = file->private_data;

	if (READ_ONCE(sg->destroyed) && cmd != VIRTBE_SIM_IRQ_STATE)
		return -ENODEV;
	return virtbe_ioctl_dispatch(sim_guest_ops, ARRAY_SIZE(sim_guest_ops),
				     sg, cmd, arg);
}

static int sim_guest_fop_release(struct inode *inode, struct file *file)
{
	struct sim_guest *sg = file->private_data;

	sim_guest_destroy(sg);
	sim_guest_put(sg);
	return 0;
}

static const struct file_operations sim_guest_fops = {
	.owner = THIS_MODULE,
	.release = sim_guest_fop_release,
	.unlocked_ioctl = sim_guest_fop_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static long sim_create(struct virtbe_ucmd *ucmd)
{
	struct virtbe_sim_create *cmd = ucmd->cmd;
	struct sim_guest *sg;
	struct file *file;
	unsigned int i;
	int ret;

	if (cmd->flags)
		return -EOPNOTSUPP;
	if (cmd->__reserved || !cmd->nr_vcpus || cmd->nr_vcpus > SIM_MAX_VCPUS)
		return -EINVAL;

	sg = kvzalloc(sizeof(*sg), GFP_KERNEL_ACCOUNT);
	if (!sg)
		return -ENOMEM;
	kref_init(&sg->ref);
	mutex_init(&sg->lock);
	spin_lock_init(&sg->slock);
	INIT_LIST_HEAD(&sg->bes);
	INIT_LIST_HEAD(&sg->ranges);
	INIT_DELAYED_WORK(&sg->irq_work, sim_irq_work);
	sg->nr_vcpus = cmd->nr_vcpus;
	sg->vcpus = kcalloc(sg->nr_vcpus, sizeof(*sg->vcpus),
			    GFP_KERNEL_ACCOUNT);
	if (!sg->vcpus) {
		ret = -ENOMEM;
		goto err_free_guest;
	}
	for (i = 0; i < sg->nr_vcpus; i++) {
		mutex_init(&sg->vcpus[i].lock);
		init_waitqueue_head(&sg->vcpus[i].wq);
		INIT_DELAYED_WORK(&sg->vcpus[i].delay_work,
				  sim_vcpu_delay_work);
	}

	ret = xa_alloc(&sim_guests, &sg->id, sg, xa_limit_31b,
		       GFP_KERNEL_ACCOUNT);
	if (ret)
		goto err_free_vcpus;

	file = anon_inode_getfile("[virtbe-sim-guest]", &sim_guest_fops, sg,
				  O_RDWR);
	if (IS_ERR(file)) {
		ret = PTR_ERR(file);
		goto err_erase;
	}
	cmd->out_guest_id = sg->id;
	return virtbe_ucmd_return_file(ucmd, file);

err_erase:
	xa_erase(&sim_guests, sg->id);
err_free_vcpus:
	kfree(sg->vcpus);
err_free_guest:
	kvfree(sg);
	return ret;
}

static const struct virtbe_ioctl_op sim_ctl_ops[] = {
	VIRTBE_IOCTL_OP_OUT(VIRTBE_SIM_CREATE, sim_create,
			    struct virtbe_sim_create, out_guest_id),
};

static long sim_ctl_ioctl(struct file *file, unsigned int cmd,
			  unsigned long arg)
{
	return virtbe_ioctl_dispatch(sim_ctl_ops, ARRAY_SIZE(sim_ctl_ops),
				     NULL, cmd, arg);
}

static const struct file_operations sim_ctl_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = sim_ctl_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice sim_miscdev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "virtbe_sim",
	.fops = &sim_ctl_fops,
	.mode = 0600,
};

static int __init sim_init(void)
{
	int ret;

	ret = virtbe_hyp_register(&sim_hyp_ops);
	if (ret)
		return ret;
	ret = misc_register(&sim_miscdev);
	if (ret)
		virtbe_hyp_unregister(&sim_hyp_ops);
	return ret;
}

static void __exit sim_exit(void)
{
	misc_deregister(&sim_miscdev);
	virtbe_hyp_unregister(&sim_hyp_ops);
}

module_init(sim_init);
module_exit(sim_exit);
MODULE_DESCRIPTION("virtbe_sim: a simulated hypervisor for virtbe");
MODULE_LICENSE("GPL");
MODULE_VERSION(VIRTBE_VERSION);
MODULE_IMPORT_NS(VIRTBE_NS);
