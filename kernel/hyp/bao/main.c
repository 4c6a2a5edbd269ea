// SPDX-License-Identifier: GPL-2.0
/*
 * virtbe_bao: the Bao backend of virtbe.
 *
 * Bao is a static partitioning hypervisor (arm64, RISC-V).  A frontend VM's
 * accesses to a "remote I/O" device's register window trap into Bao, which
 * queues them, stops the vCPU and raises the device's interrupt in the
 * backend VM; the backend VM fetches each request by hypercall (ASK),
 * completes it by hypercall (READ/WRITE, naming the request) and raises
 * the device's interrupt in the frontend by hypercall (NOTIFY).  Each
 * device has a shared memory region, mapped at the same address in both
 * VMs: the frontend's virtqueues and buffers live there (a restricted DMA
 * pool of its device tree), and it is all of the frontend's memory the
 * backend can reach.  remio.h has the hypercall.
 *
 * This module runs in the backend VM.  The hypervisor tells a VM nothing
 * of its devices, so the backend VM's device tree does, in a node
 * compatible with "virtbe,bao-remio" (Documentation/bao.rst): per device
 * its index among the VM's remote I/O devices (the device model id the
 * hypercall takes), the backend interrupt, the shared region (a
 * reserved-memory node the kernel has struct pages for), and the frontend
 * VM, register window and interrupt.
 *
 * A virtbe guest is a frontend VM (guest id: its Bao VM id).  Any number
 * of attachments (guest fds) may serve it, each the ranges it claimed: a
 * request goes to the attachment whose claim covers it, and a request
 * nobody claimed is completed here at once (reads return all-ones), so a
 * frontend that probes before its daemon runs sees no device instead of a
 * stopped vCPU.  Requests are numbered by Bao (a slot per physical CPU);
 * that number is the core's vCPU number.  Memory windows (VIRTBE_MEM_MAP)
 * may lie only in the shared regions of the guest's own devices.
 * Interrupts are VIRTBE_IRQ_EDGE with the frontend's interrupt number
 * (the INTID Bao injects), which names the device to NOTIFY.
 *
 * Bao partitions are static: a frontend VM never dies, and no guest is
 * ever reported gone.
 *
 * Copyright (C) 2026 The virtbe authors
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/interrupt.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/of.h>
#include <linux/of_irq.h>
#include <linux/of_reserved_mem.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <virtbe_backend.h>

#include "remio.h"

/* Bao numbers requests by physical CPU: far fewer than this. */
#define VBB_NR_REQS	64
/* Devices of one backend VM (Bao's device model ids are small). */
#define VBB_MAX_DEVS	64
/* Requests one interrupt fetches at most before it returns. */
#define VBB_ASK_MAX	(2 * VBB_NR_REQS)

struct vbb_vm;

/**
 * struct vbb_dev - one remote I/O device of the backend VM
 * @vm: the frontend VM it belongs to
 * @dm_id: its index among the backend VM's remote I/O devices
 * @irq: the backend interrupt (Linux number)
 * @fe_irq: the interrupt Bao injects into the frontend on NOTIFY
 * @mmio: first address of the frontend's register window
 * @mmio_len: its length
 * @shm: guest-physical (and backend) address of the shared region
 * @shm_len: its length
 * @requests: requests fetched
 * @unclaimed: requests no attachment claimed, answered here
 * @rejected: requests the core refused (guest not ready, bad width, busy
 *	vCPU), answered here
 * @failed: hypercalls Bao refused
 * @name: for /proc/interrupts
 */
struct vbb_dev {
	struct vbb_vm *vm;
	u32 dm_id;
	int irq;
	u32 fe_irq;
	u64 mmio;
	u64 mmio_len;
	u64 shm;
	u64 shm_len;
	atomic64_t requests;
	atomic64_t unclaimed;
	atomic64_t rejected;
	atomic64_t failed;
	char name[32];
};

/**
 * struct vbb_vm - a frontend VM: a virtbe guest
 * @node: entry in vbb_vms
 * @id: Bao's VM id
 * @lock: protects @ranges (taken in the backend interrupt)
 * @ranges: struct vbb_range of every attachment
 * @nr_devs: entries in @devs
 * @devs: its devices
 */
struct vbb_vm {
	struct list_head node;
	u64 id;
	spinlock_t lock;		/* @ranges */
	struct list_head ranges;
	unsigned int nr_devs;
	struct vbb_dev *devs[VBB_MAX_DEVS];
};

