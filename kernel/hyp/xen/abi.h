/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtbe_xen: the records of Xen's public ABI we use.
 *
 * The kernel's Xen headers carry neither the dm_op requests nor (before
 * 6.7) the ioreq layout: the few records used here are defined from Xen's
 * public headers (xen/include/public/hvm/{dm_op,ioreq}.h, a stable ABI),
 * and checked against the kernel's struct ioreq where it has one (see
 * vbx_init()).
 *
 * Copyright (C) 2026 The virtbe authors
 */
#ifndef _VIRTBE_XEN_ABI_H
#define _VIRTBE_XEN_ABI_H

#include <linux/bits.h>
#include <linux/kconfig.h>
#include <linux/types.h>

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

#endif /* _VIRTBE_XEN_ABI_H */
