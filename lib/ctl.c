// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * libvirtbe layer 1: one wrapper per ioctl of <linux/virtbe.h>, plus the
 * request channel.  Each wrapper fills the uapi structure with designated
 * initializers (so every other field, reserved ones included, is zero) and
 * calls vbe_sys_ioctl().
 *
 * Copyright (C) 2026 The virtbe authors
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "syscall.h"

/* The layouts of API version 1 (see "Request channel" in the uapi). */
_Static_assert(sizeof(struct virtbe_request) == 64, "request record");
_Static_assert(sizeof(struct virtbe_completion) == 32, "completion record");

const char *vbe__ctl_path = "/dev/virtbe";

/* Control device */

VBE_EXPORT int vbe_ctl_open(struct vbe_ctl **ctlp)
{
	struct vbe_ctl *ctl;
	int fd;

	ctl = malloc(sizeof(*ctl));
	if (!ctl)
		return -ENOMEM;
	fd = vbe_sys_open(vbe__ctl_path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		free(ctl);
		return fd;
	}
	ctl->fd = fd;
	*ctlp = ctl;
	return 0;
}

VBE_EXPORT void vbe_ctl_close(struct vbe_ctl *ctl)
{
	if (!ctl)
		return;
	vbe_sys_close(ctl->fd);
	free(ctl);
}

VBE_EXPORT int vbe_ctl_fd(const struct vbe_ctl *ctl)
{
	return ctl->fd;
}

static int get_info(int fd, uint32_t hyp, struct virtbe_info *info)
{
	struct virtbe_info arg = {
		.size = sizeof(arg),
		.flags = 0,
		.hyp = hyp,
	};
	int ret;

	ret = vbe_sys_ioctl(fd, VIRTBE_GET_INFO, &arg);
	if (ret < 0)
		return ret;
	*info = arg;
	return 0;
}

VBE_EXPORT int vbe_ctl_get_info(struct vbe_ctl *ctl, uint32_t hyp,
				struct virtbe_info *info)
{
	return get_info(ctl->fd, hyp, info);
}

static const char *const hyp_names[] = {
	[VIRTBE_HYP_SIM] = "sim",
	[VIRTBE_HYP_XEN] = "xen",
	[VIRTBE_HYP_BAO] = "bao",
};

VBE_EXPORT int vbe_hyp_from_name(const char *name)
{
	unsigned int i;

	if (!name)
		return -EINVAL;
	for (i = 0; i < VBE_ARRAY_SIZE(hyp_names); i++)
		if (hyp_names[i] && !strcmp(hyp_names[i], name))
			return (int)i;
	return -EINVAL;
}

VBE_EXPORT const char *vbe_hyp_name(uint32_t hyp)
{
	return hyp < VBE_ARRAY_SIZE(hyp_names) ? hyp_names[hyp] : NULL;
}

/* Guests */

static int guest_new(int fd, unsigned int nr_vcpus, struct vbe_guest **guestp)
{
	struct vbe_guest *guest;
	int ret;

	guest = calloc(1, sizeof(*guest));
	if (!guest)
		return -ENOMEM;
	ret = vbe_memtab_new(&guest->mt);
	if (ret)
		goto err_free_guest;
	ret = vbe_sys_set_nonblock(fd);
	if (ret)
		goto err_free_memtab;
	guest->fd = fd;
	guest->nr_vcpus = nr_vcpus;
	*guestp = guest;
	return 0;

err_free_memtab:
	vbe_memtab_free(guest->mt);
err_free_guest:
	free(guest);
	return ret;
}

VBE_EXPORT int vbe_guest_attach(struct vbe_ctl *ctl, uint32_t hyp,
				uint64_t guest_id, uint32_t timeout_ms,
				struct vbe_guest **guestp)
{
	struct virtbe_attach arg = {
		.size = sizeof(arg),
		.flags = 0,
		.hyp = hyp,
		.request_timeout_ms = timeout_ms,
		.guest_id = guest_id,
	};
	int fd, ret;

	fd = vbe_sys_ioctl(ctl->fd, VIRTBE_ATTACH, &arg);
	if (fd < 0)
		return fd;
	ret = guest_new(fd, arg.out_nr_vcpus, guestp);
	if (ret)
		vbe_sys_close(fd);
	return ret;
}

VBE_EXPORT int vbe_guest_from_fd(int fd, struct vbe_guest **guestp)
{
	if (fd < 0)
		return -EBADF;
	return guest_new(fd, 0, guestp);
}