/**
 * struct vbb_slot - a request handed to the core, until it is completed
 * @dev: the device Bao reported it on
 * @width: access width in bytes
 * @write: a write
 */
struct vbb_slot {
	struct vbb_dev *dev;
	u8 width;
	bool write;
};

/**
 * struct vbb_att - one attachment (guest fd) of a frontend VM
 * @vm: the VM
 * @slots: by Bao's request id (the core's vCPU number)
 *
 * Freed after an RCU grace period: the interrupt handler uses it under
 * rcu_read_lock() after finding it in a range.
 */
struct vbb_att {
	struct vbb_vm *vm;
	struct vbb_slot slots[VBB_NR_REQS];
};

/**
 * struct vbb_range - a range an attachment claimed
 * @node: entry in vbb_vm.ranges
 * @att: the attachment
 * @g: its core guest
 * @addr: first address
 * @len: length
 */
struct vbb_range {
	struct list_head node;
	struct vbb_att *att;
	struct virtbe_guest *g;
	u64 addr;
	u64 len;
};

static LIST_HEAD(vbb_vms);
static struct vbb_dev *vbb_devs;
static unsigned int vbb_nr_devs;

static u64 vbb_mask(unsigned int width)
{
	return width >= 8 ? ~0ULL : (1ULL << (8 * width)) - 1;
}

/* Complete request @id of @dev (Bao resumes the frontend's vCPU). */
static void vbb_answer(struct vbb_dev *dev, bool write, u64 id, u64 value)
{
	struct arm_smccc_1_2_regs res;
	unsigned long ret;

	ret = vbb_remio(dev->dm_id, 0, write ? VBB_OP_WRITE : VBB_OP_READ,
			write ? 0 : value, id, &res);
	if (ret) {
		atomic64_inc(&dev->failed);
		pr_warn_ratelimited("device %u: Bao refused to complete request %llu (%ld)\n",
				    dev->dm_id, id, (long)ret);
	}
}

/* The attachment whose claim holds [@addr, @addr + @len), or NULL. */
static struct vbb_range *vbb_claimed(struct vbb_vm *vm, u64 addr, u64 len)
{
	struct vbb_range *r;

	lockdep_assert_held(&vm->lock);
	list_for_each_entry(r, &vm->ranges, node)
		if (addr >= r->addr && addr - r->addr < r->len &&
		    len <= r->len - (addr - r->addr))
			return r;
	return NULL;
}

static void vbb_handle(struct vbb_dev *dev, const struct vbb_req *req)
{
	struct vbb_vm *vm = dev->vm;
	bool write = req->op == VBB_OP_WRITE;
	unsigned int width = req->width;
	struct virtbe_guest *g = NULL;
	struct vbb_att *att = NULL;
	u64 value = ~0ULL;
	struct vbb_range *r;
	unsigned long flags;

	atomic64_inc(&dev->requests);
	rcu_read_lock();
	if (req->id < VBB_NR_REQS) {
		spin_lock_irqsave(&vm->lock, flags);
		r = vbb_claimed(vm, req->addr, width);
		if (r) {
			att = r->att;
			g = r->g;
		}
		spin_unlock_irqrestore(&vm->lock, flags);
	}
	if (att) {
		struct virtbe_io io = {
			.vcpu = req->id, .len = width, .write = write,
			.addr = req->addr,
			.data = write ? req->value & vbb_mask(width) : 0,
		};
		int ret;

		att->slots[req->id] = (struct vbb_slot) {
			.dev = dev, .width = width, .write = write,
		};
		ret = virtbe_ioreq_dispatch(g, &io);
		if (ret == VIRTBE_IO_QUEUED) {
			rcu_read_unlock();
			return;		/* vbb_complete() answers */
		}
		if (ret == VIRTBE_IO_KERNEL)
			value = io.data;
		else if (ret < 0)
			atomic64_inc(&dev->rejected);
	} else {
		atomic64_inc(&dev->unclaimed);
	}
	rcu_read_unlock();
	vbb_answer(dev, write, req->id, value & vbb_mask(width));
}

/* Fetch and handle the device's pending requests. */
static void vbb_drain(struct vbb_dev *dev)
{
	struct vbb_req req;
	unsigned int n;

	for (n = 0; n < VBB_ASK_MAX; n++) {
		if (!vbb_remio_ask(dev->dm_id, &req))
			break;
		vbb_handle(dev, &req);
		if (!req.more)
			break;
	}
}

