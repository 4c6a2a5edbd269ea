/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * What the virtbe tools (vbe-blk, virtbe-vhost-user) say when the kernel
 * refuses them: one sentence naming what failed and what to check, instead
 * of strerror() alone.  Each function writes into @buf (no newline) and
 * returns it.
 */
#ifndef VBE_TOOLS_HINTS_H
#define VBE_TOOLS_HINTS_H

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <virtbe/virtbe.h>

/* The hypervisor names of a VIRTBE_GET_INFO out_hyps mask: "sim, xen". */
static inline const char *hint_hyps(uint64_t hyps, char *buf, size_t len)
{
	const char *name;
	size_t n = 0;
	uint32_t h;

	buf[0] = '\0';
	for (h = 1; h < 64 && n < len; h++) {
		name = (hyps >> h) & 1 ? vbe_hyp_name(h) : NULL;
		if (name)
			n += (size_t)snprintf(buf + n, len - n, "%s%s",
					      n ? ", " : "", name);
	}
	if (!buf[0])
		snprintf(buf, len, "none");
	return buf;
}

/*
 * vbe_ctl_open() failed with @err: "/dev/virtbe: ...".
 */
static inline const char *hint_ctl_open(int err, char *buf, size_t len)
{
	switch (err) {
	case -ENOENT:
	case -ENODEV:
	case -ENXIO:
		snprintf(buf, len,
			 "/dev/virtbe: %s: virtbe.ko is not loaded (modprobe virtbe)",
			 strerror(-err));
		break;
	case -EACCES:
	case -EPERM:
		snprintf(buf, len,
			 "/dev/virtbe: %s: run as root or as a member of the virtbe group",
			 strerror(-err));
		break;
	default:
		snprintf(buf, len, "/dev/virtbe: %s", strerror(-err));
	}
	return buf;
}

/*
 * vbe_ctl_get_info() or vbe_guest_attach() of guest @id on @hyp failed with
 * @err; @hyps is the out_hyps mask of a VIRTBE_GET_INFO of hypervisor 0
 * (the loaded backends), or 0 when unknown.
 */
static inline const char *hint_attach(uint32_t hyp, uint64_t id, int err,
				      uint64_t hyps, char *buf, size_t len)
{
	const char *name = vbe_hyp_name(hyp) ? vbe_hyp_name(hyp) : "?";
	char loaded[64];

	switch (err) {
	case -ENODEV:
		if (hyps)
			snprintf(buf, len,
				 "the %s backend is not loaded: modprobe virtbe_%s (loaded: %s)",
				 name, name, hint_hyps(hyps, loaded,
						       sizeof(loaded)));
		else
			snprintf(buf, len,
				 "the %s backend is not loaded: modprobe virtbe_%s",
				 name, name);
		break;
	case -ENOENT:
	case -ESRCH:
		if (hyp == VIRTBE_HYP_XEN)
			snprintf(buf, len,
				 "no guest %" PRIu64 " on xen: is the domain running? (xl list)",
				 id);
		else
			snprintf(buf, len,
				 "no guest %" PRIu64 " on %s: has its frontend created it?",
				 id, name);
		break;
	case -ENOSPC:
		snprintf(buf, len,
			 "guest %" PRIu64 " on %s: the hypervisor has no room for another server of this guest",
			 id, name);
		break;
	case -EBUSY:
		snprintf(buf, len,
			 "guest %" PRIu64 " on %s is served by another daemon, and this kernel allows one (no VIRTBE_F_MULTI_ATTACH)",
			 id, name);
		break;
	case -EACCES:
	case -EPERM:
		snprintf(buf, len,
			 "guest %" PRIu64 " on %s: %s: run as root or as a member of the virtbe group",
			 id, name, strerror(-err));
		break;
	default:
		snprintf(buf, len, "attach to guest %" PRIu64 " on %s: %s", id,
			 name, strerror(-err));
	}
	return buf;
}

/*
 * vbe_mem_map() of [@gpa, @gpa + @size) of guest @id on @hyp failed with
 * @err; @what names the window as the user gave it ("--mem
 * 0x40000000:0x100000", or a DT node's "/domu: virtbe,memory window 0").
 */
static inline const char *hint_mem_map(const char *what, uint32_t hyp,
				       uint64_t id, uint64_t gpa,
				       uint64_t size, int err, char *buf,
				       size_t len)
{
	const char *name = vbe_hyp_name(hyp) ? vbe_hyp_name(hyp) : "?";
	const char *why;

	switch (err) {
	case -ENXIO:
		why = "not guest RAM: check the window against the guest's memory map";
		break;
	case -EINVAL:
		why = "a window must be page aligned and not empty";
		break;
	case -EEXIST:
		why = "overlaps a window already mapped";
		break;
	case -ENOMEM:
	case -ENOSPC:
		why = "out of memory or mapping room (is the window too large?)";
		break;
	case -EFAULT:
		why = "the hypervisor refused to map it (is it the guest's memory?)";
		break;
	default:
		why = "";
	}
	snprintf(buf, len,
		 "%s: map [0x%" PRIx64 ", 0x%" PRIx64 "] of %s guest %" PRIu64 ": %s%s%s",
		 what, gpa, gpa + (size - 1), name, id, strerror(-err),
		 *why ? ": " : "", why);
	return buf;
}

/*
 * Claiming (attaching a device model to) registers [@base, @base + @size)
 * of @what failed with @err.
 */
static inline const char *hint_claim(const char *what, uint64_t base,
				     uint64_t size, int err, char *buf,
				     size_t len)
{
	if (err == -EEXIST)
		snprintf(buf, len,
			 "%s: registers [0x%" PRIx64 ", 0x%" PRIx64 "] are already claimed: another daemon (or device) serves them",
			 what, base, base + (size - 1));
	else if (err == -EOPNOTSUPP)
		snprintf(buf, len,
			 "%s: registers [0x%" PRIx64 ", 0x%" PRIx64 "]: %s: the hypervisor lacks what the device needs (interrupt type?)",
			 what, base, base + (size - 1), strerror(-err));
	else
		snprintf(buf, len,
			 "%s: registers [0x%" PRIx64 ", 0x%" PRIx64 "]: %s", what,
			 base, base + (size - 1), strerror(-err));
	return buf;
}

#endif /* VBE_TOOLS_HINTS_H */
