/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * libvirtbe: the userspace library of virtbe.
 *
 * Copyright (C) 2026 The virtbe authors
 */
#ifndef VIRTBE_VIRTBE_H
#define VIRTBE_VIRTBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include <linux/virtbe.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * DOC: Conventions
 *
 * Every function that can fail returns 0 (or a non-negative count) on
 * success and a negative errno value on failure.  errno itself is not part
 * of the interface: its value after any call is unspecified.  Handles are
 * opaque; each ``*_new``/``*_open``/``*_map``/``*_load`` has a matching
 * function that frees the handle and accepts NULL.
 *
 * Names: every function is ``vbe_<object>_<verb>`` (or
 * ``vbe_<object>_<property>`` for a getter), the object being the opaque
 * handle it takes first: ``vbe_ctl`` (the control device), ``vbe_guest`` (a
 * guest fd), ``vbe_mem`` (a memory window), ``vbe_memtab``, ``vbe_vq`` (and
 * ``vbe_iov`` helpers), ``vbe_dev`` (a virtio-mmio device model), ``vbe_dt``,
 * ``vbe_dt_guest`` and ``vbe_dt_dev`` (a configuration); ``vbe_hyp`` maps
 * hypervisor names and ids.  Constructors are the exception: they are named
 * for the object they make (``vbe_guest_attach()`` on a ``vbe_ctl``,
 * ``vbe_mem_map()`` on a ``vbe_guest``).  This header has one section per
 * object, in that order.
 *
 * The ``vbe_ctl``, ``vbe_guest`` and ``vbe_mem`` functions wrap one ioctl
 * or read()/write() of ``<linux/virtbe.h>`` each, except
 * vbe_guest_process(), the request loop over a guest's devices.  The other
 * objects add guest-memory translation (``vbe_memtab``), split virtqueues
 * (``vbe_vq``), a virtio-mmio version 2 register model (``vbe_dev``) and a
 * Device Tree configuration loader (``vbe_dt``).
 *
 * Thread safety: a handle is used by one thread at a time unless the
 * function's documentation says otherwise.
 */

struct vbe_ctl;
struct vbe_guest;
struct vbe_mem;
struct vbe_memtab;
struct vbe_vq;
struct vbe_dev;
struct vbe_dt;
struct vbe_dt_guest;
struct vbe_dt_dev;

/* ------------------------------------------------------------------ */
/* struct vbe_ctl: the control device (and hypervisor ids)            */
/* ------------------------------------------------------------------ */

/**
 * vbe_ctl_open() - open the virtbe control device
 * @ctlp: on success, the new handle
 *
 * Opens ``/dev/virtbe`` with O_RDWR | O_CLOEXEC.
 *
 * Return: 0, -ENOENT when the device node does not exist (module not
 * loaded), -EACCES/-EPERM when the caller may not open it, -ENOMEM, or
 * another -errno of open(2).
 */
int vbe_ctl_open(struct vbe_ctl **ctlp);

/**
 * vbe_ctl_close() - close the control device
 * @ctl: a handle from vbe_ctl_open(), or NULL
 *
 * Guests attached through @ctl stay attached: they own their own fds.
 */
void vbe_ctl_close(struct vbe_ctl *ctl);

/**
 * vbe_ctl_fd() - the file descriptor of the control device
 * @ctl: the handle
 *
 * Return: the fd, owned by @ctl.
 */
int vbe_ctl_fd(const struct vbe_ctl *ctl);

/**
 * vbe_ctl_get_info() - VIRTBE_GET_INFO: versions and features
 * @ctl: the control device
 * @hyp: a VIRTBE_HYP_* whose features to report in out_hyp_features, or 0
 * @info: filled with the kernel's answer (the library sets size, flags, hyp)
 *
 * Return: 0, -ENODEV when @hyp is not 0 and that backend is not loaded,
 * -EINVAL, -E2BIG, -EOPNOTSUPP (see the ioctl's documentation).
 */
int vbe_ctl_get_info(struct vbe_ctl *ctl, uint32_t hyp,
		     struct virtbe_info *info);

/**
 * vbe_hyp_from_name() - hypervisor id of a name
 * @name: "sim", "xen" or "bao"
 *
 * Return: VIRTBE_HYP_SIM, VIRTBE_HYP_XEN or VIRTBE_HYP_BAO, or -EINVAL
 * for other names.
 */
int vbe_hyp_from_name(const char *name);

/**
 * vbe_hyp_name() - name of a hypervisor id
 * @hyp: a VIRTBE_HYP_*
 *
 * Return: a static string ("sim", "xen", "bao"), or NULL for unknown ids.
 */
const char *vbe_hyp_name(uint32_t hyp);

/* ------------------------------------------------------------------ */
/* struct vbe_guest: a guest fd                                       */
/* ------------------------------------------------------------------ */

/**
 * vbe_guest_attach() - VIRTBE_ATTACH: bind a new guest handle to one guest
 * @ctl: the control device
 * @hyp: VIRTBE_HYP_* the guest runs on
 * @guest_id: the hypervisor's id of the guest (Xen: domid)
 * @timeout_ms: request timeout (0: the kernel's default of 1000 ms)
 * @guestp: on success, the guest handle; it owns the guest fd
 *
 * The guest fd is made non-blocking (O_NONBLOCK) so that it can be polled
 * and drained with vbe_guest_read_requests() or vbe_guest_process().
 *
 * A guest may be attached by several guest fds (one per daemon) when the
 * kernel reports VIRTBE_F_MULTI_ATTACH; their claimed ranges may not
 * overlap.
 *
 * Return: 0, -ENODEV (backend not loaded), -ENOENT (no such guest),
 * -ENOSPC (the hypervisor has no room for another attachment of the
 * guest), -EBUSY (a kernel without VIRTBE_F_MULTI_ATTACH: the guest is
 * attached by another guest fd), -EINVAL (timeout above 60000 ms, bad
 * @hyp), -EPERM, -ENOMEM.
 */
int vbe_guest_attach(struct vbe_ctl *ctl, uint32_t hyp, uint64_t guest_id,
		     uint32_t timeout_ms, struct vbe_guest **guestp);

/**
 * vbe_guest_from_fd() - wrap a guest fd obtained elsewhere
 * @fd: a guest fd, e.g. received over a unix socket from a privileged
 *	helper that called VIRTBE_ATTACH; ownership passes to the handle
 * @guestp: on success, the guest handle
 *
 * The fd is made non-blocking.  vbe_guest_nr_vcpus() of such a handle is 0.
 * On failure @fd is not closed.
 *
 * Return: 0, -EBADF (@fd is negative or not open), -ENOMEM.
 */
int vbe_guest_from_fd(int fd, struct vbe_guest **guestp);

/**
 * vbe_guest_close() - detach from a guest
 * @guest: a guest handle, or NULL
 *
 * Closes the guest fd: the kernel drops every claimed range, ioeventfd,
 * irqfd and revokes every memory window of the guest, and completes the
 * outstanding requests.  Devices still attached are detached (without
 * further ioctls); memory windows still mapped are forgotten by the
 * guest's memtab but remain valid handles for vbe_mem_unmap().
 */
void vbe_guest_close(struct vbe_guest *guest);

