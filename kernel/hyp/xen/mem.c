// SPDX-License-Identifier: GPL-2.0
/*
 * virtbe_xen: foreign frames: guest memory windows and the ioreq pages
 * in the kernel's direct map (PV dom0) or in our physmap
 * (auto-translated dom0), and the pages of revoked windows that are still
 * referenced, which keep their frames until the references drop.
 *
 * Copyright (C) 2026 The virtbe authors
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "xen.h"

/* ---- Foreign frames in the kernel's direct map (PV) ---- */

#ifdef CONFIG_XEN_PV

static int vbx_pte_maddr(struct page *page, u64 *maddr)
{
	unsigned int level;
	pte_t *pte = lookup_address((unsigned long)page_address(page), &level);

	if (!pte || level != PG_LEVEL_4K)
		return -EFAULT;
	*maddr = arbitrary_virt_to_machine(pte).maddr;
	return 0;
}

/*
 * Point the direct-map entries of @pages (unpopulated, so not present) at
 * @frames of @domid, or clear them when @frames is NULL.  Stops at the first
 * failure; returns the number of pages done in *@done.
 */
int vbx_direct_map(struct page **pages, const xen_pfn_t *frames,
		   unsigned int nr, unsigned int cmd, domid_t domid,
		   unsigned int *done)
{
	struct mmu_update *req;
	unsigned int i = 0;
	int ret = 0;

	*done = 0;
	req = kmalloc_array(VBX_MAP_BATCH, sizeof(*req), GFP_KERNEL);
	if (!req)
		return -ENOMEM;
	while (i < nr) {
		unsigned int n = min_t(unsigned int, nr - i, VBX_MAP_BATCH);
		unsigned int k;
		int ok = 0;

		for (k = 0; k < n; k++) {
			u64 maddr;

			ret = vbx_pte_maddr(pages[i + k], &maddr);
			if (ret)
				goto out;
			req[k].ptr = maddr | cmd;
			req[k].val = frames ?
				pte_val_ma(mfn_pte(frames[i + k], PAGE_KERNEL)) :
				0;
		}
		ret = HYPERVISOR_mmu_update(req, n, &ok, domid);
		if (ret) {
			i += ok;
			goto out;
		}
		i += n;
		cond_resched();
	}
out:
	kfree(req);
	*done = i;
	return ret;
}

static void vbx_tlb_flush_all(void)
{
	struct mmuext_op op = { .cmd = MMUEXT_TLB_FLUSH_ALL };

	WARN_ON_ONCE(HYPERVISOR_mmuext_op(&op, 1, NULL, DOMID_SELF));
}

void vbx_direct_unmap(struct page **pages, unsigned int nr)
{
	unsigned int done;

	if (!nr)
		return;
	/* Clearing our own entries cannot fail unless the tables are bad. */
	WARN_ON_ONCE(vbx_direct_map(pages, NULL, nr, MMU_NORMAL_PT_UPDATE,
				    DOMID_SELF, &done));
	vbx_tlb_flush_all();
}
#else /* !CONFIG_XEN_PV: every dom0 is auto-translated */
int vbx_direct_map(struct page **pages, const xen_pfn_t *frames,
		   unsigned int nr, unsigned int cmd, domid_t domid,
		   unsigned int *done)
{
	*done = 0;
	return -EOPNOTSUPP;
}

void vbx_direct_unmap(struct page **pages, unsigned int nr)
{
}
#endif

/* ---- Foreign frames in our physmap (auto-translated dom0) ---- */

/*
 * Take the frames of @pages out of our physmap; frames not placed fail,
 * which is fine.  Xen removes one frame a call: the calls go in multicalls
 * of VBX_RM_BATCH, one exit to Xen each (a whole guest is thousands of
 * frames), or one by one if that is refused or memory is short.
 */
#define VBX_RM_BATCH	64

