// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * The Device Tree loader: a valid blob compiled by dtc from guest.dts at
 * test time, every truncation, random corruption, and variants with
 * missing or malformed properties made with libfdt's write functions.
 */
#include <errno.h>
#include <fcntl.h>
#include <libfdt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "internal.h"

#define DTB "guest.dtb"
#define DT_TAGALIGN(x) (((x) + 3) & ~(size_t)3)

static void *good;
static size_t good_len;

static void load_good(void)
{
	struct stat st;
	int fd = open(DTB, O_RDONLY);

	REQUIRE(fd >= 0);
	REQUIRE(!fstat(fd, &st));
	good_len = (size_t)st.st_size;
	good = malloc(good_len);
	REQUIRE(good);
	REQUIRE_EQ(read(fd, good, good_len), good_len);
	close(fd);
}

TEST(dt_valid_blob)
{
	const struct vbe_dt_guest *g;
	const struct vbe_dt_dev *d;
	struct vbe_dt *dt;
	uint64_t gpa, len, a;
	uint32_t type, irq, data, u;
	const char *s;

	load_good();
	REQUIRE_EQ(vbe_dt_load(good, good_len, &dt), 0);
	REQUIRE_EQ(vbe_dt_num_guests(dt), 2);
	CHECK(vbe_dt_guest(dt, 2) == NULL);

	g = vbe_dt_guest(dt, 0);
	CHECK_EQ(vbe_dt_guest_hyp(g), VIRTBE_HYP_SIM);
	CHECK_EQ(vbe_dt_guest_id(g), 0x100000002ULL);
	CHECK_EQ(vbe_dt_guest_timeout_ms(g), 500);
	REQUIRE_EQ(vbe_dt_guest_num_mem(g), 2);
	CHECK_EQ(vbe_dt_guest_mem(g, 0, &gpa, &len), 0);
	CHECK_EQ(gpa, 0x40000000);
	CHECK_EQ(len, 0x10000000);
	CHECK_EQ(vbe_dt_guest_mem(g, 1, &gpa, &len), 0);
	CHECK_EQ(gpa, 0x100000000ULL);
	CHECK_EQ(len, 0x100000);
	CHECK_EQ(vbe_dt_guest_mem(g, 2, &gpa, &len), -EINVAL);
	/* the disabled node and the virtio,pci node are not devices */
	REQUIRE_EQ(vbe_dt_guest_num_devs(g), 3);
	CHECK(vbe_dt_guest_dev(g, 3) == NULL);

	d = vbe_dt_guest_dev(g, 0);
	CHECK_EQ(vbe_dt_dev_base(d), 0x0a000000);
	CHECK_EQ(vbe_dt_dev_size(d), 0x200);
	vbe_dt_dev_irq(d, &type, &irq, NULL, NULL);
	CHECK_EQ(type, VIRTBE_IRQ_EDGE);
	CHECK_EQ(irq, 48);
	CHECK(!strcmp(vbe_dt_dev_backend(d), "blk"));
	CHECK(!strcmp(vbe_dt_dev_name(d), "/frontend-a/virtio@a000000"));
	CHECK_EQ(vbe_dt_dev_prop_string(d, "virtbe,backing-file", &s), 0);
	CHECK(!strcmp(s, "/var/lib/virtbe/disk0.img"));
	CHECK(vbe_dt_dev_prop_bool(d, "virtbe,read-only"));
	CHECK(!vbe_dt_dev_prop_bool(d, "virtbe,write-cache"));
	CHECK_EQ(vbe_dt_dev_prop_string(d, "virtbe,nothing", &s), -ENOENT);
	CHECK_EQ(vbe_dt_dev_prop_u32(d, "virtbe,serial", &u), -EINVAL);
	/* an empty property is not a string */
	CHECK_EQ(vbe_dt_dev_prop_string(d, "virtbe,read-only", &s), -EINVAL);

	d = vbe_dt_guest_dev(g, 1);
	vbe_dt_dev_irq(d, &type, &irq, &a, &data);
	CHECK_EQ(type, VIRTBE_IRQ_LEVEL);
	CHECK_EQ(irq, 49);
	CHECK_EQ(a, 0);
	CHECK_EQ(data, 0);
	CHECK_EQ(vbe_dt_dev_prop_u32(d, "virtbe,queue-size", &u), 0);
	CHECK_EQ(u, 256);
	CHECK_EQ(vbe_dt_dev_prop_u64(d, "virtbe,queue-size", &a), 0);
	CHECK_EQ(a, 256);
	CHECK_EQ(vbe_dt_dev_prop_u64(d, "virtbe,mac", &a), 0);
	CHECK_EQ(a, 0x525400123456ULL);
	CHECK_EQ(vbe_dt_dev_prop_u32(d, "virtbe,mac", &u), -EINVAL);
	CHECK_EQ(vbe_dt_dev_prop_u64(d, "virtbe,nothing", &a), -ENOENT);
	CHECK(!strcmp(vbe_dt_dev_name(d), "/frontend-a/net@a000200"));

	d = vbe_dt_guest_dev(g, 2);
	vbe_dt_dev_irq(d, &type, &irq, &a, &data);
	CHECK_EQ(type, VIRTBE_IRQ_MSI);
	CHECK_EQ(irq, 0);
	CHECK_EQ(a, 0xfee00000);
	CHECK_EQ(data, 0x4021);

	g = vbe_dt_guest(dt, 1);
	CHECK_EQ(vbe_dt_guest_hyp(g), VIRTBE_HYP_XEN);
	CHECK_EQ(vbe_dt_guest_id(g), 5);
	CHECK_EQ(vbe_dt_guest_timeout_ms(g), 0);
	CHECK_EQ(vbe_dt_guest_num_mem(g), 0);
	REQUIRE_EQ(vbe_dt_guest_num_devs(g), 1);
	d = vbe_dt_guest_dev(g, 0);
	CHECK_EQ(vbe_dt_dev_base(d), 0x2000000);
	CHECK_EQ(vbe_dt_dev_size(d), 0x200);
	vbe_dt_dev_irq(d, &type, &irq, NULL, NULL);
	CHECK_EQ(type, VIRTBE_IRQ_EVTCHN);
	CHECK_EQ(irq, 12);
	vbe_dt_free(dt);
	vbe_dt_free(NULL);
}