/*
 * Bao raises the interrupt once per request; one run may fetch the
 * requests of later ones, which then find nothing.  It is the device's
 * own line: handled either way.
 */
static irqreturn_t vbb_interrupt(int irq, void *data)
{
	vbb_drain(data);
	return IRQ_HANDLED;
}

/* ---- struct virtbe_hyp_ops ---- */

static struct vbb_vm *vbb_vm_find(u64 id)
{
	struct vbb_vm *vm;

	list_for_each_entry(vm, &vbb_vms, node)
		if (vm->id == id)
			return vm;
	return NULL;
}

static int vbb_attach(struct virtbe_guest *g, u64 guest_id,
		      struct virtbe_attach_info *info)
{
	struct vbb_vm *vm = vbb_vm_find(guest_id);
	struct vbb_att *att;

	if (!vm)
		return -ENOENT;
	att = kzalloc(sizeof(*att), GFP_KERNEL_ACCOUNT);
	if (!att)
		return -ENOMEM;
	att->vm = vm;
	info->hyp_data = att;
	info->nr_vcpus = VBB_NR_REQS;
	return 0;
}

static void vbb_detach(struct virtbe_guest *g)
{
	struct vbb_att *att = virtbe_guest_hyp_data(g);

	/* The core released every range: wait for handlers still using it. */
	synchronize_rcu();
	kfree(att);
}

/* The shared region of @vm's devices holding guest address @gpa. */
static struct vbb_dev *vbb_shm(struct vbb_vm *vm, u64 gpa)
{
	unsigned int i;

	for (i = 0; i < vm->nr_devs; i++) {
		struct vbb_dev *dev = vm->devs[i];

		if (gpa >= dev->shm && gpa - dev->shm < dev->shm_len)
			return dev;
	}
	return NULL;
}

static void vbb_mem_unmap(struct virtbe_guest *g, unsigned long nr_pages,
			  struct page **pages)
{
	unsigned long i;

	for (i = 0; i < nr_pages; i++)
		if (pages[i])
			put_page(pages[i]);
}

/*
 * The shared regions are at the same address in both VMs, and are memory
 * the backend's kernel has struct pages for (checked at load).
 */
static int vbb_mem_map(struct virtbe_guest *g, u64 gpa, unsigned long nr_pages,
		       struct page **pages)
{
	struct vbb_att *att = virtbe_guest_hyp_data(g);
	unsigned long i;

	for (i = 0; i < nr_pages; i++) {
		u64 addr = gpa + ((u64)i << PAGE_SHIFT);

		if (!vbb_shm(att->vm, addr)) {
			vbb_mem_unmap(g, i, pages);
			memset(pages, 0, i * sizeof(*pages));
			return -ENXIO;
		}
		pages[i] = pfn_to_page(PHYS_PFN(addr));
		get_page(pages[i]);
	}
	return 0;
}

/*
 * Bao forwards only the devices' register windows: a claim elsewhere is
 * kept (the core checked it) but sees no access.
 */
static int vbb_claim_range(struct virtbe_guest *g, bool pio, u64 addr, u64 len)
{
	struct vbb_att *att = virtbe_guest_hyp_data(g);
	struct vbb_vm *vm = att->vm;
	struct vbb_range *r;
	unsigned long flags;

	if (pio)
		return -EOPNOTSUPP;
	r = kzalloc(sizeof(*r), GFP_KERNEL_ACCOUNT);
	if (!r)
		return -ENOMEM;
	*r = (struct vbb_range) { .att = att, .g = g, .addr = addr, .len = len };
	spin_lock_irqsave(&vm->lock, flags);
	list_add_tail(&r->node, &vm->ranges);
	spin_unlock_irqrestore(&vm->lock, flags);
	return 0;
}

static void vbb_release_range(struct virtbe_guest *g, bool pio, u64 addr,
			      u64 len)
{
	struct vbb_att *att = virtbe_guest_hyp_data(g);
	struct vbb_vm *vm = att->vm;
	struct vbb_range *r, *found = NULL;
	unsigned long flags;

	spin_lock_irqsave(&vm->lock, flags);
	list_for_each_entry(r, &vm->ranges, node) {
		if (r->att == att && r->addr == addr && r->len == len) {
			list_del(&r->node);
			found = r;
			break;
		}
	}
	spin_unlock_irqrestore(&vm->lock, flags);
	/* Readers look at ranges under the lock only. */
	kfree(found);
}

