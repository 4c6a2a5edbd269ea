// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * libFuzzer harness: libvirtbe's Device Tree loader on arbitrary blobs.
 * Invariants checked beyond "no crash, no hang, no leak" (ASan, UBSan,
 * libFuzzer's timeout and leak checks): a blob is either refused with one
 * of the documented errors or everything the loader then offers is
 * readable, and what it reports is consistent.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <virtbe/virtbe.h>

#define CHECK(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vbe_dt *dt;
	unsigned int i, j;
	int ret;

	ret = vbe_dt_load(data, size, &dt);
	if (ret) {
		CHECK(ret == -EBADMSG || ret == -EINVAL || ret == -ENOENT ||
		      ret == -EFBIG || ret == -ENOMEM);
		return 0;
	}
	CHECK(vbe_dt_num_guests(dt) > 0);
	for (i = 0; i < vbe_dt_num_guests(dt); i++) {
		const struct vbe_dt_guest *g = vbe_dt_guest(dt, i);
		uint64_t a, b;

		CHECK(g);
		for (j = 0; j < vbe_dt_guest_num_mem(g); j++) {
			CHECK(!vbe_dt_guest_mem(g, j, &a, &b));
			CHECK(b && a + b - 1 >= a);
		}
		for (j = 0; j < vbe_dt_guest_num_devs(g); j++) {
			const struct vbe_dt_dev *d = vbe_dt_guest_dev(g, j);
			uint32_t t, n, m;
			const char *s;

			CHECK(d);
			a = vbe_dt_dev_base(d);
			b = vbe_dt_dev_size(d);
			CHECK(b && a + b - 1 >= a);
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