/**
 * vbe_guest_fd() - the guest fd, for poll(2)/epoll(7)
 * @guest: the guest handle
 *
 * The fd is readable while requests wait and reports EPOLLHUP once the
 * guest is gone.
 *
 * Return: the fd, owned by @guest.
 */
int vbe_guest_fd(const struct vbe_guest *guest);

/**
 * vbe_guest_nr_vcpus() - the number of vCPUs reported at attach
 * @guest: the guest handle
 *
 * Return: the count (0 for vbe_guest_from_fd() handles).
 */
unsigned int vbe_guest_nr_vcpus(const struct vbe_guest *guest);

/**
 * vbe_guest_get_info() - VIRTBE_GET_INFO on the guest fd
 * @guest: the guest handle
 * @hyp: as for vbe_ctl_get_info()
 * @info: as for vbe_ctl_get_info()
 *
 * Return: as vbe_ctl_get_info().
 */
int vbe_guest_get_info(struct vbe_guest *guest, uint32_t hyp,
		       struct virtbe_info *info);

/**
 * vbe_guest_memtab() - the translation table of the guest's memory windows
 * @guest: the guest handle
 *
 * vbe_mem_map() adds each window to it and vbe_mem_unmap() removes it.
 *
 * Return: the table, owned by @guest.
 */
struct vbe_memtab *vbe_guest_memtab(struct vbe_guest *guest);

/* Ranges, ioeventfds, irqfds, statistics */


/**
 * vbe_guest_claim_range() - VIRTBE_CLAIM_RANGE: route guest accesses to us
 * @guest: the guest handle
 * @addr: first address
 * @len: length, not 0
 * @flags: VIRTBE_RANGE_PIO or 0
 *
 * Return: 0, -EEXIST (overlaps a claimed range), -EINVAL, -EOPNOTSUPP
 * (port I/O on a hypervisor without it), -ENOSPC, -ENODEV.
 */
int vbe_guest_claim_range(struct vbe_guest *guest, uint64_t addr, uint64_t len,
			  uint32_t flags);

/**
 * vbe_guest_release_range() - release a range of vbe_guest_claim_range()
 * @guest: the guest handle
 * @addr: the same first address
 * @len: the same length
 * @flags: VIRTBE_RANGE_PIO or 0, as claimed
 *
 * Return: 0, -ENOENT (not claimed), -EINVAL, -ENODEV.
 */
int vbe_guest_release_range(struct vbe_guest *guest, uint64_t addr,
			    uint64_t len, uint32_t flags);

/**
 * vbe_guest_assign_ioeventfd() - VIRTBE_IOEVENTFD: signal an eventfd on a write
 * @guest: the guest handle
 * @fd: an eventfd
 * @addr: the register's guest address
 * @len: 1, 2, 4 or 8, or 0 for any length
 * @flags: VIRTBE_IOEVENTFD_DATAMATCH and/or VIRTBE_IOEVENTFD_PIO
 * @datamatch: the value to match with VIRTBE_IOEVENTFD_DATAMATCH, else 0
 *
 * Return: 0, -EEXIST (conflicts with an ioeventfd), -EBADF, -EINVAL,
 * -EOPNOTSUPP, -ENOSPC, -ENODEV.
 */
int vbe_guest_assign_ioeventfd(struct vbe_guest *guest, int fd, uint64_t addr,
			       uint32_t len, uint32_t flags,
			       uint64_t datamatch);

/**
 * vbe_guest_deassign_ioeventfd() - remove an ioeventfd
 * @guest: the guest handle
 * @fd: the eventfd, as assigned
 * @addr: the address, as assigned
 * @len: the length, as assigned
 * @flags: the flags, as assigned
 * @datamatch: the value, as assigned
 *
 * Return: 0, -ENOENT (no such ioeventfd), -EINVAL, -ENODEV.
 */
int vbe_guest_deassign_ioeventfd(struct vbe_guest *guest, int fd,
				 uint64_t addr, uint32_t len, uint32_t flags,
				 uint64_t datamatch);

/**
 * vbe_guest_assign_irqfd_edge() - VIRTBE_IRQFD: a signal of @fd pulses a line
 * @guest: the guest handle
 * @fd: an eventfd
 * @line: the interrupt line
 *
 * Return: 0, -EBUSY (@fd drives another irqfd), -EBADF, -EINVAL,
 * -EOPNOTSUPP (the hypervisor lacks edge interrupts), -ENOSPC, -ENODEV.
 */
int vbe_guest_assign_irqfd_edge(struct vbe_guest *guest, int fd, uint32_t line);

/**
 * vbe_guest_assign_irqfd_level() - a level-triggered line with resampling
 * @guest: the guest handle
 * @fd: an eventfd; a signal asserts the line
 * @resamplefd: an eventfd the kernel signals when the guest acknowledges
 *	(EOIs) the interrupt and the line is lowered
 * @line: the interrupt line
 *
 * Return: as vbe_guest_assign_irqfd_edge().
 */
int vbe_guest_assign_irqfd_level(struct vbe_guest *guest, int fd,
				 int resamplefd, uint32_t line);

/**
 * vbe_guest_assign_irqfd_evtchn() - a signal of @fd notifies an event channel
 * @guest: the guest handle
 * @fd: an eventfd
 * @port: the hypervisor event channel port
 *
 * Return: as vbe_guest_assign_irqfd_edge().
 */
int vbe_guest_assign_irqfd_evtchn(struct vbe_guest *guest, int fd,
				  uint32_t port);

/**
 * vbe_guest_assign_irqfd_msi() - each signal of @fd sends a message interrupt
 * @guest: the guest handle
 * @fd: an eventfd
 * @addr: the MSI address
 * @data: the MSI data
 *
 * Return: as vbe_guest_assign_irqfd_edge().
 */
int vbe_guest_assign_irqfd_msi(struct vbe_guest *guest, int fd, uint64_t addr,
			       uint32_t data);

/**
 * vbe_guest_deassign_irqfd() - remove the irqfd driven by @fd
 * @guest: the guest handle
 * @fd: the eventfd
 *
 * Return: 0, -ENOENT (not assigned), -EBADF, -ENODEV.
 */
int vbe_guest_deassign_irqfd(struct vbe_guest *guest, int fd);

/**
 * vbe_guest_get_stats() - VIRTBE_GET_STATS: request channel counters
 * @guest: the guest handle
 * @stats: filled with the counters (the library sets size and flags)
 *
 * Fills the struct as this header declares it.  Programs built against
 * libvirtbe 2.0 or 2.1, whose struct ends at out_irqs, stay bound to the
 * LIBVIRTBE_2.0 version of this function, which fills that much.
 *
 * Return: 0, -ENODEV, -EINVAL.
 */
int vbe_guest_get_stats(struct vbe_guest *guest, struct virtbe_stats *stats);

/**
 * vbe_guest_get_stats_sized() - VIRTBE_GET_STATS, every field the caller has
 * @guest: the guest handle
 * @stats: filled with the counters (the library sets size and flags)
 * @size: sizeof(*@stats) as the caller was built, at least the first
 *	version's 64 bytes (up to out_irqs)
 *
 * Fills the first @size bytes of @stats: fields this library or the
 * kernel does not know read 0; @stats->size says how many bytes the
 * library filled from the kernel's answer.  Since libvirtbe 2.2.
 *
 * Return: 0, -ENODEV, -EINVAL (@size too small).
 */
