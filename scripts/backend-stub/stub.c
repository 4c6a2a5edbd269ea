// SPDX-License-Identifier: GPL-2.0
/*
 * A hypervisor backend stub, built by scripts/backend-stub.sh against
 * <virtbe_backend.h> alone (with the uapi header it includes), never
 * shipped or loaded: it proves that a backend needs nothing else of the
 * core.  It fills every op and calls every function the header declares.
 *
 * Copyright (C) 2026 The virtbe authors
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/errno.h>
#include <linux/module.h>
#include <linux/slab.h>

#include <virtbe_backend.h>

/**
 * struct stub_be - one attachment
 * @g: the core's guest
 * @nr_vcpus: vCPUs of the stub's guests
 */
struct stub_be {
	struct virtbe_guest *g;
	u32 nr_vcpus;
};

static int stub_attach(struct virtbe_guest *g, u64 guest_id,
		       struct virtbe_attach_info *info)
{
	struct stub_be *be;

	if (guest_id != 1)
		return -ENOENT;
	be = kzalloc(sizeof(*be), GFP_KERNEL);
	if (!be)
		return -ENOMEM;
	be->g = g;
	be->nr_vcpus = 1;
	info->nr_vcpus = be->nr_vcpus;
	info->mem_pfnmap = false;
	info->hyp_data = be;
	return 0;
}

static void stub_detach(struct virtbe_guest *g)
{
	kfree(virtbe_guest_hyp_data(g));
}

static int stub_mem_map(struct virtbe_guest *g, u64 gpa,
			unsigned long nr_pages, struct page **pages)
{
	return -ENXIO;
}

static void stub_mem_unmap(struct virtbe_guest *g, unsigned long nr_pages,
			   struct page **pages)
{
}

static int stub_mem_fault(struct virtbe_guest *g, struct vm_area_struct *vma,
			  unsigned long addr, u64 gpa, unsigned long nr_pages)
{
	return -EFAULT;
}

static int stub_claim_range(struct virtbe_guest *g, bool pio, u64 addr,
			    u64 len)
{
	return 0;
}

static void stub_release_range(struct virtbe_guest *g, bool pio, u64 addr,
			       u64 len)
{
}

static void stub_complete(struct virtbe_guest *g, u32 vcpu, u64 data,
			  bool aborted)
{
}

static int stub_irq_check(struct virtbe_guest *g, const struct virtbe_irq *irq)
{
	return irq->type == VIRTBE_IRQ_EDGE ? 0 : -EINVAL;
}

static int stub_irq_set(struct virtbe_guest *g, const struct virtbe_irq *irq,
			bool level)
{
	return virtbe_can_signal(NULL) ? 0 : -EWOULDBLOCK;
}

static const struct virtbe_hyp_ops stub_hyp_ops = {
	.owner = THIS_MODULE,
	.name = "stub",
	.id = VIRTBE_HYP_SIM,
	.features = VIRTBE_HYP_F_MMIO | VIRTBE_HYP_F_IRQ_EDGE,
	.attach = stub_attach,
	.detach = stub_detach,
	.mem_map = stub_mem_map,
	.mem_unmap = stub_mem_unmap,
	.mem_fault = stub_mem_fault,
	.claim_range = stub_claim_range,
	.release_range = stub_release_range,
	.complete = stub_complete,
	.irq_check = stub_irq_check,
	.irq_set = stub_irq_set,
};

/* A hypervisor event: one trapped access of the guest. */
static void __maybe_unused stub_event(struct virtbe_guest *g, bool posted)
{
	struct virtbe_io io = {
		.vcpu = 0, .len = 4, .write = true, .addr = 0x1000, .data = 1,
	};
	int ret;

	/* a string access: answered by the hypervisor, counted */
	if (io.len > 8) {
		virtbe_ioreq_rejected(g);
		return;
	}
	ret = posted ? virtbe_ioreq_posted(g, &io) :
		       virtbe_ioreq_dispatch(g, &io);
	if (ret == VIRTBE_IO_QUEUED || ret == VIRTBE_IO_DONE ||
	    ret == VIRTBE_IO_KERNEL || ret < 0)
		virtbe_irq_resample(g, VIRTBE_IRQ_LEVEL, 0);
}

/* The hypervisor reports the guest's death from its own context. */
static void __maybe_unused stub_guest_died(struct virtbe_guest *g)
{
	virtbe_guest_get(g);
	virtbe_guest_gone(g);
	virtbe_guest_put(g);
}

static void __maybe_unused stub_signal(struct eventfd_ctx *ctx)
{
	if (virtbe_can_signal(ctx))
		virtbe_eventfd_signal(ctx);
}

/* A device of the backend's own, with a table-driven ioctl. */
static long stub_info(struct virtbe_ucmd *ucmd)
{
	struct virtbe_info *cmd = ucmd->cmd;

	cmd->out_api_version = VIRTBE_API_VERSION;
	return ucmd->new_file ? virtbe_ucmd_return_file(ucmd, NULL) : 0;
}

static long stub_range(struct virtbe_ucmd *ucmd)
{
	struct virtbe_range *cmd = ucmd->cmd;

	return cmd->len ? 0 : -EINVAL;
}

static const struct virtbe_ioctl_op stub_ioctl_ops[] = {
	VIRTBE_IOCTL_OP_OUT(VIRTBE_GET_INFO, stub_info, struct virtbe_info,
			    out_hyp_features),
	VIRTBE_IOCTL_OP(VIRTBE_CLAIM_RANGE, stub_range, struct virtbe_range,
			len),
};

static long __maybe_unused stub_ioctl(struct file *file, unsigned int cmd,
				      unsigned long arg)
{
	return virtbe_ioctl_dispatch(stub_ioctl_ops,
				     ARRAY_SIZE(stub_ioctl_ops), NULL, cmd,
				     arg);
}

static int __init stub_init(void)
{
	BUILD_BUG_ON(VIRTBE_MAX_VCPUS < 1);
	return virtbe_hyp_register(&stub_hyp_ops);
}

static void __exit stub_exit(void)
{
	virtbe_hyp_unregister(&stub_hyp_ops);
}

module_init(stub_init);
module_exit(stub_exit);
MODULE_DESCRIPTION("virtbe backend stub: a build test of <virtbe_backend.h>");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(VIRTBE_NS);