static void vbb_complete(struct virtbe_guest *g, u32 vcpu, u64 data,
			 bool aborted)
{
	struct vbb_att *att = virtbe_guest_hyp_data(g);
	struct vbb_slot s = att->slots[vcpu];

	if (aborted)
		data = ~0ULL;
	vbb_answer(s.dev, s.write, vcpu, data & vbb_mask(s.width));
}

/* The device of @vm whose frontend interrupt is @irq. */
static struct vbb_dev *vbb_irq_dev(struct vbb_vm *vm,
				   const struct virtbe_irq *irq)
{
	unsigned int i;

	if (irq->type != VIRTBE_IRQ_EDGE)
		return NULL;
	for (i = 0; i < vm->nr_devs; i++)
		if (vm->devs[i]->fe_irq == irq->irq)
			return vm->devs[i];
	return NULL;
}

static int vbb_irq_check(struct virtbe_guest *g, const struct virtbe_irq *irq)
{
	struct vbb_att *att = virtbe_guest_hyp_data(g);

	return vbb_irq_dev(att->vm, irq) ? 0 : -EINVAL;
}

static int vbb_irq_set(struct virtbe_guest *g, const struct virtbe_irq *irq,
		       bool level)
{
	struct vbb_att *att = virtbe_guest_hyp_data(g);
	struct vbb_dev *dev = vbb_irq_dev(att->vm, irq);
	struct arm_smccc_1_2_regs res;
	unsigned long ret;

	if (!dev || !level)
		return 0;
	ret = vbb_remio(dev->dm_id, 0, VBB_OP_NOTIFY, 0, 0, &res);
	if (ret) {
		atomic64_inc(&dev->failed);
		pr_warn_ratelimited("device %u: Bao refused to notify VM %llu (%ld)\n",
				    dev->dm_id, att->vm->id, (long)ret);
	}
	return 0;
}

static const struct virtbe_hyp_ops vbb_hyp_ops = {
	.owner = THIS_MODULE,
	.name = "bao",
	.id = VIRTBE_HYP_BAO,
	.features = VIRTBE_HYP_F_MMIO | VIRTBE_HYP_F_IRQ_EDGE,
	.attach = vbb_attach,
	.detach = vbb_detach,
	.mem_map = vbb_mem_map,
	.mem_unmap = vbb_mem_unmap,
	.claim_range = vbb_claim_range,
	.release_range = vbb_release_range,
	.complete = vbb_complete,
	.irq_check = vbb_irq_check,
	.irq_set = vbb_irq_set,
};

/* ---- The device tree ---- */

static int vbb_read_u32(struct device_node *np, const char *prop, u32 *val)
{
	int ret = of_property_read_u32(np, prop, val);

	if (ret)
		pr_err("%pOF: property \"%s\" is %s: want one cell (Documentation/bao.rst)\n",
		       np, prop, ret == -EINVAL ? "missing" : "malformed");
	return ret;
}

static int vbb_parse_shm(struct device_node *np, struct vbb_dev *dev)
{
	struct device_node *mnp = of_parse_phandle(np, "memory-region", 0);
	struct reserved_mem *rmem;
	unsigned long pfn;

	if (!mnp) {
		pr_err("%pOF: property \"memory-region\" is missing: want the phandle of the device's shared region, a reserved-memory node\n",
		       np);
		return -EINVAL;
	}
	rmem = of_reserved_mem_lookup(mnp);
	if (!rmem) {
		pr_err("%pOF: \"memory-region\" %pOF is not a reserved-memory region the kernel set aside\n",
		       np, mnp);
		of_node_put(mnp);
		return -EINVAL;
	}
	dev->shm = rmem->base;
	dev->shm_len = rmem->size;
	if (!dev->shm_len || !PAGE_ALIGNED(dev->shm) ||
	    !PAGE_ALIGNED(dev->shm_len)) {
		pr_err("%pOF: shared region %pOF (0x%llx, 0x%llx) is not whole pages\n",
		       np, mnp, dev->shm, dev->shm_len);
		of_node_put(mnp);
		return -EINVAL;
	}
	for (pfn = PHYS_PFN(dev->shm); pfn < PHYS_PFN(dev->shm + dev->shm_len);
	     pfn++) {
		if (!pfn_valid(pfn)) {
			pr_err("%pOF: shared region %pOF has no struct page at 0x%llx: it must lie in a memory node and not be no-map\n",
			       np, mnp, (u64)PFN_PHYS(pfn));
			of_node_put(mnp);
			return -EINVAL;
		}
	}
	of_node_put(mnp);
	return 0;
}