int vbe_guest_get_stats_sized(struct vbe_guest *guest,
			      struct virtbe_stats *stats, size_t size);

/* The request channel */


/**
 * vbe_guest_read_requests() - read guest accesses from the guest fd
 * @guest: the guest handle
 * @reqs: room for @n records
 * @n: the number of records @reqs can hold, at least 1
 *
 * Every request returned must be answered with vbe_guest_complete() or
 * vbe_guest_complete_batch() (writes too: the vCPU waits for the completion).
 *
 * In API version 1 every record is exactly 64 bytes (sizeof(struct
 * virtbe_request)); a kernel that sends anything else (a partial record, or
 * a record whose size field is not 64) breaks the protocol.
 *
 * Return: the number of records read (1 to @n); 0 when the guest is gone
 * (end of file); -EAGAIN when no request waits; -EINVAL (@n is 0);
 * -EPROTO when a record is not the 64 bytes of API version 1; another
 * -errno of read(2).
 */
int vbe_guest_read_requests(struct vbe_guest *guest,
			    struct virtbe_request *reqs, unsigned int n);

/**
 * vbe_guest_complete() - answer one request
 * @guest: the guest handle
 * @id: virtbe_request.id of the request
 * @data: the value read (ignored for writes)
 *
 * Return: 0, -ENOENT (unknown id, or the request already timed out),
 * -ENODEV, another -errno of write(2).
 */
int vbe_guest_complete(struct vbe_guest *guest, uint64_t id, uint64_t data);

/**
 * vbe_guest_complete_batch() - answer several requests with one write(2)
 * @guest: the guest handle
 * @comps: the completions; the caller sets id and data of each, the
 *	library sets size, flags and __reserved
 * @n: the number of completions
 *
 * The completions (32 bytes each in API version 1) go out in as few
 * write(2) calls as possible.  The kernel consumes records in order; when
 * it rejects one, the records before it stay consumed (a short write) and
 * the next write(2), which starts at the rejected record, fails with its
 * error.  A completion whose id the kernel rejects (-ENOENT: timed out
 * meanwhile) is skipped, so it does not prevent the others from being
 * delivered.
 *
 * Return: 0 when all were delivered; -ENOENT when every completion was
 * delivered except one or more rejected ids; another -errno when the
 * delivery stopped (the remaining requests will time out).
 */
int vbe_guest_complete_batch(struct vbe_guest *guest,
			     struct virtbe_completion *comps, unsigned int n);

/* The guest-level request loop (all attached vbe_dev) */

/**
 * vbe_guest_process() - serve the requests waiting on a guest fd
 * @guest: the guest handle
 *
 * Reads the waiting requests (in batches), dispatches each to the attached
 * device whose window contains it (vbe_dev_handle_request()), answers
 * accesses that match no device (reads all-ones) and writes the
 * completions.  Returns when no request waits, or after 256 requests so
 * that one busy guest cannot starve the caller's other fds (the guest fd
 * then stays readable).  Call it when the guest fd is readable.
 *
 * Return: the number of requests handled (0 when none waited), -ENODEV
 * when the guest is gone (hang up), another -errno of the request channel.
 */
int vbe_guest_process(struct vbe_guest *guest);

/* ------------------------------------------------------------------ */
/* struct vbe_mem: a window of guest memory                           */
/* ------------------------------------------------------------------ */

/* vbe_mem_map() and vbe_memtab_add() flag: the window is read-only. */
#define VBE_MEM_RDONLY VIRTBE_MEM_MAP_RDONLY

/**
 * vbe_mem_map() - VIRTBE_MEM_MAP: map a window of guest-physical memory
 * @guest: the guest handle
 * @gpa: guest-physical start, page aligned
 * @len: length in bytes, page aligned, not 0
 * @flags: VBE_MEM_RDONLY or 0
 * @memp: on success, the window handle
 *
 * Obtains a memory fd for [@gpa, @gpa + @len), maps it MAP_SHARED into
 * this process (PROT_READ, plus PROT_WRITE unless VBE_MEM_RDONLY) and adds
 * it to the guest's memtab.  The fd can be handed to another process (e.g.
 * a vhost-user daemon, with @gpa as the region's guest address).
 *
 * Return: 0, -EINVAL (alignment, zero length, @len not addressable),
 * -EEXIST (overlaps a window), -ENXIO (not backed by guest RAM), -ENOMEM
 * (memory or RLIMIT_MEMLOCK), -ENODEV (guest gone), -EOPNOTSUPP.
 */
int vbe_mem_map(struct vbe_guest *guest, uint64_t gpa, uint64_t len,
		uint32_t flags, struct vbe_mem **memp);

/**
 * vbe_mem_unmap() - unmap a window and close its fd
 * @mem: a window handle, or NULL
 */
void vbe_mem_unmap(struct vbe_mem *mem);

/**
 * vbe_mem_fd() - the memory fd of a window (offset 0 is vbe_mem_gpa())
 * @mem: the window
 *
 * Return: the fd, owned by @mem.
 */
int vbe_mem_fd(const struct vbe_mem *mem);

/**
 * vbe_mem_ptr() - the address of the window in this process
 * @mem: the window
 *
 * Return: the start of the mapping.
 */
void *vbe_mem_ptr(const struct vbe_mem *mem);

/**
 * vbe_mem_gpa() - guest-physical start of a window
 * @mem: the window
 *
 * Return: the address.
 */
uint64_t vbe_mem_gpa(const struct vbe_mem *mem);

/**
 * vbe_mem_len() - length of a window
 * @mem: the window
 *
 * Return: the length in bytes.
 */
uint64_t vbe_mem_len(const struct vbe_mem *mem);

/* ------------------------------------------------------------------ */
/* struct vbe_memtab: guest memory translation                        */
/* ------------------------------------------------------------------ */

/**
 * vbe_memtab_new() - an empty gpa -> host pointer table
 * @mtp: on success, the table
 *
 * A table holds up to 64 non-overlapping windows.  It may be read (by
 * vbe_memtab_translate() and virtqueues) from several threads at once, but
 * must not be modified while it is read.
 *
 * Return: 0, -ENOMEM.
 */
int vbe_memtab_new(struct vbe_memtab **mtp);

/**
 * vbe_memtab_free() - free a table
 * @mt: the table, or NULL
 */
void vbe_memtab_free(struct vbe_memtab *mt);

/**
 * vbe_memtab_add() - add a window
 * @mt: the table
 * @gpa: guest-physical start
 * @len: length, not 0
 * @ptr: where [@gpa, @gpa + @len) is mapped in this process
 * @flags: VBE_MEM_RDONLY or 0
 *
 * Return: 0, -EINVAL (@len is 0, the window wraps past 2^64 or past the end
 * of the address space, unknown flag), -EEXIST (overlaps a window),
 * -ENOSPC (64 windows).
 */
int vbe_memtab_add(struct vbe_memtab *mt, uint64_t gpa, uint64_t len,
		   void *ptr, uint32_t flags);

/**
 * vbe_memtab_remove() - remove the window starting at @gpa
 * @mt: the table
 * @gpa: the start of a window
 *
 * Return: 0, -ENOENT.
 */
int vbe_memtab_remove(struct vbe_memtab *mt, uint64_t gpa);