TEST(dt_load_file)
{
	struct vbe_dt *dt;

	CHECK_EQ(vbe_dt_load_file(DTB, &dt), 0);
	CHECK_EQ(vbe_dt_num_guests(dt), 2);
	vbe_dt_free(dt);
	CHECK_EQ(vbe_dt_load_file("does-not-exist.dtb", &dt), -ENOENT);
	CHECK_EQ(vbe_dt_load_file(".", &dt), -EINVAL);
	CHECK_EQ(vbe_dt_load_file("/dev/null", &dt), -EINVAL);
}

TEST(dt_unaligned_buffer)
{
	struct vbe_dt *dt;
	uint8_t *buf;

	load_good();
	buf = malloc(good_len + 1);
	REQUIRE(buf);
	memcpy(buf + 1, good, good_len);
	CHECK_EQ(vbe_dt_load(buf + 1, good_len, &dt), 0);
	vbe_dt_free(dt);
	/* a larger buffer than the blob is fine */
	buf = realloc(buf, good_len + 100);
	memcpy(buf, good, good_len);
	CHECK_EQ(vbe_dt_load(buf, good_len + 100, &dt), 0);
	vbe_dt_free(dt);
	free(buf);
}

TEST(dt_truncated)
{
	struct vbe_dt *dt;
	size_t len;
	uint8_t *buf;

	load_good();
	CHECK_EQ(vbe_dt_load(NULL, 100, &dt), -EBADMSG);
	for (len = 0; len < good_len; len++) {
		/* an exactly-sized heap copy, so ASan sees any overread */
		buf = malloc(len ? len : 1);
		REQUIRE(buf);
		memcpy(buf, good, len);
		if (!CHECK_EQ(vbe_dt_load(buf, len, &dt), -EBADMSG)) {
			printf("# at length %zu\n", len);
			break;
		}
		free(buf);
	}
}

TEST(dt_corrupt_header)
{
	struct fdt_header *h;
	struct vbe_dt *dt;
	uint8_t *buf;

	load_good();
	buf = malloc(good_len);
	REQUIRE(buf);
	h = (struct fdt_header *)buf;

#define RESET() memcpy(buf, good, good_len)
	RESET();
	h->magic = cpu_to_fdt32(0xd00dfeee);
	CHECK_EQ(vbe_dt_load(buf, good_len, &dt), -EBADMSG);
	RESET();
	h->version = cpu_to_fdt32(1);
	CHECK_EQ(vbe_dt_load(buf, good_len, &dt), -EBADMSG);
	RESET();
	h->totalsize = cpu_to_fdt32((uint32_t)good_len + 1);
	CHECK_EQ(vbe_dt_load(buf, good_len, &dt), -EBADMSG);
	RESET();
	h->totalsize = cpu_to_fdt32(0xffffffff);
	CHECK_EQ(vbe_dt_load(buf, good_len, &dt), -EBADMSG);
	RESET();
	h->off_dt_strings = cpu_to_fdt32((uint32_t)good_len);
	CHECK(vbe_dt_load(buf, good_len, &dt) < 0);
	RESET();
	h->size_dt_struct = cpu_to_fdt32(0x7fffffff);
	CHECK(vbe_dt_load(buf, good_len, &dt) < 0);
	RESET();
	h->off_dt_struct = cpu_to_fdt32(3);
	CHECK(vbe_dt_load(buf, good_len, &dt) < 0);
	RESET();
	/* a zeroed structure block */
	memset(buf + fdt32_to_cpu(h->off_dt_struct), 0,
	       fdt32_to_cpu(h->size_dt_struct));
	CHECK(vbe_dt_load(buf, good_len, &dt) < 0);
#undef RESET
	free(buf);
}