void vbx_physmap_remove(struct page **pages, unsigned int nr)
{
	struct {
		struct multicall_entry mc[VBX_RM_BATCH];
		struct xen_remove_from_physmap xrp[VBX_RM_BATCH];
	} *b = kmalloc(sizeof(*b), GFP_KERNEL);
	unsigned int i = 0, k;

	while (b && i < nr) {
		unsigned int n = min_t(unsigned int, nr - i, VBX_RM_BATCH);

		for (k = 0; k < n; k++) {
			b->xrp[k] = (struct xen_remove_from_physmap) {
				.domid = DOMID_SELF,
				.gpfn = page_to_xen_pfn(pages[i + k]),
			};
			b->mc[k] = (struct multicall_entry) {
				.op = __HYPERVISOR_memory_op,
				.args = { XENMEM_remove_from_physmap,
					  (xen_ulong_t)&b->xrp[k] },
			};
		}
		if (HYPERVISOR_multicall(b->mc, n))
			break;
		i += n;
		cond_resched();
	}
	kfree(b);
	for (; i < nr; i++) {
		struct xen_remove_from_physmap xrp = {
			.domid = DOMID_SELF,
			.gpfn = page_to_xen_pfn(pages[i]),
		};

		HYPERVISOR_memory_op(XENMEM_remove_from_physmap, &xrp);
		if (!(i % VBX_RM_BATCH))
			cond_resched();
	}
}

/*
 * Place frames @gfns of @domid at the frames of @pages (unpopulated).
 * Stops after the batch holding the first failure, which is returned;
 * *@tried counts the pages that may have been placed (to be removed on
 * failure: frames Xen failed to place are simply not there).
 */
static int vbx_physmap_add(struct page **pages, const xen_pfn_t *gfns,
			   unsigned int nr, domid_t domid, unsigned int *tried)
{
	struct {
		xen_ulong_t idxs[VBX_MAP_BATCH];
		xen_pfn_t gpfns[VBX_MAP_BATCH];
		int errs[VBX_MAP_BATCH];
	} *b;
	unsigned int i = 0;
	int ret = 0;

	*tried = 0;
	b = kmalloc(sizeof(*b), GFP_KERNEL);
	if (!b)
		return -ENOMEM;
	while (i < nr && !ret) {
		unsigned int n = min_t(unsigned int, nr - i, VBX_MAP_BATCH);
		struct xen_add_to_physmap_range xatp = {
			.domid = DOMID_SELF,
			.space = XENMAPSPACE_gmfn_foreign,
			.size = n,
			.foreign_domid = domid,
		};
		unsigned int k;

		for (k = 0; k < n; k++) {
			b->idxs[k] = gfns[i + k];
			b->gpfns[k] = page_to_xen_pfn(pages[i + k]);
			b->errs[k] = 0;
		}
		set_xen_guest_handle(xatp.idxs, b->idxs);
		set_xen_guest_handle(xatp.gpfns, b->gpfns);
		set_xen_guest_handle(xatp.errs, b->errs);
		ret = HYPERVISOR_memory_op(XENMEM_add_to_physmap_range, &xatp);
		for (k = 0; k < n && !ret; k++)
			ret = b->errs[k];
		i += n;
		cond_resched();
	}
	kfree(b);
	*tried = i;
	return ret;
}

/* Take foreign frames off @pages: all of them, or as far as a failed map got. */
void vbx_frames_unmap(struct page **pages, unsigned int nr)
{
	if (vbx_xlate)
		vbx_physmap_remove(pages, nr);
	else
		vbx_direct_unmap(pages, nr);
}

/* ---- Pages still referenced after revocation ---- */

/*
 * When the core revokes a window it has zapped every user mapping of it,
 * so the pool's reference is the only one left on each page, unless
 * something took one of its own through such a mapping while it
 * existed: a pipe the page was vmspliced into, O_DIRECT I/O in flight,
 * any other get_user_pages() user.  That reference still names our frame.
 * Taking the foreign frame away and handing the page back to the pool
 * would leave it naming a hole, or another domain's memory once the pool
 * reuses the page for another mapping.  So such a page keeps its frame,
 * the guest's, until the last other reference drops; only then is the
 * frame taken away and the page returned.  gntdev defers the unmap of
 * grant pages that are still in use in the same way
 * (gnttab_unmap_refs_async()).
 *
 * vbx_mem_unmap() releases at once every page nobody else references and
 * hands the others to a list of chunks (struct vbx_held), which a delayed
 * work item polls, every VBX_HELD_MIN_MS at first, backing off to every
 * VBX_HELD_MAX_MS, releasing pages as their references drop.  Nothing
 * waits for it: not the guest fd's close, not the daemon's exit, not the
 * domain's death (a destroyed domain lingers as a dying domain in Xen
 * until its last frame is released).  A user may hold such a reference
 * forever (a pipe nobody reads), so nothing may wait for that either:
 * while any page is held the module holds a reference on itself, and
 * rmmod is refused (EWOULDBLOCK) instead of waiting, until the holder
 * lets go.  The same reference keeps the work item's code loaded.
 */
