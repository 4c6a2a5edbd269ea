// SPDX-License-Identifier: GPL-2.0
/*
 * The ABI matrix: every ioctl against short and long sizes, reserved
 * fields, unknown flags, bad fds, bad pointers and the wrong kind of fd.
 * After each rejected call the valid call must still succeed: a failure
 * changes nothing.
 */
#include <stddef.h>
#include <stdlib.h>

#include "virtbe_utils.h"

enum obj { OBJ_CTL, OBJ_GUEST, OBJ_SIMCTL, OBJ_SIMGUEST, OBJ_EVENTFD, NR_OBJ };

FIXTURE(abi) {
	int fds[NR_OBJ];
	int memfd;
	int sg2;		/* a second sim guest, not attached */
	uint64_t sg2_id;
	int efd, efd2;
	uint8_t *unmapped;	/* a page that is not mapped */
};

typedef void (*fill_fn)(FIXTURE_DATA(abi) *self, void *buf);

#define MAX_RES 3

FIXTURE_VARIANT(abi) {
	unsigned long cmd;
	enum obj obj;
	enum obj wrong_obj;
	size_t size;
	size_t min_size;
	fill_fn fill;
	uint32_t valid_flags;
	size_t res_off[MAX_RES];
	size_t res_len[MAX_RES];
	int nr_res;
	int fd_off;		/* offset of an fd field, or -1 */
	bool returns_fd;
	bool has_out;		/* out_* fields: the struct is written back */
};

FIXTURE_SETUP(abi)
{
	uint64_t id;

	for (int i = 0; i < NR_OBJ; i++)
		self->fds[i] = -1;
	self->sg2 = -1;
	self->efd = eventfd(0, EFD_CLOEXEC);
	self->efd2 = eventfd(0, EFD_CLOEXEC);
	self->fds[OBJ_EVENTFD] = self->efd2;
	self->unmapped = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			      -1, 0);
	ASSERT_NE(MAP_FAILED, self->unmapped);
	ASSERT_EQ(0, munmap(self->unmapped, 4096));
	SKIP_IF_NO_VIRTBE(_metadata);

	self->fds[OBJ_CTL] = open("/dev/virtbe", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fds[OBJ_CTL]);
	self->fds[OBJ_SIMCTL] = open("/dev/virtbe_sim", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fds[OBJ_SIMCTL]);
	self->fds[OBJ_SIMGUEST] = _sim_create(self->fds[OBJ_SIMCTL], 2, &id);
	ASSERT_LE(0, self->fds[OBJ_SIMGUEST]);
	self->memfd = memfd_ram(RAM_SIZE);
	ASSERT_LE(0, self->memfd);
	ASSERT_EQ(0, _sim_add_ram(self->fds[OBJ_SIMGUEST], self->memfd,
				  RAM_GPA, RAM_SIZE, 0));
	self->fds[OBJ_GUEST] = _attach(self->fds[OBJ_CTL], VIRTBE_HYP_SIM, id,
				       0);
	ASSERT_LE(0, self->fds[OBJ_GUEST]);
	ASSERT_EQ(0, _claim(self->fds[OBJ_GUEST], 0, MMIO_BASE, MMIO_SIZE));
	self->sg2 = _sim_create(self->fds[OBJ_SIMCTL], 1, &self->sg2_id);
	ASSERT_LE(0, self->sg2);
}

FIXTURE_TEARDOWN(abi)
{
	for (int i = 0; i < NR_OBJ; i++)
		if (self->fds[i] >= 0)
			close(self->fds[i]);
	close(self->efd);
	if (self->sg2 >= 0)
		close(self->sg2);
}

static void fill_info(FIXTURE_DATA(abi) *self, void *buf)
{
	struct virtbe_info *c = buf;

	c->hyp = VIRTBE_HYP_SIM;
}

static void fill_attach(FIXTURE_DATA(abi) *self, void *buf)
{
	struct virtbe_attach *c = buf;

	c->hyp = VIRTBE_HYP_SIM;
	c->guest_id = self->sg2_id;
}

static void fill_mem_map(FIXTURE_DATA(abi) *self, void *buf)
{
	struct virtbe_mem_map *c = buf;

	c->gpa = 0x10000;
	c->len = 0x10000;
}

static void fill_range(FIXTURE_DATA(abi) *self, void *buf)
{
	struct virtbe_range *c = buf;

	c->addr = MMIO_BASE + 0x10000;
	c->len = 0x200;
}

static void fill_ioeventfd(FIXTURE_DATA(abi) *self, void *buf)
{
	struct virtbe_ioeventfd *c = buf;

	c->fd = self->efd;
	c->addr = MMIO_BASE + 0x50;
	c->len = 4;
}