/* Offset of the first FDT_PROP token's length field in buf, or 0. */
static size_t first_prop_len(const uint8_t *buf)
{
	const struct fdt_header *h = (const void *)buf;
	size_t off = fdt32_to_cpu(h->off_dt_struct);
	size_t end = off + fdt32_to_cpu(h->size_dt_struct);

	while (off + 4 <= end) {
		uint32_t tag = fdt32_to_cpu(*(const fdt32_t *)(buf + off));

		off += 4;
		if (tag == FDT_BEGIN_NODE)
			off = DT_TAGALIGN(off + strlen((const char *)buf + off) + 1);
		else if (tag == FDT_PROP)
			return off;
		else if (tag != FDT_END_NODE && tag != FDT_NOP)
			return 0;
	}
	return 0;
}

/*
 * Blobs that crash or hang Debian's libfdt 1.6.1 inside fdt_check_full():
 * the loader must refuse them before calling it.
 */
TEST(dt_libfdt_hostile_blobs)
{
	struct fdt_header *h;
	struct vbe_dt *dt;
	uint8_t *buf;
	size_t p;
	uint32_t v;

	load_good();
	buf = malloc(good_len);
	REQUIRE(buf);
	h = (struct fdt_header *)buf;

	/* a valid blob whose header claims version 16, 15 (NULL read) */
	for (v = 2; v <= 16; v++) {
		memcpy(buf, good, good_len);
		h->version = cpu_to_fdt32(v);
		CHECK_EQ(vbe_dt_load(buf, good_len, &dt), -EBADMSG);
	}

	/* a property length that runs past the block (infinite loop) */
	memcpy(buf, good, good_len);
	p = first_prop_len(buf);
	REQUIRE(p);
	*(fdt32_t *)(buf + p) = cpu_to_fdt32(0xfffffff4);
	CHECK_EQ(vbe_dt_load(buf, good_len, &dt), -EBADMSG);
	*(fdt32_t *)(buf + p) = cpu_to_fdt32(fdt32_to_cpu(h->size_dt_struct));
	CHECK_EQ(vbe_dt_load(buf, good_len, &dt), -EBADMSG);

	/* a property name offset outside the strings block */
	memcpy(buf, good, good_len);
	*(fdt32_t *)(buf + p + 4) = cpu_to_fdt32(fdt32_to_cpu(h->size_dt_strings));
	CHECK_EQ(vbe_dt_load(buf, good_len, &dt), -EBADMSG);

	/* the strings block without its last NUL */
	memcpy(buf, good, good_len);
	h->size_dt_strings = cpu_to_fdt32(fdt32_to_cpu(h->size_dt_strings) - 1);
	CHECK(vbe_dt_load(buf, good_len, &dt) < 0);

	/* a structure block cut before FDT_END, and one without a root */
	memcpy(buf, good, good_len);
	h->size_dt_struct = cpu_to_fdt32(fdt32_to_cpu(h->size_dt_struct) - 4);
	CHECK_EQ(vbe_dt_load(buf, good_len, &dt), -EBADMSG);
	memcpy(buf, good, good_len);
	*(fdt32_t *)(buf + fdt32_to_cpu(h->off_dt_struct)) = cpu_to_fdt32(FDT_END);
	CHECK_EQ(vbe_dt_load(buf, good_len, &dt), -EBADMSG);
	free(buf);
}

/* Walk everything a successfully loaded (corrupt) blob offers. */
static void walk(struct vbe_dt *dt)
{
	unsigned int i, j;
	uint64_t a, b;
	uint32_t t, n;
	const char *s;

	for (i = 0; i < vbe_dt_num_guests(dt); i++) {
		const struct vbe_dt_guest *g = vbe_dt_guest(dt, i);

		for (j = 0; j < vbe_dt_guest_num_mem(g); j++)
			vbe_dt_guest_mem(g, j, &a, &b);
		for (j = 0; j < vbe_dt_guest_num_devs(g); j++) {
			const struct vbe_dt_dev *d = vbe_dt_guest_dev(g, j);

			vbe_dt_dev_irq(d, &t, &n, &a, &t);
			vbe_dt_dev_prop_string(d, "virtbe,backing-file", &s);
			vbe_dt_dev_prop_u64(d, "virtbe,mac", &a);
			(void)strlen(vbe_dt_dev_backend(d));
			(void)strlen(vbe_dt_dev_name(d));
		}
	}
}

