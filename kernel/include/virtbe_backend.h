/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtbe: the hypervisor backend interface.
 *
 * The one header a hypervisor backend (kernel/hyp/) includes.  It declares
 * the ops table a backend fills, the records the core and a backend
 * exchange, and the core functions a backend may call, all exported in the
 * VIRTBE symbol namespace (a backend says MODULE_IMPORT_NS(VIRTBE_NS)).
 * The guest is opaque: a backend keeps its own state in the pointer that
 * &virtbe_hyp_ops.attach returns in &virtbe_attach_info.hyp_data and reads
 * it back with virtbe_guest_hyp_data().  Documentation/backends.rst
 * describes the contract as a whole.
 *
 * Copyright (C) 2026 The virtbe authors
 */
#ifndef _VIRTBE_BACKEND_H
#define _VIRTBE_BACKEND_H

#include <linux/bits.h>
#include <linux/build_bug.h>
#include <linux/eventfd.h>
#include <linux/export.h>
#include <linux/fs.h>
#include <linux/ioctl.h>
#include <linux/module.h>
#include <linux/stddef.h>
#include <linux/types.h>
#include <linux/version.h>
#include <uapi/linux/virtbe.h>

/*
 * The symbol namespace of the core's exports: a bare token up to 6.12, a
 * string from 6.13 on.  Backends write MODULE_IMPORT_NS(VIRTBE_NS).
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 13, 0)
#define VIRTBE_NS	"VIRTBE"
#else
#define VIRTBE_NS	VIRTBE
#endif

/* vCPU index bits in a request id; the rest is a sequence number. */
#define VIRTBE_ID_VCPU_BITS	12
/* Most vCPUs a guest may have (&virtbe_attach_info.nr_vcpus). */
#define VIRTBE_MAX_VCPUS	BIT(VIRTBE_ID_VCPU_BITS)

/* The core's guest, one attachment (guest fd): opaque to backends. */
struct virtbe_guest;
struct vm_area_struct;
struct page;

/**
 * struct virtbe_io - one trapped guest access, as a hypervisor reports it
 * @vcpu: the vCPU that made the access, below &virtbe_attach_info.nr_vcpus
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
 * struct virtbe_attach_info - what &virtbe_hyp_ops.attach reports
 * @nr_vcpus: number of vCPUs of the guest, 1 to VIRTBE_MAX_VCPUS
 *	(mandatory): vCPU numbers in &virtbe_io.vcpu are below it
 * @mem_pfnmap: the guest's memory fds are mapped VM_IO | VM_PFNMAP
 *	through &virtbe_hyp_ops.mem_fault (which is then mandatory)
 * @hyp_data: the backend's data for this attachment, returned by
 *	virtbe_guest_hyp_data()
 *
 * The core zeroes it before the call and reads it only when attach
 * returns 0.
 */
struct virtbe_attach_info {
	u32 nr_vcpus;
	bool mem_pfnmap;
	void *hyp_data;
};

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
 *	attachments from overlapping).  Fills @info.  The hypervisor may
 *	call virtbe_ioreq_dispatch() or virtbe_guest_gone() for @g as soon
 *	as attach published it: the core refuses requests (-ENODEV) until
 *	attach has returned and the guest is set up.  Returns 0,
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
 *	the guests whose @attach set &virtbe_attach_info.mem_pfnmap: their
 *	memory fds are mapped VM_IO | VM_PFNMAP and a fault calls it to map
 *	@nr_pages guest frames from @gpa at @addr of @vma (all inside one
 *	window filled by @mem_map).  Returns 0 or -errno.  Process context,
 *	mmap lock held for reading.
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
 *	from an irqfd's eventfd wakeup callback (the eventfd's lock held,
 *	interrupts possibly disabled), from virtbe_irq_resample() under RCU,
 *	and from virtbe_ioreq_dispatch() (in the backend's context): must
 *	not sleep.  Returns 0, or -EWOULDBLOCK when it cannot inject in
 *	this context (e.g. it must signal an eventfd and
 *	virtbe_can_signal() says no): the core then calls it again from a
 *	work item, in process context, where it must not fail so.  Must
 *	cope with a guest that already died.
 */
struct virtbe_hyp_ops {
	struct module *owner;
	const char *name;
	u32 id;
	u64 features;

	/* Guest */
	int (*attach)(struct virtbe_guest *g, u64 guest_id,
		      struct virtbe_attach_info *info);
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
	int (*irq_set)(struct virtbe_guest *g, const struct virtbe_irq *irq,
		       bool level);
};

/* Backend registry */
int virtbe_hyp_register(const struct virtbe_hyp_ops *ops);
void virtbe_hyp_unregister(const struct virtbe_hyp_ops *ops);

/* Guests */
void *virtbe_guest_hyp_data(const struct virtbe_guest *g);
void virtbe_guest_get(struct virtbe_guest *g);
void virtbe_guest_put(struct virtbe_guest *g);
void virtbe_guest_gone(struct virtbe_guest *g);

/* Return values of virtbe_ioreq_dispatch() and virtbe_ioreq_posted() */
#define VIRTBE_IO_QUEUED	0	/* &virtbe_hyp_ops.complete will follow */
#define VIRTBE_IO_DONE		1	/* consumed by an ioeventfd */
#define VIRTBE_IO_KERNEL	2	/* answered by the kernel, io->data set */

/* Requests */
int virtbe_ioreq_dispatch(struct virtbe_guest *g, struct virtbe_io *io);
int virtbe_ioreq_posted(struct virtbe_guest *g, struct virtbe_io *io);
void virtbe_ioreq_rejected(struct virtbe_guest *g);

/* Interrupts */
void virtbe_irq_resample(struct virtbe_guest *g, u32 type, u32 irq);
bool virtbe_can_signal(struct eventfd_ctx *ctx);

/**
 * virtbe_eventfd_signal() - eventfd_signal() of every supported kernel
 * @ctx: the eventfd
 *
 * eventfd_signal() lost its count argument in 6.8.
 */
static inline void virtbe_eventfd_signal(struct eventfd_ctx *ctx)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
	eventfd_signal(ctx);
#else
	eventfd_signal(ctx, 1);
#endif
}

/*
 * Table-driven ioctls, for a backend with a device of its own (the
 * simulator's frontend): the core's dispatcher, as /dev/virtbe uses it.
 */

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
					  2 * sizeof(u32)) +		\
			BUILD_BUG_ON_ZERO(sizeof(_struct) >		\
					  VIRTBE_UCMD_MAX),		\
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

/*
 * Largest ioctl struct handled by virtbe_ioctl_dispatch() (its buffer is on
 * the stack); a table entry for a larger one does not build.
 */
#define VIRTBE_UCMD_MAX	128

long virtbe_ioctl_dispatch(const struct virtbe_ioctl_op *ops,
			   unsigned int nr_ops, void *obj, unsigned int cmd,
			   unsigned long arg);

#endif /* _VIRTBE_BACKEND_H */
