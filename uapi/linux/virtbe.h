/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * virtbe: a hypervisor-agnostic ABI for virtio backends.
 *
 * Copyright (C) 2026 The virtbe authors
 */
#ifndef _UAPI_LINUX_VIRTBE_H
#define _UAPI_LINUX_VIRTBE_H

#include <linux/const.h>
#include <linux/ioctl.h>
#include <linux/types.h>

/**
 * DOC: General ioctl format
 *
 * virtbe exposes two character devices: ``/dev/virtbe``, used by a virtio
 * backend (the daemon serving a device) and ``/dev/virtbe_sim``, the
 * frontend side of the software hypervisor used for tests and benchmarks,
 * whose ioctls are in ``<linux/virtbe_sim.h>``.
 *
 * Every ioctl takes a pointer to a structure whose first two fields are
 * ``__u32 size`` and ``__u32 flags``.  ``size`` is sizeof() the structure as
 * the caller knows it; the kernel accepts older (shorter) and newer (longer)
 * callers in the manner of copy_struct_from_user():
 *
 * - a size smaller than the first version of the structure fails with
 *   EINVAL;
 * - a size larger than the kernel's structure is accepted only if every byte
 *   past the kernel's structure is zero, otherwise the call fails with E2BIG;
 * - a struct with output fields (named ``out_*``) must be writable: it is
 *   written back, up to the smaller of the two sizes; structs without
 *   output fields are only read.
 *
 * Fields named ``__reserved*`` must be zero (EINVAL otherwise).  Unknown
 * flags fail with EOPNOTSUPP.  Calls that fail change nothing; an ioctl
 * that returns a new fd installs it only once its output was written.
 *
 * The ioctl numbers encode no size (``_IO(VIRTBE_TYPE, nr)``); the ``size``
 * field is the only versioning mechanism.  The API version reported by
 * VIRTBE_GET_INFO changes only for incompatible semantic changes.
 *
 * Object model: an ATTACH on ``/dev/virtbe`` returns a *guest fd* bound to
 * one guest of one hypervisor for its whole life.  A guest may have several
 * guest fds at once (one per device daemon).  Memory fds, claimed
 * ranges, ioeventfds, irqfds and the request channel all belong to a guest
 * fd and are torn down when it is closed (or when the guest dies).
 */

/**
 * DOC: Errors
 *
 * ========== ============================================================
 * EINVAL     size too small, a reserved field non-zero, a bad value
 * E2BIG      size larger than the kernel's structure with non-zero tail
 * EOPNOTSUPP unknown flag, or a feature the hypervisor does not have
 * EFAULT     a user pointer could not be read or written
 * EBADF      a file descriptor field is not an open fd
 * ENOTTY     unknown ioctl, or an ioctl issued on the wrong kind of fd
 * ENODEV     the hypervisor backend is not loaded, or the guest is gone
 * ENOENT     no such guest, or deassign of something not assigned
 * EEXIST     the range (of any guest fd of the guest), window or
 *            ioeventfd overlaps an existing one
 * EBUSY      the eventfd already drives an irqfd, or a simulated vCPU is
 *            busy with another access
 * ENOSPC     a per-guest-fd object limit is reached, or the hypervisor has
 *            no room for another guest fd of the guest
 * ENXIO      the memory window is not fully backed by guest RAM
 * ENOMEM     out of memory, or the locked-memory limit is exceeded
 * EIO        the hypervisor failed to map guest memory
 * EINTR      a simulated vCPU access was interrupted by a fatal signal
 * ========== ============================================================
 *
 * Access control is the device node's mode: ``/dev/virtbe`` is 0600 (root)
 * unless the system's udev rules say otherwise; no capability is checked.
 */

#define VIRTBE_TYPE 0xBE

/* The API version reported by VIRTBE_GET_INFO. */
#define VIRTBE_API_VERSION 1

/* Hypervisor identifiers. */
#define VIRTBE_HYP_SIM 1
#define VIRTBE_HYP_XEN 2
#define VIRTBE_HYP_BAO 3
#define VIRTBE_HYP_MAX 63