VBE_EXPORT void vbe_guest_close(struct vbe_guest *guest)
{
	struct vbe_mem *mem;

	if (!guest)
		return;
	while (guest->devs)
		vbe__dev_orphan(guest->devs);
	for (mem = guest->mems; mem; mem = mem->next)
		mem->guest = NULL;
	vbe_sys_close(guest->fd);
	vbe_memtab_free(guest->mt);
	free(guest);
}

VBE_EXPORT int vbe_guest_fd(const struct vbe_guest *guest)
{
	return guest->fd;
}

VBE_EXPORT unsigned int vbe_guest_nr_vcpus(const struct vbe_guest *guest)
{
	return guest->nr_vcpus;
}

VBE_EXPORT int vbe_guest_get_info(struct vbe_guest *guest, uint32_t hyp,
				  struct virtbe_info *info)
{
	return get_info(guest->fd, hyp, info);
}

uint64_t vbe__guest_features(struct vbe_guest *guest)
{
	struct virtbe_info info;

	if (!guest->info_valid && !get_info(guest->fd, 0, &info)) {
		guest->features = info.out_features;
		guest->info_valid = true;
	}
	return guest->features;
}

VBE_EXPORT struct vbe_memtab *vbe_guest_memtab(struct vbe_guest *guest)
{
	return guest->mt;
}

/* Memory windows */

VBE_EXPORT int vbe_mem_map(struct vbe_guest *guest, uint64_t gpa,
			   uint64_t len, uint32_t flags, struct vbe_mem **memp)
{
	struct virtbe_mem_map arg = {
		.size = sizeof(arg),
		.flags = flags,
		.gpa = gpa,
		.len = len,
	};
	int prot = PROT_READ;
	struct vbe_mem *mem;
	int ret;

	if (flags & ~VIRTBE_MEM_MAP_RDONLY)
		return -EOPNOTSUPP;
	if (!len || (uint64_t)(size_t)len != len)
		return -EINVAL;
	if (!(flags & VIRTBE_MEM_MAP_RDONLY))
		prot |= PROT_WRITE;

	mem = calloc(1, sizeof(*mem));
	if (!mem)
		return -ENOMEM;
	ret = vbe_sys_ioctl(guest->fd, VIRTBE_MEM_MAP, &arg);
	if (ret < 0)
		goto err_free_mem;
	mem->fd = ret;
	ret = vbe_sys_mmap(&mem->ptr, (size_t)len, prot, MAP_SHARED, mem->fd, 0);
	if (ret)
		goto err_close_fd;
	ret = vbe_memtab_add(guest->mt, gpa, len, mem->ptr, flags);
	if (ret)
		goto err_munmap;
	mem->guest = guest;
	mem->gpa = gpa;
	mem->len = len;
	mem->next = guest->mems;
	guest->mems = mem;
	*memp = mem;
	return 0;

err_munmap:
	vbe_sys_munmap(mem->ptr, (size_t)len);
err_close_fd:
	vbe_sys_close(mem->fd);
err_free_mem:
	free(mem);
	return ret;
}

VBE_EXPORT void vbe_mem_unmap(struct vbe_mem *mem)
{
	struct vbe_mem **pp;

	if (!mem)
		return;
	if (mem->guest) {
		vbe_memtab_remove(mem->guest->mt, mem->gpa);
		for (pp = &mem->guest->mems; *pp; pp = &(*pp)->next) {
			if (*pp == mem) {
				*pp = mem->next;
				break;
			}
		}
	}
	vbe_sys_munmap(mem->ptr, (size_t)mem->len);
	vbe_sys_close(mem->fd);
	free(mem);
}

VBE_EXPORT int vbe_mem_fd(const struct vbe_mem *mem)
{
	return mem->fd;
}

VBE_EXPORT void *vbe_mem_ptr(const struct vbe_mem *mem)
{
	return mem->ptr;
}

VBE_EXPORT uint64_t vbe_mem_gpa(const struct vbe_mem *mem)
{
	return mem->gpa;
}

VBE_EXPORT uint64_t vbe_mem_len(const struct vbe_mem *mem)
{
	return mem->len;
}

/* Ranges */

static int claim_range(struct vbe_guest *guest, uint64_t addr, uint64_t len,
		       uint32_t flags)
{
	struct virtbe_range arg = {
		.size = sizeof(arg),
		.flags = flags,
		.addr = addr,
		.len = len,
	};

	return vbe_sys_ioctl(guest->fd, VIRTBE_CLAIM_RANGE, &arg);
}

VBE_EXPORT int vbe_guest_claim_range(struct vbe_guest *guest, uint64_t addr,
				     uint64_t len, uint32_t flags)
{
	if (flags & VIRTBE_RANGE_RELEASE)
		return -EINVAL;
	return claim_range(guest, addr, len, flags);
}

