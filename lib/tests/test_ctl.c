// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * vbe_ctl, vbe_guest, vbe_mem: every wrapper against the fake kernel,
 * which checks the structure the way the ioctl documentation says (size,
 * flags, reserved fields) and records it.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fakehv.h"
#include "harness.h"
#include "internal.h"

static struct vbe_guest *setup(struct vbe_ctl **ctl)
{
	struct vbe_guest *g;

	vbe__ctl_path = "/dev/null";
	REQUIRE_EQ(vbe_ctl_open(ctl), 0);
	REQUIRE_EQ(vbe_guest_attach(*ctl, VIRTBE_HYP_SIM, 7, 250, &g), 0);
	return g;
}

#define LAST(type, cmd) ((const type *)fake_last(cmd)->arg)

static int hook_errno;
static unsigned long hook_cmd;

static int hook_fail(int fd, unsigned long cmd, void *arg)
{
	(void)fd;
	(void)arg;
	return cmd == hook_cmd ? -hook_errno : FAKE_PASS;
}

static void fail_next(unsigned long cmd, int err)
{
	hook_cmd = cmd;
	hook_errno = err;
	fake.hook = hook_fail;
}

TEST(ctl_open_close)
{
	struct vbe_ctl *ctl;

	vbe__ctl_path = "/nonexistent/virtbe";
	CHECK_EQ(vbe_ctl_open(&ctl), -ENOENT);
	vbe__ctl_path = "/dev/null";
	REQUIRE_EQ(vbe_ctl_open(&ctl), 0);
	CHECK(vbe_ctl_fd(ctl) >= 0);
	CHECK(fcntl(vbe_ctl_fd(ctl), F_GETFD) & FD_CLOEXEC);
	CHECK_EQ(fcntl(vbe_ctl_fd(ctl), F_GETFL) & O_ACCMODE, O_RDWR);
	vbe_ctl_close(ctl);
	vbe_ctl_close(NULL);
}

TEST(ctl_hyp_names)
{
	CHECK_EQ(vbe_hyp_from_name("sim"), VIRTBE_HYP_SIM);
	CHECK_EQ(vbe_hyp_from_name("xen"), VIRTBE_HYP_XEN);
	CHECK_EQ(vbe_hyp_from_name("kvm"), -EINVAL);
	CHECK_EQ(vbe_hyp_from_name(""), -EINVAL);
	CHECK_EQ(vbe_hyp_from_name(NULL), -EINVAL);
	CHECK(!strcmp(vbe_hyp_name(VIRTBE_HYP_SIM), "sim"));
	CHECK(!strcmp(vbe_hyp_name(VIRTBE_HYP_XEN), "xen"));
	CHECK(vbe_hyp_name(0) == NULL);
	CHECK(vbe_hyp_name(63) == NULL);
	CHECK(vbe_hyp_name(UINT32_MAX) == NULL);
}

TEST(ctl_get_info)
{
	struct vbe_ctl *ctl;
	struct virtbe_info info;
	const struct virtbe_info *a;

	vbe__ctl_path = "/dev/null";
	REQUIRE_EQ(vbe_ctl_open(&ctl), 0);
	memset(&info, 0xa5, sizeof(info));
	CHECK_EQ(vbe_ctl_get_info(ctl, VIRTBE_HYP_SIM, &info), 0);
	a = LAST(struct virtbe_info, VIRTBE_GET_INFO);
	CHECK_EQ(fake_last(VIRTBE_GET_INFO)->fd, vbe_ctl_fd(ctl));
	CHECK_EQ(a->size, sizeof(*a));
	CHECK_EQ(a->flags, 0);
	CHECK_EQ(a->hyp, VIRTBE_HYP_SIM);
	CHECK_EQ(a->__reserved, 0);
	CHECK_EQ(info.out_api_version, VIRTBE_API_VERSION);
	CHECK_EQ(info.out_hyps, 1ULL << VIRTBE_HYP_SIM);
	CHECK(info.out_hyp_features & VIRTBE_HYP_F_IRQ_LEVEL);
	/* errors come back as -errno */
	CHECK_EQ(vbe_ctl_get_info(ctl, VIRTBE_HYP_XEN, &info), -ENODEV);
	fail_next(VIRTBE_GET_INFO, EPERM);
	CHECK_EQ(vbe_ctl_get_info(ctl, 0, &info), -EPERM);
	vbe_ctl_close(ctl);
}

