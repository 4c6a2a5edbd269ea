// SPDX-License-Identifier: GPL-2.0
/*
 * virtbe_xen: foreign frames: guest memory windows and the ioreq pages
 * in the kernel's direct map (PV dom0) or in our physmap
 * (auto-translated dom0).
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

void vbx_mem_unmap(struct virtbe_guest *g, unsigned long nr_pages,
		   struct page **pages)
{
	vbx_frames_unmap(pages, nr_pages);
	xen_free_unpopulated_pages(nr_pages, pages);
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