VBE_EXPORT int vbe_guest_release_range(struct vbe_guest *guest, uint64_t addr,
				       uint64_t len, uint32_t flags)
{
	return claim_range(guest, addr, len, flags | VIRTBE_RANGE_RELEASE);
}

/* ioeventfds */

static int ioeventfd(struct vbe_guest *guest, int fd, uint64_t addr,
		     uint32_t len, uint32_t flags, uint64_t datamatch)
{
	struct virtbe_ioeventfd arg = {
		.size = sizeof(arg),
		.flags = flags,
		.fd = fd,
		.len = len,
		.addr = addr,
		.datamatch = datamatch,
	};

	return vbe_sys_ioctl(guest->fd, VIRTBE_IOEVENTFD, &arg);
}

VBE_EXPORT int vbe_guest_assign_ioeventfd(struct vbe_guest *guest, int fd,
					  uint64_t addr, uint32_t len,
					  uint32_t flags, uint64_t datamatch)
{
	if (flags & VIRTBE_IOEVENTFD_DEASSIGN)
		return -EINVAL;
	return ioeventfd(guest, fd, addr, len, flags, datamatch);
}

VBE_EXPORT int vbe_guest_deassign_ioeventfd(struct vbe_guest *guest, int fd,
					    uint64_t addr, uint32_t len,
					    uint32_t flags, uint64_t datamatch)
{
	return ioeventfd(guest, fd, addr, len,
			 flags | VIRTBE_IOEVENTFD_DEASSIGN, datamatch);
}

/* irqfds */

int vbe__irqfd(struct vbe_guest *guest, struct virtbe_irqfd *arg)
{
	return vbe_sys_ioctl(guest->fd, VIRTBE_IRQFD, arg);
}

VBE_EXPORT int vbe_guest_assign_irqfd_edge(struct vbe_guest *guest, int fd,
					   uint32_t line)
{
	struct virtbe_irqfd arg = {
		.size = sizeof(arg),
		.fd = fd,
		.resamplefd = -1,
		.type = VIRTBE_IRQ_EDGE,
		.irq = line,
	};

	return vbe__irqfd(guest, &arg);
}

VBE_EXPORT int vbe_guest_assign_irqfd_level(struct vbe_guest *guest, int fd,
					    int resamplefd, uint32_t line)
{
	struct virtbe_irqfd arg = {
		.size = sizeof(arg),
		.fd = fd,
		.resamplefd = resamplefd,
		.type = VIRTBE_IRQ_LEVEL,
		.irq = line,
	};

	return vbe__irqfd(guest, &arg);
}

VBE_EXPORT int vbe_guest_assign_irqfd_evtchn(struct vbe_guest *guest, int fd,
					     uint32_t port)
{
	struct virtbe_irqfd arg = {
		.size = sizeof(arg),
		.fd = fd,
		.resamplefd = -1,
		.type = VIRTBE_IRQ_EVTCHN,
		.irq = port,
	};

	return vbe__irqfd(guest, &arg);
}

VBE_EXPORT int vbe_guest_assign_irqfd_msi(struct vbe_guest *guest, int fd,
					  uint64_t addr, uint32_t data)
{
	struct virtbe_irqfd arg = {
		.size = sizeof(arg),
		.fd = fd,
		.resamplefd = -1,
		.type = VIRTBE_IRQ_MSI,
		.irq = 0,
		.msi_addr = addr,
		.msi_data = data,
	};

	return vbe__irqfd(guest, &arg);
}

VBE_EXPORT int vbe_guest_deassign_irqfd(struct vbe_guest *guest, int fd)
{
	struct virtbe_irqfd arg = {
		.size = sizeof(arg),
		.flags = VIRTBE_IRQFD_DEASSIGN,
		.fd = fd,
		.resamplefd = -1,
	};

	return vbe__irqfd(guest, &arg);
}

/* Statistics */

VBE_EXPORT int vbe_guest_get_stats_sized(struct vbe_guest *guest,
					 struct virtbe_stats *stats,
					 size_t size)
{
	struct virtbe_stats arg = {
		.size = sizeof(arg),
		.flags = 0,
	};
	int ret;

	if (size < offsetof(struct virtbe_stats, out_irqs) +
		   sizeof(arg.out_irqs))
		return -EINVAL;
	ret = vbe_sys_ioctl(guest->fd, VIRTBE_GET_STATS, &arg);
	if (ret < 0)
		return ret;
	/* a kernel without the later fields left them 0 */
	memcpy(stats, &arg, size < sizeof(arg) ? size : sizeof(arg));
	if (size > sizeof(arg))
		memset((char *)stats + sizeof(arg), 0, size - sizeof(arg));
	stats->size = (uint32_t)(size < sizeof(arg) ? size : sizeof(arg));
	return 0;
}