static void fill_irqfd(FIXTURE_DATA(abi) *self, void *buf)
{
	struct virtbe_irqfd *c = buf;

	c->fd = self->efd;
	c->resamplefd = -1;
	c->type = VIRTBE_IRQ_EDGE;
	c->irq = 5;
}

static void fill_stats(FIXTURE_DATA(abi) *self, void *buf)
{
}

static void fill_sim_create(FIXTURE_DATA(abi) *self, void *buf)
{
	struct virtbe_sim_create *c = buf;

	c->nr_vcpus = 1;
}

static void fill_sim_ram(FIXTURE_DATA(abi) *self, void *buf)
{
	struct virtbe_sim_ram *c = buf;

	c->memfd = self->memfd;
	c->gpa = 0x40000000;
	c->len = 0x10000;
}

static void fill_sim_access(FIXTURE_DATA(abi) *self, void *buf)
{
	struct virtbe_sim_access *c = buf;

	c->len = 4;
	c->addr = 0x20000000;	/* unclaimed: completes at once */
}

static void fill_sim_bind_irq(FIXTURE_DATA(abi) *self, void *buf)
{
	struct virtbe_sim_bind_irq *c = buf;

	c->type = VIRTBE_IRQ_EDGE;
	c->irq = 3;
	c->fd = self->efd;
}

static void fill_sim_irq_state(FIXTURE_DATA(abi) *self, void *buf)
{
	struct virtbe_sim_irq_state *c = buf;

	c->type = VIRTBE_IRQ_LEVEL;
	c->irq = 3;
}

static void fill_sim_fault(FIXTURE_DATA(abi) *self, void *buf)
{
	struct virtbe_sim_fault *c = buf;

	c->fault = VIRTBE_SIM_FAULT_DROP_IRQ;
}

static void fill_none(FIXTURE_DATA(abi) *self, void *buf)
{
}

#define RES(_s, _f) offsetof(_s, _f)
#define RESLEN(_s, _f) sizeof(((_s *)0)->_f)

FIXTURE_VARIANT_ADD(abi, get_info) {
	.has_out = true,
	.cmd = VIRTBE_GET_INFO, .obj = OBJ_CTL, .wrong_obj = OBJ_SIMCTL,
	.size = sizeof(struct virtbe_info),
	.min_size = offsetof(struct virtbe_info, out_hyp_features) + 8,
	.fill = fill_info, .valid_flags = 0,
	.res_off = { RES(struct virtbe_info, __reserved) },
	.res_len = { RESLEN(struct virtbe_info, __reserved) },
	.nr_res = 1, .fd_off = -1,
};

FIXTURE_VARIANT_ADD(abi, attach) {
	.has_out = true,
	.cmd = VIRTBE_ATTACH, .obj = OBJ_CTL, .wrong_obj = OBJ_GUEST,
	.size = sizeof(struct virtbe_attach),
	.min_size = sizeof(struct virtbe_attach),
	.fill = fill_attach, .valid_flags = 0,
	.res_off = { RES(struct virtbe_attach, __reserved) },
	.res_len = { RESLEN(struct virtbe_attach, __reserved) },
	.nr_res = 1, .fd_off = -1, .returns_fd = true,
};

FIXTURE_VARIANT_ADD(abi, mem_map) {
	.cmd = VIRTBE_MEM_MAP, .obj = OBJ_GUEST, .wrong_obj = OBJ_CTL,
	.size = sizeof(struct virtbe_mem_map),
	.min_size = sizeof(struct virtbe_mem_map),
	.fill = fill_mem_map, .valid_flags = VIRTBE_MEM_MAP_RDONLY,
	.res_off = { RES(struct virtbe_mem_map, __reserved) },
	.res_len = { RESLEN(struct virtbe_mem_map, __reserved) },
	.nr_res = 1, .fd_off = -1, .returns_fd = true,
};

FIXTURE_VARIANT_ADD(abi, claim_range) {
	.cmd = VIRTBE_CLAIM_RANGE, .obj = OBJ_GUEST, .wrong_obj = OBJ_SIMGUEST,
	.size = sizeof(struct virtbe_range),
	.min_size = sizeof(struct virtbe_range),
	.fill = fill_range,
	.valid_flags = VIRTBE_RANGE_PIO | VIRTBE_RANGE_RELEASE,
	.nr_res = 0, .fd_off = -1,
};

