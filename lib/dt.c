// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * libvirtbe: the Device Tree configuration loader.
 *
 * The binding is described in Documentation/devicetree/virtbe.rst.  Nodes
 * are matched by "compatible" only, never by name.  The blob is untrusted:
 * it is copied to an aligned buffer, its header and structure block are
 * checked here (dt_check_blob()), then validated with fdt_check_full()
 * before any other libfdt call; every property length is checked before
 * its value is read, and -FDT_ERR_* codes are turned into -errno here.
 *
 * Copyright (C) 2026 The virtbe authors
 */
#include <errno.h>
#include <fcntl.h>
#include <libfdt.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "syscall.h"

#define VBE_DT_MAX_BLOB (16U << 20)
#define VBE_DT_MAX_GUESTS 256U
#define VBE_DT_MAX_DEVS 256U
#define VBE_DT_MAX_MEM 64U
#define VBE_DT_MAX_TIMEOUT 60000U
#define VBE_DT_MAX_DEPTH 64
#define DT_TAGALIGN(x) (((x) + FDT_TAGSIZE - 1) & ~(uint64_t)(FDT_TAGSIZE - 1))
/* dtc has written version 17 since 2007; older headers lack fields. */
#define VBE_DT_MIN_VERSION 17U

#define VBE_DT_GUEST_COMPAT "virtbe,guest"
#define VBE_DT_DEV_COMPAT "virtio,mmio"

struct vbe_dt_dev {
	const struct vbe_dt *dt;
	int node;
	uint64_t base;
	uint64_t size;
	uint32_t irq_type;
	uint32_t irq;
	uint64_t msi_addr;
	uint32_t msi_data;
	const char *backend;		/* in the blob */
	char *name;
};

struct vbe_dt_guest {
	uint32_t hyp;
	uint64_t id;
	uint32_t timeout_ms;
	unsigned int num_mem;
	uint64_t mem[VBE_DT_MAX_MEM][2];
	unsigned int num_devs;
	struct vbe_dt_dev *devs;
};

struct vbe_dt {
	void *blob;
	unsigned int num_guests;
	struct vbe_dt_guest *guests;
};

static int fdt_errno(int err)
{
	switch (-err) {
	case 0:
		return 0;
	case FDT_ERR_NOTFOUND:
		return -ENOENT;
	case FDT_ERR_EXISTS:
		return -EEXIST;
	case FDT_ERR_NOSPACE:
	case FDT_ERR_NOPHANDLES:
		return -ENOSPC;
	case FDT_ERR_TRUNCATED:
	case FDT_ERR_BADMAGIC:
	case FDT_ERR_BADVERSION:
	case FDT_ERR_BADSTRUCTURE:
	case FDT_ERR_BADLAYOUT:
	case FDT_ERR_BADOFFSET:
	case FDT_ERR_ALIGNMENT:
		return -EBADMSG;
	case FDT_ERR_INTERNAL:
		return -EIO;
	default:	/* BADPATH, BADPHANDLE, BADSTATE, BADNCELLS, BADVALUE, ... */
		return -EINVAL;
	}
}