TEST(ctl_attach)
{
	struct vbe_ctl *ctl;
	struct vbe_guest *g, *g2;
	const struct virtbe_attach *a;
	struct virtbe_info info;

	g = setup(&ctl);
	a = LAST(struct virtbe_attach, VIRTBE_ATTACH);
	CHECK_EQ(a->size, sizeof(*a));
	CHECK_EQ(a->flags, 0);
	CHECK_EQ(a->hyp, VIRTBE_HYP_SIM);
	CHECK_EQ(a->request_timeout_ms, 250);
	CHECK_EQ(a->guest_id, 7);
	CHECK_EQ(a->__reserved, 0);
	CHECK_EQ(vbe_guest_fd(g), fake.guest_fd);
	CHECK_EQ(vbe_guest_nr_vcpus(g), 2);
	CHECK(fcntl(vbe_guest_fd(g), F_GETFL) & O_NONBLOCK);
	CHECK(vbe_guest_memtab(g) != NULL);
	CHECK_EQ(vbe_guest_get_info(g, 0, &info), 0);
	CHECK_EQ(fake_last(VIRTBE_GET_INFO)->fd, vbe_guest_fd(g));
	/* the kernel's answers */
	CHECK_EQ(vbe_guest_attach(ctl, VIRTBE_HYP_SIM, 7, 0, &g2), -ENOSPC);
	CHECK_EQ(vbe_guest_attach(ctl, VIRTBE_HYP_SIM, 7, 60001, &g2), -EINVAL);
	CHECK_EQ(vbe_guest_attach(ctl, VIRTBE_HYP_XEN, 7, 0, &g2), -ENODEV);
	fail_next(VIRTBE_ATTACH, ENOENT);
	CHECK_EQ(vbe_guest_attach(ctl, VIRTBE_HYP_SIM, 8, 0, &g2), -ENOENT);
	vbe_guest_close(g);
	vbe_guest_close(NULL);
	vbe_ctl_close(ctl);
}

TEST(ctl_guest_from_fd)
{
	struct vbe_guest *g;
	int sv[2];

	CHECK_EQ(vbe_guest_from_fd(-1, &g), -EBADF);
	CHECK_EQ(vbe_guest_from_fd(1000, &g), -EBADF);
	REQUIRE_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	REQUIRE_EQ(vbe_guest_from_fd(sv[0], &g), 0);
	CHECK_EQ(vbe_guest_fd(g), sv[0]);
	CHECK_EQ(vbe_guest_nr_vcpus(g), 0);
	CHECK(fcntl(sv[0], F_GETFL) & O_NONBLOCK);
	vbe_guest_close(g);
	CHECK(fcntl(sv[0], F_GETFD) < 0);	/* owned and closed */
	close(sv[1]);
}