FIXTURE_VARIANT_ADD(abi, ioeventfd) {
	.cmd = VIRTBE_IOEVENTFD, .obj = OBJ_GUEST, .wrong_obj = OBJ_CTL,
	.size = sizeof(struct virtbe_ioeventfd),
	.min_size = sizeof(struct virtbe_ioeventfd),
	.fill = fill_ioeventfd,
	.valid_flags = VIRTBE_IOEVENTFD_DATAMATCH | VIRTBE_IOEVENTFD_PIO |
		       VIRTBE_IOEVENTFD_DEASSIGN,
	.res_off = { RES(struct virtbe_ioeventfd, __reserved) },
	.res_len = { RESLEN(struct virtbe_ioeventfd, __reserved) },
	.nr_res = 1, .fd_off = offsetof(struct virtbe_ioeventfd, fd),
};

FIXTURE_VARIANT_ADD(abi, irqfd) {
	.cmd = VIRTBE_IRQFD, .obj = OBJ_GUEST, .wrong_obj = OBJ_SIMGUEST,
	.size = sizeof(struct virtbe_irqfd),
	.min_size = sizeof(struct virtbe_irqfd),
	.fill = fill_irqfd,
	.valid_flags = VIRTBE_IRQFD_DEASSIGN | VIRTBE_IRQFD_VIRTIO_MMIO,
	.nr_res = 0, .fd_off = offsetof(struct virtbe_irqfd, fd),
};

FIXTURE_VARIANT_ADD(abi, get_stats) {
	.has_out = true,
	.cmd = VIRTBE_GET_STATS, .obj = OBJ_GUEST, .wrong_obj = OBJ_CTL,
	.size = sizeof(struct virtbe_stats),
	/* version 1 ended at out_irqs; out_rejected came with version 2 */
	.min_size = offsetof(struct virtbe_stats, out_irqs) + 8,
	.fill = fill_stats, .valid_flags = 0, .nr_res = 0, .fd_off = -1,
};

FIXTURE_VARIANT_ADD(abi, sim_create) {
	.has_out = true,
	.cmd = VIRTBE_SIM_CREATE, .obj = OBJ_SIMCTL, .wrong_obj = OBJ_CTL,
	.size = sizeof(struct virtbe_sim_create),
	.min_size = sizeof(struct virtbe_sim_create),
	.fill = fill_sim_create, .valid_flags = 0,
	.res_off = { RES(struct virtbe_sim_create, __reserved) },
	.res_len = { RESLEN(struct virtbe_sim_create, __reserved) },
	.nr_res = 1, .fd_off = -1, .returns_fd = true,
};

FIXTURE_VARIANT_ADD(abi, sim_add_ram) {
	.cmd = VIRTBE_SIM_ADD_RAM, .obj = OBJ_SIMGUEST, .wrong_obj = OBJ_GUEST,
	.size = sizeof(struct virtbe_sim_ram),
	.min_size = sizeof(struct virtbe_sim_ram),
	.fill = fill_sim_ram, .valid_flags = 0,
	.res_off = { RES(struct virtbe_sim_ram, __reserved) },
	.res_len = { RESLEN(struct virtbe_sim_ram, __reserved) },
	.nr_res = 1, .fd_off = offsetof(struct virtbe_sim_ram, memfd),
};

FIXTURE_VARIANT_ADD(abi, sim_access) {
	.has_out = true,
	.cmd = VIRTBE_SIM_ACCESS, .obj = OBJ_SIMGUEST, .wrong_obj = OBJ_GUEST,
	.size = sizeof(struct virtbe_sim_access),
	.min_size = sizeof(struct virtbe_sim_access),
	.fill = fill_sim_access,
	.valid_flags = VIRTBE_SIM_ACCESS_WRITE | VIRTBE_SIM_ACCESS_PIO |
		       VIRTBE_SIM_ACCESS_POSTED | VIRTBE_SIM_ACCESS_REP,
	.res_off = { RES(struct virtbe_sim_access, __reserved) },
	.res_len = { RESLEN(struct virtbe_sim_access, __reserved) },
	.nr_res = 1, .fd_off = -1,
};

FIXTURE_VARIANT_ADD(abi, sim_bind_irq) {
	.cmd = VIRTBE_SIM_BIND_IRQ, .obj = OBJ_SIMGUEST, .wrong_obj = OBJ_SIMCTL,
	.size = sizeof(struct virtbe_sim_bind_irq),
	.min_size = sizeof(struct virtbe_sim_bind_irq),
	.fill = fill_sim_bind_irq, .valid_flags = VIRTBE_SIM_BIND_IRQ_UNBIND,
	.res_off = { RES(struct virtbe_sim_bind_irq, __reserved) },
	.res_len = { RESLEN(struct virtbe_sim_bind_irq, __reserved) },
	.nr_res = 1, .fd_off = offsetof(struct virtbe_sim_bind_irq, fd),
};