TEST(dt_random_corruption)
{
	unsigned int i, k, ok = 0, bad = 0;
	struct vbe_dt *dt;
	uint8_t *buf;
	int ret;

	load_good();
	buf = malloc(good_len);
	REQUIRE(buf);
	srand(12345);
	for (i = 0; i < 20000; i++) {
		memcpy(buf, good, good_len);
		for (k = 0; k < 1 + (unsigned int)rand() % 4; k++)
			buf[(size_t)rand() % good_len] ^= (uint8_t)(1 + rand() % 255);
		ret = vbe_dt_load(buf, good_len, &dt);
		if (ret == 0) {
			walk(dt);
			vbe_dt_free(dt);
			ok++;
		} else {
			if (!CHECK(ret == -EBADMSG || ret == -EINVAL ||
				   ret == -ENOENT))
				printf("# unexpected %d\n", ret);
			bad++;
		}
	}
	printf("# %u accepted, %u refused\n", ok, bad);
	free(buf);
}

/* A copy of the good blob with one property changed (NULL: deleted). */
static int variant(const char *path, const char *prop, const void *val,
		   int len)
{
	size_t size = good_len + 1024;
	void *buf = malloc(size);
	struct vbe_dt *dt = NULL;
	int node, ret;

	REQUIRE(buf);
	REQUIRE_EQ(fdt_open_into(good, buf, (int)size), 0);
	node = fdt_path_offset(buf, path);
	REQUIRE(node >= 0);
	if (val)
		REQUIRE_EQ(fdt_setprop(buf, node, prop, val, len), 0);
	else
		REQUIRE_EQ(fdt_delprop(buf, node, prop), 0);
	REQUIRE_EQ(fdt_pack(buf), 0);
	ret = vbe_dt_load(buf, fdt_totalsize(buf), &dt);
	if (!ret) {
		walk(dt);
		vbe_dt_free(dt);
	}
	free(buf);
	return ret;
}

#define CELLS(...) ((const fdt32_t[]){ __VA_ARGS__ })
#define C(x) cpu_to_fdt32(x)

