// SPDX-License-Identifier: GPL-2.0
/*
 * virtbe_xen: the Xen backend of virtbe; the module, attach and detach,
 * and the domain watch.
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
 * daemon's mappings itself.  Such a page can be referenced beyond the
 * window's revocation (vmsplice, O_DIRECT): it then keeps the guest's
 * frame until the reference drops, and only then is the frame removed and
 * the page returned to the pool (mem.c; a PV dom0's VM_PFNMAP mappings
 * give get_user_pages() nothing to reference).
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
 * 6.7) the ioreq layout: the few records used are defined in abi.h from
 * Xen's public headers (xen/include/public/hvm/{dm_op,ioreq}.h, a stable
 * ABI), and checked against the kernel's struct ioreq where it has one.
 *
 * Files: main.c (this: the module, attach and detach, the domain watch),
 * ioreq.c (the IOREQ server), mem.c (foreign frames), evtchn.c (event
 * channels and interrupt lines), abi.h, xen.h (private interfaces).
 *
 * Copyright (C) 2026 The virtbe authors
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "xen.h"

/* dom0 is auto-translated: foreign frames go into its physmap */
bool vbx_xlate;

static bool allow_domu;
module_param(allow_domu, bool, 0444);
MODULE_PARM_DESC(allow_domu,
		 "Also load in a privileged domU (driver domain), not only dom0");

struct workqueue_struct *vbx_wq;

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
	if (!xen_domain()) {
		pr_info("not loaded: this kernel does not run on Xen; load it in a Xen dom0\n");
		return -ENODEV;
	}
	if (!xen_initial_domain() && !allow_domu) {
		pr_info("not loaded: this is a Xen domU; virtbe_xen serves guests from dom0\n");
		return -ENODEV;
	}
	vbx_xlate = xen_feature(XENFEAT_auto_translated_physmap);
	if (vbx_xlate && PAGE_SIZE != XEN_PAGE_SIZE) {
		pr_info("not loaded: an auto-translated dom0 with %lu-byte pages is not supported (4 KiB only)\n",
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
	if (ret) {
		pr_info("not loaded: registering with virtbe failed (%d): is another xen backend loaded?\n",
			ret);
		destroy_workqueue(vbx_wq);
	}
	return ret;
}

static void __exit vbx_exit(void)
{
	virtbe_hyp_unregister(&vbx_hyp_ops);
	vbx_held_exit();
	destroy_workqueue(vbx_wq);
}

module_init(vbx_init);
module_exit(vbx_exit);
MODULE_DESCRIPTION("virtbe_xen: Xen IOREQ server backend for virtbe");
MODULE_LICENSE("GPL");
MODULE_VERSION(VIRTBE_VERSION);
MODULE_IMPORT_NS(VIRTBE_NS);
