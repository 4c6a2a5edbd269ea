/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * virtbe_sim: the frontend side of virtbe's software hypervisor.
 *
 * The simulator (module virtbe_sim) is a development and test tool: it
 * lets a daemon's author run the daemon against a guest with no
 * hypervisor, and virtbe's own tests and benchmarks use it.  Its frontend
 * ABI is therefore kept apart from the backend ABI of <linux/virtbe.h>,
 * which is all a daemon needs, and installed beside it for those who
 * drive simulated guests from their own tests.
 *
 * Copyright (C) 2026 The virtbe authors
 */
#ifndef _UAPI_LINUX_VIRTBE_SIM_H
#define _UAPI_LINUX_VIRTBE_SIM_H

#include <linux/const.h>
#include <linux/ioctl.h>
#include <linux/types.h>
#include <linux/virtbe.h>

/* Command numbers of the simulator's ioctls (VIRTBE_CMD_SIM_BASE on). */
enum {
	VIRTBE_CMD_SIM_CREATE = VIRTBE_CMD_SIM_BASE,
	VIRTBE_CMD_SIM_ADD_RAM,
	VIRTBE_CMD_SIM_ACCESS,
	VIRTBE_CMD_SIM_BIND_IRQ,
	VIRTBE_CMD_SIM_IRQ_STATE,
	VIRTBE_CMD_SIM_FAULT,
	VIRTBE_CMD_SIM_DESTROY
};

/**
 * DOC: Simulator
 *
 * ``/dev/virtbe_sim`` belongs to the module virtbe_sim, a hypervisor in
 * software.  Its users play the *frontend*: they create guests, give them
 * RAM, run vCPU accesses and receive interrupts.  A backend then attaches to
 * such a guest through ``/dev/virtbe`` with VIRTBE_HYP_SIM, exactly as it
 * would to a guest of a real hypervisor.
 */

/**
 * struct virtbe_sim_create - VIRTBE_SIM_CREATE, on /dev/virtbe_sim
 * @size: sizeof(struct virtbe_sim_create)
 * @flags: must be 0
 * @nr_vcpus: number of vCPUs, 1 to 256
 * @__reserved: must be 0
 * @out_guest_id: the guest's id, for virtbe_attach.guest_id
 *
 * Returns a sim guest fd (O_CLOEXEC).  The guest lives until that fd is
 * closed or VIRTBE_SIM_DESTROY is called.
 */
struct virtbe_sim_create {
	__u32 size;
	__u32 flags;
	__u32 nr_vcpus;
	__u32 __reserved;
	__aligned_u64 out_guest_id;
};

#define VIRTBE_SIM_CREATE _IO(VIRTBE_TYPE, VIRTBE_CMD_SIM_CREATE)

/**
 * struct virtbe_sim_ram - VIRTBE_SIM_ADD_RAM, on a sim guest fd
 * @size: sizeof(struct virtbe_sim_ram)
 * @flags: must be 0
 * @memfd: a memfd (shmem file) holding the RAM
 * @__reserved: must be 0
 * @gpa: guest-physical address of the region, page aligned
 * @len: length, page aligned, not 0
 * @offset: offset in @memfd, page aligned
 *
 * Regions may not overlap (EEXIST); at most 16 per guest (ENOSPC).  @memfd
 * must be a memfd (EINVAL).
 */
struct virtbe_sim_ram {
	__u32 size;
	__u32 flags;
	__s32 memfd;
	__u32 __reserved;
	__aligned_u64 gpa;
	__aligned_u64 len;
	__aligned_u64 offset;
};

#define VIRTBE_SIM_ADD_RAM _IO(VIRTBE_TYPE, VIRTBE_CMD_SIM_ADD_RAM)

/* virtbe_sim_access.flags */
#define VIRTBE_SIM_ACCESS_WRITE _BITUL(0)
#define VIRTBE_SIM_ACCESS_PIO _BITUL(1)
#define VIRTBE_SIM_ACCESS_POSTED _BITUL(2)	/* a write nobody waits for */
#define VIRTBE_SIM_ACCESS_REP _BITUL(3)		/* a string (rep) access */