/**
 * vbe_memtab_translate() - translate a guest-physical buffer
 * @mt: the table
 * @gpa: start of the buffer
 * @len: length of the buffer
 * @write: the buffer will be written (a read-only window does not match)
 * @ptr: on success, the host address of @gpa (NULL when @len is 0)
 *
 * Succeeds only when [@gpa, @gpa + @len) lies entirely inside one window
 * (computed without overflow).  A zero-length buffer always succeeds.
 *
 * Return: 0, -EFAULT.
 */
int vbe_memtab_translate(const struct vbe_memtab *mt, uint64_t gpa,
			 uint64_t len, bool write, void **ptr);

/* ------------------------------------------------------------------ */
/* struct vbe_vq: split virtqueues (and iovec helpers)                */
/* ------------------------------------------------------------------ */

/* Largest queue size (virtio 1.x split ring). */
#define VBE_VQ_MAX_SIZE 32768U

/**
 * struct vbe_vq_elem - a descriptor chain popped from the available ring
 * @head: the head index, to give back to vbe_vq_push()
 * @out_num: device-readable segments: @iov[0] to @iov[@out_num - 1]
 * @in_num: device-writable segments, following the readable ones
 * @out_len: total bytes of the readable segments
 * @in_len: total bytes of the writable segments
 * @iov: the caller's array passed to vbe_vq_pop()
 */
struct vbe_vq_elem {
	uint16_t head;
	unsigned int out_num;
	unsigned int in_num;
	uint32_t out_len;
	uint32_t in_len;
	struct iovec *iov;
};

/**
 * vbe_vq_new() - set up a split virtqueue over guest memory
 * @mt: translation table; must outlive the queue
 * @num: queue size: a power of 2, 1 to VBE_VQ_MAX_SIZE
 * @desc: guest address of the descriptor table (16-byte aligned)
 * @avail: guest address of the available ring (2-byte aligned)
 * @used: guest address of the used ring (4-byte aligned, writable window)
 * @features: the negotiated features (VIRTIO_RING_F_EVENT_IDX and
 *	VIRTIO_RING_F_INDIRECT_DESC are honoured)
 * @vqp: on success, the queue
 *
 * Each ring, including the event index fields, must lie inside one window
 * of @mt.  The queue starts at index 0 of both rings.
 *
 * Return: 0, -EINVAL (bad size or alignment), -EFAULT (a ring is not
 * inside a window), -ENOMEM.
 */
int vbe_vq_new(const struct vbe_memtab *mt, unsigned int num, uint64_t desc,
	       uint64_t avail, uint64_t used, uint64_t features,
	       struct vbe_vq **vqp);

/**
 * vbe_vq_free() - free a queue
 * @vq: the queue, or NULL
 */
void vbe_vq_free(struct vbe_vq *vq);

/**
 * vbe_vq_num() - the queue size
 * @vq: the queue
 *
 * Return: the size.
 */
unsigned int vbe_vq_num(const struct vbe_vq *vq);

/**
 * vbe_vq_pop() - take the next available descriptor chain
 * @vq: the queue
 * @iov: room for @iov_max segments
 * @iov_max: the most segments the caller accepts in one chain
 * @elem: on success, the chain; @elem->iov is @iov
 *
 * Follows NEXT and INDIRECT descriptors.  Every segment is translated
 * through the table; every index is checked against its table; a chain is
 * at most the queue size (or the indirect table size) long, indirect
 * tables may not nest and must be a non-empty multiple of 16 bytes of at
 * most VBE_VQ_MAX_SIZE entries, readable segments must precede writable
 * ones and each direction totals at most 4 GiB - 1.  A driver that breaks
 * any of these rules, or that makes more than the queue size of buffers
 * available at once, breaks the queue: this and every later call return
 * -EIO until the queue is freed (the device should then call
 * vbe_dev_set_needs_reset()).  A chain longer than @iov_max also breaks
 * the queue: size @iov_max to the limit the device advertises.
 *
 * Return: 1 when a chain was taken, 0 when the ring is empty, -EIO (the
 * queue is broken), -EINVAL (@iov_max is 0).
 */
int vbe_vq_pop(struct vbe_vq *vq, struct iovec *iov, unsigned int iov_max,
	       struct vbe_vq_elem *elem);

/**
 * vbe_vq_push() - return a chain to the driver through the used ring
 * @vq: the queue
 * @head: vbe_vq_elem.head of a popped chain
 * @len: the number of bytes written into the chain's writable segments
 *
 * The used element is written before the used index is published
 * (release ordering).
 *
 * Return: 0, -EINVAL (@head out of range), -EIO (the queue is broken).
 */
int vbe_vq_push(struct vbe_vq *vq, uint16_t head, uint32_t len);

/**
 * vbe_vq_need_notify() - should the driver be interrupted now?
 * @vq: the queue
 *
 * Call after one or more vbe_vq_push() calls.  Issues a full memory
 * barrier between the used index store and the read of the driver's
 * suppression state: VRING_AVAIL_F_NO_INTERRUPT, or with
 * VIRTIO_RING_F_EVENT_IDX the used_event index (vring_need_event() over
 * the entries pushed since the previous call).
 *
 * Return: true when an interrupt is needed; false for a broken queue.
 */
bool vbe_vq_need_notify(struct vbe_vq *vq);

/**
 * vbe_vq_disable_notify() - ask the driver not to kick
 * @vq: the queue
 *
 * Sets VRING_USED_F_NO_NOTIFY (a hint; without VIRTIO_RING_F_EVENT_IDX).
 * With VIRTIO_RING_F_EVENT_IDX, kicks are suppressed by leaving avail_event
 * behind; this function then does nothing.
 */
void vbe_vq_disable_notify(struct vbe_vq *vq);

/**
 * vbe_vq_enable_notify() - ask the driver to kick again, then recheck
 * @vq: the queue
 *
 * Clears VRING_USED_F_NO_NOTIFY or publishes avail_event = the next index
 * to pop, then (after a full barrier) checks whether buffers arrived in
 * the meantime, which the driver may not have kicked for.
 *
 * Return: 1 when buffers are available (pop them), 0 when empty, -EIO (the
 * queue is broken: the available index jumped too far).
 */
int vbe_vq_enable_notify(struct vbe_vq *vq);

/**
 * vbe_vq_broken() - whether the driver broke the queue
 * @vq: the queue
 *
 * Return: true after vbe_vq_pop()/vbe_vq_enable_notify() reported -EIO.
 */
bool vbe_vq_broken(const struct vbe_vq *vq);

/**
 * vbe_iov_to_buf() - copy bytes out of segments
 * @iov: the segments
 * @iovcnt: the number of segments
 * @offset: bytes to skip first
 * @buf: destination
 * @len: the most bytes to copy
 *
 * Return: the number of bytes copied.
 */
size_t vbe_iov_to_buf(const struct iovec *iov, unsigned int iovcnt,
		      size_t offset, void *buf, size_t len);

/**
 * vbe_iov_from_buf() - copy bytes into segments
 * @iov: the segments
 * @iovcnt: the number of segments
 * @offset: bytes to skip first
 * @buf: source
 * @len: the most bytes to copy
 *
 * Return: the number of bytes copied.
 */
size_t vbe_iov_from_buf(const struct iovec *iov, unsigned int iovcnt,
			size_t offset, const void *buf, size_t len);