enum {
	VIRTBE_CMD_BASE = 0x00,
	VIRTBE_CMD_GET_INFO = VIRTBE_CMD_BASE,
	VIRTBE_CMD_ATTACH,
	VIRTBE_CMD_MEM_MAP,
	VIRTBE_CMD_CLAIM_RANGE,
	VIRTBE_CMD_IOEVENTFD,
	VIRTBE_CMD_IRQFD,
	VIRTBE_CMD_GET_STATS,
	/* 0x40 to 0x7f: the simulator's frontend, <linux/virtbe_sim.h> */
	VIRTBE_CMD_SIM_BASE = 0x40
};

/* Features of a hypervisor backend (virtbe_info.out_hyp_features). */
#define VIRTBE_HYP_F_MMIO		_BITULL(0)
#define VIRTBE_HYP_F_PIO		_BITULL(1)
#define VIRTBE_HYP_F_IRQ_EDGE		_BITULL(2)
#define VIRTBE_HYP_F_IRQ_LEVEL		_BITULL(3)
#define VIRTBE_HYP_F_IRQ_EVTCHN		_BITULL(4)
#define VIRTBE_HYP_F_IRQ_MSI		_BITULL(5)

/* Features of the core (virtbe_info.out_features). */
#define VIRTBE_F_REQUEST_CHANNEL	_BITULL(0)
#define VIRTBE_F_IOEVENTFD		_BITULL(1)
#define VIRTBE_F_IRQFD			_BITULL(2)
#define VIRTBE_F_MEM_FD			_BITULL(3)
#define VIRTBE_F_VIRTIO_MMIO_ISR	_BITULL(4)
/*
 * A guest may be attached by several guest fds at once, their claims
 * exclusive across all of them (see struct virtbe_attach).  Without it, a
 * second VIRTBE_ATTACH of an attached guest fails with EBUSY.
 */
#define VIRTBE_F_MULTI_ATTACH		_BITULL(5)
/*
 * VIRTBE_GET_STATS knows struct virtbe_stats version 2 and counts
 * out_rejected.  Without it, a 72-byte struct is accepted (its tail must be
 * zero) but out_rejected stays 0 whatever the guest does.
 */
#define VIRTBE_F_STATS_REJECTED		_BITULL(6)

/**
 * struct virtbe_info - VIRTBE_GET_INFO, on /dev/virtbe or a guest fd
 * @size: sizeof(struct virtbe_info)
 * @flags: must be 0
 * @hyp: a VIRTBE_HYP_* to describe in @out_hyp_features, or 0
 * @__reserved: must be 0
 * @out_api_version: VIRTBE_API_VERSION of the running module
 * @out_max_vcpus: the largest vCPU count the core supports
 * @out_features: VIRTBE_F_* supported by the core
 * @out_hyps: bit N set when the hypervisor backend with id N is loaded
 * @out_hyp_features: VIRTBE_HYP_F_* of @hyp (0 when @hyp is 0)
 *
 * Fails with ENODEV when @hyp is not 0 and that backend is not loaded.
 */
struct virtbe_info {
	__u32 size;
	__u32 flags;
	__u32 hyp;
	__u32 __reserved;
	__u32 out_api_version;
	__u32 out_max_vcpus;
	__aligned_u64 out_features;
	__aligned_u64 out_hyps;
	__aligned_u64 out_hyp_features;
};

#define VIRTBE_GET_INFO _IO(VIRTBE_TYPE, VIRTBE_CMD_GET_INFO)