static int vbb_parse_dev(struct device_node *np, struct vbb_dev *dev)
{
	u32 mmio[4], vm_id;
	int ret;

	ret = vbb_read_u32(np, "reg", &dev->dm_id);
	if (!ret)
		ret = vbb_read_u32(np, "virtbe,frontend-vm", &vm_id);
	if (!ret)
		ret = vbb_read_u32(np, "virtbe,frontend-interrupt", &dev->fe_irq);
	if (ret)
		return ret;
	if (of_property_read_u32_array(np, "virtbe,frontend-mmio", mmio, 4) ||
	    of_property_count_u32_elems(np, "virtbe,frontend-mmio") != 4) {
		pr_err("%pOF: property \"virtbe,frontend-mmio\" must be <address size>, two cells each\n",
		       np);
		return -EINVAL;
	}
	dev->mmio = (u64)mmio[0] << 32 | mmio[1];
	dev->mmio_len = (u64)mmio[2] << 32 | mmio[3];
	if (!dev->mmio_len || dev->mmio + dev->mmio_len < dev->mmio) {
		pr_err("%pOF: \"virtbe,frontend-mmio\" is an empty or wrapping window\n",
		       np);
		return -EINVAL;
	}
	ret = vbb_parse_shm(np, dev);
	if (ret)
		return ret;
	dev->irq = irq_of_parse_and_map(np, 0);
	if (!dev->irq) {
		pr_err("%pOF: property \"interrupts\" is missing or names no interrupt the kernel can map\n",
		       np);
		return -EINVAL;
	}
	dev->vm = vbb_vm_find(vm_id);
	if (!dev->vm) {
		dev->vm = kzalloc(sizeof(*dev->vm), GFP_KERNEL);
		if (!dev->vm)
			return -ENOMEM;
		dev->vm->id = vm_id;
		spin_lock_init(&dev->vm->lock);
		INIT_LIST_HEAD(&dev->vm->ranges);
		list_add_tail(&dev->vm->node, &vbb_vms);
	}
	dev->vm->devs[dev->vm->nr_devs++] = dev;
	snprintf(dev->name, sizeof(dev->name), "virtbe_bao:%u", dev->dm_id);
	return 0;
}

/* Two devices with one id, or one VM's windows overlapping. */
static int vbb_check_dev(struct device_node *np, unsigned int n)
{
	struct vbb_dev *dev = &vbb_devs[n];
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct vbb_dev *o = &vbb_devs[i];

		if (o->dm_id == dev->dm_id) {
			pr_err("%pOF: device model id (\"reg\") %u appears twice\n",
			       np, dev->dm_id);
			return -EINVAL;
		}
		if (o->irq == dev->irq) {
			pr_err("%pOF: \"interrupts\" names device %u's interrupt: each device needs its own\n",
			       np, o->dm_id);
			dev->irq = 0;	/* the mapping is @o's: disposed once */
			return -EINVAL;
		}
		if (o->vm == dev->vm && o->fe_irq == dev->fe_irq) {
			pr_err("%pOF: \"virtbe,frontend-interrupt\" %u is device %u's too, in VM %llu\n",
			       np, dev->fe_irq, o->dm_id, dev->vm->id);
			return -EINVAL;
		}
		if (o->vm == dev->vm && dev->mmio < o->mmio + o->mmio_len &&
		    o->mmio < dev->mmio + dev->mmio_len) {
			pr_err("%pOF: \"virtbe,frontend-mmio\" overlaps device %u's window in VM %llu\n",
			       np, o->dm_id, dev->vm->id);
			return -EINVAL;
		}
	}
	return 0;
}

static void vbb_free(void)
{
	struct vbb_vm *vm, *tmp;
	unsigned int i;

	for (i = 0; i < vbb_nr_devs; i++)
		if (vbb_devs[i].irq)
			irq_dispose_mapping(vbb_devs[i].irq);
	list_for_each_entry_safe(vm, tmp, &vbb_vms, node) {
		list_del(&vm->node);
		kfree(vm);
	}
	kfree(vbb_devs);
	vbb_devs = NULL;
	vbb_nr_devs = 0;
}