static uint32_t be32_at(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/*
 * Check what libfdt 1.6.1's fdt_check_full() trusts before it is called:
 * it reads a version 16 (or older) header's missing size_dt_struct as
 * NULL-based offsets, and loops forever on a property whose length runs
 * past the structure block (e.g. 0xfffffff4, which its offset arithmetic
 * wraps).  So: a version 17 header whose blocks lie inside @len, and a
 * structure block made of whole, well-nested tokens: one root node, each
 * property's value inside the block and its name inside the strings
 * block, FDT_END last.  Returns 0 or -EBADMSG.
 */
static int dt_check_blob(const uint8_t *b, size_t len)
{
	const struct fdt_header *h = (const void *)b;
	uint64_t total, soff, ssize, stroff, strsize, rsv;
	unsigned int depth = 0;
	bool root_done = false;
	const uint8_t *s;
	uint64_t pos;

	if (len < sizeof(*h) || fdt_magic(h) != FDT_MAGIC ||
	    fdt_version(h) < VBE_DT_MIN_VERSION)
		return -EBADMSG;
	total = fdt_totalsize(h);
	soff = fdt_off_dt_struct(h);
	ssize = fdt_size_dt_struct(h);
	stroff = fdt_off_dt_strings(h);
	strsize = fdt_size_dt_strings(h);
	rsv = fdt_off_mem_rsvmap(h);
	if (total < sizeof(*h) || total > len ||
	    soff < sizeof(*h) || soff % FDT_TAGSIZE || ssize % FDT_TAGSIZE ||
	    soff + ssize > total || stroff < sizeof(*h) ||
	    stroff + strsize > total || rsv < sizeof(*h) || rsv % 8 ||
	    rsv + sizeof(struct fdt_reserve_entry) > total)
		return -EBADMSG;

	s = b + soff;
	for (pos = 0; pos + FDT_TAGSIZE <= ssize;) {
		uint32_t tag = be32_at(s + pos);
		uint64_t plen, nameoff;
		const uint8_t *nul;

		pos += FDT_TAGSIZE;
		switch (tag) {
		case FDT_BEGIN_NODE:
			if (root_done || ++depth > VBE_DT_MAX_DEPTH)
				return -EBADMSG;
			nul = memchr(s + pos, '\0', ssize - pos);
			if (!nul)
				return -EBADMSG;
			pos = DT_TAGALIGN((uint64_t)(nul - s) + 1);
			break;
		case FDT_END_NODE:
			if (!depth)
				return -EBADMSG;
			root_done = !--depth;
			break;
		case FDT_PROP:
			if (!depth || ssize - pos < 2 * FDT_TAGSIZE)
				return -EBADMSG;
			plen = be32_at(s + pos);
			nameoff = be32_at(s + pos + FDT_TAGSIZE);
			pos += 2 * FDT_TAGSIZE;
			if (plen > ssize - pos || nameoff >= strsize ||
			    !memchr(b + stroff + nameoff, '\0',
				    strsize - nameoff))
				return -EBADMSG;
			pos = DT_TAGALIGN(pos + plen);
			break;
		case FDT_NOP:
			break;
		case FDT_END:
			return root_done ? 0 : -EBADMSG;
		default:
			return -EBADMSG;
		}
	}
	return -EBADMSG;
}

/* A property holding exactly one NUL-terminated, non-empty string. */
static int get_string(const void *fdt, int node, const char *name,
		      const char **val)
{
	const char *s;
	int len;

	s = fdt_getprop(fdt, node, name, &len);
	if (!s)
		return fdt_errno(len);
	if (len < 2 || s[len - 1] != '\0' || strlen(s) != (size_t)len - 1)
		return -EINVAL;
	*val = s;
	return 0;
}

static int get_u32(const void *fdt, int node, const char *name, uint32_t *val)
{
	const fdt32_t *p;
	int len;

	p = fdt_getprop(fdt, node, name, &len);
	if (!p)
		return fdt_errno(len);
	if (len != 4)
		return -EINVAL;
	*val = fdt32_ld(p);
	return 0;
}

/* Read @cells (1 or 2) big-endian cells. */
static uint64_t read_cells(const fdt32_t *p, int cells)
{
	uint64_t v = 0;

	while (cells--)
		v = (v << 32) | fdt32_ld(p++);
	return v;
}

static int get_u64(const void *fdt, int node, const char *name, uint64_t *val)
{
	const fdt32_t *p;
	int len;

	p = fdt_getprop(fdt, node, name, &len);
	if (!p)
		return fdt_errno(len);
	if (len != 4 && len != 8)
		return -EINVAL;
	*val = read_cells(p, len / 4);
	return 0;
}

/* "status" absent, "okay" or "ok": the node is in use. */
static bool node_enabled(const void *fdt, int node)
{
	const char *s;
	int len;

	s = fdt_getprop(fdt, node, "status", &len);
	if (!s)
		return true;
	return (len == 5 && !memcmp(s, "okay", 5)) ||
	       (len == 3 && !memcmp(s, "ok", 3));
}

static int get_cells(const void *fdt, int node, int *ac, int *sc)
{
	*ac = fdt_address_cells(fdt, node);
	if (*ac < 0)
		return fdt_errno(*ac);
	*sc = fdt_size_cells(fdt, node);
	if (*sc < 0)
		return fdt_errno(*sc);
	if (*ac < 1 || *ac > 2 || *sc < 1 || *sc > 2)
		return -EINVAL;
	return 0;
}

static bool range_ok(uint64_t base, uint64_t size)
{
	return size && base <= UINT64_MAX - (size - 1);
}

static int parse_irq(const void *fdt, int node, struct vbe_dt_dev *d)
{
	const fdt32_t *p;
	int len, ret;

	p = fdt_getprop(fdt, node, "interrupts", &len);
	if (!p)
		return len == -FDT_ERR_NOTFOUND ? -EINVAL : fdt_errno(len);
	if (len != 8)
		return -EINVAL;
	d->irq_type = fdt32_ld(&p[0]);
	d->irq = fdt32_ld(&p[1]);
	switch (d->irq_type) {
	case VIRTBE_IRQ_EDGE:
	case VIRTBE_IRQ_LEVEL:
	case VIRTBE_IRQ_EVTCHN:
		return 0;
	case VIRTBE_IRQ_MSI:
		if (d->irq)
			return -EINVAL;
		ret = get_u64(fdt, node, "virtbe,msi-address", &d->msi_addr);
		if (!ret)
			ret = get_u32(fdt, node, "virtbe,msi-data", &d->msi_data);
		return ret == -ENOENT ? -EINVAL : ret;
	}
	return -EINVAL;
}

static int parse_dev(struct vbe_dt *dt, int node, int ac, int sc,
		     struct vbe_dt_dev *d)
{
	const void *fdt = dt->blob;
	const fdt32_t *reg;
	char path[256];
	int len, ret;

	d->dt = dt;
	d->node = node;
	reg = fdt_getprop(fdt, node, "reg", &len);
	if (!reg)
		return len == -FDT_ERR_NOTFOUND ? -EINVAL : fdt_errno(len);
	if (len <= 0 || len % (4 * (ac + sc)))
		return -EINVAL;
	d->base = read_cells(reg, ac);
	d->size = read_cells(reg + ac, sc);
	if (!range_ok(d->base, d->size))
		return -EINVAL;

	ret = parse_irq(fdt, node, d);
	if (ret)
		return ret;
	ret = get_string(fdt, node, "virtbe,backend", &d->backend);
	if (ret)
		return ret == -ENOENT ? -EINVAL : ret;

	ret = fdt_get_path(fdt, node, path, sizeof(path));
	if (ret)
		strcpy(path, "?");
	d->name = strdup(path);
	return d->name ? 0 : -ENOMEM;
}

static int parse_mem(const void *fdt, int node, int ac, int sc,
		     struct vbe_dt_guest *g)
{
	const fdt32_t *p;
	int len, entry = 4 * (ac + sc);
	unsigned int i;

	p = fdt_getprop(fdt, node, "virtbe,memory", &len);
	if (!p)
		return len == -FDT_ERR_NOTFOUND ? 0 : fdt_errno(len);
	if (len <= 0 || len % entry || (unsigned int)(len / entry) > VBE_DT_MAX_MEM)
		return -EINVAL;
	g->num_mem = (unsigned int)(len / entry);
	for (i = 0; i < g->num_mem; i++, p += ac + sc) {
		g->mem[i][0] = read_cells(p, ac);
		g->mem[i][1] = read_cells(p + ac, sc);
		if (!range_ok(g->mem[i][0], g->mem[i][1]))
			return -EINVAL;
	}
	return 0;
}

static int parse_guest(struct vbe_dt *dt, int node, struct vbe_dt_guest *g)
{
	const void *fdt = dt->blob;
	const char *hyp;
	int ac = 0, sc = 0, child, ret;
	unsigned int n = 0;

	ret = get_string(fdt, node, "virtbe,hypervisor", &hyp);
	if (ret)
		return ret == -ENOENT ? -EINVAL : ret;
	ret = vbe_hyp_from_name(hyp);
	if (ret < 0)
		return ret;
	g->hyp = (uint32_t)ret;
	ret = get_u64(fdt, node, "virtbe,guest-id", &g->id);
	if (ret)
		return ret == -ENOENT ? -EINVAL : ret;
	ret = get_u32(fdt, node, "virtbe,request-timeout-ms", &g->timeout_ms);
	if (ret == -ENOENT)
		g->timeout_ms = 0;
	else if (ret)
		return ret;
	else if (g->timeout_ms > VBE_DT_MAX_TIMEOUT)
		return -EINVAL;

	ret = get_cells(fdt, node, &ac, &sc);
	if (ret)
		return ret;
	ret = parse_mem(fdt, node, ac, sc, g);
	if (ret)
		return ret;

	/* Count, allocate, then parse the device children. */
	fdt_for_each_subnode(child, fdt, node) {
		if (fdt_node_check_compatible(fdt, child, VBE_DT_DEV_COMPAT) ||
		    !node_enabled(fdt, child))
			continue;
		if (++n > VBE_DT_MAX_DEVS)
			return -EINVAL;
	}
	if (child < 0 && child != -FDT_ERR_NOTFOUND)
		return fdt_errno(child);
	if (!n)
		return 0;
	g->devs = calloc(n, sizeof(*g->devs));
	if (!g->devs)
		return -ENOMEM;
	fdt_for_each_subnode(child, fdt, node) {
		if (fdt_node_check_compatible(fdt, child, VBE_DT_DEV_COMPAT) ||
		    !node_enabled(fdt, child))
			continue;
		ret = parse_dev(dt, child, ac, sc, &g->devs[g->num_devs++]);
		if (ret)
			return ret;
	}
	return 0;
}

static int next_guest(const void *fdt, int node)
{
	do
		node = fdt_node_offset_by_compatible(fdt, node,
						     VBE_DT_GUEST_COMPAT);
	while (node >= 0 && !node_enabled(fdt, node));
	return node;
}

VBE_EXPORT void vbe_dt_free(struct vbe_dt *dt)
{
	unsigned int i, j;

	if (!dt)
		return;
	for (i = 0; i < dt->num_guests; i++) {
		for (j = 0; j < dt->guests[i].num_devs; j++)
			free(dt->guests[i].devs[j].name);
		free(dt->guests[i].devs);
	}
	free(dt->guests);
	free(dt->blob);
	free(dt);
}

VBE_EXPORT int vbe_dt_load(const void *blob, size_t len, struct vbe_dt **dtp)
{
	struct vbe_dt *dt;
	unsigned int n = 0;
	int node, ret;

	if (!blob || len < sizeof(struct fdt_header))
		return -EBADMSG;
	if (len > VBE_DT_MAX_BLOB)
		return -EFBIG;

	dt = calloc(1, sizeof(*dt));
	if (!dt)
		return -ENOMEM;
	/* malloc() memory is aligned as libfdt wants (8 bytes). */
	dt->blob = malloc(len);
	if (!dt->blob) {
		ret = -ENOMEM;
		goto err_free;
	}
	memcpy(dt->blob, blob, len);
	ret = dt_check_blob(dt->blob, len);
	if (!ret)
		ret = fdt_errno(fdt_check_full(dt->blob, len));
	if (ret)
		goto err_free;

	for (node = next_guest(dt->blob, -1); node >= 0;
	     node = next_guest(dt->blob, node)) {
		if (++n > VBE_DT_MAX_GUESTS) {
			ret = -EINVAL;
			goto err_free;
		}
	}
	if (node != -FDT_ERR_NOTFOUND) {
		ret = fdt_errno(node);
		goto err_free;
	}
	if (!n) {
		ret = -ENOENT;
		goto err_free;
	}
	dt->guests = calloc(n, sizeof(*dt->guests));
	if (!dt->guests) {
		ret = -ENOMEM;
		goto err_free;
	}
	for (node = next_guest(dt->blob, -1); node >= 0 && dt->num_guests < n;
	     node = next_guest(dt->blob, node)) {
		ret = parse_guest(dt, node, &dt->guests[dt->num_guests++]);
		if (ret)
			goto err_free;
	}
	*dtp = dt;
	return 0;

err_free:
	vbe_dt_free(dt);
	return ret;
}

VBE_EXPORT int vbe_dt_load_file(const char *path, struct vbe_dt **dtp)
{
	struct stat st;
	ssize_t got;
	size_t done = 0;
	void *buf;
	int fd, ret;

	fd = vbe_sys_open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fd;
	ret = vbe_sys_fstat(fd, &st);
	if (ret)
		goto err_close;
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		goto err_close;
	}
	if (st.st_size > VBE_DT_MAX_BLOB) {
		ret = -EFBIG;
		goto err_close;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		ret = -ENOMEM;
		goto err_close;
	}
	while (done < (size_t)st.st_size) {
		got = vbe_sys_read(fd, (char *)buf + done,
				   (size_t)st.st_size - done);
		if (got < 0) {
			ret = (int)got;
			goto err_free;
		}
		if (!got)
			break;
		done += (size_t)got;
	}
	ret = vbe_dt_load(buf, done, dtp);
err_free:
	free(buf);
err_close:
	vbe_sys_close(fd);
	return ret;
}

