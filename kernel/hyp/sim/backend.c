// SPDX-License-Identifier: GPL-2.0
/*
 * virtbe_sim: a hypervisor in software; this file is its hypervisor side
 * (the guests, interrupt delivery, struct virtbe_hyp_ops) and the module.
 *
 * /dev/virtbe_sim is the frontend side: it creates guests, gives them RAM
 * (memfd regions), runs trapped vCPU accesses and receives interrupts on
 * eventfds.  The backend side registers with the virtbe core as
 * VIRTBE_HYP_SIM and obeys the same contract a real hypervisor does: only
 * claimed ranges reach the backend, each access the attachment (guest fd)
 * that claimed its address, a trapped vCPU waits for the completion,
 * unclaimed reads return all-ones, and the guest can die at any time.
 *
 * Files: backend.c (this), frontend.c (/dev/virtbe_sim), sim.h.
 *
 * Copyright (C) 2026 The virtbe authors
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "sim.h"

DEFINE_XARRAY_ALLOC1(sim_guests);

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

void sim_guest_put(struct sim_guest *sg)
{
	kref_put(&sg->ref, sim_guest_free);
}

struct sim_irq *sim_irq_get(struct sim_guest *sg, u32 type, u32 irq,
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

void sim_irq_work(struct work_struct *work)
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

void sim_vcpu_delay_work(struct work_struct *work)
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
	/* the fault drops raises only: a lowering always takes effect */
	if (level && atomic_dec_if_positive(&sg->drop_irq) >= 0)
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

static int __init sim_init(void)
{
	int ret;

	ret = virtbe_hyp_register(&sim_hyp_ops);
	if (ret) {
		pr_info("not loaded: registering with virtbe failed (%d)\n", ret);
		return ret;
	}
	ret = sim_frontend_init();
	if (ret) {
		pr_info("not loaded: cannot create /dev/virtbe_sim (%d)\n", ret);
		virtbe_hyp_unregister(&sim_hyp_ops);
	}
	return ret;
}

static void __exit sim_exit(void)
{
	sim_frontend_exit();
	virtbe_hyp_unregister(&sim_hyp_ops);
}

module_init(sim_init);
module_exit(sim_exit);
MODULE_DESCRIPTION("virtbe_sim: a simulated hypervisor for virtbe");
MODULE_LICENSE("GPL");
MODULE_VERSION(VIRTBE_VERSION);
MODULE_IMPORT_NS(VIRTBE_NS);
