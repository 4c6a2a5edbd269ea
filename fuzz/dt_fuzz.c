// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * libFuzzer harness: libvirtbe's Device Tree loader on arbitrary blobs.
 * Invariants checked beyond "no crash, no hang, no leak" (ASan, UBSan,
 * libFuzzer's timeout and leak checks): a blob is either refused with one
 * of the documented errors and a message (NUL-terminated inside the
 * buffer, even a tiny one), or the message is empty, everything the
 * loader then offers is readable, and no two memory windows or device
 * register windows of a guest overlap.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <virtbe/virtbe.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char msg[256], tiny[1 + 8];
	size_t tlen = 1 + size % 8;
	struct vbe_dt *dt;
	unsigned int i, j, k;
	int ret;

	memset(msg, 'x', sizeof(msg));
	ret = vbe_dt_load_msg(data, size, &dt, msg, sizeof(msg));
	CHECK(memchr(msg, '\0', sizeof(msg)));
	if (ret) {
		CHECK(ret == -EBADMSG || ret == -EINVAL || ret == -ENOENT ||
		      ret == -EFBIG || ret == -ENOMEM);
		CHECK(msg[0]);
		/* the same refusal with a buffer of 1 to 8 bytes is cut */
		memset(tiny, 'x', sizeof(tiny));
		CHECK(vbe_dt_load_msg(data, size, &dt, tiny, tlen) == ret);
		CHECK(memchr(tiny, '\0', tlen) && tiny[tlen] == 'x');
		return 0;
	}
	CHECK(!msg[0]);
	CHECK(vbe_dt_num_guests(dt) > 0);
	for (i = 0; i < vbe_dt_num_guests(dt); i++) {
		const struct vbe_dt_guest *g = vbe_dt_guest(dt, i);
		uint64_t a, b;

		CHECK(g);
		for (j = 0; j < vbe_dt_guest_num_mem(g); j++) {
			CHECK(!vbe_dt_guest_mem(g, j, &a, &b));
			CHECK(b && a + b - 1 >= a);
			for (k = 0; k < j; k++) {
				uint64_t c, l;

				CHECK(!vbe_dt_guest_mem(g, k, &c, &l));
				CHECK(a + b - 1 < c || c + l - 1 < a);
			}
		}
		for (j = 0; j < vbe_dt_guest_num_devs(g); j++) {
			const struct vbe_dt_dev *d = vbe_dt_guest_dev(g, j);
			uint32_t t, n, m;
			const char *s;

			CHECK(d);
			a = vbe_dt_dev_base(d);
			b = vbe_dt_dev_size(d);
			CHECK(b && a + b - 1 >= a);
			for (k = 0; k < j; k++) {
				const struct vbe_dt_dev *e = vbe_dt_guest_dev(g, k);
				uint64_t c = vbe_dt_dev_base(e);
				uint64_t l = vbe_dt_dev_size(e);

				CHECK(a + b - 1 < c || c + l - 1 < a);
			}
			vbe_dt_dev_irq(d, &t, &n, &a, &m);
			vbe_dt_dev_prop_string(d, "virtbe,backing-file", &s);
			vbe_dt_dev_prop_u64(d, "virtbe,mac", &a);
			CHECK(strlen(vbe_dt_dev_backend(d)) < size);
			CHECK(strlen(vbe_dt_dev_name(d)) < size);
		}
	}
	vbe_dt_free(dt);
	return 0;
}
