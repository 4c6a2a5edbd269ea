// SPDX-License-Identifier: GPL-2.0
/*
 * virtbe_xen: the Xen backend of virtbe.
 *
 * Runs in dom0, PV or auto-translated (PVH; Arm's dom0 is auto-translated
 * too).  Per attachment (guest fd) it owns one IOREQ server
 * (XEN_DMOP_create_ioreq_server), maps the server's two pages
 * (XENMEM_acquire_resource: the buffered ring and the synchronous slots),
 * binds one event channel per vCPU and runs the ioreq state machine in the
 * event handler:
 *
 *   Xen: STATE_IOREQ_READY --event--> handler: STATE_IOREQ_INPROCESS
 *     --virtbe_ioreq_dispatch()--> (at once, or later from complete())
 *     STATE_IORESP_READY --event--> Xen resumes the vCPU
 *
 * Xen puts in the buffered ring what needs no answer and must not stop
 * the vCPU: on x86, writes to the standard VGA window (below 1 MiB) and
 * broadcasts of the guest's RTC offset.  The ring's own event drains it:
 * writes an ioeventfd or a kernel-kept register takes are served (see
 * virtbe_ioreq_posted()), time offsets are consumed (we keep no clock),
 * anything else is counted and dropped, never left in the ring.
 *
 * Foreign frames (guest RAM, the ioreq page) reach us in two ways.  A PV
 * dom0 writes page table entries naming them (mmu_update): guest RAM is
 * mapped into the kernel when the window is created (so that a failing
 * frame is reported then) and again, on fault, into the daemon's VM_PFNMAP
 * mapping of the memory fd (mem_fault).  An auto-translated dom0 asks Xen
 * to place them in its own physmap, at the frames of unpopulated pages
 * (XENMEM_add_to_physmap_range, XENMEM_acquire_resource): those pages are
 * then ordinary pages to the kernel, and the core inserts them into the
 * daemon's mappings itself.
 *
 * A domain may have several attachments, as it may have several IOREQ
 * servers (Xen allows 8): each has its own struct vbx_guest, server id,
 * ioreq pages, per-vCPU and buffered-ring event channels, bound guest
 * ports and domain watch; nothing here is per domain or global but the
 * workqueue, so one attachment's detach frees nothing of another's.  Xen
 * sends an access to the server whose ranges hold it and would let two
 * servers map overlapping ranges: the core refuses such claims.  A guest
 * event channel port can be bound by one attachment only (Xen refuses a
 * second interdomain binding: the irqfd fails with EINVAL).
 *
 * Interrupts are sent on interdomain event channels (VIRTBE_IRQ_EVTCHN),
 * on interrupt lines (VIRTBE_IRQ_EDGE, VIRTBE_IRQ_LEVEL: ISA IRQs with
 * XEN_DMOP_set_isa_irq_level on x86, SPIs with XEN_DMOP_set_irq_level on
 * Arm) or as MSIs (VIRTBE_IRQ_MSI, x86: XEN_DMOP_inject_msi).
 *
 * The kernel's Xen headers carry neither the dm_op requests nor (before
 * 6.7) the ioreq layout: the few records used here are defined below from
 * Xen's public headers (xen/include/public/hvm/{dm_op,ioreq}.h, a stable
 * ABI), and checked against the kernel's struct ioreq where it has one.
 *
 * Copyright (C) 2026 The virtbe authors
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitfield.h>
#include <linux/interrupt.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/xarray.h>

#include <xen/events.h>
#include <xen/features.h>
#include <xen/interface/event_channel.h>
#include <xen/interface/hvm/dm_op.h>
#include <xen/interface/memory.h>
#include <xen/interface/xen.h>
#include <xen/page.h>
#include <xen/xen-ops.h>
#include <xen/xen.h>

#include <asm/xen/hypercall.h>

/* Kbuild defines it when the kernel has the ioreq layout (6.7+). */
#ifdef VBX_HAVE_KERNEL_IOREQ
#include <xen/interface/hvm/ioreq.h>
#endif