/* ------------------------------------------------------------------ */
/* struct vbe_dev: the virtio-mmio (version 2) device model           */
/* ------------------------------------------------------------------ */

/**
 * struct vbe_dev_ops - callbacks of a device author (all optional)
 *
 * Unless stated otherwise the callbacks are called from the thread that
 * handles requests (vbe_dev_handle_request(), vbe_guest_process()) or
 * kicks (vbe_dev_handle_kick()).  They may call vbe_dev_notify_used(),
 * vbe_dev_config_update() and vbe_dev_set_needs_reset().
 *
 * @features_ok: the driver sets FEATURES_OK with @features (already
 *	checked to be a subset of the device features including
 *	VIRTIO_F_VERSION_1).  Return 0 to accept, a negative errno to refuse:
 *	FEATURES_OK then reads back clear.
 * @driver_ok: the driver set DRIVER_OK.
 * @reset: the driver wrote 0 to Status.  Every ready queue was already
 *	stopped with @queue_ready(dev, q, NULL).
 * @queue_ready: queue @q became usable as @vq (valid until the next
 *	call for @q, with @vq NULL when the driver disables the queue or
 *	resets the device).  The device must stop using the old queue
 *	(including in its own threads) before returning from the NULL call.
 * @queue_notify: the driver kicked queue @q, through the request
 *	channel or the queue's kick eventfd (vbe_dev_handle_kick()).
 * @config_read: read @len bytes at @offset of the config space into
 *	*@val; return 0, or a negative errno to read 0.  When absent, reads
 *	are served from the config buffer.
 * @config_write: the driver writes @val (@len bytes at @offset); return 0
 *	to store it in the config buffer, a negative errno to ignore it.
 *	When absent, config writes are ignored.
 */
struct vbe_dev_ops {
	int (*features_ok)(struct vbe_dev *dev, uint64_t features);
	void (*driver_ok)(struct vbe_dev *dev);
	void (*reset)(struct vbe_dev *dev);
	void (*queue_ready)(struct vbe_dev *dev, unsigned int q,
			    struct vbe_vq *vq);
	void (*queue_notify)(struct vbe_dev *dev, unsigned int q);
	int (*config_read)(struct vbe_dev *dev, uint32_t offset, uint32_t len,
			   uint64_t *val);
	int (*config_write)(struct vbe_dev *dev, uint32_t offset,
			    uint32_t len, uint64_t val);
};

/* The register window must at least hold the common registers. */
#define VBE_DEV_MIN_SIZE 0x100U

/**
 * vbe_dev_new() - create a virtio-mmio version 2 device model
 * @base: guest-physical address of the register window
 * @size: size of the window: VBE_DEV_MIN_SIZE plus the config space,
 *	at most 4 GiB
 * @device_id: the virtio device id (e.g. VIRTIO_ID_BLOCK), not 0
 * @num_queues: the number of virtqueues, 1 to 1024
 * @queue_max: QueueNumMax of every queue, a power of 2 up to
 *	VBE_VQ_MAX_SIZE
 * @devp: on success, the device
 *
 * The device offers VIRTIO_F_VERSION_1 plus vbe_dev_set_features().  One
 * kick eventfd per queue is created now (vbe_dev_kick_fd()).  With @base
 * aligned to 256 bytes the kernel can keep InterruptStatus (see
 * vbe_dev_attach()); otherwise the library always keeps it.
 *
 * Return: 0, -EINVAL, -ENOMEM, -EMFILE/-ENFILE (eventfds).
 */
int vbe_dev_new(uint64_t base, uint64_t size, uint32_t device_id,
		unsigned int num_queues, unsigned int queue_max,
		struct vbe_dev **devp);

/**
 * vbe_dev_free() - detach and free a device
 * @dev: the device, or NULL
 */
void vbe_dev_free(struct vbe_dev *dev);

/**
 * vbe_dev_set_ops() - set the device author's callbacks
 * @dev: the device
 * @ops: the callbacks (copied)
 * @opaque: returned by vbe_dev_opaque()
 *
 * Return: 0, -EBUSY (the device is attached).
 */
int vbe_dev_set_ops(struct vbe_dev *dev, const struct vbe_dev_ops *ops,
		    void *opaque);

/**
 * vbe_dev_opaque() - the pointer given to vbe_dev_set_ops()
 * @dev: the device
 *
 * Return: the pointer.
 */
void *vbe_dev_opaque(const struct vbe_dev *dev);

/**
 * vbe_dev_set_vendor_id() - set VendorID (default 0)
 * @dev: the device
 * @vendor_id: the value
 *
 * Return: 0, -EBUSY (the device is attached).
 */
int vbe_dev_set_vendor_id(struct vbe_dev *dev, uint32_t vendor_id);

/**
 * vbe_dev_set_features() - set the device feature bits
 * @dev: the device
 * @features: the features; VIRTIO_F_VERSION_1 is always added
 *
 * Return: 0, -EBUSY (the device is attached), -EINVAL
 * (VIRTIO_F_RING_PACKED or VIRTIO_F_NOTIFICATION_DATA, which the model
 * does not implement).
 */
int vbe_dev_set_features(struct vbe_dev *dev, uint64_t features);

/**
 * vbe_dev_set_config() - set the initial config space
 * @dev: the device
 * @buf: the bytes (little-endian fields, as the driver sees them)
 * @len: the length; at most the window size minus VBE_DEV_MIN_SIZE
 *
 * Return: 0, -EBUSY (the device is attached), -EINVAL (too long),
 * -ENOMEM.
 */
int vbe_dev_set_config(struct vbe_dev *dev, const void *buf, uint32_t len);

/**
 * vbe_dev_set_memtab() - the guest memory the queues live in
 * @dev: the device
 * @mt: the table (must outlive the device); NULL selects the guest's
 *	table at vbe_dev_attach()
 *
 * Return: 0, -EBUSY (a queue is ready).
 */
int vbe_dev_set_memtab(struct vbe_dev *dev, const struct vbe_memtab *mt);

/**
 * vbe_dev_set_irq() - choose the interrupt of the device
 * @dev: the device
 * @type: VIRTBE_IRQ_EDGE, _LEVEL, _EVTCHN or _MSI
 * @irq: line or port (0 for MSI)
 * @msi_addr: MSI address (VIRTBE_IRQ_MSI), otherwise 0
 * @msi_data: MSI data (VIRTBE_IRQ_MSI), otherwise 0
 *
 * Creates the call eventfd, the config call eventfd (and for
 * VIRTBE_IRQ_LEVEL the resample eventfd); if the device is attached,
 * assigns the irqfd(s) at once as vbe_dev_attach() describes, otherwise at
 * vbe_dev_attach().
 *
 * Return: 0, -EINVAL (bad type or arguments), -EBUSY (already set),
 * -EMFILE/-ENFILE, or an error of the irqfd assignment.
 */
int vbe_dev_set_irq(struct vbe_dev *dev, uint32_t type, uint32_t irq,
		    uint64_t msi_addr, uint32_t msi_data);