/* virtbe_sim_access.out_result */
#define VIRTBE_SIM_RESULT_BACKEND	0	/* answered through the channel */
#define VIRTBE_SIM_RESULT_IOEVENTFD	1	/* consumed by an ioeventfd */
#define VIRTBE_SIM_RESULT_UNCLAIMED	2	/* no backend: reads all-ones */
#define VIRTBE_SIM_RESULT_ABORTED	3	/* timed out or backend gone */
#define VIRTBE_SIM_RESULT_KERNEL	4	/* answered by the kernel (ISR) */
#define VIRTBE_SIM_RESULT_DROPPED	5	/* posted, and nothing took it */
#define VIRTBE_SIM_RESULT_REJECTED	6	/* rep: reads all-ones, counted */

/**
 * struct virtbe_sim_access - VIRTBE_SIM_ACCESS, on a sim guest fd
 * @size: sizeof(struct virtbe_sim_access)
 * @flags: VIRTBE_SIM_ACCESS_*
 * @vcpu: the vCPU making the access
 * @len: 1, 2, 4 or 8
 * @addr: guest address
 * @data: in: the value to write; out: the value read
 * @out_result: VIRTBE_SIM_RESULT_*
 * @__reserved: must be 0
 *
 * Performs one trapped access, like a vCPU touching a register: the calling
 * thread blocks until the backend completes it (or the request times out).
 * One access per vCPU at a time (EBUSY).  A fatal signal interrupts the wait
 * (EINTR); the vCPU stays busy until the backend or the timeout completes
 * the access.
 *
 * With VIRTBE_SIM_ACCESS_POSTED (and VIRTBE_SIM_ACCESS_WRITE) the write is
 * posted, as Xen's buffered ioreqs are: it never reaches the request
 * channel and the call does not block.  An ioeventfd (IOEVENTFD) or a
 * kernel-kept virtio-mmio register (KERNEL) takes it, or it is DROPPED.
 *
 * With VIRTBE_SIM_ACCESS_REP the access is a string access, one trapped
 * instruction repeated (as Xen reports ``rep movs`` and ``rep stos``: a
 * count above 1).  Like the Xen backend, the simulator does not hand it to
 * the core: if a backend claimed the address it answers REJECTED (a read
 * gets all-ones, a write is dropped) and counts it in that guest fd's
 * virtbe_stats.out_rejected; otherwise the access is UNCLAIMED.  Only the
 * one element at @addr is matched against the claims (Xen matches the
 * whole string).  REP with POSTED is EINVAL: Xen buffers no string access.
 */
struct virtbe_sim_access {
	__u32 size;
	__u32 flags;
	__u32 vcpu;
	__u32 len;
	__aligned_u64 addr;
	__aligned_u64 data;
	__u32 out_result;
	__u32 __reserved;
};

#define VIRTBE_SIM_ACCESS _IO(VIRTBE_TYPE, VIRTBE_CMD_SIM_ACCESS)

/* Unbind the eventfd bound to (type, irq). */
#define VIRTBE_SIM_BIND_IRQ_UNBIND _BITUL(0)

/**
 * struct virtbe_sim_bind_irq - VIRTBE_SIM_BIND_IRQ, on a sim guest fd
 * @size: sizeof(struct virtbe_sim_bind_irq)
 * @flags: VIRTBE_SIM_BIND_IRQ_UNBIND or 0
 * @type: VIRTBE_IRQ_EDGE, VIRTBE_IRQ_LEVEL or VIRTBE_IRQ_EVTCHN
 * @irq: line (0 to 1023) or event channel port (0 to 1023)
 * @fd: the frontend's eventfd, signalled on each edge, each event channel
 *	notification, and each low-to-high transition of a level line;
 *	ignored with UNBIND
 * @__reserved: must be 0
 *
 * Lines are shared between VIRTBE_IRQ_EDGE and VIRTBE_IRQ_LEVEL; event
 * channels are a separate space.
 */