#define VBX_HELD_MIN_MS		10
#define VBX_HELD_MAX_MS		1000

/**
 * struct vbx_held - pages of revoked windows that are still referenced
 * @node: entry in vbx_held_list
 * @domid: the domain whose frames they keep, for messages
 * @nr: entries used in @pages
 * @pages: the pages, their foreign frames still in place
 *
 * One page in size, so that allocating it cannot fail.
 */
struct vbx_held {
	struct list_head node;
	domid_t domid;
	unsigned int nr;
	struct page *pages[];
};

#define VBX_HELD_PAGES	((PAGE_SIZE - sizeof(struct vbx_held)) / \
			 sizeof(struct page *))

static void vbx_held_work_fn(struct work_struct *work);

static DEFINE_MUTEX(vbx_held_lock);	/* the four below */
static LIST_HEAD(vbx_held_list);
static DECLARE_DELAYED_WORK(vbx_held_work, vbx_held_work_fn);
static unsigned int vbx_held_age;	/* polls since the last addition */
static bool vbx_held_pinned;		/* we hold a module reference */

/* Anyone but the pool referencing @page: its frame must stay. */
static bool vbx_page_held(struct page *page)
{
	return page_count(page) > 1;
}

/* Take the frames off @nr pages nobody else references, and free them. */
static void vbx_pages_release(struct page **pages, unsigned long nr)
{
	if (!nr)
		return;
	vbx_frames_unmap(pages, nr);
	xen_free_unpopulated_pages(nr, pages);
}

static void vbx_held_work_fn(struct work_struct *work)
{
	struct vbx_held *h, *tmp;
	bool unpin = false;
	unsigned int i, n;

	mutex_lock(&vbx_held_lock);
	list_for_each_entry_safe(h, tmp, &vbx_held_list, node) {
		/* the pages let go of to the front, released as one batch */
		for (i = 0, n = 0; i < h->nr; i++) {
			if (vbx_page_held(h->pages[i]))
				continue;
			swap(h->pages[i], h->pages[n]);
			n++;
		}
		if (!n)
			continue;
		vbx_pages_release(h->pages, n);
		h->nr -= n;
		memmove(h->pages, h->pages + n, h->nr * sizeof(*h->pages));
		if (h->nr)
			continue;
		pr_info_ratelimited("d%u: frames kept for references after revocation released\n",
				    h->domid);
		list_del(&h->node);
		kfree(h);
	}
	if (!list_empty(&vbx_held_list)) {
		unsigned int ms = VBX_HELD_MIN_MS << vbx_held_age;

		if (ms < VBX_HELD_MAX_MS)
			vbx_held_age++;
		queue_delayed_work(vbx_wq, &vbx_held_work,
				   msecs_to_jiffies(min_t(unsigned int, ms,
							  VBX_HELD_MAX_MS)));
	} else if (vbx_held_pinned) {
		vbx_held_pinned = false;
		unpin = true;
	}
	mutex_unlock(&vbx_held_lock);
	/* vbx_held_exit() waits for this function to return. */
	if (unpin)
		module_put(THIS_MODULE);
}

void vbx_mem_unmap(struct virtbe_guest *g, unsigned long nr_pages,
		   struct page **pages)
{
	struct vbx_guest *xg = virtbe_guest_hyp_data(g);
	unsigned long i, start = 0, nr_held = 0;
	struct vbx_held *h = NULL;
	LIST_HEAD(held);

	/* runs of pages nobody else references go at once */
	for (i = 0; i < nr_pages; i++) {
		if (!(i % VBX_MAP_BATCH))
			cond_resched();
		if (!vbx_page_held(pages[i]))
			continue;
		vbx_pages_release(pages + start, i - start);
		start = i + 1;
		if (!h || h->nr == VBX_HELD_PAGES) {
			/*
			 * __GFP_NOFAIL: there is no other way to keep a frame
			 * that is still referenced (a page-sized kmalloc, which
			 * the allocator retries at the smallest order).
			 */
			h = kmalloc(PAGE_SIZE, GFP_KERNEL | __GFP_NOFAIL);
			h->domid = xg->domid;
			h->nr = 0;
			list_add_tail(&h->node, &held);
		}
		h->pages[h->nr++] = pages[i];
		nr_held++;
	}
	vbx_pages_release(pages + start, nr_pages - start);
	if (!nr_held)
		return;