/**
 * vbe_dev_attach() - serve the device to a guest
 * @dev: the device
 * @guest: the guest
 *
 * Claims [base, base + size) (VIRTBE_CLAIM_RANGE), assigns the irqfd(s)
 * if vbe_dev_set_irq() was called, and adds the device to the guest's list
 * for vbe_guest_process().  Once the driver sets QueueReady of a queue, a
 * 4-byte ioeventfd at base + 0x50 with datamatch = the queue index is
 * assigned to the queue's kick eventfd; QueueNotify writes that still
 * arrive through the request channel are handled as kicks too.  Undone in
 * reverse order on failure.
 *
 * InterruptStatus: when the guest's kernel reports VIRTBE_F_VIRTIO_MMIO_ISR
 * (VIRTBE_GET_INFO, asked once per guest) and the base is 256-byte aligned,
 * the kernel keeps it (vbe_dev_kernel_isr() is then true): the call eventfd
 * is assigned with VIRTBE_IRQFD_VIRTIO_MMIO and the "used buffer" bit, the
 * config call eventfd with the "configuration change" bit, both on the
 * device's interrupt, and the guest's InterruptStatus reads and
 * InterruptACK writes are answered by the kernel.  Bits the library held
 * until then are handed over.  A reset by the driver (0 to Status) clears
 * the kernel's copy in the kernel; the irqfds stay assigned.  Otherwise one
 * plain irqfd drives the interrupt and the library keeps InterruptStatus.
 *
 * Return: 0, -EBUSY (already attached), -EEXIST (the range overlaps a
 * claimed range or another device of the guest), or an error of the
 * claim or irqfd ioctls.
 */
int vbe_dev_attach(struct vbe_dev *dev, struct vbe_guest *guest);

/**
 * vbe_dev_detach() - stop serving the device
 * @dev: the device, or NULL
 *
 * Resets the device model (as if the driver wrote 0 to Status), deassigns
 * the ioeventfds and the irqfd(s) and releases the range.  InterruptStatus
 * is kept by the library again.
 */
void vbe_dev_detach(struct vbe_dev *dev);

/**
 * vbe_dev_handle_request() - answer one guest access to the device
 * @dev: the device
 * @req: the access
 * @data_out: for reads, the value to complete with (truncated to the
 *	access length); 0 for writes
 *
 * Implements every register of virtio-mmio version 2.  Control registers
 * take 32-bit aligned accesses; the config space 8-, 16- and 32-bit
 * naturally aligned accesses.  While the kernel keeps InterruptStatus
 * (vbe_dev_kernel_isr()), the guest's InterruptStatus reads and
 * InterruptACK writes do not reach userspace; should one arrive anyway
 * (queued before the irqfds were assigned), it sees the library's copy,
 * which is then 0.  Other accesses, reads of write-only and
 * writes of read-only registers read 0 or are ignored, and are counted
 * (vbe_dev_invalid_accesses()).
 *
 * Return: 0 when the access was handled (even if invalid), -ERANGE when
 * @req is not inside the device's window, -EINVAL for port I/O.
 */
int vbe_dev_handle_request(struct vbe_dev *dev,
			   const struct virtbe_request *req,
			   uint64_t *data_out);

/**
 * vbe_dev_kick_fd() - the kick eventfd of a queue
 * @dev: the device
 * @q: the queue index
 *
 * Poll it for readability and call vbe_dev_handle_kick().
 *
 * Return: the fd (owned by @dev), -EINVAL for a bad index.
 */
int vbe_dev_kick_fd(const struct vbe_dev *dev, unsigned int q);

/**
 * vbe_dev_handle_kick() - consume a kick of the kick eventfd
 * @dev: the device
 * @q: the queue index
 *
 * Drains the eventfd and, if the queue is ready, calls
 * vbe_dev_ops.queue_notify.
 *
 * Return: 1 if the callback ran, 0 if there was nothing to do, -EINVAL.
 */
int vbe_dev_handle_kick(struct vbe_dev *dev, unsigned int q);

/**
 * vbe_dev_call_fd() - the call eventfd (irqfd) of the device
 * @dev: the device
 *
 * The fd to give a vhost-user daemon as its call fd.  While the kernel
 * keeps InterruptStatus (vbe_dev_kernel_isr()), writing it from any thread
 * or process is the same as vbe_dev_notify_used(): the kernel sets the
 * "used buffer" bit, then raises the interrupt.  Otherwise a direct write
 * raises the interrupt without the bit, which a virtio-mmio driver ignores:
 * relay such notifications through vbe_dev_notify_used() instead.
 *
 * Return: the fd (owned by @dev), -ENOENT before vbe_dev_set_irq().
 */
int vbe_dev_call_fd(const struct vbe_dev *dev);

/**
 * vbe_dev_config_call_fd() - the config call eventfd of the device
 * @dev: the device
 *
 * While the kernel keeps InterruptStatus, a write of this fd sets the
 * "configuration change" bit and raises the interrupt (for a vhost-user
 * daemon's VHOST_USER_SET_CONFIG_CALL).  It does not change
 * ConfigGeneration: a device whose config space changed must also make the
 * generation change (vbe_dev_config_changed(), vbe_dev_notify_config()).
 *
 * Return: the fd (owned by @dev), -ENOENT unless vbe_dev_kernel_isr().
 */
int vbe_dev_config_call_fd(const struct vbe_dev *dev);

/**
 * vbe_dev_kernel_isr() - does the kernel keep InterruptStatus?
 * @dev: the device
 *
 * True between vbe_dev_attach() (or vbe_dev_set_irq() on an attached
 * device) and vbe_dev_detach() when the guest's kernel has
 * VIRTBE_F_VIRTIO_MMIO_ISR and the device's base is 256-byte aligned; see
 * vbe_dev_attach().  Thread-safe.
 *
 * Return: true when the call eventfds set InterruptStatus in the kernel.
 */
bool vbe_dev_kernel_isr(const struct vbe_dev *dev);

/**
 * vbe_dev_resample_fd() - the resample eventfd of a level interrupt
 * @dev: the device
 *
 * Poll it for readability and call vbe_dev_handle_resample().
 *
 * Return: the fd (owned by @dev), -ENOENT unless the interrupt is
 * VIRTBE_IRQ_LEVEL.
 */
int vbe_dev_resample_fd(const struct vbe_dev *dev);

/**
 * vbe_dev_handle_resample() - the guest acknowledged the level interrupt
 * @dev: the device
 *
 * Drains the resample eventfd and, while InterruptStatus is not 0,
 * asserts the line again (signals the call eventfd).  When the kernel keeps
 * InterruptStatus it raises the line again itself: the eventfd is only
 * drained (keep calling this function so that it does not stay readable).
 * Thread-safe.
 *
 * Return: 1 if the line was asserted again, 0 if not (always 0 while the
 * kernel keeps InterruptStatus), -ENOENT (no level interrupt), -errno of
 * the eventfd read or write.
 */
int vbe_dev_handle_resample(struct vbe_dev *dev);

/**
 * vbe_dev_notify_used() - raise the "used buffer" interrupt
 * @dev: the device
 *
 * While the kernel keeps InterruptStatus (vbe_dev_kernel_isr()), signals
 * the call eventfd, whose irqfd sets bit 0 (VIRTIO_MMIO_INT_VRING) in the
 * kernel before it raises the interrupt.  Otherwise atomically sets bit 0
 * of the library's InterruptStatus, then signals the call eventfd.
 * Thread-safe; may run concurrently with the request loop.
 *
 * Memory ordering of the library's InterruptStatus: the bit is set with a
 * sequentially consistent read-modify-write that precedes the eventfd write
 * in program order, and InterruptACK clears bits with a sequentially
 * consistent atomic AND.  Any InterruptStatus read that follows the
 * interrupt the eventfd write raised therefore sees the bit, and an ACK can
 * only clear bits the driver has read; for level interrupts,
 * vbe_dev_handle_resample() reads the status after the guest lowered the
 * line, so a bit set before the line was lowered is re-asserted.
 *
 * Return: 0, -ENOENT (no interrupt configured; the bit is still set), or
 * the -errno of the eventfd write.
 */
