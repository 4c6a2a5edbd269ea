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
#include <inttypes.h>
#include <libfdt.h>
#include <stdarg.h>
#include <stdio.h>
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
	char *name;			/* the node's path */
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
 * Where a refusal's sentence goes: the caller's buffer of vbe_dt_load_msg(),
 * or nowhere (msg NULL).  The first failure wins: later ones (the unwinding)
 * do not overwrite it.
 */
struct dt_err {
	char *msg;
	size_t len;
	bool set;
};

static int dt_fail(struct dt_err *e, int ret, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int dt_fail(struct dt_err *e, int ret, const char *fmt, ...)
{
	va_list ap;

	if (!e || !e->msg || !e->len || e->set)
		return ret;
	va_start(ap, fmt);
	vsnprintf(e->msg, e->len, fmt, ap);
	va_end(ap);
	e->set = true;
	return ret;
}

/* The full path of @node, for messages ("?" if libfdt cannot say). */
static const char *dt_path(const void *fdt, int node, char *buf, size_t len)
{
	if (fdt_get_path(fdt, node, buf, (int)len))
		snprintf(buf, len, "?");
	return buf;
}

/*
 * "<node path>: <property>: <what is wrong>"; returns @ret.
 */
static int prop_fail(struct dt_err *e, int ret, const void *fdt, int node,
		     const char *prop, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
static int prop_fail(struct dt_err *e, int ret, const void *fdt, int node,
		     const char *prop, const char *fmt, ...)
{
	char path[256], what[256];
	va_list ap;

	if (!e || !e->msg || !e->len || e->set)
		return ret;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return dt_fail(e, ret, "%s: %s: %s",
		       dt_path(fdt, node, path, sizeof(path)), prop, what);
}

/*
 * A property read failed with @ret (from get_string(), get_u32(), ...):
 * say whether it is missing, malformed (@want says what is expected), or
 * what libfdt said.  A missing required property is -EINVAL.
 */
static int prop_bad(struct dt_err *e, int ret, const void *fdt, int node,
		    const char *prop, const char *want)
{
	const void *p;
	int len;

	if (ret == -ENOENT)
		return prop_fail(e, -EINVAL, fdt, node, prop,
				 "missing (required: %s)", want);
	p = fdt_getprop(fdt, node, prop, &len);
	if (!p)
		return prop_fail(e, ret, fdt, node, prop, "%s",
				 fdt_strerror(len));
	return prop_fail(e, ret, fdt, node, prop,
			 "malformed (%d bytes): want %s", len, want);
}

/*
 * Check what libfdt 1.6.1's fdt_check_full() trusts before it is called:
 * it reads a version 16 (or older) header's missing size_dt_struct as
 * NULL-based offsets, and loops forever on a property whose length runs
 * past the structure block (e.g. 0xfffffff4, which its offset arithmetic
 * wraps).  So: a version 17 header whose blocks lie inside @len, and a
 * structure block made of whole, well-nested tokens: one root node, each
 * property's value inside the block and its name inside the strings
 * block, FDT_END last.  Returns 0 or -EBADMSG, with the reason in @e
 * (libfdt's name of the error it would have given, FDT_ERR_*).
 */
static int dt_check_blob(const uint8_t *b, size_t len, struct dt_err *e)
{
	const struct fdt_header *h = (const void *)b;
	uint64_t total, soff, ssize, stroff, strsize, rsv;
	unsigned int depth = 0;
	bool root_done = false;
	const uint8_t *s;
	uint64_t pos, at;

	if (len < sizeof(*h))
		return dt_fail(e, -EBADMSG,
			       "the blob is truncated: %zu bytes, the header alone is %zu (FDT_ERR_TRUNCATED)",
			       len, sizeof(*h));
	if (fdt_magic(h) != FDT_MAGIC)
		return dt_fail(e, -EBADMSG,
			       "bad magic 0x%08x, want 0x%08x: not a flattened device tree (FDT_ERR_BADMAGIC)",
			       fdt_magic(h), FDT_MAGIC);
	if (fdt_version(h) < VBE_DT_MIN_VERSION)
		return dt_fail(e, -EBADMSG,
			       "header version %u: at least %u, as dtc writes (FDT_ERR_BADVERSION)",
			       fdt_version(h), VBE_DT_MIN_VERSION);
	total = fdt_totalsize(h);
	soff = fdt_off_dt_struct(h);
	ssize = fdt_size_dt_struct(h);
	stroff = fdt_off_dt_strings(h);
	strsize = fdt_size_dt_strings(h);
	rsv = fdt_off_mem_rsvmap(h);
	if (total > len)
		return dt_fail(e, -EBADMSG,
			       "the blob is truncated: header says %" PRIu64 " bytes, there are %zu (FDT_ERR_TRUNCATED)",
			       total, len);
	if (total < sizeof(*h))
		return dt_fail(e, -EBADMSG,
			       "header says %" PRIu64 " bytes, less than the header itself (FDT_ERR_TRUNCATED)",
			       total);
	if (soff < sizeof(*h) || soff % FDT_TAGSIZE || ssize % FDT_TAGSIZE ||
	    soff + ssize > total)
		return dt_fail(e, -EBADMSG,
			       "structure block at %" PRIu64 ", %" PRIu64 " bytes: not 4-byte aligned inside the %" PRIu64 "-byte blob after its header (FDT_ERR_BADLAYOUT)",
			       soff, ssize, total);
	if (stroff < sizeof(*h) || stroff + strsize > total)
		return dt_fail(e, -EBADMSG,
			       "strings block at %" PRIu64 ", %" PRIu64 " bytes: not inside the %" PRIu64 "-byte blob after its header (FDT_ERR_BADLAYOUT)",
			       stroff, strsize, total);
	if (rsv < sizeof(*h) || rsv % 8 ||
	    rsv + sizeof(struct fdt_reserve_entry) > total)
		return dt_fail(e, -EBADMSG,
			       "memory reservation map at %" PRIu64 ": not 8-byte aligned inside the %" PRIu64 "-byte blob after its header (FDT_ERR_BADLAYOUT)",
			       rsv, total);

	s = b + soff;
	for (pos = 0; pos + FDT_TAGSIZE <= ssize;) {
		uint32_t tag = be32_at(s + pos);
		uint64_t plen, nameoff;
		const uint8_t *nul;

		at = soff + pos;
		pos += FDT_TAGSIZE;
		switch (tag) {
		case FDT_BEGIN_NODE:
			if (root_done)
				return dt_fail(e, -EBADMSG,
					       "structure block: a second root node at offset %" PRIu64 " (FDT_ERR_BADSTRUCTURE)",
					       at);
			if (++depth > VBE_DT_MAX_DEPTH)
				return dt_fail(e, -EBADMSG,
					       "structure block: nodes nested deeper than %d at offset %" PRIu64 " (FDT_ERR_BADSTRUCTURE)",
					       VBE_DT_MAX_DEPTH, at);
			nul = memchr(s + pos, '\0', ssize - pos);
			if (!nul)
				return dt_fail(e, -EBADMSG,
					       "structure block: the node name at offset %" PRIu64 " runs past the block (FDT_ERR_TRUNCATED)",
					       at);
			pos = DT_TAGALIGN((uint64_t)(nul - s) + 1);
			break;
		case FDT_END_NODE:
			if (!depth)
				return dt_fail(e, -EBADMSG,
					       "structure block: FDT_END_NODE without a node at offset %" PRIu64 " (FDT_ERR_BADSTRUCTURE)",
					       at);
			root_done = !--depth;
			break;
		case FDT_PROP:
			if (!depth)
				return dt_fail(e, -EBADMSG,
					       "structure block: a property outside any node at offset %" PRIu64 " (FDT_ERR_BADSTRUCTURE)",
					       at);
			if (ssize - pos < 2 * FDT_TAGSIZE)
				return dt_fail(e, -EBADMSG,
					       "structure block: the property at offset %" PRIu64 " runs past the block (FDT_ERR_TRUNCATED)",
					       at);
			plen = be32_at(s + pos);
			nameoff = be32_at(s + pos + FDT_TAGSIZE);
			pos += 2 * FDT_TAGSIZE;
			if (plen > ssize - pos)
				return dt_fail(e, -EBADMSG,
					       "structure block: the property at offset %" PRIu64 " says %" PRIu64 " bytes, past the end of the block (FDT_ERR_TRUNCATED)",
					       at, plen);
			if (nameoff >= strsize ||
			    !memchr(b + stroff + nameoff, '\0',
				    strsize - nameoff))
				return dt_fail(e, -EBADMSG,
					       "structure block: the name of the property at offset %" PRIu64 " (string %" PRIu64 ") is not inside the %" PRIu64 "-byte strings block (FDT_ERR_BADOFFSET)",
					       at, nameoff, strsize);
			pos = DT_TAGALIGN(pos + plen);
			break;
		case FDT_NOP:
			break;
		case FDT_END:
			if (root_done)
				return 0;
			return dt_fail(e, -EBADMSG,
				       "structure block: FDT_END at offset %" PRIu64 " %s (FDT_ERR_BADSTRUCTURE)",
				       at, depth ? "inside an open node" :
				       "before the root node");
		default:
			return dt_fail(e, -EBADMSG,
				       "structure block: unknown token 0x%08x at offset %" PRIu64 " (FDT_ERR_BADSTRUCTURE)",
				       tag, at);
		}
	}
	return dt_fail(e, -EBADMSG,
		       "structure block: no FDT_END in its %" PRIu64 " bytes (FDT_ERR_TRUNCATED)",
		       ssize);
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

static int get_cells(const void *fdt, int node, int *ac, int *sc,
		     struct dt_err *e)
{
	*ac = fdt_address_cells(fdt, node);
	if (*ac < 0)
		return prop_fail(e, fdt_errno(*ac), fdt, node, "#address-cells",
				 "%s: want one cell, 1 or 2",
				 fdt_strerror(*ac));
	*sc = fdt_size_cells(fdt, node);
	if (*sc < 0)
		return prop_fail(e, fdt_errno(*sc), fdt, node, "#size-cells",
				 "%s: want one cell, 1 or 2",
				 fdt_strerror(*sc));
	if (*ac < 1 || *ac > 2)
		return prop_fail(e, -EINVAL, fdt, node, "#address-cells",
				 "%d: want 1 or 2", *ac);
	if (*sc < 1 || *sc > 2)
		return prop_fail(e, -EINVAL, fdt, node, "#size-cells",
				 "%d: want 1 or 2", *sc);
	return 0;
}

static bool range_ok(uint64_t base, uint64_t size)
{
	return size && base <= UINT64_MAX - (size - 1);
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a <= b + (blen - 1) && b <= a + (alen - 1);
}

#define RANGE_FMT "[0x%" PRIx64 ", 0x%" PRIx64 "]"
#define RANGE(base, size) (base), (base) + ((size) - 1)

static int parse_irq(const void *fdt, int node, struct vbe_dt_dev *d,
		     struct dt_err *e)
{
	static const char *const want =
		"<type number>, type 1 (edge), 2 (level), 3 (evtchn) or 4 (msi)";
	const fdt32_t *p;
	int len, ret;

	p = fdt_getprop(fdt, node, "interrupts", &len);
	if (!p)
		return prop_bad(e, fdt_errno(len), fdt, node, "interrupts",
				want);
	if (len != 8)
		return prop_bad(e, -EINVAL, fdt, node, "interrupts", want);
	d->irq_type = fdt32_ld(&p[0]);
	d->irq = fdt32_ld(&p[1]);
	switch (d->irq_type) {
	case VIRTBE_IRQ_EDGE:
	case VIRTBE_IRQ_LEVEL:
	case VIRTBE_IRQ_EVTCHN:
		return 0;
	case VIRTBE_IRQ_MSI:
		if (d->irq)
			return prop_fail(e, -EINVAL, fdt, node, "interrupts",
					 "<4 %" PRIu32 ">: an MSI's number must be 0 (the message is virtbe,msi-address and virtbe,msi-data)",
					 d->irq);
		ret = get_u64(fdt, node, "virtbe,msi-address", &d->msi_addr);
		if (ret)
			return prop_bad(e, ret, fdt, node, "virtbe,msi-address",
					"one or two cells, with interrupts = <4 0>");
		ret = get_u32(fdt, node, "virtbe,msi-data", &d->msi_data);
		if (ret)
			return prop_bad(e, ret, fdt, node, "virtbe,msi-data",
					"one cell, with interrupts = <4 0>");
		return 0;
	}
	return prop_fail(e, -EINVAL, fdt, node, "interrupts",
			 "type %" PRIu32 ": want 1 (edge), 2 (level), 3 (evtchn) or 4 (msi)",
			 d->irq_type);
}

static int parse_dev(struct vbe_dt *dt, int node, int ac, int sc,
		     struct vbe_dt_dev *d, struct dt_err *e)
{
	const void *fdt = dt->blob;
	const fdt32_t *reg;
	char path[256], want[64];
	int len, ret;

	d->dt = dt;
	d->node = node;
	snprintf(want, sizeof(want),
		 "<address size> of %d+%d cells, the register window", ac, sc);
	reg = fdt_getprop(fdt, node, "reg", &len);
	if (!reg)
		return prop_bad(e, fdt_errno(len), fdt, node, "reg", want);
	if (len <= 0 || len % (4 * (ac + sc)))
		return prop_bad(e, -EINVAL, fdt, node, "reg", want);
	d->base = read_cells(reg, ac);
	d->size = read_cells(reg + ac, sc);
	if (!range_ok(d->base, d->size))
		return prop_fail(e, -EINVAL, fdt, node, "reg",
				 "base 0x%" PRIx64 " size 0x%" PRIx64 ": %s",
				 d->base, d->size, d->size ?
				 "runs past the end of the address space" :
				 "an empty window");

	ret = parse_irq(fdt, node, d, e);
	if (ret)
		return ret;
	ret = get_string(fdt, node, "virtbe,backend", &d->backend);
	if (ret)
		return prop_bad(e, ret, fdt, node, "virtbe,backend",
				"a string naming the program that serves the device, e.g. \"blk\"");

	d->name = strdup(dt_path(fdt, node, path, sizeof(path)));
	return d->name ? 0 : dt_fail(e, -ENOMEM, "out of memory");
}

static int parse_mem(const void *fdt, int node, int ac, int sc,
		     struct vbe_dt_guest *g, struct dt_err *e)
{
	const fdt32_t *p;
	int len, entry = 4 * (ac + sc);
	unsigned int i, j;
	char want[64];

	p = fdt_getprop(fdt, node, "virtbe,memory", &len);
	if (!p)
		return len == -FDT_ERR_NOTFOUND ? 0 :
		       prop_bad(e, fdt_errno(len), fdt, node, "virtbe,memory",
				"");
	snprintf(want, sizeof(want), "<address size> pairs of %d+%d cells",
		 ac, sc);
	if (len <= 0 || len % entry)
		return prop_bad(e, -EINVAL, fdt, node, "virtbe,memory", want);
	if ((unsigned int)(len / entry) > VBE_DT_MAX_MEM)
		return prop_fail(e, -EINVAL, fdt, node, "virtbe,memory",
				 "%d windows: at most %u", len / entry,
				 VBE_DT_MAX_MEM);
	g->num_mem = (unsigned int)(len / entry);
	for (i = 0; i < g->num_mem; i++, p += ac + sc) {
		g->mem[i][0] = read_cells(p, ac);
		g->mem[i][1] = read_cells(p + ac, sc);
		if (!range_ok(g->mem[i][0], g->mem[i][1]))
			return prop_fail(e, -EINVAL, fdt, node, "virtbe,memory",
					 "window %u, base 0x%" PRIx64 " size 0x%" PRIx64 ": %s",
					 i, g->mem[i][0], g->mem[i][1],
					 g->mem[i][1] ?
					 "runs past the end of the address space" :
					 "an empty window");
		for (j = 0; j < i; j++)
			if (overlaps(g->mem[i][0], g->mem[i][1], g->mem[j][0],
				     g->mem[j][1]))
				return prop_fail(e, -EINVAL, fdt, node,
						 "virtbe,memory",
						 "window %u " RANGE_FMT " overlaps window %u " RANGE_FMT,
						 i, RANGE(g->mem[i][0], g->mem[i][1]),
						 j, RANGE(g->mem[j][0], g->mem[j][1]));
	}
	return 0;
}

/* Two devices of a guest may not share a register. */
static int check_dev_overlaps(const struct vbe_dt_guest *g, struct dt_err *e)
{
	const struct vbe_dt_dev *a, *b;
	unsigned int i, j;

	for (i = 1; i < g->num_devs; i++) {
		a = &g->devs[i];
		for (j = 0; j < i; j++) {
			b = &g->devs[j];
			if (overlaps(a->base, a->size, b->base, b->size))
				return dt_fail(e, -EINVAL,
					       "%s: reg " RANGE_FMT " overlaps %s: reg " RANGE_FMT ": two devices cannot share registers",
					       a->name, RANGE(a->base, a->size),
					       b->name, RANGE(b->base, b->size));
		}
	}
	return 0;
}

static int parse_guest(struct vbe_dt *dt, int node, struct vbe_dt_guest *g,
		       struct dt_err *e)
{
	const void *fdt = dt->blob;
	const char *hyp;
	int ac = 0, sc = 0, child, ret;
	unsigned int n = 0;

	ret = get_string(fdt, node, "virtbe,hypervisor", &hyp);
	if (ret)
		return prop_bad(e, ret, fdt, node, "virtbe,hypervisor",
				"a string, \"sim\", \"xen\" or \"bao\"");
	ret = vbe_hyp_from_name(hyp);
	if (ret < 0)
		return prop_fail(e, ret, fdt, node, "virtbe,hypervisor",
				 "\"%s\" is not a hypervisor virtbe knows: want \"sim\", \"xen\" or \"bao\"",
				 hyp);
	g->hyp = (uint32_t)ret;
	ret = get_u64(fdt, node, "virtbe,guest-id", &g->id);
	if (ret)
		return prop_bad(e, ret, fdt, node, "virtbe,guest-id",
				"one or two cells, the hypervisor's id of the guest");
	ret = get_u32(fdt, node, "virtbe,request-timeout-ms", &g->timeout_ms);
	if (ret == -ENOENT)
		g->timeout_ms = 0;
	else if (ret)
		return prop_bad(e, ret, fdt, node, "virtbe,request-timeout-ms",
				"one cell, 0 to 60000");
	else if (g->timeout_ms > VBE_DT_MAX_TIMEOUT)
		return prop_fail(e, -EINVAL, fdt, node,
				 "virtbe,request-timeout-ms",
				 "%" PRIu32 ": at most %u", g->timeout_ms,
				 VBE_DT_MAX_TIMEOUT);

	ret = get_cells(fdt, node, &ac, &sc, e);
	if (ret)
		return ret;
	ret = parse_mem(fdt, node, ac, sc, g, e);
	if (ret)
		return ret;

	/* Count, allocate, then parse the device children. */
	fdt_for_each_subnode(child, fdt, node) {
		if (fdt_node_check_compatible(fdt, child, VBE_DT_DEV_COMPAT) ||
		    !node_enabled(fdt, child))
			continue;
		if (++n > VBE_DT_MAX_DEVS) {
			char path[256];

			return dt_fail(e, -EINVAL,
				       "%s: more than %u \"virtio,mmio\" devices",
				       dt_path(fdt, node, path, sizeof(path)),
				       VBE_DT_MAX_DEVS);
		}
	}
	if (child < 0 && child != -FDT_ERR_NOTFOUND) {
		char path[256];

		return dt_fail(e, fdt_errno(child), "%s: children: %s",
			       dt_path(fdt, node, path, sizeof(path)),
			       fdt_strerror(child));
	}
	if (!n)
		return 0;
	g->devs = calloc(n, sizeof(*g->devs));
	if (!g->devs)
		return dt_fail(e, -ENOMEM, "out of memory");
	fdt_for_each_subnode(child, fdt, node) {
		if (fdt_node_check_compatible(fdt, child, VBE_DT_DEV_COMPAT) ||
		    !node_enabled(fdt, child))
			continue;
		ret = parse_dev(dt, child, ac, sc, &g->devs[g->num_devs++], e);
		if (ret)
			return ret;
	}
	return check_dev_overlaps(g, e);
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
		free(dt->guests[i].name);
	}
	free(dt->guests);
	free(dt->blob);
	free(dt);
}

static int dt_load(const void *blob, size_t len, struct vbe_dt **dtp,
		   struct dt_err *e)
{
	struct vbe_dt *dt;
	unsigned int n = 0;
	char path[256];
	int node, ret;

	if (!blob)
		return dt_fail(e, -EBADMSG, "no blob (NULL)");
	if (len < sizeof(struct fdt_header))
		return dt_check_blob(blob, len, e);
	if (len > VBE_DT_MAX_BLOB)
		return dt_fail(e, -EFBIG, "the blob is %zu bytes: at most %u",
			       len, VBE_DT_MAX_BLOB);

	dt = calloc(1, sizeof(*dt));
	if (!dt)
		return dt_fail(e, -ENOMEM, "out of memory");
	/* malloc() memory is aligned as libfdt wants (8 bytes). */
	dt->blob = malloc(len);
	if (!dt->blob) {
		ret = dt_fail(e, -ENOMEM, "out of memory");
		goto err_free;
	}
	memcpy(dt->blob, blob, len);
	ret = dt_check_blob(dt->blob, len, e);
	if (ret)
		goto err_free;
	ret = fdt_check_full(dt->blob, len);
	if (ret) {
		ret = dt_fail(e, fdt_errno(ret),
			      "not a valid flattened device tree: fdt_check_full(): %s",
			      fdt_strerror(ret));
		goto err_free;
	}

	for (node = next_guest(dt->blob, -1); node >= 0;
	     node = next_guest(dt->blob, node)) {
		if (++n > VBE_DT_MAX_GUESTS) {
			ret = dt_fail(e, -EINVAL,
				      "more than %u nodes compatible with \"%s\"",
				      VBE_DT_MAX_GUESTS, VBE_DT_GUEST_COMPAT);
			goto err_free;
		}
	}
	if (node != -FDT_ERR_NOTFOUND) {
		ret = dt_fail(e, fdt_errno(node),
			      "looking for \"%s\" nodes: %s",
			      VBE_DT_GUEST_COMPAT, fdt_strerror(node));
		goto err_free;
	}
	if (!n) {
		ret = dt_fail(e, -ENOENT,
			      "no guest: no enabled node is compatible with \"%s\"",
			      VBE_DT_GUEST_COMPAT);
		goto err_free;
	}
	dt->guests = calloc(n, sizeof(*dt->guests));
	if (!dt->guests) {
		ret = dt_fail(e, -ENOMEM, "out of memory");
		goto err_free;
	}
	for (node = next_guest(dt->blob, -1); node >= 0 && dt->num_guests < n;
	     node = next_guest(dt->blob, node)) {
		struct vbe_dt_guest *g = &dt->guests[dt->num_guests++];

		g->name = strdup(dt_path(dt->blob, node, path, sizeof(path)));
		if (!g->name) {
			ret = dt_fail(e, -ENOMEM, "out of memory");
			goto err_free;
		}
		ret = parse_guest(dt, node, g, e);
		if (ret)
			goto err_free;
	}
	*dtp = dt;
	return 0;

err_free:
	vbe_dt_free(dt);
	return ret;
}

VBE_EXPORT int vbe_dt_load_msg(const void *blob, size_t len,
			       struct vbe_dt **dtp, char *msg, size_t msglen)
{
	struct dt_err e = { .msg = msg, .len = msglen };
	int ret;

	if (msg && msglen)
		msg[0] = '\0';
	ret = dt_load(blob, len, dtp, &e);
	/* every refusal has its sentence; this is the safety net */
	if (ret)
		dt_fail(&e, ret, "%s", strerror(-ret));
	return ret;
}

VBE_EXPORT int vbe_dt_load(const void *blob, size_t len, struct vbe_dt **dtp)
{
	return vbe_dt_load_msg(blob, len, dtp, NULL, 0);
}

VBE_EXPORT int vbe_dt_load_file_msg(const char *path, struct vbe_dt **dtp,
				    char *msg, size_t msglen)
{
	struct dt_err e = { .msg = msg, .len = msglen };
	struct stat st;
	ssize_t got;
	size_t done = 0;
	void *buf;
	int fd, ret;

	if (msg && msglen)
		msg[0] = '\0';
	fd = vbe_sys_open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return dt_fail(&e, fd, "cannot open: %s", strerror(-fd));
	ret = vbe_sys_fstat(fd, &st);
	if (ret) {
		dt_fail(&e, ret, "fstat: %s", strerror(-ret));
		goto err_close;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = dt_fail(&e, -EINVAL, "not a regular file: want a .dtb");
		goto err_close;
	}
	if (st.st_size > VBE_DT_MAX_BLOB) {
		ret = dt_fail(&e, -EFBIG, "%lld bytes: at most %u",
			      (long long)st.st_size, VBE_DT_MAX_BLOB);
		goto err_close;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		ret = dt_fail(&e, -ENOMEM, "out of memory");
		goto err_close;
	}
	while (done < (size_t)st.st_size) {
		got = vbe_sys_read(fd, (char *)buf + done,
				   (size_t)st.st_size - done);
		if (got < 0) {
			ret = dt_fail(&e, (int)got, "read: %s",
				      strerror((int)-got));
			goto err_free;
		}
		if (!got)
			break;
		done += (size_t)got;
	}
	ret = vbe_dt_load_msg(buf, done, dtp, msg, msglen);
err_free:
	free(buf);
err_close:
	vbe_sys_close(fd);
	return ret;
}

VBE_EXPORT int vbe_dt_load_file(const char *path, struct vbe_dt **dtp)
{
	return vbe_dt_load_file_msg(path, dtp, NULL, 0);
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

VBE_EXPORT const char *vbe_dt_guest_name(const struct vbe_dt_guest *g)
{
	return g->name;
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