/**
 * struct virtbe_attach - VIRTBE_ATTACH, on /dev/virtbe
 * @size: sizeof(struct virtbe_attach)
 * @flags: must be 0
 * @hyp: the VIRTBE_HYP_* the guest runs on
 * @request_timeout_ms: how long a request may stay unanswered before it is
 *	completed by the kernel (reads return all-ones); 0 selects the default
 *	(1000 ms); at most 60000
 * @guest_id: the hypervisor's identifier of the guest (Xen: domid;
 *	simulator: virtbe_sim_create.out_guest_id)
 * @out_nr_vcpus: the number of vCPUs of the guest
 * @__reserved: must be 0
 *
 * On success returns a new guest fd (O_CLOEXEC) bound to that guest, an
 * *attachment*: one server of the guest's devices (on Xen, its own IOREQ
 * server).  A guest may be attached by any number of guest fds at once
 * (VIRTBE_F_MULTI_ATTACH), e.g. one per device daemon.  Each attachment
 * claims its own ranges, and claims are exclusive across all attachments
 * of the guest (VIRTBE_CLAIM_RANGE fails with EEXIST); the guest's
 * accesses to a range reach the request channel, ioeventfds and kept
 * registers of the attachment that claimed it.  Memory windows, ioeventfds,
 * irqfds and statistics belong to one attachment; closing one (or its
 * daemon dying) releases its ranges and touches no other attachment.
 * Fails with ENODEV when the backend is not loaded, ENOENT when the guest
 * does not exist, and ENOSPC when the hypervisor has no room for another
 * attachment of the guest (Xen: 8 IOREQ servers per domain).
 */
struct virtbe_attach {
	__u32 size;
	__u32 flags;
	__u32 hyp;
	__u32 request_timeout_ms;
	__aligned_u64 guest_id;
	__u32 out_nr_vcpus;
	__u32 __reserved;
};

#define VIRTBE_ATTACH _IO(VIRTBE_TYPE, VIRTBE_CMD_ATTACH)

/* Map the window read-only: a PROT_WRITE mapping of the memory fd fails. */
#define VIRTBE_MEM_MAP_RDONLY _BITUL(0)

/**
 * struct virtbe_mem_map - VIRTBE_MEM_MAP, on a guest fd
 * @size: sizeof(struct virtbe_mem_map)
 * @flags: VIRTBE_MEM_MAP_RDONLY or 0
 * @gpa: guest-physical start of the window, page aligned
 * @len: length of the window in bytes, page aligned, not 0, at most
 *	64 GiB (EINVAL)
 * @__reserved: must be 0
 *
 * On success returns a memory fd (O_CLOEXEC) of @len bytes: mmap() offset 0
 * of it is guest-physical address @gpa.  Only MAP_SHARED mappings are
 * allowed.  The fd may be passed to another process.  Windows of one guest
 * fd may not overlap (EEXIST).  A window that is not fully backed by guest
 * RAM fails with ENXIO.  Pages are accounted to RLIMIT_MEMLOCK of the
 * caller (ENOMEM).  When the guest fd is closed or the guest dies, every
 * mapping of the fd is revoked: later accesses raise SIGBUS and mmap()
 * fails with ENODEV.
 */
struct virtbe_mem_map {
	__u32 size;
	__u32 flags;
	__aligned_u64 gpa;
	__aligned_u64 len;
	__aligned_u64 __reserved;
};

#define VIRTBE_MEM_MAP _IO(VIRTBE_TYPE, VIRTBE_CMD_MEM_MAP)

/* The range is in port I/O space (hypervisors with VIRTBE_HYP_F_PIO). */
#define VIRTBE_RANGE_PIO _BITUL(0)
/* Release a range claimed earlier with exactly the same addr and len. */
#define VIRTBE_RANGE_RELEASE _BITUL(1)

/**
 * struct virtbe_range - VIRTBE_CLAIM_RANGE, on a guest fd
 * @size: sizeof(struct virtbe_range)
 * @flags: VIRTBE_RANGE_*
 * @addr: first address of the range
 * @len: length of the range in bytes, not 0
 *
 * Asks the hypervisor to send the guest's accesses to [@addr, @addr + @len)
 * to this guest fd.  Claims may not overlap (EEXIST), whichever guest fd
 * attached to the same guest made them; MMIO and port I/O ranges never
 * conflict.  A release of a range that was not claimed by this guest fd
 * fails with ENOENT.  A released range (also by closing the guest fd) may
 * be claimed by another guest fd of the guest.
 */
