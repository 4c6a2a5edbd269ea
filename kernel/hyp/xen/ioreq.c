// SPDX-License-Identifier: GPL-2.0
/*
 * virtbe_xen: the IOREQ server: its pages, the ioreq state machine,
 * the buffered ring and the claimed ranges.
 *
 * Copyright (C) 2026 The virtbe authors
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "xen.h"

/* ---- The ioreq state machine ---- */

static void vbx_respond(struct vbx_vcpu *v, bool read, u64 data)
{
	struct vbx_ioreq *req = v->req;

	if (read && !(req->flags & VBX_IOREQ_PTR))
		req->data = data;
	/* The response is visible before the state that publishes it. */
	virt_wmb();
	WRITE_ONCE(req->flags, (req->flags & ~VBX_IOREQ_STATE) |
		   VBX_STATE_RESP_READY);
	notify_remote_via_irq(v->irq);
}

irqreturn_t vbx_ioreq_event(int irq, void *dev_id)
{
	struct vbx_vcpu *v = dev_id;
	struct vbx_guest *xg = v->xg;
	struct vbx_ioreq *req = v->req;
	struct virtbe_io io;
	u8 flags = READ_ONCE(req->flags);
	bool read = flags & VBX_IOREQ_READ;
	int ret;

	if ((flags & VBX_IOREQ_STATE) != VBX_STATE_READY) {
		atomic64_inc(&xg->stat_spurious);
		xen_irq_lateeoi(irq, XEN_EOI_FLAG_SPURIOUS);
		return IRQ_HANDLED;
	}
	/* Read the request only after seeing it READY. */
	virt_rmb();
	WRITE_ONCE(req->flags, (flags & ~VBX_IOREQ_STATE) |
		   VBX_STATE_INPROCESS);

	if (req->type == VBX_IOREQ_TYPE_INVALIDATE) {
		/* No map cache here: nothing to invalidate. */
		vbx_respond(v, false, 0);
		goto out;
	}
	if ((req->type != VBX_IOREQ_TYPE_COPY &&
	     req->type != VBX_IOREQ_TYPE_PIO) || req->count != 1 ||
	    (flags & VBX_IOREQ_PTR) || !req->size || req->size > 8 ||
	    !is_power_of_2(req->size)) {
		/* rep/string accesses and other types: reads get all-ones */
		atomic64_inc(&xg->stat_unsupported);
		virtbe_ioreq_rejected(xg->g);
		pr_debug("d%u vcpu %u: unsupported ioreq type %u count %u size %u ptr %d\n",
			 xg->domid, v->id, req->type, req->count, req->size,
			 !!(flags & VBX_IOREQ_PTR));
		vbx_respond(v, read, ~0ULL);
		goto out;
	}

	io = (struct virtbe_io) {
		.vcpu = v->id,
		.len = req->size,
		.write = !read,
		.pio = req->type == VBX_IOREQ_TYPE_PIO,
		.addr = req->addr,
		.data = read ? 0 : req->data,
	};
	ret = virtbe_ioreq_dispatch(xg->g, &io);
	if (ret == VIRTBE_IO_QUEUED)
		goto out;	/* vbx_complete() responds */
	if (ret < 0)
		io.data = ~0ULL;
	vbx_respond(v, read, io.data);
out:
	xen_irq_lateeoi(irq, 0);
	return IRQ_HANDLED;
}

/* ---- The buffered ring ---- */

static void vbx_buf_handle(struct vbx_guest *xg, u32 w0, u64 data)
{
	u8 type = FIELD_GET(VBX_BUF_TYPE, w0);
	struct virtbe_io io = {
		.len = 1U << FIELD_GET(VBX_BUF_SIZE, w0),
		.write = true,
		.pio = type == VBX_IOREQ_TYPE_PIO,
		.addr = FIELD_GET(VBX_BUF_ADDR, w0),
		.data = data,
	};
	/* Xen never queues these: refused here, counted as rejected */
	bool refused = (w0 & VBX_BUF_READ) ||
		       (type != VBX_IOREQ_TYPE_PIO && type != VBX_IOREQ_TYPE_COPY);

	if (type == VBX_IOREQ_TYPE_TIMEOFFSET)
		return;		/* the guest's RTC offset: we keep no clock */
	if (refused)
		virtbe_ioreq_rejected(xg->g);
	if (refused || virtbe_ioreq_posted(xg->g, &io) < 0) {
		atomic64_inc(&xg->stat_buf_dropped);
		pr_debug("d%u: buffered ioreq dropped: type %u %s %#llx size %u\n",
			 xg->domid, type, w0 & VBX_BUF_READ ? "read" : "write",
			 io.addr, io.len);
	}
}