FIXTURE_VARIANT_ADD(abi, sim_irq_state) {
	.has_out = true,
	.cmd = VIRTBE_SIM_IRQ_STATE, .obj = OBJ_SIMGUEST, .wrong_obj = OBJ_GUEST,
	.size = sizeof(struct virtbe_sim_irq_state),
	.min_size = sizeof(struct virtbe_sim_irq_state),
	.fill = fill_sim_irq_state, .valid_flags = VIRTBE_SIM_IRQ_EOI,
	.res_off = { RES(struct virtbe_sim_irq_state, __reserved) },
	.res_len = { RESLEN(struct virtbe_sim_irq_state, __reserved) },
	.nr_res = 1, .fd_off = -1,
};

FIXTURE_VARIANT_ADD(abi, sim_fault) {
	.cmd = VIRTBE_SIM_FAULT, .obj = OBJ_SIMGUEST, .wrong_obj = OBJ_CTL,
	.size = sizeof(struct virtbe_sim_fault),
	.min_size = sizeof(struct virtbe_sim_fault),
	.fill = fill_sim_fault, .valid_flags = 0, .nr_res = 0, .fd_off = -1,
};

FIXTURE_VARIANT_ADD(abi, sim_destroy) {
	.cmd = VIRTBE_SIM_DESTROY, .obj = OBJ_SIMGUEST, .wrong_obj = OBJ_GUEST,
	.size = sizeof(struct virtbe_sim_destroy),
	.min_size = sizeof(struct virtbe_sim_destroy),
	.fill = fill_none, .valid_flags = 0, .nr_res = 0, .fd_off = -1,
};

/* A valid struct in a zeroed buffer of buflen bytes. */
static void make(FIXTURE_DATA(abi) *self, const FIXTURE_VARIANT(abi) *v,
		 uint8_t *buf, size_t buflen, uint32_t size)
{
	memset(buf, 0, buflen);
	v->fill(self, buf);
	memcpy(buf, &size, sizeof(size));
}

static int call(FIXTURE_DATA(abi) *self, const FIXTURE_VARIANT(abi) *v,
		void *buf)
{
	int ret = ioctl(self->fds[v->obj], v->cmd, buf);

	if (ret < 0)
		return -errno;
	if (v->returns_fd)
		close(ret);
	return 0;
}

/* The valid call succeeds: whatever failed before changed nothing. */
#define EXPECT_VALID_WORKS()						\
	do {								\
		make(self, variant, buf, sizeof(buf), variant->size);	\
		EXPECT_EQ(0, call(self, variant, buf));			\
	} while (0)

TEST_F(abi, valid)
{
	uint8_t buf[128];

	EXPECT_VALID_WORKS();
}

TEST_F(abi, short_size)
{
	uint8_t buf[128];

	make(self, variant, buf, sizeof(buf), variant->min_size - 1);
	EXPECT_EQ(-EINVAL, call(self, variant, buf));
	make(self, variant, buf, sizeof(buf), 0);
	EXPECT_EQ(-EINVAL, call(self, variant, buf));
	EXPECT_VALID_WORKS();
}

TEST_F(abi, long_size_nonzero_tail)
{
	uint8_t buf[128];

	make(self, variant, buf, sizeof(buf), variant->size + 8);
	buf[variant->size + 7] = 1;
	EXPECT_EQ(-E2BIG, call(self, variant, buf));
	EXPECT_VALID_WORKS();
}

TEST_F(abi, long_size_zero_tail)
{
	uint8_t buf[128];

	make(self, variant, buf, sizeof(buf), variant->size + 8);
	EXPECT_EQ(0, call(self, variant, buf));
}

TEST_F(abi, huge_size_nonzero_tail)
{
	size_t len = 8192;
	uint8_t *big = calloc(1, len);
	uint8_t buf[128];

	ASSERT_NE(NULL, big);
	make(self, variant, big, len, len);
	big[len - 1] = 0xff;
	EXPECT_EQ(-E2BIG, call(self, variant, big));
	free(big);
	EXPECT_VALID_WORKS();
}

TEST_F(abi, reserved_fields)
{
	uint8_t buf[128];

	if (!variant->nr_res)
		SKIP(return, "no reserved fields in this struct");
	for (int i = 0; i < variant->nr_res; i++) {
		for (size_t b = 0; b < variant->res_len[i]; b++) {
			make(self, variant, buf, sizeof(buf), variant->size);
			buf[variant->res_off[i] + b] = 0x80;
			EXPECT_EQ(-EINVAL, call(self, variant, buf)) {
				TH_LOG("reserved byte %zu", b);
			}
		}
	}
	EXPECT_VALID_WORKS();
}