#include <virtbe_backend.h>

/* ---- Xen public ABI records (xen/include/public/hvm/dm_op.h, ioreq.h) ---- */

#define VBX_DMOP_create_ioreq_server		1
#define VBX_DMOP_get_ioreq_server_info		2
#define VBX_DMOP_map_io_range_to_ioreq_server	3
#define VBX_DMOP_unmap_io_range_from_ioreq_server 4
#define VBX_DMOP_set_ioreq_server_state		5
#define VBX_DMOP_destroy_ioreq_server		6
#define VBX_DMOP_set_isa_irq_level		9
#define VBX_DMOP_inject_msi			14
#define VBX_DMOP_set_irq_level			19
#define VBX_DMOP_nr_vcpus			20

#define VBX_DMOP_no_gfns			BIT(0)
#define VBX_DMOP_IO_RANGE_PORT			0
#define VBX_DMOP_IO_RANGE_MEMORY		1
#define VBX_BUFIOREQ_OFF			0
#define VBX_BUFIOREQ_ATOMIC			2

/*
 * Xen has buffered ioreqs on x86 only: elsewhere (Arm) ioreq_server_create
 * refuses any handle_bufioreq but OFF, and the server has no frame 0.
 */
#define VBX_HAVE_BUF		IS_ENABLED(CONFIG_X86)
/* the first of the server's frames (struct vbx_guest.pages) we map */
#define VBX_FIRST_PAGE		(VBX_HAVE_BUF ? 0 : 1)

/**
 * struct vbx_dm_op - struct xen_dm_op: one device-model operation
 * @op: VBX_DMOP_*
 * @pad: zero
 * @u: the operation's arguments
 * @u.create: XEN_DMOP_create_ioreq_server
 * @u.info: XEN_DMOP_get_ioreq_server_info
 * @u.range: XEN_DMOP_{map,unmap}_io_range_{to,from}_ioreq_server
 * @u.state: XEN_DMOP_set_ioreq_server_state
 * @u.destroy: XEN_DMOP_destroy_ioreq_server
 * @u.isa_irq: XEN_DMOP_set_isa_irq_level
 * @u.msi: XEN_DMOP_inject_msi
 * @u.irq_level: XEN_DMOP_set_irq_level (Arm SPIs)
 * @u.nr_vcpus: XEN_DMOP_nr_vcpus
 * @u.raw: at least as large as Xen's union (Xen copies sizeof its struct)
 */
struct vbx_dm_op {
	u32 op;
	u32 pad;
	union {
		struct {
			u8 handle_bufioreq;
			u8 pad[3];
			u16 id;
		} create;
		struct {
			u16 id;
			u16 flags;
			u32 bufioreq_port;
			u64 ioreq_gfn;
			u64 bufioreq_gfn;
		} info;
		struct {
			u16 id;
			u16 pad;
			u32 type;
			u64 start;
			u64 end;
		} range;
		struct {
			u16 id;
			u8 enabled;
			u8 pad;
		} state;
		struct {
			u16 id;
			u16 pad;
		} destroy;
		struct {
			u8 isa_irq;
			u8 level;
		} isa_irq;
		struct {
			u32 data;
			u32 pad;
			u64 addr;
		} msi;
		struct {
			u32 irq;
			u8 level;
			u8 pad[3];
		} irq_level;
		struct {
			u32 vcpus;
		} nr_vcpus;
		u64 raw[6];
	} u;
};

/**
 * struct vbx_ioreq - struct ioreq: one vCPU's slot in the ioreq page
 * @addr: guest-physical address or port
 * @data: the value (or, with VBX_IOREQ_PTR, the address of the values)
 * @count: repetitions (rep prefixes)
 * @size: bytes per access
 * @vp_eport: Xen's end of the vCPU's event channel
 * @pad0: unused
 * @flags: state (bits 0-3), data_is_ptr (4), dir (5: 1 = read), df (6)
 * @type: VBX_IOREQ_TYPE_*
 */