TEST(ctl_mem_map)
{
	struct vbe_ctl *ctl;
	struct vbe_guest *g = setup(&ctl);
	const struct virtbe_mem_map *a;
	struct vbe_mem *m, *m2;
	uint8_t *drv;
	void *p;

	drv = fake_add_ram(0x80000000ULL, 0x200000);
	REQUIRE(drv);
	REQUIRE(fake_add_ram(0x100000000ULL, 0x10000));
	REQUIRE_EQ(vbe_mem_map(g, 0x80000000ULL, 0x200000, 0, &m), 0);
	a = LAST(struct virtbe_mem_map, VIRTBE_MEM_MAP);
	CHECK_EQ(a->size, sizeof(*a));
	CHECK_EQ(a->flags, 0);
	CHECK_EQ(a->gpa, 0x80000000ULL);
	CHECK_EQ(a->len, 0x200000);
	CHECK_EQ(a->__reserved, 0);
	CHECK_EQ(vbe_mem_gpa(m), 0x80000000ULL);
	CHECK_EQ(vbe_mem_len(m), 0x200000);
	CHECK(vbe_mem_fd(m) >= 0);
	/* the same pages as the guest's */
	drv[0x1234] = 0x5a;
	CHECK_EQ(((uint8_t *)vbe_mem_ptr(m))[0x1234], 0x5a);
	((uint8_t *)vbe_mem_ptr(m))[0x1fffff] = 0xa5;
	CHECK_EQ(drv[0x1fffff], 0xa5);
	/* ... and in the guest's translation table */
	CHECK_EQ(vbe_memtab_translate(vbe_guest_memtab(g), 0x80001234, 1,
				      true, &p), 0);
	CHECK(p == (uint8_t *)vbe_mem_ptr(m) + 0x1234);

	/* read-only */
	REQUIRE_EQ(vbe_mem_map(g, 0x100000000ULL, 0x10000,
			       VBE_MEM_RDONLY, &m2), 0);
	CHECK_EQ(LAST(struct virtbe_mem_map, VIRTBE_MEM_MAP)->flags,
		 VIRTBE_MEM_MAP_RDONLY);
	CHECK_EQ(vbe_memtab_translate(vbe_guest_memtab(g), 0x100000000ULL, 4,
				      false, &p), 0);
	CHECK_EQ(vbe_memtab_translate(vbe_guest_memtab(g), 0x100000000ULL, 4,
				      true, &p), -EFAULT);
	vbe_mem_unmap(m2);

	/* failures */
	CHECK_EQ(vbe_mem_map(g, 0x80000000ULL, 0, 0, &m2), -EINVAL);
	CHECK_EQ(vbe_mem_map(g, 0x80000000ULL, 4096, 2, &m2), -EOPNOTSUPP);
	CHECK_EQ(vbe_mem_map(g, 0x90000000ULL, 4096, 0, &m2), -ENXIO);
	fail_next(VIRTBE_MEM_MAP, ENOMEM);
	CHECK_EQ(vbe_mem_map(g, 0x80000000ULL, 0x200000, 0, &m2), -ENOMEM);
	fake.hook = NULL;
	/* overlapping an existing window: the memtab refuses it */
	CHECK_EQ(vbe_mem_map(g, 0x80000000ULL, 0x200000, 0, &m2), -EEXIST);

	vbe_mem_unmap(m);
	CHECK_EQ(vbe_memtab_translate(vbe_guest_memtab(g), 0x80001234, 1,
				      false, &p), -EFAULT);
	vbe_mem_unmap(NULL);
	/* a window outliving its guest can still be unmapped */
	REQUIRE_EQ(vbe_mem_map(g, 0x80000000ULL, 0x200000, 0, &m), 0);
	vbe_guest_close(g);
	vbe_mem_unmap(m);
	vbe_ctl_close(ctl);
}

TEST(ctl_ranges)
{
	struct vbe_ctl *ctl;
	struct vbe_guest *g = setup(&ctl);
	const struct virtbe_range *a;

	CHECK_EQ(vbe_guest_claim_range(g, 0x1000, 0x200, 0), 0);
	a = LAST(struct virtbe_range, VIRTBE_CLAIM_RANGE);
	CHECK_EQ(a->size, sizeof(*a));
	CHECK_EQ(a->flags, 0);
	CHECK_EQ(a->addr, 0x1000);
	CHECK_EQ(a->len, 0x200);
	CHECK_EQ(vbe_guest_claim_range(g, 0x1100, 0x200, 0), -EEXIST);
	CHECK_EQ(vbe_guest_claim_range(g, 0x1000, 0x200, VIRTBE_RANGE_RELEASE),
		 -EINVAL);
	CHECK_EQ(vbe_guest_claim_range(g, 0x3000, 8, VIRTBE_RANGE_PIO),
		 -EOPNOTSUPP);
	CHECK_EQ(LAST(struct virtbe_range, VIRTBE_CLAIM_RANGE)->flags,
		 VIRTBE_RANGE_PIO);
	CHECK_EQ(vbe_guest_release_range(g, 0x1000, 0x100, 0), -ENOENT);
	CHECK_EQ(vbe_guest_release_range(g, 0x1000, 0x200, 0), 0);
	a = LAST(struct virtbe_range, VIRTBE_CLAIM_RANGE);
	CHECK_EQ(a->flags, VIRTBE_RANGE_RELEASE);
	CHECK_EQ(a->addr, 0x1000);
	CHECK_EQ(a->len, 0x200);
	CHECK_EQ(fake.nranges, 0);
	vbe_guest_close(g);
	vbe_ctl_close(ctl);
}