VBE_EXPORT unsigned int vbe_dt_num_guests(const struct vbe_dt *dt)
{
	return dt->num_guests;
}

VBE_EXPORT const struct vbe_dt_guest *vbe_dt_guest(const struct vbe_dt *dt,
						   unsigned int i)
{
	return i < dt->num_guests ? &dt->guests[i] : NULL;
}

VBE_EXPORT uint32_t vbe_dt_guest_hyp(const struct vbe_dt_guest *g)
{
	return g->hyp;
}

VBE_EXPORT uint64_t vbe_dt_guest_id(const struct vbe_dt_guest *g)
{
	return g->id;
}

VBE_EXPORT uint32_t vbe_dt_guest_timeout_ms(const struct vbe_dt_guest *g)
{
	return g->timeout_ms;
}

VBE_EXPORT unsigned int vbe_dt_guest_num_mem(const struct vbe_dt_guest *g)
{
	return g->num_mem;
}

VBE_EXPORT int vbe_dt_guest_mem(const struct vbe_dt_guest *g, unsigned int i,
				uint64_t *gpa, uint64_t *len)
{
	if (i >= g->num_mem)
		return -EINVAL;
	*gpa = g->mem[i][0];
	*len = g->mem[i][1];
	return 0;
}

VBE_EXPORT unsigned int vbe_dt_guest_num_devs(const struct vbe_dt_guest *g)
{
	return g->num_devs;
}