struct vbx_ioreq {
	u64 addr;
	u64 data;
	u32 count;
	u32 size;
	u32 vp_eport;
	u16 pad0;
	u8 flags;
	u8 type;
};

#define VBX_IOREQ_STATE		GENMASK(3, 0)
#define VBX_IOREQ_PTR		BIT(4)
#define VBX_IOREQ_READ		BIT(5)

#define VBX_STATE_NONE		0
#define VBX_STATE_READY		1
#define VBX_STATE_INPROCESS	2
#define VBX_STATE_RESP_READY	3

#define VBX_IOREQ_TYPE_PIO	0
#define VBX_IOREQ_TYPE_COPY	1
#define VBX_IOREQ_TYPE_TIMEOFFSET 7
#define VBX_IOREQ_TYPE_INVALIDATE 8

/**
 * struct vbx_buf_ioreq - struct buf_ioreq: one slot of the buffered ring
 * @w0: type (bits 0-7), dir (9: 1 = read), size (10-11: log2 of the
 *	bytes), addr (12-31): Xen's bit-fields as laid out on its ABI
 * @data: the value; an 8-byte write takes two slots, the second one
 *	holding the high half
 */
struct vbx_buf_ioreq {
	u32 w0;
	u32 data;
};

#define VBX_BUF_TYPE		GENMASK(7, 0)
#define VBX_BUF_READ		BIT(9)
#define VBX_BUF_SIZE		GENMASK(11, 10)
#define VBX_BUF_ADDR		GENMASK(31, 12)
#define VBX_BUF_SLOTS		511

/**
 * union vbx_buf_ptrs - union bufioreq_pointers
 * @read: the consumer's count, ours
 * @write: the producer's count, Xen's
 * @full: both: Xen and we update them with one 64-bit cmpxchg
 *	(HVM_IOREQSRV_BUFIOREQ_ATOMIC), Xen to take multiples of
 *	VBX_BUF_SLOTS off both
 */
union vbx_buf_ptrs {
	struct {
		u32 read;
		u32 write;
	};
	u64 full;
};

/**
 * struct vbx_buf_page - struct buffered_iopage
 * @ptrs: the ring's pointers
 * @slots: the ring
 */
struct vbx_buf_page {
	union vbx_buf_ptrs ptrs;
	struct vbx_buf_ioreq slots[VBX_BUF_SLOTS];
};

#define VBX_SLOTS		(PAGE_SIZE / sizeof(struct vbx_ioreq))
#define VBX_MAP_BATCH		256
#define VBX_WATCH_MS		500

/* dom0 is auto-translated: foreign frames go into its physmap */
static bool vbx_xlate;

static bool allow_domu;
module_param(allow_domu, bool, 0444);
MODULE_PARM_DESC(allow_domu,
		 "Also load in a privileged domU (driver domain), not only dom0");

static struct workqueue_struct *vbx_wq;

/**
 * struct vbx_vcpu - one vCPU's ioreq channel
 * @xg: owner
 * @id: vCPU index, the slot in the ioreq page
 * @req: the vCPU's slot
 * @irq: Linux irq of our end of the vCPU's event channel, or -1
 */
struct vbx_vcpu {
	struct vbx_guest *xg;
	u32 id;
	struct vbx_ioreq *req;
	int irq;
};

/**
 * struct vbx_guest - an attachment: one IOREQ server of a domain
 * @g: the core's guest (one guest fd)
 * @domid: the Xen domain
 * @id: IOREQ server id
 * @created: the IOREQ server exists
 * @pages: backing of the server's pages, mapped when @pages[1] is set:
 *	the buffered ring (x86 only: unused elsewhere), then the
 *	synchronous slots
 * @buf: the buffered ring (@pages[0]), or NULL
 * @buf_irq: Linux irq of our end of the ring's event channel, or -1
 * @vcpus: one per vCPU
 * @nr_vcpus: entries in @vcpus
 * @port_lock: serialises binding of @ports
 * @ports: the guest's event channel port -> our bound local port + 1
 * @watch: polls the domain; reports its death once
 * @stat_unsupported: ioreqs completed with a defined result, not served
 * @stat_spurious: events that found no request
 * @stat_buf_dropped: buffered ioreqs nothing in the kernel could take
 */