TEST(ctl_ioeventfd)
{
	struct vbe_ctl *ctl;
	struct vbe_guest *g = setup(&ctl);
	const struct virtbe_ioeventfd *a;
	int efd = eventfd(0, EFD_CLOEXEC), efd2 = eventfd(0, EFD_CLOEXEC);

	CHECK_EQ(vbe_guest_assign_ioeventfd(g, efd, 0x1050, 4,
					    VIRTBE_IOEVENTFD_DATAMATCH, 3), 0);
	a = LAST(struct virtbe_ioeventfd, VIRTBE_IOEVENTFD);
	CHECK_EQ(a->size, sizeof(*a));
	CHECK_EQ(a->flags, VIRTBE_IOEVENTFD_DATAMATCH);
	CHECK_EQ(a->fd, efd);
	CHECK_EQ(a->len, 4);
	CHECK_EQ(a->addr, 0x1050);
	CHECK_EQ(a->datamatch, 3);
	CHECK_EQ(a->__reserved, 0);
	/* same register, other value: fine; same value: conflict */
	CHECK_EQ(vbe_guest_assign_ioeventfd(g, efd2, 0x1050, 4,
					    VIRTBE_IOEVENTFD_DATAMATCH, 4), 0);
	CHECK_EQ(vbe_guest_assign_ioeventfd(g, efd2, 0x1050, 4,
					    VIRTBE_IOEVENTFD_DATAMATCH, 3),
		 -EEXIST);
	CHECK_EQ(vbe_guest_assign_ioeventfd(g, efd2, 0x1050, 4,
					    VIRTBE_IOEVENTFD_DEASSIGN, 3),
		 -EINVAL);
	CHECK_EQ(vbe_guest_assign_ioeventfd(g, -1, 0x2000, 4, 0, 0), -EBADF);
	CHECK_EQ(vbe_guest_deassign_ioeventfd(g, efd, 0x1050, 4,
					      VIRTBE_IOEVENTFD_DATAMATCH, 4),
		 -ENOENT);
	CHECK_EQ(vbe_guest_deassign_ioeventfd(g, efd, 0x1050, 4,
					      VIRTBE_IOEVENTFD_DATAMATCH, 3), 0);
	a = LAST(struct virtbe_ioeventfd, VIRTBE_IOEVENTFD);
	CHECK_EQ(a->flags,
		 VIRTBE_IOEVENTFD_DATAMATCH | VIRTBE_IOEVENTFD_DEASSIGN);
	CHECK_EQ(a->datamatch, 3);
	CHECK_EQ(fake.nioev, 1);
	vbe_guest_close(g);
	vbe_ctl_close(ctl);
	close(efd);
	close(efd2);
}