TEST(dt_missing_and_bad_properties)
{
	static const char *const G = "/frontend-a";
	static const char *const D = "/frontend-a/virtio@a000000";
	static const char *const M = "/frontend-a/msi";
	static const char *const X = "/xen-domu";
	static const char *const XD = "/xen-domu/disk@2000000";

	load_good();
	/* hypervisor */
	CHECK_EQ(variant(G, "virtbe,hypervisor", NULL, 0), -EINVAL);
	CHECK_EQ(variant(G, "virtbe,hypervisor", "kvm", 4), -EINVAL);
	CHECK_EQ(variant(G, "virtbe,hypervisor", "sim\0xen", 8), -EINVAL);
	CHECK_EQ(variant(G, "virtbe,hypervisor", "sim", 3), -EINVAL);
	CHECK_EQ(variant(G, "virtbe,hypervisor", "", 1), -EINVAL);
	CHECK_EQ(variant(G, "virtbe,hypervisor", "", 0), -EINVAL);
	CHECK_EQ(variant(G, "virtbe,hypervisor", "xen", 4), 0);
	/* guest id: 1 or 2 cells */
	CHECK_EQ(variant(G, "virtbe,guest-id", NULL, 0), -EINVAL);
	CHECK_EQ(variant(G, "virtbe,guest-id", "abc", 3), -EINVAL);
	CHECK_EQ(variant(G, "virtbe,guest-id", CELLS(C(1), C(2), C(3)), 12),
		 -EINVAL);
	CHECK_EQ(variant(X, "virtbe,guest-id", CELLS(C(7)), 4), 0);
	/* timeout */
	CHECK_EQ(variant(G, "virtbe,request-timeout-ms", CELLS(C(60001)), 4),
		 -EINVAL);
	CHECK_EQ(variant(G, "virtbe,request-timeout-ms", CELLS(C(60000)), 4),
		 0);
	CHECK_EQ(variant(G, "virtbe,request-timeout-ms", CELLS(C(0), C(1)),
			 8), -EINVAL);
	CHECK_EQ(variant(G, "virtbe,request-timeout-ms", NULL, 0), 0);
	/* cells */
	CHECK_EQ(variant(G, "#address-cells", CELLS(C(3)), 4), -EINVAL);
	CHECK_EQ(variant(G, "#size-cells", CELLS(C(0)), 4), -EINVAL);
	CHECK_EQ(variant(G, "#size-cells", CELLS(C(5)), 4), -EINVAL);
	CHECK_EQ(variant(G, "#address-cells", "x", 1), -EINVAL);
	/* memory windows */
	CHECK_EQ(variant(G, "virtbe,memory", CELLS(C(0), C(1), C(0)), 12),
		 -EINVAL);
	CHECK_EQ(variant(G, "virtbe,memory", CELLS(C(0), C(1), C(0), C(0)),
			 16), -EINVAL);
	CHECK_EQ(variant(G, "virtbe,memory",
			 CELLS(C(0xffffffff), C(0xfffff000), C(0), C(0x2000)),
			 16), -EINVAL);
	CHECK_EQ(variant(G, "virtbe,memory",
			 CELLS(C(0xffffffff), C(0xfffff000), C(0), C(0x1000)),
			 16), 0);
	CHECK_EQ(variant(G, "virtbe,memory", "", 0), -EINVAL);
	/* device reg */
	CHECK_EQ(variant(D, "reg", NULL, 0), -EINVAL);
	CHECK_EQ(variant(D, "reg", CELLS(C(0), C(1), C(0)), 12), -EINVAL);
	CHECK_EQ(variant(D, "reg", CELLS(C(0), C(0x1000), C(0), C(0)), 16),
		 -EINVAL);
	CHECK_EQ(variant(D, "reg", CELLS(C(0xffffffff), C(0xfffff000), C(0),
					 C(0x2000)), 16), -EINVAL);
	CHECK_EQ(variant(XD, "reg", CELLS(C(0x1000)), 4), -EINVAL);
	/* several reg entries: the first is the register window */
	CHECK_EQ(variant(XD, "reg", CELLS(C(0x1000), C(0x200), C(0x3000),
					  C(0x10)), 16), 0);
	/* interrupts */
	CHECK_EQ(variant(D, "interrupts", NULL, 0), -EINVAL);
	CHECK_EQ(variant(D, "interrupts", CELLS(C(1)), 4), -EINVAL);
	CHECK_EQ(variant(D, "interrupts", CELLS(C(1), C(2), C(3)), 12),
		 -EINVAL);
	CHECK_EQ(variant(D, "interrupts", CELLS(C(0), C(2)), 8), -EINVAL);
	CHECK_EQ(variant(D, "interrupts", CELLS(C(5), C(2)), 8), -EINVAL);
	CHECK_EQ(variant(M, "interrupts", CELLS(C(4), C(2)), 8), -EINVAL);
	CHECK_EQ(variant(M, "virtbe,msi-data", NULL, 0), -EINVAL);
	CHECK_EQ(variant(M, "virtbe,msi-address", NULL, 0), -EINVAL);
	CHECK_EQ(variant(M, "virtbe,msi-address", "ab", 2), -EINVAL);
	/* backend */
	CHECK_EQ(variant(D, "virtbe,backend", NULL, 0), -EINVAL);
	CHECK_EQ(variant(D, "virtbe,backend", "blk", 3), -EINVAL);
	/* a device can be switched off */
	CHECK_EQ(variant(D, "status", "disabled", 9), 0);
	CHECK_EQ(variant(D, "status", "okay", 5), 0);
	/* the first guest stops being a guest: the second remains */
	CHECK_EQ(variant(G, "compatible", "virtbe,guestx", 14), 0);
	CHECK_EQ(variant(G, "compatible", NULL, 0), 0);
	/* the misnamed node becomes a guest once it is compatible */
	CHECK_EQ(variant("/virtbe,guest", "compatible", "virtbe,guest", 13),
		 0);
}

TEST(dt_no_guest)
{
	size_t size = 4096;
	void *buf = malloc(size);
	struct vbe_dt *dt;
	int node;

	REQUIRE(buf);
	REQUIRE_EQ(fdt_create_empty_tree(buf, (int)size), 0);
	CHECK_EQ(vbe_dt_load(buf, fdt_totalsize(buf), &dt), -ENOENT);
	/* a node named like a guest is not one */
	node = fdt_add_subnode(buf, 0, "virtbe-guest");
	REQUIRE(node >= 0);
	REQUIRE_EQ(fdt_setprop_string(buf, node, "virtbe,hypervisor", "sim"),
		   0);
	CHECK_EQ(vbe_dt_load(buf, fdt_totalsize(buf), &dt), -ENOENT);
	REQUIRE_EQ(fdt_setprop_string(buf, node, "compatible", "virtbe,guest"),
		   0);
	REQUIRE_EQ(fdt_setprop_u32(buf, node, "virtbe,guest-id", 3), 0);
	CHECK_EQ(vbe_dt_load(buf, fdt_totalsize(buf), &dt), 0);
	CHECK_EQ(vbe_dt_num_guests(dt), 1);
	CHECK_EQ(vbe_dt_guest_num_devs(vbe_dt_guest(dt, 0)), 0);
	vbe_dt_free(dt);
	free(buf);
}