VBE_EXPORT const struct vbe_dt_dev *
vbe_dt_guest_dev(const struct vbe_dt_guest *g, unsigned int i)
{
	return i < g->num_devs ? &g->devs[i] : NULL;
}

VBE_EXPORT uint64_t vbe_dt_dev_base(const struct vbe_dt_dev *d)
{
	return d->base;
}

VBE_EXPORT uint64_t vbe_dt_dev_size(const struct vbe_dt_dev *d)
{
	return d->size;
}

VBE_EXPORT void vbe_dt_dev_irq(const struct vbe_dt_dev *d, uint32_t *type,
			       uint32_t *irq, uint64_t *msi_addr,
			       uint32_t *msi_data)
{
	*type = d->irq_type;
	*irq = d->irq;
	if (msi_addr)
		*msi_addr = d->msi_addr;
	if (msi_data)
		*msi_data = d->msi_data;
}

VBE_EXPORT const char *vbe_dt_dev_backend(const struct vbe_dt_dev *d)
{
	return d->backend;
}

VBE_EXPORT const char *vbe_dt_dev_name(const struct vbe_dt_dev *d)
{
	return d->name;
}

VBE_EXPORT int vbe_dt_dev_prop_string(const struct vbe_dt_dev *d,
				      const char *name, const char **val)
{
	return get_string(d->dt->blob, d->node, name, val);
}

VBE_EXPORT int vbe_dt_dev_prop_u32(const struct vbe_dt_dev *d,
				   const char *name, uint32_t *val)
{
	return get_u32(d->dt->blob, d->node, name, val);
}

VBE_EXPORT int vbe_dt_dev_prop_u64(const struct vbe_dt_dev *d,
				   const char *name, uint64_t *val)
{
	return get_u64(d->dt->blob, d->node, name, val);
}

VBE_EXPORT bool vbe_dt_dev_prop_bool(const struct vbe_dt_dev *d,
				     const char *name)
{
	int len;

	return fdt_getprop(d->dt->blob, d->node, name, &len) != NULL;
}
