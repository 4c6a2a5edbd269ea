/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * Command-line values shared by the virtbe tools (vbe-blk,
 * virtbe-vhost-user).
 */
#ifndef VBE_TOOLS_ARGS_H
#define VBE_TOOLS_ARGS_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtbe.h>

/*
 * A whole string that is an unsigned 64-bit number, in decimal, hex (0x) or
 * octal (0); no sign, nothing after it, nothing out of range.
 */
static inline bool parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	return !errno && end != s && !*end && s[0] != '-';
}

/*
 * "GPA:LEN", two such numbers (the second as parse_u64() takes it), into
 * mem[0] and mem[1].  A LEN of 0 is accepted: the caller decides.
 */
static inline bool parse_mem(const char *s, uint64_t mem[2])
{
	char *end;

	if (s[0] == '-')
		return false;
	errno = 0;
	mem[0] = strtoull(s, &end, 0);
	if (errno || end == s || *end != ':')
		return false;
	return parse_u64(end + 1, &mem[1]);
}

/*
 * "edge", "level" or "evtchn": VIRTBE_IRQ_EDGE, VIRTBE_IRQ_LEVEL or
 * VIRTBE_IRQ_EVTCHN; anything else -EINVAL.
 */
static inline int parse_irq_type(const char *s)
{
	if (!strcmp(s, "edge"))
		return VIRTBE_IRQ_EDGE;
	if (!strcmp(s, "level"))
		return VIRTBE_IRQ_LEVEL;
	if (!strcmp(s, "evtchn"))
		return VIRTBE_IRQ_EVTCHN;
	return -EINVAL;
}

#endif /* VBE_TOOLS_ARGS_H */