TEST(ctl_irqfd)
{
	struct vbe_ctl *ctl;
	struct vbe_guest *g = setup(&ctl);
	const struct virtbe_irqfd *a;
	int e[5], i;

	for (i = 0; i < 5; i++)
		e[i] = eventfd(0, EFD_CLOEXEC);
	CHECK_EQ(vbe_guest_assign_irqfd_edge(g, e[0], 33), 0);
	a = LAST(struct virtbe_irqfd, VIRTBE_IRQFD);
	CHECK_EQ(a->size, sizeof(*a));
	CHECK_EQ(a->flags, 0);
	CHECK_EQ(a->fd, e[0]);
	CHECK_EQ(a->resamplefd, -1);
	CHECK_EQ(a->type, VIRTBE_IRQ_EDGE);
	CHECK_EQ(a->irq, 33);
	CHECK_EQ(a->msi_addr, 0);
	CHECK_EQ(a->msi_data, 0);
	CHECK_EQ(a->isr_bits, 0);
	CHECK_EQ(a->vmmio_base, 0);

	CHECK_EQ(vbe_guest_assign_irqfd_level(g, e[1], e[2], 34), 0);
	a = LAST(struct virtbe_irqfd, VIRTBE_IRQFD);
	CHECK_EQ(a->type, VIRTBE_IRQ_LEVEL);
	CHECK_EQ(a->fd, e[1]);
	CHECK_EQ(a->resamplefd, e[2]);
	CHECK_EQ(a->irq, 34);

	CHECK_EQ(vbe_guest_assign_irqfd_evtchn(g, e[3], 17), 0);
	a = LAST(struct virtbe_irqfd, VIRTBE_IRQFD);
	CHECK_EQ(a->type, VIRTBE_IRQ_EVTCHN);
	CHECK_EQ(a->irq, 17);
	CHECK_EQ(a->resamplefd, -1);

	CHECK_EQ(vbe_guest_assign_irqfd_msi(g, e[4], 0xfee01000, 0x4021), 0);
	a = LAST(struct virtbe_irqfd, VIRTBE_IRQFD);
	CHECK_EQ(a->type, VIRTBE_IRQ_MSI);
	CHECK_EQ(a->irq, 0);
	CHECK_EQ(a->msi_addr, 0xfee01000);
	CHECK_EQ(a->msi_data, 0x4021);
	CHECK_EQ(a->resamplefd, -1);
	CHECK_EQ(fake.nirq, 4);

	CHECK_EQ(vbe_guest_assign_irqfd_edge(g, e[0], 35), -EBUSY);
	CHECK_EQ(vbe_guest_assign_irqfd_level(g, e[0], -1, 35), -EBADF);
	CHECK_EQ(vbe_guest_deassign_irqfd(g, e[3]), 0);
	a = LAST(struct virtbe_irqfd, VIRTBE_IRQFD);
	CHECK_EQ(a->flags, VIRTBE_IRQFD_DEASSIGN);
	CHECK_EQ(a->fd, e[3]);
	CHECK_EQ(vbe_guest_deassign_irqfd(g, e[3]), -ENOENT);
	CHECK_EQ(fake.nirq, 3);
	vbe_guest_close(g);
	vbe_ctl_close(ctl);
}

/* The fake kernel checks VIRTBE_IRQFD_VIRTIO_MMIO as the kernel does. */
TEST(ctl_irqfd_virtio_mmio_rules)
{
	struct vbe_ctl *ctl;
	struct vbe_guest *g = setup(&ctl);
	int e[3], i;
	struct virtbe_irqfd a;

	for (i = 0; i < 3; i++)
		e[i] = eventfd(0, EFD_CLOEXEC);
#define VMMIO(fd_, irq_, base_, bits_)					\
	(a = (struct virtbe_irqfd){ .size = sizeof(a),			\
		.flags = VIRTBE_IRQFD_VIRTIO_MMIO, .fd = (fd_),		\
		.resamplefd = -1, .type = VIRTBE_IRQ_EDGE, .irq = (irq_), \
		.vmmio_base = (base_), .isr_bits = (bits_) },		\
	 vbe__irqfd(g, &a))
	CHECK_EQ(vbe__guest_features(g) & VIRTBE_F_VIRTIO_MMIO_ISR,
		 VIRTBE_F_VIRTIO_MMIO_ISR);
	/* the first 256 bytes must be inside a claimed range */
	CHECK_EQ(VMMIO(e[0], 6, 0x10000000, 1), -EINVAL);
	REQUIRE_EQ(vbe_guest_claim_range(g, 0x10000000, 0x200, 0), 0);
	CHECK_EQ(VMMIO(e[0], 6, 0x10000000, 0), -EINVAL);
	CHECK_EQ(VMMIO(e[0], 6, 0x10000000, 4), -EINVAL);
	CHECK_EQ(VMMIO(e[0], 6, 0x10000010, 1), -EINVAL);
	CHECK_EQ(VMMIO(e[0], 6, 0x10000180, 1), -EINVAL);
	CHECK_EQ(VMMIO(e[0], 6, 0x10000100, 1), 0);
	CHECK_EQ(VMMIO(e[1], 6, 0x10000100, 2), 0);
	/* one device, one interrupt */
	CHECK_EQ(VMMIO(e[2], 7, 0x10000100, 1), -EINVAL);
	CHECK_EQ(fake.nvmmio, 1);
	/* the fields are 0 without the flag */
	a.flags = 0;
	CHECK_EQ(vbe__irqfd(g, &a), -EINVAL);
	a.isr_bits = 0;
	CHECK_EQ(vbe__irqfd(g, &a), -EINVAL);
	CHECK_EQ(vbe_guest_deassign_irqfd(g, e[0]), 0);
	CHECK_EQ(fake.nvmmio, 1);
	CHECK_EQ(vbe_guest_deassign_irqfd(g, e[1]), 0);
	CHECK_EQ(fake.nvmmio, 0);
#undef VMMIO
	for (i = 0; i < 3; i++)
		close(e[i]);
	vbe_guest_close(g);
	vbe_ctl_close(ctl);
}