/*
 * vbe_guest_get_stats() has two versions in the shared library.  A program
 * built against libvirtbe 2.0 or 2.1 passes a struct that ends at out_irqs
 * and is bound to vbe_guest_get_stats@LIBVIRTBE_2.0, which fills that
 * much; one built since 2.2 is bound to the default, @@LIBVIRTBE_2.2,
 * which fills the struct its header declares.  The static archive (no
 * VBE_SHARED) has only the default, an alias: versioned names there would
 * break linking it into a shared object.  GCC's symver attribute survives
 * LTO, where a top-level .symver does not.
 */
#ifdef VBE_SHARED
#if defined(__has_attribute) && __has_attribute(symver)
#define VBE_SYMVER(name) __attribute__((symver(name)))
#else
#define VBE_SYMVER(name)
__asm__(".symver vbe__get_stats_v2_0, vbe_guest_get_stats@LIBVIRTBE_2.0");
__asm__(".symver vbe__get_stats_v2_2, vbe_guest_get_stats@@LIBVIRTBE_2.2");
#endif
#else
#define VBE_SYMVER(name)
#endif

VBE_EXPORT VBE_SYMVER("vbe_guest_get_stats@LIBVIRTBE_2.0")
int vbe__get_stats_v2_0(struct vbe_guest *guest, struct virtbe_stats *stats)
{
	return vbe_guest_get_stats_sized(guest, stats,
					 offsetof(struct virtbe_stats,
						  out_irqs) +
					 sizeof(stats->out_irqs));
}

VBE_EXPORT VBE_SYMVER("vbe_guest_get_stats@@LIBVIRTBE_2.2")
int vbe__get_stats_v2_2(struct vbe_guest *guest, struct virtbe_stats *stats)
{
	return vbe_guest_get_stats_sized(guest, stats, sizeof(*stats));
}

#ifndef VBE_SHARED
VBE_EXPORT int vbe_guest_get_stats(struct vbe_guest *guest,
				   struct virtbe_stats *stats)
	__attribute__((alias("vbe__get_stats_v2_2")));
#endif

/* Request channel */

/* Bound one read() so that the byte count fits an int. */
#define VBE_READ_MAX 4096U

VBE_EXPORT int vbe_guest_read_requests(struct vbe_guest *guest,
				       struct virtbe_request *reqs,
				       unsigned int n)
{
	ssize_t ret;
	size_t cnt, i;

	if (!n)
		return -EINVAL;
	if (n > VBE_READ_MAX)
		n = VBE_READ_MAX;
	ret = vbe_sys_read(guest->fd, reqs, (size_t)n * sizeof(*reqs));
	if (ret <= 0)
		return (int)ret;
	if ((size_t)ret % sizeof(*reqs))
		return -EPROTO;
	cnt = (size_t)ret / sizeof(*reqs);
	for (i = 0; i < cnt; i++)
		if (reqs[i].size != sizeof(*reqs))
			return -EPROTO;
	return (int)cnt;
}

VBE_EXPORT int vbe_guest_complete(struct vbe_guest *guest, uint64_t id,
				  uint64_t data)
{
	struct virtbe_completion comp = {
		.size = sizeof(comp),
		.flags = 0,
		.id = id,
		.data = data,
	};

	return vbe_guest_complete_batch(guest, &comp, 1);
}

/*
 * write() consumes records in order.  When a record is rejected after
 * others were consumed, the kernel reports the consumed bytes (a short
 * write); the next write() then starts with the rejected record and fails
 * with ENOENT, so we skip exactly that record and go on.
 */
VBE_EXPORT int vbe_guest_complete_batch(struct vbe_guest *guest,
					struct virtbe_completion *comps,
					unsigned int n)
{
	unsigned int i, done = 0, chunk;
	int err = 0;
	ssize_t ret;

	for (i = 0; i < n; i++) {
		comps[i].size = sizeof(comps[i]);
		comps[i].flags = 0;
		comps[i].__reserved = 0;
	}
	while (done < n) {
		chunk = n - done;
		if (chunk > VBE_READ_MAX)
			chunk = VBE_READ_MAX;
		ret = vbe_sys_write(guest->fd, &comps[done],
				    (size_t)chunk * sizeof(*comps));
		if (ret == -ENOENT) {
			err = -ENOENT;
			done++;
			continue;
		}
		if (ret < 0)
			return (int)ret;
		if (ret == 0 || (size_t)ret % sizeof(*comps))
			return -EPROTO;
		done += (unsigned int)((size_t)ret / sizeof(*comps));
	}
	return err;
}