/* Consume @n slots; Xen may rebase both pointers meanwhile. */
static void vbx_buf_advance(struct vbx_buf_page *pg, u32 n)
{
	union vbx_buf_ptrs old, new;

	do {
		old.full = READ_ONCE(pg->ptrs.full);
		new = old;
		new.read += n;
	} while (cmpxchg64(&pg->ptrs.full, old.full, new.full) != old.full);
}

irqreturn_t vbx_buf_event(int irq, void *dev_id)
{
	struct vbx_guest *xg = dev_id;
	struct vbx_buf_page *pg = xg->buf;
	unsigned int budget;

	/* One ring's worth a call: Xen cannot have queued more. */
	for (budget = VBX_BUF_SLOTS; budget; budget--) {
		union vbx_buf_ptrs p = { .full = READ_ONCE(pg->ptrs.full) };
		u32 pending = p.write - p.read, w0, n = 1;
		u64 data;

		if (!pending)
			break;
		if (pending > VBX_BUF_SLOTS)
			goto bad;
		/* The slots are read after the pointer that published them. */
		virt_rmb();
		w0 = READ_ONCE(pg->slots[p.read % VBX_BUF_SLOTS].w0);
		data = READ_ONCE(pg->slots[p.read % VBX_BUF_SLOTS].data);
		if (FIELD_GET(VBX_BUF_SIZE, w0) == 3) {
			/* 8 bytes: the high half is in the next slot. */
			if (pending < 2)
				goto bad;
			data |= (u64)READ_ONCE(pg->slots[(p.read + 1) %
							 VBX_BUF_SLOTS].data)
				<< 32;
			n = 2;
		}
		vbx_buf_handle(xg, w0, data);
		vbx_buf_advance(pg, n);
		continue;
bad:
		/* Xen never publishes these: drop everything, do not spin. */
		atomic64_inc(&xg->stat_buf_dropped);
		vbx_buf_advance(pg, pending);
		break;
	}
	xen_irq_lateeoi(irq, budget == VBX_BUF_SLOTS ?
			XEN_EOI_FLAG_SPURIOUS : 0);
	return IRQ_HANDLED;
}

void vbx_complete(struct virtbe_guest *g, u32 vcpu, u64 data,
		  bool aborted)
{
	struct vbx_guest *xg = virtbe_guest_hyp_data(g);
	struct vbx_vcpu *v = &xg->vcpus[vcpu];

	vbx_respond(v, READ_ONCE(v->req->flags) & VBX_IOREQ_READ, data);
}

void vbx_server_destroy(struct vbx_guest *xg)
{
	struct vbx_dm_op op = {
		.op = VBX_DMOP_set_ioreq_server_state,
		.u.state = { .id = xg->id, .enabled = 0 },
	};

	if (!xg->created)
		return;
	/* Both fail once the domain is gone, which is fine. */
	vbx_dm_op(xg->domid, &op);
	op = (struct vbx_dm_op) {
		.op = VBX_DMOP_destroy_ioreq_server,
		.u.destroy = { .id = xg->id },
	};
	vbx_dm_op(xg->domid, &op);
	xg->created = false;
}

void vbx_ioreq_pages_unmap(struct vbx_guest *xg)
{
	struct page **pages = xg->pages + VBX_FIRST_PAGE;
	unsigned int nr = ARRAY_SIZE(xg->pages) - VBX_FIRST_PAGE;

	if (!pages[0])
		return;
	vbx_frames_unmap(pages, nr);
	xen_free_unpopulated_pages(nr, pages);
	memset(xg->pages, 0, sizeof(xg->pages));
	xg->buf = NULL;
}