struct vbx_guest {
	struct virtbe_guest *g;
	domid_t domid;
	u16 id;
	bool created;
	struct page *pages[2];
	struct vbx_buf_page *buf;
	int buf_irq;
	struct vbx_vcpu *vcpus;
	u32 nr_vcpus;
	struct mutex port_lock;		/* binding of @ports */
	struct xarray ports;
	struct delayed_work watch;
	atomic64_t stat_unsupported;
	atomic64_t stat_spurious;
	atomic64_t stat_buf_dropped;
};

/**
 * struct vbx_gone - deferred report of a dead domain
 * @work: runs virtbe_guest_gone()
 * @g: the guest, referenced
 */
struct vbx_gone {
	struct work_struct work;
	struct virtbe_guest *g;
};

static int vbx_dm_op(domid_t domid, struct vbx_dm_op *op)
{
	struct xen_dm_op_buf buf;

	set_xen_guest_handle(buf.h, op);
	buf.size = sizeof(*op);
	return HYPERVISOR_dm_op(domid, 1, &buf);
}

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
static int vbx_direct_map(struct page **pages, const xen_pfn_t *frames,
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

static void vbx_direct_unmap(struct page **pages, unsigned int nr)
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
static int vbx_direct_map(struct page **pages, const xen_pfn_t *frames,
			  unsigned int nr, unsigned int cmd, domid_t domid,
			  unsigned int *done)
{
	*done = 0;
	return -EOPNOTSUPP;
}

static void vbx_direct_unmap(struct page **pages, unsigned int nr)
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

static void vbx_physmap_remove(struct page **pages, unsigned int nr)
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

static irqreturn_t vbx_ioreq_event(int irq, void *dev_id)
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

	if (type == VBX_IOREQ_TYPE_TIMEOFFSET)
		return;		/* the guest's RTC offset: we keep no clock */
	if ((w0 & VBX_BUF_READ) ||
	    (type != VBX_IOREQ_TYPE_PIO && type != VBX_IOREQ_TYPE_COPY) ||
	    virtbe_ioreq_posted(xg->g, &io) < 0) {
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

static irqreturn_t vbx_buf_event(int irq, void *dev_id)
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

static void vbx_complete(struct virtbe_guest *g, u32 vcpu, u64 data,
			 bool aborted)
{
	struct vbx_guest *xg = virtbe_guest_hyp_data(g);
	struct vbx_vcpu *v = &xg->vcpus[vcpu];

	vbx_respond(v, READ_ONCE(v->req->flags) & VBX_IOREQ_READ, data);
}

/* ---- Event channels ---- */

static int vbx_bind_interdomain(domid_t domid, evtchn_port_t remote,
				evtchn_port_t *local)
{
	struct evtchn_bind_interdomain bind = {
		.remote_dom = domid,
		.remote_port = remote,
	};
	int ret;

	ret = HYPERVISOR_event_channel_op(EVTCHNOP_bind_interdomain, &bind);
	if (!ret)
		*local = bind.local_port;
	return ret;
}

static void vbx_close_port(evtchn_port_t port)
{
	struct evtchn_close close = { .port = port };

	HYPERVISOR_event_channel_op(EVTCHNOP_close, &close);
}

/* ---- Domain death ---- */

static void vbx_gone_work(struct work_struct *work)
{
	struct vbx_gone *gw = container_of(work, struct vbx_gone, work);

	virtbe_guest_gone(gw->g);
	virtbe_guest_put(gw->g);
	kfree(gw);
}

/*
 * Xen destroys a dying domain's IOREQ servers: a failing query of ours
 * means the guest is gone.  The report runs in its own work item, which
 * detach() never waits for (it holds the guest's lock, the report takes
 * it); the item holds a reference on the guest instead.
 */
static void vbx_watch(struct work_struct *work)
{
	struct vbx_guest *xg = container_of(to_delayed_work(work),
					    struct vbx_guest, watch);
	struct vbx_dm_op op = {
		.op = VBX_DMOP_get_ioreq_server_info,
		.u.info = { .id = xg->id, .flags = VBX_DMOP_no_gfns },
	};
	struct vbx_gone *gw;
	int ret;

	ret = vbx_dm_op(xg->domid, &op);
	if (!ret) {
		queue_delayed_work(vbx_wq, &xg->watch,
				   msecs_to_jiffies(VBX_WATCH_MS));
		return;
	}
	pr_info("d%u: domain gone (ioreq server query: %d)\n", xg->domid, ret);
	gw = kzalloc(sizeof(*gw), GFP_KERNEL);
	if (!gw) {	/* try again later */
		queue_delayed_work(vbx_wq, &xg->watch,
				   msecs_to_jiffies(VBX_WATCH_MS));
		return;
	}
	INIT_WORK(&gw->work, vbx_gone_work);
	virtbe_guest_get(xg->g);
	gw->g = xg->g;
	queue_work(vbx_wq, &gw->work);
}

/* ---- struct virtbe_hyp_ops ---- */

static void vbx_unbind_vcpus(struct vbx_guest *xg)
{
	u32 i;

	if (xg->buf_irq >= 0)
		unbind_from_irqhandler(xg->buf_irq, xg);
	xg->buf_irq = -1;

	for (i = 0; i < xg->nr_vcpus; i++) {
		if (xg->vcpus[i].irq >= 0)
			unbind_from_irqhandler(xg->vcpus[i].irq, &xg->vcpus[i]);
		xg->vcpus[i].irq = -1;
	}
}

static void vbx_server_destroy(struct vbx_guest *xg)
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

/* Take foreign frames off @pages: all of them, or as far as a failed map got. */
static void vbx_frames_unmap(struct page **pages, unsigned int nr)
{
	if (vbx_xlate)
		vbx_physmap_remove(pages, nr);
	else
		vbx_direct_unmap(pages, nr);
}

static void vbx_ioreq_pages_unmap(struct vbx_guest *xg)
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
static int vbx_ioreq_pages_map(struct vbx_guest *xg)
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

static int vbx_bind_vcpus(struct vbx_guest *xg)
{
	struct vbx_ioreq *slots = page_address(xg->pages[1]);
	struct vbx_dm_op op = {
		.op = VBX_DMOP_get_ioreq_server_info,
		.u.info = { .id = xg->id, .flags = VBX_DMOP_no_gfns },
	};
	evtchn_port_t local;
	u32 i;
	int ret;

	/* The buffered ring's channel, one for the server (x86 only) */
	if (VBX_HAVE_BUF) {
		ret = vbx_dm_op(xg->domid, &op);
		if (ret)
			return ret;
		ret = vbx_bind_interdomain(xg->domid, op.u.info.bufioreq_port,
					   &local);
		if (ret)
			return ret;
		ret = bind_evtchn_to_irqhandler_lateeoi(local, vbx_buf_event, 0,
							"virtbe-xen-buf", xg);
		if (ret < 0) {
			vbx_close_port(local);
			return ret;
		}
		xg->buf_irq = ret;
	}

	for (i = 0; i < xg->nr_vcpus; i++) {
		struct vbx_vcpu *v = &xg->vcpus[i];

		v->req = &slots[i];
		ret = vbx_bind_interdomain(xg->domid,
					   READ_ONCE(slots[i].vp_eport),
					   &local);
		if (ret)
			return ret;
		ret = bind_evtchn_to_irqhandler_lateeoi(local, vbx_ioreq_event,
							0, "virtbe-xen", v);
		if (ret < 0) {
			vbx_close_port(local);
			return ret;
		}
		v->irq = ret;
	}
	return 0;
}

static int vbx_attach(struct virtbe_guest *g, u64 guest_id,
		      struct virtbe_attach_info *info)
{
	struct vbx_dm_op op = { .op = VBX_DMOP_nr_vcpus };
	struct vbx_guest *xg;
	u32 i, nr;
	int ret;

	if (guest_id >= DOMID_FIRST_RESERVED || guest_id == 0)
		return -ENOENT;
	ret = vbx_dm_op(guest_id, &op);
	if (ret)
		return ret == -ESRCH ? -ENOENT : ret;
	nr = op.u.nr_vcpus.vcpus;
	if (!nr || nr > VBX_SLOTS || nr > VIRTBE_MAX_VCPUS)
		return -EOPNOTSUPP;

	xg = kzalloc(sizeof(*xg), GFP_KERNEL_ACCOUNT);
	if (!xg)
		return -ENOMEM;
	xg->vcpus = kcalloc(nr, sizeof(*xg->vcpus), GFP_KERNEL_ACCOUNT);
	if (!xg->vcpus) {
		ret = -ENOMEM;
		goto err_free;
	}
	xg->g = g;
	xg->domid = guest_id;
	xg->nr_vcpus = nr;
	xg->buf_irq = -1;
	mutex_init(&xg->port_lock);
	xa_init(&xg->ports);
	INIT_DELAYED_WORK(&xg->watch, vbx_watch);
	for (i = 0; i < nr; i++) {
		xg->vcpus[i] = (struct vbx_vcpu) { .xg = xg, .id = i,
						   .irq = -1 };
	}

	op = (struct vbx_dm_op) {
		.op = VBX_DMOP_create_ioreq_server,
		.u.create.handle_bufioreq = VBX_HAVE_BUF ? VBX_BUFIOREQ_ATOMIC :
							  VBX_BUFIOREQ_OFF,
	};
	ret = vbx_dm_op(xg->domid, &op);
	if (ret) {
		pr_debug("d%u: create_ioreq_server: %d\n", xg->domid, ret);
		goto err_free;
	}
	xg->id = op.u.create.id;
	xg->created = true;

	ret = vbx_ioreq_pages_map(xg);
	if (ret)
		goto err_destroy;

	/* Xen fills in vp_eport when the server is enabled. */
	op = (struct vbx_dm_op) {
		.op = VBX_DMOP_set_ioreq_server_state,
		.u.state = { .id = xg->id, .enabled = 1 },
	};
	ret = vbx_dm_op(xg->domid, &op);
	if (ret)
		goto err_unmap;
	ret = vbx_bind_vcpus(xg);
	if (ret)
		goto err_unbind;

	info->hyp_data = xg;
	info->nr_vcpus = nr;
	info->mem_pfnmap = !vbx_xlate;
	queue_delayed_work(vbx_wq, &xg->watch, msecs_to_jiffies(VBX_WATCH_MS));
	pr_info("d%u: ioreq server %u, %u vCPUs\n", xg->domid, xg->id, nr);
	return 0;

err_unbind:
	vbx_unbind_vcpus(xg);
err_unmap:
	vbx_server_destroy(xg);
	vbx_ioreq_pages_unmap(xg);
	goto err_free;
err_destroy:
	vbx_server_destroy(xg);
err_free:
	kfree(xg->vcpus);
	kfree(xg);
	return ret == -ESRCH ? -ENOENT : ret;
}

static void vbx_detach(struct virtbe_guest *g)
{
	struct vbx_guest *xg = virtbe_guest_hyp_data(g);
	unsigned long port;
	void *entry;

	cancel_delayed_work_sync(&xg->watch);
	/* Disabled first: no new ioreqs; then the handlers are gone. */
	vbx_server_destroy(xg);
	vbx_unbind_vcpus(xg);
	vbx_ioreq_pages_unmap(xg);
	xa_for_each(&xg->ports, port, entry)
		vbx_close_port(xa_to_value(entry));
	xa_destroy(&xg->ports);
	if (atomic64_read(&xg->stat_unsupported))
		pr_info("d%u: %lld ioreqs not served (rep, pointer or other types)\n",
			xg->domid, atomic64_read(&xg->stat_unsupported));
	if (atomic64_read(&xg->stat_buf_dropped))
		pr_info("d%u: %lld buffered ioreqs dropped (no ioeventfd or kernel register took them)\n",
			xg->domid, atomic64_read(&xg->stat_buf_dropped));
	kfree(xg->vcpus);
	kfree(xg);
}

static void vbx_mem_unmap(struct virtbe_guest *g, unsigned long nr_pages,
			  struct page **pages)
{
	vbx_frames_unmap(pages, nr_pages);
	xen_free_unpopulated_pages(nr_pages, pages);
}

static int vbx_mem_map(struct virtbe_guest *g, u64 gpa, unsigned long nr_pages,
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

static int vbx_mem_fault(struct virtbe_guest *g, struct vm_area_struct *vma,
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

static int vbx_claim_range(struct virtbe_guest *g, bool pio, u64 addr,
			   u64 len)
{
	int ret = vbx_claim(g, pio, addr, len, true);

	return ret == -ESRCH ? -ENODEV : ret;
}

static void vbx_release_range(struct virtbe_guest *g, bool pio, u64 addr,
			      u64 len)
{
	vbx_claim(g, pio, addr, len, false);
}

/* x86: ISA IRQs; Arm: SPIs (Xen checks the domain's own limit) */
static bool vbx_line_ok(u32 line)
{
	return IS_ENABLED(CONFIG_X86) ? line < 16 : line >= 32 && line < 1020;
}

/* Set an interrupt line; a dm_op does not sleep: fine in wakeups. */
static void vbx_set_line(struct vbx_guest *xg, u32 line, bool level)
{
	struct vbx_dm_op op;

	if (IS_ENABLED(CONFIG_X86))
		op = (struct vbx_dm_op) {
			.op = VBX_DMOP_set_isa_irq_level,
			.u.isa_irq = { .isa_irq = line, .level = level },
		};
	else
		op = (struct vbx_dm_op) {
			.op = VBX_DMOP_set_irq_level,
			.u.irq_level = { .irq = line, .level = level },
		};
	vbx_dm_op(xg->domid, &op);
}

static int vbx_irq_check(struct virtbe_guest *g, const struct virtbe_irq *irq)
{
	struct vbx_guest *xg = virtbe_guest_hyp_data(g);
	evtchn_port_t local;
	int ret = 0;

	switch (irq->type) {
	case VIRTBE_IRQ_EDGE:
	case VIRTBE_IRQ_LEVEL:
		return vbx_line_ok(irq->irq) ? 0 : -EINVAL;
	case VIRTBE_IRQ_MSI:
		return IS_ENABLED(CONFIG_X86) ? 0 : -EINVAL;
	case VIRTBE_IRQ_EVTCHN:
		break;
	default:
		return -EINVAL;
	}
	if (!irq->irq)
		return -EINVAL;
	mutex_lock(&xg->port_lock);
	if (xa_load(&xg->ports, irq->irq))
		goto out_unlock;
	ret = vbx_bind_interdomain(xg->domid, irq->irq, &local);
	if (ret) {
		pr_debug("d%u: binding port %u: %d\n", xg->domid, irq->irq,
			 ret);
		ret = -EINVAL;
		goto out_unlock;
	}
	ret = xa_err(xa_store(&xg->ports, irq->irq, xa_mk_value(local),
			      GFP_KERNEL));
	if (ret)
		vbx_close_port(local);
out_unlock:
	mutex_unlock(&xg->port_lock);
	return ret;
}

static int vbx_irq_set(struct virtbe_guest *g, const struct virtbe_irq *irq,
		       bool level)
{
	struct vbx_guest *xg = virtbe_guest_hyp_data(g);
	struct vbx_dm_op op;
	void *entry;

	switch (irq->type) {
	case VIRTBE_IRQ_EVTCHN:
		entry = xa_load(&xg->ports, irq->irq);
		if (entry)
			notify_remote_via_evtchn(xa_to_value(entry));
		return 0;
	case VIRTBE_IRQ_EDGE:
		vbx_set_line(xg, irq->irq, true);
		vbx_set_line(xg, irq->irq, false);
		return 0;
	case VIRTBE_IRQ_LEVEL:
		vbx_set_line(xg, irq->irq, level);
		return 0;
	case VIRTBE_IRQ_MSI:
		op = (struct vbx_dm_op) {
			.op = VBX_DMOP_inject_msi,
			.u.msi = { .data = irq->msi_data,
				   .addr = irq->msi_addr },
		};
		vbx_dm_op(xg->domid, &op);
		return 0;
	}
	return 0;
}

static const struct virtbe_hyp_ops vbx_hyp_ops = {
	.owner = THIS_MODULE,
	.name = "xen",
	.id = VIRTBE_HYP_XEN,
#ifdef CONFIG_X86
	.features = VIRTBE_HYP_F_MMIO | VIRTBE_HYP_F_PIO |
		    VIRTBE_HYP_F_IRQ_EDGE | VIRTBE_HYP_F_IRQ_LEVEL |
		    VIRTBE_HYP_F_IRQ_EVTCHN | VIRTBE_HYP_F_IRQ_MSI,
#else
	.features = VIRTBE_HYP_F_MMIO | VIRTBE_HYP_F_IRQ_EDGE |
		    VIRTBE_HYP_F_IRQ_LEVEL | VIRTBE_HYP_F_IRQ_EVTCHN,
#endif
	.attach = vbx_attach,
	.detach = vbx_detach,
	.mem_map = vbx_mem_map,
	.mem_unmap = vbx_mem_unmap,
	.mem_fault = vbx_mem_fault,
	.claim_range = vbx_claim_range,
	.release_range = vbx_release_range,
	.complete = vbx_complete,
	.irq_check = vbx_irq_check,
	.irq_set = vbx_irq_set,
};

static int __init vbx_init(void)
{
	int ret;

	BUILD_BUG_ON(sizeof(struct vbx_ioreq) != 32);
	BUILD_BUG_ON(sizeof(struct vbx_dm_op) < 32);
#ifdef VBX_HAVE_KERNEL_IOREQ
	BUILD_BUG_ON(sizeof(struct vbx_ioreq) != sizeof(struct ioreq));
	BUILD_BUG_ON(offsetof(struct vbx_ioreq, vp_eport) !=
		     offsetof(struct ioreq, vp_eport));
	BUILD_BUG_ON(offsetof(struct vbx_ioreq, type) !=
		     offsetof(struct ioreq, type));
#endif
	if (!xen_domain() || (!xen_initial_domain() && !allow_domu)) {
		pr_debug("not a Xen dom0\n");
		return -ENODEV;
	}
	vbx_xlate = xen_feature(XENFEAT_auto_translated_physmap);
	if (vbx_xlate && PAGE_SIZE != XEN_PAGE_SIZE) {
		pr_info("auto-translated dom0 with %lu-byte pages: not supported\n",
			PAGE_SIZE);
		return -ENODEV;
	}
	/*
	 * Unbound: the watch must not wait for the CPU it last ran on.  An
	 * Arm dom0 does not preempt a hypercall, and xl's destroy of the
	 * guest is one, which Xen keeps busy until we drop our mappings of
	 * the guest's memory: a per-CPU item queued there would only run
	 * once the destroy is over (minutes, an RCU stall meanwhile).
	 */
	vbx_wq = alloc_workqueue("virtbe_xen", WQ_UNBOUND, 0);
	if (!vbx_wq)
		return -ENOMEM;
	ret = virtbe_hyp_register(&vbx_hyp_ops);
	if (ret)
		destroy_workqueue(vbx_wq);
	return ret;
}

static void __exit vbx_exit(void)
{
	virtbe_hyp_unregister(&vbx_hyp_ops);
	destroy_workqueue(vbx_wq);
}

module_init(vbx_init);
module_exit(vbx_exit);
MODULE_DESCRIPTION("virtbe_xen: Xen IOREQ server backend for virtbe");
MODULE_LICENSE("GPL");
MODULE_VERSION(VIRTBE_VERSION);
MODULE_IMPORT_NS(VIRTBE_NS);