/* vbe_dt_load_msg() of a variant: the error, and its message in @msg. */
static int variant_msg(const char *path, const char *prop, const void *val,
		       int len, char *msg, size_t msglen)
{
	size_t size = good_len + 1024;
	void *buf = malloc(size);
	struct vbe_dt *dt = NULL;
	int node, ret;

	REQUIRE(buf);
	REQUIRE_EQ(fdt_open_into(good, buf, (int)size), 0);
	node = fdt_path_offset(buf, path);
	REQUIRE(node >= 0);
	if (val)
		REQUIRE_EQ(fdt_setprop(buf, node, prop, val, len), 0);
	else
		REQUIRE_EQ(fdt_delprop(buf, node, prop), 0);
	REQUIRE_EQ(fdt_pack(buf), 0);
	ret = vbe_dt_load_msg(buf, fdt_totalsize(buf), &dt, msg, msglen);
	if (!ret)
		vbe_dt_free(dt);
	free(buf);
	return ret;
}

/* @msg contains every one of the NULL-terminated strings. */
static bool says(const char *msg, ...)
{
	const char *s;
	bool ok = true;
	va_list ap;

	va_start(ap, msg);
	while ((s = va_arg(ap, const char *)))
		if (!strstr(msg, s))
			ok = false;
	va_end(ap);
	if (!ok)
		printf("# message: \"%s\"\n", msg);
	return ok;
}

#define SAYS(msg, ...) CHECK(says(msg, __VA_ARGS__, (const char *)NULL))

TEST(dt_msg_blob_errors)
{
	struct fdt_header *h;
	struct vbe_dt *dt;
	char msg[256], exp[96];
	uint8_t *buf;

	load_good();
	buf = malloc(good_len);
	REQUIRE(buf);
	h = (struct fdt_header *)buf;

	/* success: an empty message */
	memset(msg, 'x', sizeof(msg));
	REQUIRE_EQ(vbe_dt_load_msg(good, good_len, &dt, msg, sizeof(msg)), 0);
	CHECK_EQ(msg[0], 0);
	vbe_dt_free(dt);

	/* truncated: what the header says and what there is */
	CHECK_EQ(vbe_dt_load_msg(good, good_len - 100, &dt, msg, sizeof(msg)),
		 -EBADMSG);
	snprintf(exp, sizeof(exp), "header says %zu bytes, there are %zu",
		 good_len, good_len - 100);
	SAYS(msg, "truncated", exp, "FDT_ERR_TRUNCATED");
	CHECK_EQ(vbe_dt_load_msg(good, 10, &dt, msg, sizeof(msg)), -EBADMSG);
	SAYS(msg, "truncated", "10 bytes", "FDT_ERR_TRUNCATED");

	/* bad magic */
	memcpy(buf, good, good_len);
	h->magic = cpu_to_fdt32(0xd00dfeee);
	CHECK_EQ(vbe_dt_load_msg(buf, good_len, &dt, msg, sizeof(msg)),
		 -EBADMSG);
	SAYS(msg, "magic 0xd00dfeee", "0xd00dfeed", "FDT_ERR_BADMAGIC");

	/* old version */
	memcpy(buf, good, good_len);
	h->version = cpu_to_fdt32(16);
	CHECK_EQ(vbe_dt_load_msg(buf, good_len, &dt, msg, sizeof(msg)),
		 -EBADMSG);
	SAYS(msg, "version 16", "at least 17", "FDT_ERR_BADVERSION");

	/* dt_check_blob()'s structure walk */
	memcpy(buf, good, good_len);
	*(fdt32_t *)(buf + first_prop_len(buf)) = cpu_to_fdt32(0xfffffff4);
	CHECK_EQ(vbe_dt_load_msg(buf, good_len, &dt, msg, sizeof(msg)),
		 -EBADMSG);
	SAYS(msg, "structure block", "4294967284 bytes", "FDT_ERR_TRUNCATED");
	memcpy(buf, good, good_len);
	*(fdt32_t *)(buf + fdt32_to_cpu(h->off_dt_struct)) = cpu_to_fdt32(FDT_END);
	CHECK_EQ(vbe_dt_load_msg(buf, good_len, &dt, msg, sizeof(msg)),
		 -EBADMSG);
	SAYS(msg, "FDT_END", "before the root node", "FDT_ERR_BADSTRUCTURE");

	/* a short buffer cuts the message, NUL-terminated */
	memset(msg, 'x', sizeof(msg));
	CHECK_EQ(vbe_dt_load_msg(good, 10, &dt, msg, 8), -EBADMSG);
	CHECK_EQ(strlen(msg), 7);
	CHECK_EQ(msg[8], 'x');
	CHECK_EQ(vbe_dt_load_msg(good, 10, &dt, NULL, 100), -EBADMSG);
	CHECK_EQ(vbe_dt_load_msg(NULL, 100, &dt, msg, sizeof(msg)), -EBADMSG);
	SAYS(msg, "no blob");
	free(buf);
}