	pr_info_ratelimited("d%u: %lu of %lu pages of a revoked window still referenced (spliced into a pipe, under I/O): their frames stay mapped until released\n",
			    xg->domid, nr_held, nr_pages);
	mutex_lock(&vbx_held_lock);
	if (!vbx_held_pinned) {
		/* a guest holds the module: it is live */
		__module_get(THIS_MODULE);
		vbx_held_pinned = true;
	}
	list_splice_tail(&held, &vbx_held_list);
	vbx_held_age = 0;
	mod_delayed_work(vbx_wq, &vbx_held_work,
			 msecs_to_jiffies(VBX_HELD_MIN_MS));
	mutex_unlock(&vbx_held_lock);
}

void vbx_held_exit(void)
{
	struct vbx_held *h, *tmp;
	unsigned long nr = 0;

	cancel_delayed_work_sync(&vbx_held_work);
	/*
	 * Empty unless the module was unloaded by force: the frames of what
	 * is left are still referenced, so they stay where they are, and
	 * their pages out of the pool, for good.
	 */
	list_for_each_entry_safe(h, tmp, &vbx_held_list, node) {
		nr += h->nr;
		list_del(&h->node);
		kfree(h);
	}
	if (nr)
		pr_err("unloaded by force with %lu pages still referenced: their frames stay mapped, the pages are not returned\n",
		       nr);
}

int vbx_mem_map(struct virtbe_guest *g, u64 gpa, unsigned long nr_pages,
		struct page **pages)
{
	struct vbx_guest *xg = virtbe_guest_hyp_data(g);
	unsigned long i, done = 0;
	xen_pfn_t *gfns;
	int ret;

	if (nr_pages > UINT_MAX)
		return -EINVAL;
	gfns = kvmalloc_array(VBX_MAP_BATCH, sizeof(*gfns), GFP_KERNEL);
	if (!gfns)
		return -ENOMEM;
	ret = xen_alloc_unpopulated_pages(nr_pages, pages);
	if (ret)
		goto out_free;

	while (done < nr_pages) {
		unsigned int n = min_t(unsigned long, nr_pages - done,
				       VBX_MAP_BATCH);
		unsigned int ok;

		for (i = 0; i < n; i++)
			gfns[i] = (gpa >> XEN_PAGE_SHIFT) + done + i;
		if (vbx_xlate)
			ret = vbx_physmap_add(pages + done, gfns, n, xg->domid,
					      &ok);
		else
			ret = vbx_direct_map(pages + done, gfns, n,
					     MMU_NORMAL_PT_UPDATE, xg->domid,
					     &ok);
		done += ok;
		if (ret) {
			pr_debug("d%u: mapping gfn %#llx: %d\n", xg->domid,
				 (gpa >> XEN_PAGE_SHIFT) + done, ret);
			/* not RAM (no p2m entry) vs. anything else */
			ret = ret == -EINVAL || ret == -ENOENT ? -ENXIO : -EIO;
			break;
		}
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
	}
	if (ret) {
		vbx_frames_unmap(pages, done);
		xen_free_unpopulated_pages(nr_pages, pages);
		memset(pages, 0, nr_pages * sizeof(*pages));
	}
out_free:
	kvfree(gfns);
	return ret;
}

int vbx_mem_fault(struct virtbe_guest *g, struct vm_area_struct *vma,
		  unsigned long addr, u64 gpa, unsigned long nr_pages)
{
	struct vbx_guest *xg = virtbe_guest_hyp_data(g);
	xen_pfn_t *gfns;
	unsigned long i;
	int *errs, ret;

	gfns = kvmalloc_array(nr_pages, sizeof(*gfns), GFP_KERNEL);
	errs = kvmalloc_array(nr_pages, sizeof(*errs), GFP_KERNEL);
	ret = -ENOMEM;
	if (!gfns || !errs)
		goto out;
	for (i = 0; i < nr_pages; i++)
		gfns[i] = (gpa >> XEN_PAGE_SHIFT) + i;
	ret = xen_remap_domain_gfn_array(vma, addr, gfns, nr_pages, errs,
					 vma->vm_page_prot, xg->domid, NULL);
	if (ret >= 0 && ret != nr_pages)
		ret = -EIO;
	else if (ret > 0)
		ret = 0;
out:
	kvfree(errs);
	kvfree(gfns);
	return ret;
}