struct virtbe_sim_bind_irq {
	__u32 size;
	__u32 flags;
	__u32 type;
	__u32 irq;
	__s32 fd;
	__u32 __reserved;
};

#define VIRTBE_SIM_BIND_IRQ _IO(VIRTBE_TYPE, VIRTBE_CMD_SIM_BIND_IRQ)

/* Acknowledge (EOI) the line before reading its state. */
#define VIRTBE_SIM_IRQ_EOI _BITUL(0)

/**
 * struct virtbe_sim_irq_state - VIRTBE_SIM_IRQ_STATE, on a sim guest fd
 * @size: sizeof(struct virtbe_sim_irq_state)
 * @flags: VIRTBE_SIM_IRQ_EOI or 0
 * @type: VIRTBE_IRQ_EDGE, VIRTBE_IRQ_LEVEL or VIRTBE_IRQ_EVTCHN
 * @irq: line or port
 * @out_level: 1 while a level line is asserted
 * @__reserved: must be 0
 * @out_count: interrupts delivered on this line or port so far
 *
 * With VIRTBE_SIM_IRQ_EOI on a line, the guest acknowledges it: an asserted
 * level line is lowered and the backend's resample eventfd is signalled.
 */
struct virtbe_sim_irq_state {
	__u32 size;
	__u32 flags;
	__u32 type;
	__u32 irq;
	__u32 out_level;
	__u32 __reserved;
	__aligned_u64 out_count;
};

#define VIRTBE_SIM_IRQ_STATE _IO(VIRTBE_TYPE, VIRTBE_CMD_SIM_IRQ_STATE)

/* Faults (struct virtbe_sim_fault.fault). */
#define VIRTBE_SIM_FAULT_FAIL_MAP	1 /* fail the next @arg map calls */
#define VIRTBE_SIM_FAULT_DROP_IRQ	2 /* drop the next @arg interrupts */
#define VIRTBE_SIM_FAULT_DELAY_IRQ	3 /* delay interrupts by @arg ms */
#define VIRTBE_SIM_FAULT_DELAY_COMPLETION 4 /* delay completions by @arg ms */
#define VIRTBE_SIM_FAULT_DROP_EVENT	5 /* drop the next @arg request events */

/**
 * struct virtbe_sim_fault - VIRTBE_SIM_FAULT, on a sim guest fd
 * @size: sizeof(struct virtbe_sim_fault)
 * @flags: must be 0
 * @fault: VIRTBE_SIM_FAULT_*
 * @arg: a count or a delay in milliseconds (at most 10000); 0 disables
 *
 * A dropped request event behaves as on a real hypervisor whose
 * notification was lost: the backend never sees the access and the vCPU
 * is released only by the simulator's own watchdog (out_result
 * VIRTBE_SIM_RESULT_ABORTED after 2 s).
 */
struct virtbe_sim_fault {
	__u32 size;
	__u32 flags;
	__u32 fault;
	__u32 arg;
};

#define VIRTBE_SIM_FAULT _IO(VIRTBE_TYPE, VIRTBE_CMD_SIM_FAULT)

/**
 * struct virtbe_sim_destroy - VIRTBE_SIM_DESTROY, on a sim guest fd
 * @size: sizeof(struct virtbe_sim_destroy)
 * @flags: must be 0
 *
 * Destroys the guest now, as a hypervisor would: an attached backend sees
 * its guest fd hang up (EPOLLHUP, ENODEV).  Later calls on the sim guest fd
 * fail with ENODEV.
 */
struct virtbe_sim_destroy {
	__u32 size;
	__u32 flags;
};

#define VIRTBE_SIM_DESTROY _IO(VIRTBE_TYPE, VIRTBE_CMD_SIM_DESTROY)

#endif /* _UAPI_LINUX_VIRTBE_SIM_H */