TEST(dt_msg_file)
{
	struct vbe_dt *dt;
	char msg[256];

	CHECK_EQ(vbe_dt_load_file_msg(DTB, &dt, msg, sizeof(msg)), 0);
	CHECK_EQ(msg[0], 0);
	vbe_dt_free(dt);
	CHECK_EQ(vbe_dt_load_file_msg("does-not-exist.dtb", &dt, msg,
				      sizeof(msg)), -ENOENT);
	SAYS(msg, "cannot open", "No such file");
	CHECK_EQ(vbe_dt_load_file_msg(".", &dt, msg, sizeof(msg)), -EINVAL);
	SAYS(msg, "not a regular file");
	CHECK_EQ(vbe_dt_load_file_msg("/dev/null", &dt, msg, sizeof(msg)),
		 -EINVAL);
}

TEST(dt_msg_binding_errors)
{
	static const char *const G = "/frontend-a";
	static const char *const D = "/frontend-a/virtio@a000000";
	static const char *const N = "/frontend-a/net@a000200";
	static const char *const M = "/frontend-a/msi";
	char msg[256];

	load_good();
	/* a missing required property */
	CHECK_EQ(variant_msg(G, "virtbe,hypervisor", NULL, 0, msg, sizeof(msg)),
		 -EINVAL);
	SAYS(msg, "/frontend-a: virtbe,hypervisor: missing", "\"sim\", \"xen\" or \"bao\"");
	CHECK_EQ(variant_msg(D, "virtbe,backend", NULL, 0, msg, sizeof(msg)),
		 -EINVAL);
	SAYS(msg, "/frontend-a/virtio@a000000: virtbe,backend: missing");
	CHECK_EQ(variant_msg(D, "reg", NULL, 0, msg, sizeof(msg)), -EINVAL);
	SAYS(msg, "/frontend-a/virtio@a000000: reg: missing", "2+2 cells");
	CHECK_EQ(variant_msg(M, "virtbe,msi-data", NULL, 0, msg, sizeof(msg)),
		 -EINVAL);
	SAYS(msg, "/frontend-a/msi: virtbe,msi-data: missing");

	/* an unknown hypervisor: the value and what is expected */
	CHECK_EQ(variant_msg(G, "virtbe,hypervisor", "kvm", 4, msg,
			     sizeof(msg)), -EINVAL);
	SAYS(msg, "/frontend-a: virtbe,hypervisor: \"kvm\"",
	     "want \"sim\", \"xen\" or \"bao\"");

	/* malformed properties */
	CHECK_EQ(variant_msg(G, "virtbe,hypervisor", "sim", 3, msg,
			     sizeof(msg)), -EINVAL);
	SAYS(msg, "/frontend-a: virtbe,hypervisor: malformed (3 bytes)");
	CHECK_EQ(variant_msg(G, "virtbe,guest-id", CELLS(C(1), C(2), C(3)), 12,
			     msg, sizeof(msg)), -EINVAL);
	SAYS(msg, "/frontend-a: virtbe,guest-id: malformed (12 bytes)",
	     "one or two cells");
	CHECK_EQ(variant_msg(G, "virtbe,request-timeout-ms", CELLS(C(90000)),
			     4, msg, sizeof(msg)), -EINVAL);
	SAYS(msg, "/frontend-a: virtbe,request-timeout-ms: 90000: at most 60000");
	CHECK_EQ(variant_msg(G, "#address-cells", CELLS(C(3)), 4, msg,
			     sizeof(msg)), -EINVAL);
	SAYS(msg, "/frontend-a: #address-cells: 3: want 1 or 2");
	CHECK_EQ(variant_msg(G, "virtbe,memory", CELLS(C(0), C(1), C(0)), 12,
			     msg, sizeof(msg)), -EINVAL);
	SAYS(msg, "/frontend-a: virtbe,memory: malformed (12 bytes)",
	     "2+2 cells");
	CHECK_EQ(variant_msg(D, "interrupts", CELLS(C(5), C(2)), 8, msg,
			     sizeof(msg)), -EINVAL);
	SAYS(msg, "/frontend-a/virtio@a000000: interrupts: type 5",
	     "1 (edge)");
	CHECK_EQ(variant_msg(D, "interrupts", CELLS(C(1)), 4, msg,
			     sizeof(msg)), -EINVAL);
	SAYS(msg, "/frontend-a/virtio@a000000: interrupts: malformed (4 bytes)");
	CHECK_EQ(variant_msg(M, "interrupts", CELLS(C(4), C(2)), 8, msg,
			     sizeof(msg)), -EINVAL);
	SAYS(msg, "/frontend-a/msi: interrupts: <4 2>", "must be 0");
	CHECK_EQ(variant_msg(D, "reg", CELLS(C(0), C(0x1000), C(0), C(0)), 16,
			     msg, sizeof(msg)), -EINVAL);
	SAYS(msg, "/frontend-a/virtio@a000000: reg: base 0x1000 size 0x0",
	     "empty");
	CHECK_EQ(variant_msg(N, "virtbe,backend", "net", 3, msg, sizeof(msg)),
		 -EINVAL);
	SAYS(msg, "/frontend-a/net@a000200: virtbe,backend: malformed");
}