struct virtbe_range {
	__u32 size;
	__u32 flags;
	__aligned_u64 addr;
	__aligned_u64 len;
};

#define VIRTBE_CLAIM_RANGE _IO(VIRTBE_TYPE, VIRTBE_CMD_CLAIM_RANGE)

/* Signal only when the written value equals @datamatch. */
#define VIRTBE_IOEVENTFD_DATAMATCH _BITUL(0)
/* @addr is a port I/O address. */
#define VIRTBE_IOEVENTFD_PIO _BITUL(1)
/* Remove the ioeventfd matching fd, addr, len, flags and datamatch. */
#define VIRTBE_IOEVENTFD_DEASSIGN _BITUL(2)

/**
 * struct virtbe_ioeventfd - VIRTBE_IOEVENTFD, on a guest fd
 * @size: sizeof(struct virtbe_ioeventfd)
 * @flags: VIRTBE_IOEVENTFD_*
 * @fd: an eventfd
 * @len: access length to match: 1, 2, 4 or 8, or 0 for any length (not
 *	with VIRTBE_IOEVENTFD_DATAMATCH)
 * @addr: guest address of the register
 * @datamatch: the value to match with VIRTBE_IOEVENTFD_DATAMATCH (it must
 *	fit in @len bytes), else 0
 * @__reserved: must be 0
 *
 * A guest write of @len bytes at @addr (inside a claimed range) signals @fd
 * and completes at once, without going through the request channel.  Two
 * ioeventfds conflict (EEXIST) when their byte ranges overlap, unless both
 * use DATAMATCH with the same @addr and @len and different values.  A write
 * that arrived before the ioeventfd was assigned and is still waiting in
 * the request channel unread is consumed and signalled at assignment.
 */
struct virtbe_ioeventfd {
	__u32 size;
	__u32 flags;
	__s32 fd;
	__u32 len;
	__aligned_u64 addr;
	__aligned_u64 datamatch;
	__aligned_u64 __reserved;
};

#define VIRTBE_IOEVENTFD _IO(VIRTBE_TYPE, VIRTBE_CMD_IOEVENTFD)

/* Interrupt kinds (struct virtbe_irqfd.type). */
#define VIRTBE_IRQ_EDGE		1	/* a pulse on interrupt line @irq */
#define VIRTBE_IRQ_LEVEL	2	/* line @irq held until the guest EOIs */
#define VIRTBE_IRQ_EVTCHN	3	/* hypervisor event channel port @irq */
#define VIRTBE_IRQ_MSI		4	/* message: @msi_addr, @msi_data */

/* Remove the irqfd bound to @fd. */
#define VIRTBE_IRQFD_DEASSIGN _BITUL(0)
/*
 * The interrupt belongs to a virtio-mmio device at @vmmio_base: each signal
 * first sets @isr_bits in the device's InterruptStatus, which the kernel
 * keeps and serves (reads of InterruptStatus, writes of InterruptACK).
 */
#define VIRTBE_IRQFD_VIRTIO_MMIO _BITUL(1)

/* virtio-mmio InterruptStatus bits (struct virtbe_irqfd.isr_bits). */
#define VIRTBE_VIRTIO_ISR_USED		_BITUL(0)	/* used buffer */
#define VIRTBE_VIRTIO_ISR_CONFIG	_BITUL(1)	/* configuration change */

