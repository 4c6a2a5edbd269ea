/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtbe_xen: private interfaces of the Xen backend's files.
 *
 * main.c  the module, attach/detach and the domain watch
 * ioreq.c the IOREQ server: pages, ioreq state machine, buffered ring,
 *         ranges
 * mem.c   foreign frames: memory windows (and their pages still referenced
 *         after revocation) and the ioreq pages
 * evtchn.c event channels and interrupt lines
 * abi.h   Xen's public ABI records
 *
 * Copyright (C) 2026 The virtbe authors
 */
#ifndef _VIRTBE_XEN_H
#define _VIRTBE_XEN_H

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

#include "abi.h"

#define VBX_SLOTS		(PAGE_SIZE / sizeof(struct vbx_ioreq))
#define VBX_MAP_BATCH		256
#define VBX_WATCH_MS		500

/* dom0 is auto-translated: foreign frames go into its physmap (main.c) */
extern bool vbx_xlate;
/* unbound workqueue of the domain watch (main.c) */
extern struct workqueue_struct *vbx_wq;

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

/**
 * vbx_dm_op() - one device-model operation on a domain
 * @domid: the domain
 * @op: the operation; Xen writes its results back
 *
 * Return: 0 or -errno from HYPERVISOR_dm_op.
 */
static inline int vbx_dm_op(domid_t domid, struct vbx_dm_op *op)
{
	struct xen_dm_op_buf buf;

	set_xen_guest_handle(buf.h, op);
	buf.size = sizeof(*op);
	return HYPERVISOR_dm_op(domid, 1, &buf);
}

/* ---- mem.c ---- */

/**
 * vbx_direct_map() - map foreign frames into the kernel's direct map (PV)
 * @pages: unpopulated pages whose direct-map entries are set
 * @frames: frames of @domid, or NULL to clear the entries
 * @nr: entries in @pages and @frames
 * @cmd: the mmu_update command
 * @domid: the frames' domain
 * @done: set to the number of pages done
 *
 * Stops at the first failure.  On an auto-translated dom0, fails.
 *
 * Return: 0 or -errno.
 */
int vbx_direct_map(struct page **pages, const xen_pfn_t *frames,
		   unsigned int nr, unsigned int cmd, domid_t domid,
		   unsigned int *done);

/**
 * vbx_direct_unmap() - clear what vbx_direct_map() set
 * @pages: the pages
 * @nr: entries in @pages
 */
void vbx_direct_unmap(struct page **pages, unsigned int nr);

/**
 * vbx_physmap_remove() - take foreign frames out of our physmap
 * @pages: the pages whose frames they occupy
 * @nr: entries in @pages
 */
void vbx_physmap_remove(struct page **pages, unsigned int nr);

/**
 * vbx_frames_unmap() - take foreign frames off @pages
 * @pages: the pages
 * @nr: all of them, or as far as a failed map got
 */
void vbx_frames_unmap(struct page **pages, unsigned int nr);

/**
 * vbx_mem_map() - &virtbe_hyp_ops.mem_map
 * @g: the guest
 * @gpa: first guest-physical address
 * @nr_pages: frames to map
 * @pages: filled with the pages
 *
 * Return: 0 or -errno, as &virtbe_hyp_ops.mem_map documents.
 */
int vbx_mem_map(struct virtbe_guest *g, u64 gpa, unsigned long nr_pages,
		struct page **pages);

/**
 * vbx_mem_unmap() - &virtbe_hyp_ops.mem_unmap
 * @g: the guest
 * @nr_pages: entries in @pages
 * @pages: filled by vbx_mem_map()
 *
 * Takes the foreign frames off the pages nobody but us references and
 * returns those pages to the pool.  A page something else still
 * references (a pipe it was vmspliced into, I/O in flight: the core has
 * zapped every user mapping) keeps the guest's frame until that
 * reference drops; a work item releases it then, and until it has, the
 * module holds a reference on itself.  Never waits for that.
 */
void vbx_mem_unmap(struct virtbe_guest *g, unsigned long nr_pages,
		   struct page **pages);

/**
 * vbx_held_exit() - at module exit: stop releasing held pages
 *
 * Nothing is held unless the module is unloaded by force (a held page
 * pins the module); what is, stays mapped and out of the pool.
 */