TEST(ctl_stats)
{
	struct vbe_ctl *ctl;
	struct vbe_guest *g = setup(&ctl);
	struct virtbe_stats st;

	fake.stats.out_requests = 11;
	fake.stats.out_irqs = 5;
	CHECK_EQ(vbe_guest_get_stats(g, &st), 0);
	CHECK_EQ(LAST(struct virtbe_stats, VIRTBE_GET_STATS)->size,
		 sizeof(st));
	CHECK_EQ(LAST(struct virtbe_stats, VIRTBE_GET_STATS)->flags, 0);
	CHECK_EQ(st.out_requests, 11);
	CHECK_EQ(st.out_irqs, 5);
	/* the default (@@LIBVIRTBE_2.2): the whole struct */
	fake.stats.out_rejected = 7;
	CHECK_EQ(vbe_guest_get_stats(g, &st), 0);
	CHECK_EQ(st.out_rejected, 7);
	CHECK_EQ(st.size, sizeof(st));
	CHECK(vbe__get_stats_v2_2 == vbe_guest_get_stats);
	/* @LIBVIRTBE_2.0, for programs built before 2.2: up to out_irqs */
	st.out_rejected = 0x5a5a;
	CHECK_EQ(vbe__get_stats_v2_0(g, &st), 0);
	CHECK_EQ(st.out_rejected, 0x5a5a);
	CHECK_EQ(st.out_irqs, 5);
	CHECK_EQ(st.size, 64);
	/* by size: all of it, or the first version only */
	CHECK_EQ(vbe_guest_get_stats_sized(g, &st, sizeof(st)), 0);
	CHECK_EQ(st.out_rejected, 7);
	CHECK_EQ(st.size, sizeof(st));
	st.out_rejected = 0x5a5a;
	CHECK_EQ(vbe_guest_get_stats_sized(g, &st, 64), 0);
	CHECK_EQ(st.out_rejected, 0x5a5a);
	CHECK_EQ(st.out_irqs, 5);
	CHECK_EQ(vbe_guest_get_stats_sized(g, &st, 63), -EINVAL);
	fail_next(VIRTBE_GET_STATS, ENODEV);
	CHECK_EQ(vbe_guest_get_stats(g, &st), -ENODEV);
	vbe_guest_close(g);
	vbe_ctl_close(ctl);
}

TEST(ctl_read_requests)
{
	struct vbe_ctl *ctl;
	struct vbe_guest *g = setup(&ctl);
	struct virtbe_request reqs[4], bad = { .size = 48 };
	uint64_t id;

	CHECK_EQ(vbe_guest_read_requests(g, reqs, 0), -EINVAL);
	CHECK_EQ(vbe_guest_read_requests(g, reqs, 4), -EAGAIN);
	REQUIRE_EQ(fake_access_send(1, 0x1000, 4, false, 0, &id), 0);
	REQUIRE_EQ(fake_access_send(0, 0x1004, 2, true, 0xbeef, NULL), 0);
	CHECK_EQ(vbe_guest_read_requests(g, reqs, 4), 2);
	CHECK_EQ(reqs[0].id, id);
	CHECK_EQ(reqs[0].vcpu, 1);
	CHECK_EQ(reqs[0].addr, 0x1000);
	CHECK_EQ(reqs[0].flags, 0);
	CHECK_EQ(reqs[1].flags, VIRTBE_REQ_WRITE);
	CHECK_EQ(reqs[1].len, 2);
	CHECK_EQ(reqs[1].data, 0xbeef);
	/* a record of another size: the library refuses to guess */
	REQUIRE_EQ(write(fake.peer_fd, &bad, sizeof(bad)), sizeof(bad));
	CHECK_EQ(vbe_guest_read_requests(g, reqs, 4), -EPROTO);
	/* end of file once the guest is gone */
	fake_hangup();
	CHECK_EQ(vbe_guest_read_requests(g, reqs, 4), 0);
	vbe_guest_close(g);
	vbe_ctl_close(ctl);
}