/**
 * struct virtbe_irqfd - VIRTBE_IRQFD, on a guest fd
 * @size: sizeof(struct virtbe_irqfd)
 * @flags: VIRTBE_IRQFD_*
 * @fd: an eventfd; each signal raises the interrupt
 * @resamplefd: for VIRTBE_IRQ_LEVEL, an eventfd signalled when the guest
 *	acknowledges the interrupt and the line is lowered; otherwise -1
 * @type: VIRTBE_IRQ_*
 * @irq: line number or event channel port; 0 for VIRTBE_IRQ_MSI
 * @msi_addr: message address for VIRTBE_IRQ_MSI, otherwise 0
 * @msi_data: message data for VIRTBE_IRQ_MSI, otherwise 0
 * @isr_bits: with VIRTBE_IRQFD_VIRTIO_MMIO, the VIRTBE_VIRTIO_ISR_* bits
 *	each signal sets (not 0); otherwise 0
 * @vmmio_base: with VIRTBE_IRQFD_VIRTIO_MMIO, the base address of the
 *	virtio-mmio device's registers, 256-byte aligned, its first 256 bytes
 *	inside one claimed MMIO range; otherwise 0
 *
 * The irqfd is removed when @fd is closed by everyone (EPOLLHUP) or when the
 * guest fd is closed.  An eventfd can drive one irqfd of a guest (EBUSY).
 * A @type the hypervisor lacks fails with EOPNOTSUPP.  Deassign matches @fd
 * only (ENOENT when not assigned).
 *
 * With VIRTBE_IRQFD_VIRTIO_MMIO the guest's 4-byte reads of InterruptStatus
 * (@vmmio_base + 0x60) and writes of InterruptACK (@vmmio_base + 0x64) are
 * answered by the kernel and never reach the request channel, as long as an
 * irqfd names that device; InterruptStatus is then always the set of
 * causes signalled and not yet acknowledged, whatever thread or process
 * signals the eventfd (a vhost-user daemon writing its call fd needs no
 * relay).  Several irqfds (e.g. one for used buffers, one for configuration
 * changes) may name the same device; they must use the same interrupt.  For
 * VIRTBE_IRQ_LEVEL the line follows InterruptStatus: the kernel lowers it
 * when the last cause is acknowledged, and raises it again at resample
 * while InterruptStatus is not 0 (on hypervisors that report EOIs; Xen
 * does not, and there the resample eventfd is never signalled).  A guest
 * write of 0 to Status (@vmmio_base + 0x70, a device reset) clears
 * InterruptStatus (lowering a level line) and still reaches the request
 * channel.  InterruptStatus is forgotten when the last irqfd
 * naming the device is removed; releasing the claimed range does not stop
 * the kernel from answering while such an irqfd exists.
 */
struct virtbe_irqfd {
	__u32 size;
	__u32 flags;
	__s32 fd;
	__s32 resamplefd;
	__u32 type;
	__u32 irq;
	__aligned_u64 msi_addr;
	__u32 msi_data;
	__u32 isr_bits;
	__aligned_u64 vmmio_base;
};

#define VIRTBE_IRQFD _IO(VIRTBE_TYPE, VIRTBE_CMD_IRQFD)

/**
 * struct virtbe_stats - VIRTBE_GET_STATS, on a guest fd
 * @size: sizeof(struct virtbe_stats)
 * @flags: must be 0
 * @out_requests: requests queued to the request channel; never below
 *	@out_completions + @out_timeouts + @out_aborted +
 *	@out_kicks_replayed, the four ways a request ends (the difference is
 *	the requests outstanding)
 * @out_completions: requests completed by userspace
 * @out_timeouts: requests completed by the kernel after the timeout
 * @out_aborted: requests completed by the kernel at teardown
 * @out_kicks: writes consumed by an ioeventfd
 * @out_kicks_replayed: queued writes consumed by an ioeventfd at assignment
 * @out_irqs: interrupts raised through irqfds
 * @out_rejected: guest accesses to this guest fd's claimed ranges that
 *	the kernel answered itself, without an ioeventfd, a kernel-kept
 *	register or the request channel, because it cannot serve them: reads
 *	got all-ones, writes were dropped.  These are accesses the hypervisor
 *	reports in a form the request channel cannot carry (Xen: string or
 *	``rep`` accesses, i.e. a count above 1 or data in guest memory, and
 *	sizes other than 1, 2, 4, 8; the simulator: VIRTBE_SIM_ACCESS_REP),
 *	accesses from a vCPU that already has one outstanding or while the
 *	guest fd is being torn down, and posted (buffered) writes that nothing
 *	in the kernel takes.  Accesses the request channel carried are not
 *	counted here, even when the daemon then refuses them (libvirtbe's
 *	vbe_dev_invalid_accesses() counts those), nor accesses the
 *	hypervisor never delivered (Xen answers an access that straddles the
 *	end of a claimed range itself).  Since version 2 of this struct
 *	(size 72); a caller passing the first version's size (64) gets the
 *	fields before it
 */