TEST_F(abi, unknown_flags)
{
	uint8_t buf[128];

	for (int bit = 0; bit < 32; bit++) {
		uint32_t flag = 1U << bit;

		if (variant->valid_flags & flag)
			continue;
		make(self, variant, buf, sizeof(buf), variant->size);
		memcpy(buf + 4, &flag, sizeof(flag));
		EXPECT_EQ(-EOPNOTSUPP, call(self, variant, buf)) {
			TH_LOG("flag bit %d", bit);
		}
	}
	EXPECT_VALID_WORKS();
}

TEST_F(abi, bad_fd_field)
{
	uint8_t buf[128];
	int32_t bad;

	if (variant->fd_off < 0)
		SKIP(return, "no fd field in this struct");
	make(self, variant, buf, sizeof(buf), variant->size);
	bad = -1;
	memcpy(buf + variant->fd_off, &bad, sizeof(bad));
	EXPECT_EQ(-EBADF, call(self, variant, buf));

	make(self, variant, buf, sizeof(buf), variant->size);
	bad = 1000000;
	memcpy(buf + variant->fd_off, &bad, sizeof(bad));
	EXPECT_EQ(-EBADF, call(self, variant, buf));

	/* An open fd of the wrong kind. */
	make(self, variant, buf, sizeof(buf), variant->size);
	bad = self->fds[OBJ_CTL];
	memcpy(buf + variant->fd_off, &bad, sizeof(bad));
	EXPECT_EQ(-EINVAL, call(self, variant, buf));
	EXPECT_VALID_WORKS();
}

TEST_F(abi, bad_pointer)
{
	uint8_t buf[128];

	EXPECT_EQ(-EFAULT, call(self, variant, NULL));
	EXPECT_EQ(-EFAULT, call(self, variant, self->unmapped));
	/* The size is readable, the rest is not. */
	{
		uint8_t *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		uint32_t size = variant->size;

		ASSERT_NE(MAP_FAILED, p);
		ASSERT_EQ(0, munmap(p + 4096, 4096));
		memcpy(p + 4096 - 4, &size, 4);
		EXPECT_EQ(-EFAULT, call(self, variant, p + 4096 - 4));
		munmap(p, 4096);
	}
	EXPECT_VALID_WORKS();
}

TEST_F(abi, readonly_struct)
{
	uint8_t buf[128];
	uint8_t *ro = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fds_before, fds_after;

	ASSERT_NE(MAP_FAILED, ro);
	make(self, variant, ro, 4096, variant->size);
	ASSERT_EQ(0, mprotect(ro, 4096, PROT_READ));
	fds_before = dup(0);
	close(fds_before);
	if (variant->has_out) {
		/* Nothing done, no fd left behind. */
		EXPECT_EQ(-EFAULT, call(self, variant, ro));
		fds_after = dup(0);
		close(fds_after);
		EXPECT_EQ(fds_before, fds_after);
		EXPECT_VALID_WORKS();
	} else {
		/* Input-only structs are never written. */
		EXPECT_EQ(0, call(self, variant, ro));
	}
	munmap(ro, 4096);
}

TEST_F(abi, wrong_object)
{
	uint8_t buf[128];

	make(self, variant, buf, sizeof(buf), variant->size);
	EXPECT_EQ(-ENOTTY, vbe_ioctl(self->fds[variant->wrong_obj],
				     variant->cmd, buf));
	EXPECT_EQ(-ENOTTY, vbe_ioctl(self->fds[OBJ_EVENTFD], variant->cmd,
				     buf));
	EXPECT_EQ(-EBADF, vbe_ioctl(-1, variant->cmd, buf));
	EXPECT_VALID_WORKS();
}

TEST_F(abi, unknown_ioctl)
{
	uint8_t buf[128] = { 0 };
	uint32_t size = sizeof(buf);

	memcpy(buf, &size, 4);
	EXPECT_EQ(-ENOTTY, vbe_ioctl(self->fds[variant->obj],
				     _IO(VIRTBE_TYPE, 0x3f), buf));
	EXPECT_EQ(-ENOTTY, vbe_ioctl(self->fds[variant->obj],
				     _IOWR(VIRTBE_TYPE, _IOC_NR(variant->cmd),
					   uint64_t), buf));
}

TEST_HARNESS_MAIN