static int vbb_parse(struct device_node *np)
{
	struct device_node *child;
	unsigned int n = of_get_available_child_count(np);
	int ret;

	if (!n || n > VBB_MAX_DEVS) {
		pr_err("%pOF: %u devices: want 1 to %u\n", np, n, VBB_MAX_DEVS);
		return -EINVAL;
	}
	vbb_devs = kcalloc(n, sizeof(*vbb_devs), GFP_KERNEL);
	if (!vbb_devs)
		return -ENOMEM;
	for_each_available_child_of_node(np, child) {
		ret = vbb_parse_dev(child, &vbb_devs[vbb_nr_devs]);
		if (!ret)
			ret = vbb_check_dev(child, vbb_nr_devs);
		vbb_nr_devs++;
		if (ret) {
			of_node_put(child);
			vbb_free();
			return ret;
		}
	}
	return 0;
}

static void vbb_free_irqs(unsigned int n)
{
	while (n--)
		free_irq(vbb_devs[n].irq, &vbb_devs[n]);
}

static int __init vbb_init(void)
{
	struct device_node *np;
	unsigned int i;
	int ret;

	np = of_find_compatible_node(NULL, NULL, "virtbe,bao-remio");
	if (!np) {
		pr_info("not loaded: no \"virtbe,bao-remio\" node in the device tree: is this a Bao backend VM? (Documentation/bao.rst)\n");
		return -ENODEV;
	}
	ret = vbb_parse(np);
	of_node_put(np);
	if (ret) {
		pr_info("not loaded: the \"virtbe,bao-remio\" node is invalid (see the message above)\n");
		return ret;
	}
	for (i = 0; i < vbb_nr_devs; i++) {
		struct vbb_dev *dev = &vbb_devs[i];

		ret = request_irq(dev->irq, vbb_interrupt, 0, dev->name, dev);
		if (ret) {
			pr_info("not loaded: device %u: interrupt %d: %d\n",
				dev->dm_id, dev->irq, ret);
			vbb_free_irqs(i);
			vbb_free();
			return ret;
		}
	}
	/*
	 * Requests made before we were loaded raised no interrupt of ours:
	 * nothing is attached yet, so they are answered as unclaimed.
	 */
	for (i = 0; i < vbb_nr_devs; i++) {
		struct vbb_dev *dev = &vbb_devs[i];

		disable_irq(dev->irq);
		vbb_drain(dev);
		enable_irq(dev->irq);
	}
	/* Last: once registered, a guest may attach. */
	ret = virtbe_hyp_register(&vbb_hyp_ops);
	if (ret) {
		pr_info("not loaded: registering with virtbe failed (%d): is another bao backend loaded?\n",
			ret);
		vbb_free_irqs(vbb_nr_devs);
		vbb_free();
		return ret;
	}
	for (i = 0; i < vbb_nr_devs; i++) {
		struct vbb_dev *dev = &vbb_devs[i];

		pr_info("device %u: VM %llu registers 0x%llx+0x%llx, interrupt %u; shared region 0x%llx+0x%llx\n",
			dev->dm_id, dev->vm->id, dev->mmio, dev->mmio_len,
			dev->fe_irq, dev->shm, dev->shm_len);
	}
	return 0;
}

static void __exit vbb_exit(void)
{
	unsigned int i;

	/* The core holds the module while a guest is attached: none is. */
	virtbe_hyp_unregister(&vbb_hyp_ops);
	vbb_free_irqs(vbb_nr_devs);
	for (i = 0; i < vbb_nr_devs; i++) {
		struct vbb_dev *dev = &vbb_devs[i];

		pr_info("device %u: %lld requests, %lld unclaimed, %lld refused by virtbe, %lld refused hypercalls\n",
			dev->dm_id, atomic64_read(&dev->requests),
			atomic64_read(&dev->unclaimed),
			atomic64_read(&dev->rejected),
			atomic64_read(&dev->failed));
	}
	vbb_free();
}

module_init(vbb_init);
module_exit(vbb_exit);
MODULE_DESCRIPTION("virtbe_bao: Bao remote I/O backend for virtbe");
MODULE_LICENSE("GPL");
MODULE_VERSION(VIRTBE_VERSION);
MODULE_IMPORT_NS(VIRTBE_NS);