struct virtbe_stats {
	__u32 size;
	__u32 flags;
	__aligned_u64 out_requests;
	__aligned_u64 out_completions;
	__aligned_u64 out_timeouts;
	__aligned_u64 out_aborted;
	__aligned_u64 out_kicks;
	__aligned_u64 out_kicks_replayed;
	__aligned_u64 out_irqs;
	__aligned_u64 out_rejected;
};

#define VIRTBE_GET_STATS _IO(VIRTBE_TYPE, VIRTBE_CMD_GET_STATS)

/**
 * DOC: Request channel
 *
 * Guest accesses inside claimed ranges that no ioeventfd consumes are read
 * from the guest fd as &struct virtbe_request records.  In API version 1
 * every record is exactly 64 bytes (sizeof(struct virtbe_request)) and
 * every completion exactly 32 bytes.  A different layout would come with
 * a new API version and a VIRTBE_ATTACH flag to request it; these records
 * never change under existing callers.  read() returns
 * whole records only (EINVAL if the buffer cannot hold one), blocks unless
 * the fd is O_NONBLOCK (EAGAIN) and returns 0 once the guest is gone.
 * poll() reports EPOLLIN while requests wait, EPOLLOUT always and EPOLLHUP
 * once the guest is gone.
 *
 * Every request read must be answered by writing a &struct virtbe_completion
 * record with the same @id (write completions too: the vCPU waits for them).
 * write() takes one or more records and returns the bytes consumed.  When
 * a record is rejected (EINVAL, EOPNOTSUPP, EFAULT, or ENOENT for an
 * unknown or expired id), the records before it stay consumed: write()
 * returns their bytes (a short write), and a write() starting at the
 * rejected record fails with its error.  A write() whose first record is
 * rejected fails with that error and consumes nothing.
 *
 * A request not answered within the guest's request timeout is completed
 * by the kernel (reads return all-ones) and counted in
 * virtbe_stats.out_timeouts; closing the guest fd completes every
 * outstanding request the same way.
 */

/* virtbe_request.flags */
#define VIRTBE_REQ_WRITE _BITUL(0)	/* a write; else a read */
#define VIRTBE_REQ_PIO _BITUL(1)	/* port I/O; else MMIO */

/**
 * struct virtbe_request - a guest access, read() from a guest fd
 * @size: sizeof(struct virtbe_request) of the kernel that wrote it
 * @flags: VIRTBE_REQ_*
 * @id: opaque identifier to echo in the completion
 * @vcpu: the vCPU that made the access
 * @len: access length in bytes: 1, 2, 4 or 8
 * @addr: guest address accessed
 * @data: the value written (VIRTBE_REQ_WRITE), otherwise 0
 * @__reserved: 0
 */
struct virtbe_request {
	__u32 size;
	__u32 flags;
	__aligned_u64 id;
	__u32 vcpu;
	__u32 len;
	__aligned_u64 addr;
	__aligned_u64 data;
	__aligned_u64 __reserved[3];
};

/**
 * struct virtbe_completion - the answer to a request, write() to a guest fd
 * @size: sizeof(struct virtbe_completion)
 * @flags: must be 0
 * @id: virtbe_request.id of the request answered
 * @data: the value read (ignored for writes), truncated to the access length
 * @__reserved: must be 0
 */
struct virtbe_completion {
	__u32 size;
	__u32 flags;
	__aligned_u64 id;
	__aligned_u64 data;
	__aligned_u64 __reserved;
};

#endif /* _UAPI_LINUX_VIRTBE_H */