void vbx_held_exit(void);

/**
 * vbx_mem_fault() - &virtbe_hyp_ops.mem_fault (PV dom0)
 * @g: the guest
 * @vma: the daemon's mapping
 * @addr: where in @vma
 * @gpa: first guest-physical address
 * @nr_pages: frames to map
 *
 * Return: 0 or -errno.
 */
int vbx_mem_fault(struct virtbe_guest *g, struct vm_area_struct *vma,
		  unsigned long addr, u64 gpa, unsigned long nr_pages);

/* ---- ioreq.c ---- */

/**
 * vbx_ioreq_event() - a vCPU's ioreq event: run its state machine
 * @irq: the Linux irq
 * @dev_id: the struct vbx_vcpu
 *
 * Return: IRQ_HANDLED.
 */
irqreturn_t vbx_ioreq_event(int irq, void *dev_id);

/**
 * vbx_buf_event() - the buffered ring's event: drain it
 * @irq: the Linux irq
 * @dev_id: the struct vbx_guest
 *
 * Return: IRQ_HANDLED.
 */
irqreturn_t vbx_buf_event(int irq, void *dev_id);

/**
 * vbx_complete() - &virtbe_hyp_ops.complete
 * @g: the guest
 * @vcpu: the vCPU whose access is finished
 * @data: the value read
 * @aborted: the kernel completed it
 */
void vbx_complete(struct virtbe_guest *g, u32 vcpu, u64 data, bool aborted);

/**
 * vbx_server_destroy() - disable and destroy the IOREQ server, if created
 * @xg: the attachment
 */
void vbx_server_destroy(struct vbx_guest *xg);

/**
 * vbx_ioreq_pages_map() - map the server's pages
 * @xg: the attachment, its server created
 *
 * The buffered ring (frame 0, x86 only) and the synchronous slots
 * (frame 1).
 *
 * Return: 0 or -errno.
 */
int vbx_ioreq_pages_map(struct vbx_guest *xg);

/**
 * vbx_ioreq_pages_unmap() - undo vbx_ioreq_pages_map()
 * @xg: the attachment
 */
void vbx_ioreq_pages_unmap(struct vbx_guest *xg);

/**
 * vbx_claim_range() - &virtbe_hyp_ops.claim_range
 * @g: the guest
 * @pio: port I/O space
 * @addr: first address
 * @len: length
 *
 * Return: 0 or -errno.
 */
int vbx_claim_range(struct virtbe_guest *g, bool pio, u64 addr, u64 len);

/**
 * vbx_release_range() - &virtbe_hyp_ops.release_range
 * @g: the guest
 * @pio: port I/O space
 * @addr: first address
 * @len: length
 */
void vbx_release_range(struct virtbe_guest *g, bool pio, u64 addr, u64 len);

/* ---- evtchn.c ---- */

/**
 * vbx_bind_vcpus() - bind every vCPU's ioreq event channel (and the
 *	buffered ring's) to our handlers
 * @xg: the attachment, its server enabled
 *
 * Return: 0 or -errno; on failure the caller unbinds what was bound.
 */
int vbx_bind_vcpus(struct vbx_guest *xg);

/**
 * vbx_unbind_vcpus() - undo vbx_bind_vcpus()
 * @xg: the attachment
 */
void vbx_unbind_vcpus(struct vbx_guest *xg);

/**
 * vbx_close_port() - close one of our event channel ports
 * @port: the local port
 */
void vbx_close_port(evtchn_port_t port);

/**
 * vbx_irq_check() - &virtbe_hyp_ops.irq_check
 * @g: the guest
 * @irq: the interrupt
 *
 * Return: 0 or -EINVAL.
 */
int vbx_irq_check(struct virtbe_guest *g, const struct virtbe_irq *irq);

/**
 * vbx_irq_set() - &virtbe_hyp_ops.irq_set
 * @g: the guest
 * @irq: the interrupt
 * @level: for a level line, its new level
 *
 * Return: 0: a hypercall, never blocks.
 */
int vbx_irq_set(struct virtbe_guest *g, const struct virtbe_irq *irq,
		bool level);

#endif /* _VIRTBE_XEN_H */
