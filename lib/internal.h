/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * libvirtbe private definitions, shared by the library's files and its
 * tests (which link the static archive and may use the vbe__ hooks).
 */
#ifndef LIBVIRTBE_INTERNAL_H
#define LIBVIRTBE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <virtbe/virtbe.h>

#define VBE_EXPORT __attribute__((visibility("default")))

#define VBE_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* memtab.c */
#define VBE_MEMTAB_MAX 64

struct vbe_memtab_win {
	uint64_t gpa;
	uint64_t len;
	uint8_t *ptr;
	uint32_t flags;
};

struct vbe_memtab {
	unsigned int n;			/* windows, sorted by gpa */
	struct vbe_memtab_win win[VBE_MEMTAB_MAX];
};

/* ctl.c */
struct vbe_ctl {
	int fd;
};

struct vbe_guest {
	int fd;
	unsigned int nr_vcpus;
	bool info_valid;		/* @features was queried */
	uint64_t features;		/* virtbe_info.out_features */
	struct vbe_memtab *mt;
	struct vbe_mem *mems;		/* windows mapped through this guest */
	struct vbe_dev *devs;		/* attached devices (mmio.c) */
	uint64_t unmatched;		/* loop.c: requests that hit no device */
};

struct vbe_mem {
	struct vbe_guest *guest;	/* NULL once the guest is closed */
	struct vbe_mem *next;
	int fd;
	void *ptr;
	uint64_t gpa;
	uint64_t len;
};

/*
 * ctl.c: VIRTBE_GET_INFO's out_features of the guest's kernel, queried once
 * per guest (0 while the query fails).
 */
uint64_t vbe__guest_features(struct vbe_guest *guest);

/*
 * ctl.c: the two versions of vbe_guest_get_stats(), bound by .symver to
 * vbe_guest_get_stats@LIBVIRTBE_2.0 (the struct up to out_irqs) and
 * @@LIBVIRTBE_2.2 (the whole struct); tests call them by these names.
 */
int vbe__get_stats_v2_0(struct vbe_guest *guest, struct virtbe_stats *stats);
int vbe__get_stats_v2_2(struct vbe_guest *guest, struct virtbe_stats *stats);

/* ctl.c: VIRTBE_IRQFD with a structure the caller filled (size included). */
int vbe__irqfd(struct vbe_guest *guest, struct virtbe_irqfd *arg);

/* The control device node; tests point it elsewhere. */
extern const char *vbe__ctl_path;

/* mmio.c: called by vbe_guest_close() for each still-attached device. */
void vbe__dev_orphan(struct vbe_dev *dev);

/*
 * mmio.c: link a device into a guest's dispatch list without any ioctl
 * (tests; vbe_dev_attach() uses it after claiming the range).
 */
int vbe__dev_link(struct vbe_dev *dev, struct vbe_guest *guest);

/*
 * mmio.c, for loop.c: the attached device of @guest whose register window
 * holds the (MMIO) access @req, or NULL.
 */
struct vbe_dev *vbe__dev_find(struct vbe_guest *guest,
			      const struct virtbe_request *req);

#endif /* LIBVIRTBE_INTERNAL_H */