TEST(dt_overlapping_windows)
{
	static const char *const G = "/frontend-a";
	static const char *const D = "/frontend-a/virtio@a000000";
	static const char *const N = "/frontend-a/net@a000200";
	static const char *const XD = "/xen-domu/disk@2000000";
	char msg[256];

	load_good();
	/* memory windows: the second starts in the first */
	CHECK_EQ(variant_msg(G, "virtbe,memory",
			     CELLS(C(0), C(0x40000000), C(0), C(0x10000000),
				   C(0), C(0x4ffff000), C(0), C(0x2000)), 32,
			     msg, sizeof(msg)), -EINVAL);
	SAYS(msg, "/frontend-a: virtbe,memory: window 1 [0x4ffff000, 0x50000fff] overlaps window 0 [0x40000000, 0x4fffffff]");
	/* adjacent windows are fine */
	CHECK_EQ(variant_msg(G, "virtbe,memory",
			     CELLS(C(0), C(0x40000000), C(0), C(0x10000000),
				   C(0), C(0x50000000), C(0), C(0x2000)), 32,
			     msg, sizeof(msg)), 0);
	/* the same window twice */
	CHECK_EQ(variant_msg(G, "virtbe,memory",
			     CELLS(C(0), C(0x1000), C(0), C(0x1000),
				   C(0), C(0x1000), C(0), C(0x1000)), 32,
			     msg, sizeof(msg)), -EINVAL);
	SAYS(msg, "window 1 [0x1000, 0x1fff] overlaps window 0 [0x1000, 0x1fff]");

	/* register windows: net@a000200 grows into virtio@a000000 ... */
	CHECK_EQ(variant_msg(N, "reg", CELLS(C(0), C(0x0a0001f0), C(0),
					     C(0x200)), 16, msg, sizeof(msg)),
		 -EINVAL);
	SAYS(msg, "/frontend-a/net@a000200: reg [0xa0001f0, 0xa0003ef] overlaps /frontend-a/virtio@a000000: reg [0xa000000, 0xa0001ff]");
	/* ... and the first grows over the two others */
	CHECK_EQ(variant_msg(D, "reg", CELLS(C(0), C(0x0a000000), C(0),
					     C(0x1000)), 16, msg, sizeof(msg)),
		 -EINVAL);
	SAYS(msg, "/frontend-a/net@a000200: reg", "/frontend-a/virtio@a000000: reg [0xa000000, 0xa000fff]");
	/* a disabled device is not one: no overlap with it */
	CHECK_EQ(variant_msg("/frontend-a/virtio@a000600", "reg",
			     CELLS(C(0), C(0x0a000000), C(0), C(0x200)), 16,
			     msg, sizeof(msg)), 0);
	/* nor across guests: another guest has its own address space */
	CHECK_EQ(variant_msg(XD, "reg", CELLS(C(0x0a000000), C(0x200)), 8,
			     msg, sizeof(msg)), 0);
}

TEST(dt_msg_no_guest)
{
	size_t size = 4096;
	void *buf = malloc(size);
	struct vbe_dt *dt;
	char msg[256];

	REQUIRE(buf);
	REQUIRE_EQ(fdt_create_empty_tree(buf, (int)size), 0);
	CHECK_EQ(vbe_dt_load_msg(buf, fdt_totalsize(buf), &dt, msg,
				 sizeof(msg)), -ENOENT);
	SAYS(msg, "no guest", "\"virtbe,guest\"");
	free(buf);
}

/* Every refusal of the random corruption test has a message. */
TEST(dt_msg_always_set)
{
	unsigned int i, k;
	struct vbe_dt *dt;
	char msg[256];
	uint8_t *buf;
	int ret;

	load_good();
	buf = malloc(good_len);
	REQUIRE(buf);
	srand(54321);
	for (i = 0; i < 5000; i++) {
		memcpy(buf, good, good_len);
		for (k = 0; k < 1 + (unsigned int)rand() % 4; k++)
			buf[(size_t)rand() % good_len] ^= (uint8_t)(1 + rand() % 255);
		msg[0] = 'x';
		ret = vbe_dt_load_msg(buf, good_len, &dt, msg, sizeof(msg));
		if (!ret) {
			CHECK_EQ(msg[0], 0);
			vbe_dt_free(dt);
		} else if (!CHECK(msg[0] && msg[0] != 'x' &&
				  strlen(msg) < sizeof(msg))) {
			break;
		}
	}
	free(buf);
}