/* The buffered ring (frame 0, x86 only) and the synchronous slots (frame 1). */
int vbx_ioreq_pages_map(struct vbx_guest *xg)
{
	struct page **pages = xg->pages + VBX_FIRST_PAGE;
	unsigned int nr = ARRAY_SIZE(xg->pages) - VBX_FIRST_PAGE;
	struct xen_mem_acquire_resource xmar = {
		.domid = xg->domid,
		.type = XENMEM_resource_ioreq_server,
		.id = xg->id,
		.nr_frames = nr,
		.frame = XENMEM_resource_ioreq_server_frame_bufioreq +
			 VBX_FIRST_PAGE,
	};
	xen_pfn_t frames[ARRAY_SIZE(xg->pages)];
	unsigned int i, done;
	domid_t owner;
	int ret;

	BUILD_BUG_ON(XENMEM_resource_ioreq_server_frame_ioreq(0) !=
		     XENMEM_resource_ioreq_server_frame_bufioreq + 1);
	BUILD_BUG_ON(sizeof(struct vbx_buf_page) > XEN_PAGE_SIZE);
	ret = xen_alloc_unpopulated_pages(nr, pages);
	if (ret) {
		memset(xg->pages, 0, sizeof(xg->pages));
		return ret;
	}
	/*
	 * An auto-translated caller names the frames where Xen places the
	 * pages; a PV caller gets the machine frames back.
	 */
	for (i = 0; i < nr; i++)
		frames[i] = vbx_xlate ? page_to_xen_pfn(pages[i]) : 0;
	set_xen_guest_handle(xmar.frame_list, frames);
	ret = HYPERVISOR_memory_op(XENMEM_acquire_resource, &xmar);
	if (ret) {
		pr_debug("d%u: acquire_resource: %d\n", xg->domid, ret);
		/* An auto-translated caller may have got the first frame. */
		if (vbx_xlate)
			vbx_physmap_remove(pages, nr);
		goto err_free;
	}
	if (!vbx_xlate) {
		/* Xen says who owns the machine frames. */
		owner = xmar.flags & XENMEM_rsrc_acq_caller_owned ?
			DOMID_SELF : xg->domid;
		ret = vbx_direct_map(pages, frames, nr,
				     MMU_PT_UPDATE_NO_TRANSLATE, owner, &done);
		if (ret) {
			pr_debug("d%u: mapping the ioreq pages: %d\n",
				 xg->domid, ret);
			vbx_direct_unmap(pages, done);
			goto err_free;
		}
	}
	xg->buf = VBX_HAVE_BUF ? page_address(xg->pages[0]) : NULL;
	return 0;

err_free:
	xen_free_unpopulated_pages(nr, pages);
	memset(xg->pages, 0, sizeof(xg->pages));
	return ret;
}

static int vbx_claim(struct virtbe_guest *g, bool pio, u64 addr, u64 len,
		     bool map)
{
	struct vbx_guest *xg = virtbe_guest_hyp_data(g);
	struct vbx_dm_op op = {
		.op = map ? VBX_DMOP_map_io_range_to_ioreq_server :
			    VBX_DMOP_unmap_io_range_from_ioreq_server,
		.u.range = {
			.id = xg->id,
			.type = pio ? VBX_DMOP_IO_RANGE_PORT :
				      VBX_DMOP_IO_RANGE_MEMORY,
			.start = addr,
			.end = addr + len - 1,
		},
	};

	return vbx_dm_op(xg->domid, &op);
}

int vbx_claim_range(struct virtbe_guest *g, bool pio, u64 addr,
		    u64 len)
{
	int ret = vbx_claim(g, pio, addr, len, true);

	return ret == -ESRCH ? -ENODEV : ret;
}

void vbx_release_range(struct virtbe_guest *g, bool pio, u64 addr,
		       u64 len)
{
	vbx_claim(g, pio, addr, len, false);
}