/* The kernel model of write(): stop at an id it does not know. */
static uint64_t bad_id;
static unsigned int writes;

ssize_t __real_write(int fd, const void *buf, size_t len);

/* Deliver the first @n records; a short write if @n < the whole. */
static long consume(int fd, const void *buf, unsigned long n, long err)
{
	if (!n)
		return err;
	return __real_write(fd, buf, n * sizeof(struct virtbe_completion));
}

static long write_hook(int fd, const void *buf, unsigned long len)
{
	const struct virtbe_completion *c = buf;
	unsigned long i, n = len / sizeof(*c);

	writes++;
	if (len % sizeof(*c))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (c[i].size != sizeof(*c) || c[i].flags || c[i].__reserved)
			return consume(fd, buf, i, -EINVAL);
		if (c[i].id == bad_id)
			return consume(fd, buf, i, -ENOENT);
	}
	return FAKE_PASS;
}

TEST(ctl_complete)
{
	struct vbe_ctl *ctl;
	struct vbe_guest *g = setup(&ctl);
	struct virtbe_completion comps[5], c;
	unsigned int i;

	CHECK_EQ(vbe_guest_complete(g, 42, 0x1234), 0);
	REQUIRE_EQ(fake_recv_completion(&c, 1000), 0);
	CHECK_EQ(c.size, sizeof(c));
	CHECK_EQ(c.flags, 0);
	CHECK_EQ(c.id, 42);
	CHECK_EQ(c.data, 0x1234);
	CHECK_EQ(c.__reserved, 0);

	/* a rejected id in the middle does not stop the others */
	fake.write_hook = write_hook;
	bad_id = 102;
	memset(comps, 0xff, sizeof(comps));	/* garbage the library fixes */
	for (i = 0; i < 5; i++) {
		comps[i].id = 100 + i;
		comps[i].data = i;
	}
	CHECK_EQ(vbe_guest_complete_batch(g, comps, 5), -ENOENT);
	CHECK_EQ(writes, 3);	/* [100 101] | 102 rejected | [103 104] */
	for (i = 0; i < 5; i++) {
		if (i == 2)
			continue;
		REQUIRE_EQ(fake_recv_completion(&c, 1000), 0);
		CHECK_EQ(c.id, 100 + i);
		CHECK_EQ(c.data, i);
	}
	CHECK_EQ(fake_recv_completion(&c, 10), -ETIMEDOUT);
	bad_id = 42;
	CHECK_EQ(vbe_guest_complete(g, 42, 0), -ENOENT);
	CHECK_EQ(vbe_guest_complete_batch(g, comps, 0), 0);
	vbe_guest_close(g);
	vbe_ctl_close(ctl);
}

static long write_hook_dead(int fd, const void *buf, unsigned long len)
{
	(void)fd;
	(void)buf;
	(void)len;
	return -ENODEV;
}

TEST(ctl_complete_guest_gone)
{
	struct vbe_ctl *ctl;
	struct vbe_guest *g = setup(&ctl);
	struct virtbe_completion comps[2] = { { .id = 1 }, { .id = 2 } };

	fake.write_hook = write_hook_dead;
	CHECK_EQ(vbe_guest_complete_batch(g, comps, 2), -ENODEV);
	CHECK_EQ(vbe_guest_complete(g, 1, 0), -ENODEV);
	vbe_guest_close(g);
	vbe_ctl_close(ctl);
}

TEST(ctl_struct_sizes)
{
	/* the layouts the library was built against */
	CHECK_EQ(sizeof(struct virtbe_info), 48);
	CHECK_EQ(sizeof(struct virtbe_attach), 32);
	CHECK_EQ(sizeof(struct virtbe_mem_map), 32);
	CHECK_EQ(sizeof(struct virtbe_range), 24);
	CHECK_EQ(sizeof(struct virtbe_ioeventfd), 40);
	CHECK_EQ(sizeof(struct virtbe_irqfd), 48);
	CHECK_EQ(sizeof(struct virtbe_stats), 72);
	CHECK_EQ(sizeof(struct virtbe_request), 64);
	CHECK_EQ(sizeof(struct virtbe_completion), 32);
}