int vbe_dev_notify_used(struct vbe_dev *dev);

/**
 * vbe_dev_notify_config() - raise the "configuration change" interrupt
 * @dev: the device
 *
 * Increments ConfigGeneration, then as vbe_dev_notify_used() with bit 1
 * (VIRTIO_MMIO_INT_CONFIG) and, while the kernel keeps InterruptStatus,
 * the config call eventfd.  Thread-safe.
 *
 * Return: as vbe_dev_notify_used().
 */
int vbe_dev_notify_config(struct vbe_dev *dev);

/**
 * vbe_dev_config_changed() - the device changed its config space
 * @dev: the device
 *
 * Increments ConfigGeneration (once), then raises the configuration change
 * interrupt if the driver has set DRIVER_OK.  Call it after a change the
 * device made through its own @config_read storage; vbe_dev_config_update()
 * calls it itself.  Thread-safe.
 *
 * Return: as vbe_dev_notify_config(), 0 when no interrupt was due.
 */
int vbe_dev_config_changed(struct vbe_dev *dev);

/**
 * vbe_dev_config_update() - change bytes of the config buffer
 * @dev: the device
 * @offset: offset in the config space
 * @buf: the new bytes
 * @len: their number
 *
 * Atomically with respect to driver reads, stores the bytes and increments
 * ConfigGeneration; then as vbe_dev_config_changed().  Thread-safe.
 *
 * Return: 0, -EINVAL (outside the config buffer), or an error of the
 * interrupt.
 */
int vbe_dev_config_update(struct vbe_dev *dev, uint32_t offset,
			  const void *buf, uint32_t len);

/**
 * vbe_dev_config_get() - read bytes of the config buffer
 * @dev: the device
 * @offset: offset in the config space
 * @buf: destination
 * @len: number of bytes
 *
 * Thread-safe.
 *
 * Return: 0, -EINVAL (outside the config buffer).
 */
int vbe_dev_config_get(struct vbe_dev *dev, uint32_t offset, void *buf,
		       uint32_t len);

/**
 * vbe_dev_set_needs_reset() - the device entered an error state
 * @dev: the device
 *
 * Sets DEVICE_NEEDS_RESET in Status and, if the driver has set DRIVER_OK,
 * raises the configuration change interrupt.  Thread-safe.
 */
void vbe_dev_set_needs_reset(struct vbe_dev *dev);

/**
 * vbe_dev_status() - the device status register
 * @dev: the device
 *
 * Return: the VIRTIO_CONFIG_S_* bits.
 */
uint32_t vbe_dev_status(const struct vbe_dev *dev);

/**
 * vbe_dev_driver_features() - the features accepted with FEATURES_OK
 * @dev: the device
 *
 * Return: the features, 0 before FEATURES_OK.
 */
uint64_t vbe_dev_driver_features(const struct vbe_dev *dev);

/**
 * vbe_dev_vq() - the virtqueue of a ready queue
 * @dev: the device
 * @q: the queue index
 *
 * Return: the queue, or NULL when it is not ready.
 */
struct vbe_vq *vbe_dev_vq(const struct vbe_dev *dev, unsigned int q);

/**
 * struct vbe_queue_addr - where a ready queue lives
 * @num: its size (QueueNum)
 * @desc: guest-physical address of the descriptor table
 * @avail: guest-physical address of the driver (available) ring
 * @used: guest-physical address of the device (used) ring
 */
struct vbe_queue_addr {
	uint32_t num;
	uint64_t desc;
	uint64_t avail;
	uint64_t used;
};

/**
 * vbe_dev_queue_addr() - the ring addresses of a ready queue
 * @dev: the device
 * @q: the queue index
 * @addr: filled in
 *
 * What the driver wrote to QueueNum, QueueDesc, QueueDriver and
 * QueueDevice before QueueReady: what a device that hands the queue to
 * another process (a vhost-user daemon) passes on.  Call it from the
 * thread that handles requests, e.g. in vbe_dev_ops.queue_ready.
 *
 * Return: 0, -EINVAL (bad index), -ENOENT (the queue is not ready).
 */
int vbe_dev_queue_addr(const struct vbe_dev *dev, unsigned int q,
		       struct vbe_queue_addr *addr);

/**
 * vbe_dev_interrupt_status() - the InterruptStatus register
 * @dev: the device
 *
 * The library's copy.  While the kernel keeps InterruptStatus
 * (vbe_dev_kernel_isr()) there is no copy in userspace and this is 0.
 *
 * Return: the bits.  Thread-safe.
 */
uint32_t vbe_dev_interrupt_status(const struct vbe_dev *dev);

/**
 * vbe_dev_invalid_accesses() - count of accesses the model refused
 * @dev: the device
 *
 * Return: the count (bad size or alignment, unknown or wrong-direction
 * registers, writes in the wrong state).
 */
uint64_t vbe_dev_invalid_accesses(const struct vbe_dev *dev);

/* ------------------------------------------------------------------ */
/* struct vbe_dt: Device Tree configuration                           */
/* ------------------------------------------------------------------ */

/**
 * vbe_dt_load() - validate and parse a configuration blob
 * @blob: a flattened device tree
 * @len: the size of the buffer holding it
 * @dtp: on success, the configuration (it keeps its own copy of the blob)
 *
 * The blob is checked with fdt_check_full().  Every node compatible with
 * "virtbe,guest" is a guest; its children compatible with "virtio,mmio"
 * are its devices (see Documentation/devicetree/virtbe.rst).  Node names
 * are never interpreted.  The memory windows of a guest may not overlap,
 * nor may the register windows of its devices.
 *
 * vbe_dt_load_msg() says, in addition, what is wrong.
 *
 * Return: 0, -EBADMSG (not a valid blob: bad magic, version, structure,
 * truncated), -ENOENT (no guest node), -EINVAL (a guest or device node
 * misses a required property or has a malformed one, or two windows
 * overlap), -EFBIG (above 16 MiB), -ENOMEM.
 */
int vbe_dt_load(const void *blob, size_t len, struct vbe_dt **dtp);

/**
 * vbe_dt_load_msg() - vbe_dt_load(), saying why a blob is refused
 * @blob: as for vbe_dt_load()
 * @len: as for vbe_dt_load()
 * @dtp: as for vbe_dt_load()
 * @msg: a buffer for the reason, or NULL
 * @msglen: its size in bytes (256 is enough for every message, which is
 *	cut, still NUL-terminated, to fit)
 *
 * On failure @msg holds one sentence (no newline) naming the culprit: for
 * a blob libfdt would refuse, what is wrong and libfdt's name of the error,
 * e.g. "the blob is truncated: header says 1576 bytes, there are 1000
 * (FDT_ERR_TRUNCATED)"; for a binding error, the node's path, the property,
 * the bad value and what is expected, e.g. "/domu1: virtbe,hypervisor:
 * "kvm" is not a hypervisor virtbe knows: want "sim", "xen" or "bao"", or
 * both nodes and ranges of an overlap.  On success @msg is the empty
 * string.  The message is for humans: its wording may change; the return
 * value is the interface.
 *
 * Return: as vbe_dt_load().
 */
int vbe_dt_load_msg(const void *blob, size_t len, struct vbe_dt **dtp,
		    char *msg, size_t msglen);

/**
 * vbe_dt_load_file() - vbe_dt_load() of a file's contents
 * @path: the .dtb file
 * @dtp: on success, the configuration
 *
 * Return: as vbe_dt_load(), or the -errno of open/read; -EFBIG above
 * 16 MiB, -EINVAL when @path is not a regular file.
 */
int vbe_dt_load_file(const char *path, struct vbe_dt **dtp);

/**
 * vbe_dt_load_file_msg() - vbe_dt_load_file(), saying why it failed
 * @path: the .dtb file
 * @dtp: on success, the configuration
 * @msg: a buffer for the reason, or NULL
 * @msglen: its size in bytes
 *
 * As vbe_dt_load_msg(); the message does not repeat @path (the caller
 * prints it first), e.g. "cannot open: No such file or directory".
 *
 * Return: as vbe_dt_load_file().
 */
int vbe_dt_load_file_msg(const char *path, struct vbe_dt **dtp, char *msg,
			 size_t msglen);

/**
 * vbe_dt_free() - free a configuration
 * @dt: the configuration, or NULL
 */
void vbe_dt_free(struct vbe_dt *dt);

/**
 * vbe_dt_num_guests() - the number of guest nodes
 * @dt: the configuration
 *
 * Return: the count (at least 1).
 */
unsigned int vbe_dt_num_guests(const struct vbe_dt *dt);

/**
 * vbe_dt_guest() - a guest node
 * @dt: the configuration
 * @i: index, below vbe_dt_num_guests()
 *
 * Return: the guest (owned by @dt), or NULL for a bad index.
 */
const struct vbe_dt_guest *vbe_dt_guest(const struct vbe_dt *dt,
					unsigned int i);

/**
 * vbe_dt_guest_name() - the guest node's full path, for messages only
 * @g: the guest
 *
 * Return: the path (owned by the configuration).
 */
const char *vbe_dt_guest_name(const struct vbe_dt_guest *g);

/**
 * vbe_dt_guest_hyp() - the guest's VIRTBE_HYP_*
 * @g: the guest
 *
 * Return: the id.
 */
uint32_t vbe_dt_guest_hyp(const struct vbe_dt_guest *g);

/**
 * vbe_dt_guest_id() - the guest's id ("virtbe,guest-id")
 * @g: the guest
 *
 * Return: the id.
 */
uint64_t vbe_dt_guest_id(const struct vbe_dt_guest *g);

/**
 * vbe_dt_guest_timeout_ms() - "virtbe,request-timeout-ms", or 0
 * @g: the guest
 *
 * Return: the timeout.
 */
uint32_t vbe_dt_guest_timeout_ms(const struct vbe_dt_guest *g);

/**
 * vbe_dt_guest_num_mem() - the number of memory windows ("virtbe,memory")
 * @g: the guest
 *
 * Return: the count.
 */
unsigned int vbe_dt_guest_num_mem(const struct vbe_dt_guest *g);

/**
 * vbe_dt_guest_mem() - a memory window
 * @g: the guest
 * @i: index, below vbe_dt_guest_num_mem()
 * @gpa: the start
 * @len: the length
 *
 * Return: 0, -EINVAL for a bad index.
 */
int vbe_dt_guest_mem(const struct vbe_dt_guest *g, unsigned int i,
		     uint64_t *gpa, uint64_t *len);

/**
 * vbe_dt_guest_num_devs() - the number of device nodes of a guest
 * @g: the guest
 *
 * Return: the count.
 */
unsigned int vbe_dt_guest_num_devs(const struct vbe_dt_guest *g);

/**
 * vbe_dt_guest_dev() - a device node
 * @g: the guest
 * @i: index, below vbe_dt_guest_num_devs()
 *
 * Return: the device (owned by the configuration), or NULL.
 */
const struct vbe_dt_dev *vbe_dt_guest_dev(const struct vbe_dt_guest *g,
					  unsigned int i);

/**
 * vbe_dt_dev_base() - the register window's address (first "reg" entry)
 * @d: the device
 *
 * Return: the address.
 */
uint64_t vbe_dt_dev_base(const struct vbe_dt_dev *d);

/**
 * vbe_dt_dev_size() - the register window's size
 * @d: the device
 *
 * Return: the size.
 */
uint64_t vbe_dt_dev_size(const struct vbe_dt_dev *d);

/**
 * vbe_dt_dev_irq() - the device's interrupt ("interrupts" and MSI props)
 * @d: the device
 * @type: VIRTBE_IRQ_*
 * @irq: line or port (0 for MSI)
 * @msi_addr: MSI address, or 0 (may be NULL)
 * @msi_data: MSI data, or 0 (may be NULL)
 */
void vbe_dt_dev_irq(const struct vbe_dt_dev *d, uint32_t *type,
		    uint32_t *irq, uint64_t *msi_addr, uint32_t *msi_data);

/**
 * vbe_dt_dev_backend() - "virtbe,backend", e.g. "blk"
 * @d: the device
 *
 * Return: the string (owned by the configuration).
 */
const char *vbe_dt_dev_backend(const struct vbe_dt_dev *d);

/**
 * vbe_dt_dev_name() - the node's full path, for messages only
 * @d: the device
 *
 * Return: the path (owned by the configuration).
 */
const char *vbe_dt_dev_name(const struct vbe_dt_dev *d);

/**
 * vbe_dt_dev_prop_string() - a backend-specific string property
 * @d: the device
 * @name: the property, e.g. "virtbe,backing-file"
 * @val: on success, the NUL-terminated value (owned by the configuration)
 *
 * Return: 0, -ENOENT (absent), -EINVAL (empty or not NUL-terminated).
 */
int vbe_dt_dev_prop_string(const struct vbe_dt_dev *d, const char *name,
			   const char **val);

/**
 * vbe_dt_dev_prop_u32() - a backend-specific one-cell property
 * @d: the device
 * @name: the property
 * @val: on success, the value
 *
 * Return: 0, -ENOENT (absent), -EINVAL (not exactly 4 bytes).
 */
int vbe_dt_dev_prop_u32(const struct vbe_dt_dev *d, const char *name,
			uint32_t *val);

/**
 * vbe_dt_dev_prop_u64() - a backend-specific one- or two-cell property
 * @d: the device
 * @name: the property
 * @val: on success, the value
 *
 * Return: 0, -ENOENT (absent), -EINVAL (neither 4 nor 8 bytes).
 */
int vbe_dt_dev_prop_u64(const struct vbe_dt_dev *d, const char *name,
			uint64_t *val);

/**
 * vbe_dt_dev_prop_bool() - whether a backend-specific property is present
 * @d: the device
 * @name: the property, e.g. "virtbe,read-only"
 *
 * Return: true when present.
 */
bool vbe_dt_dev_prop_bool(const struct vbe_dt_dev *d, const char *name);

#ifdef __cplusplus
}
#endif

#endif /* VIRTBE_VIRTBE_H */
