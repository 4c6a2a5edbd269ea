// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fakehv.h"

struct fakehv fake = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.guest_fd = -1,
	.peer_fd = -1,
	.nr_vcpus = 2,
};

int __real_ioctl(int fd, unsigned long cmd, ...);
ssize_t __real_write(int fd, const void *buf, size_t len);

void fake_reset(void)
{
	pthread_mutex_lock(&fake.lock);
	fake.ncalls = 0;
	fake.hook = NULL;
	fake.write_hook = NULL;
	fake.nranges = fake.nioev = fake.nirq = fake.nvmmio = fake.nlines = 0;
	fake.no_vmmio_isr = false;
	memset(&fake.stats, 0, sizeof(fake.stats));
	pthread_mutex_unlock(&fake.lock);
}

void *fake_add_ram(uint64_t gpa, uint64_t len)
{
	struct fake_ram *r = &fake.ram[fake.nram];
	int fd = memfd_create("fake-ram", MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, (off_t)len))
		return NULL;
	r->ptr = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (r->ptr == MAP_FAILED)
		return NULL;
	r->gpa = gpa;
	r->len = len;
	r->memfd = fd;
	fake.nram++;
	return r->ptr;
}

void *fake_gpa(uint64_t gpa)
{
	unsigned int i;

	for (i = 0; i < fake.nram; i++)
		if (gpa >= fake.ram[i].gpa &&
		    gpa - fake.ram[i].gpa < fake.ram[i].len)
			return (char *)fake.ram[i].ptr + (gpa - fake.ram[i].gpa);
	return NULL;
}

const struct fake_call *fake_last(unsigned long cmd)
{
	unsigned int i = fake.ncalls;

	while (i--)
		if (fake.calls[i].cmd == cmd)
			return &fake.calls[i];
	return NULL;
}

unsigned int fake_count(unsigned long cmd)
{
	unsigned int i, n = 0;

	for (i = 0; i < fake.ncalls; i++)
		n += fake.calls[i].cmd == cmd;
	return n;
}

static size_t arg_size(unsigned long cmd)
{
	switch (cmd) {
	case VIRTBE_GET_INFO: return sizeof(struct virtbe_info);
	case VIRTBE_ATTACH: return sizeof(struct virtbe_attach);
	case VIRTBE_MEM_MAP: return sizeof(struct virtbe_mem_map);
	case VIRTBE_CLAIM_RANGE: return sizeof(struct virtbe_range);
	case VIRTBE_IOEVENTFD: return sizeof(struct virtbe_ioeventfd);
	case VIRTBE_IRQFD: return sizeof(struct virtbe_irqfd);
	case VIRTBE_GET_STATS: return sizeof(struct virtbe_stats);
	}
	return 0;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a <= b + (blen - 1) && b <= a + (alen - 1);
}

static int do_info(struct virtbe_info *a)
{
	if (a->flags)
		return -EOPNOTSUPP;
	if (a->__reserved)
		return -EINVAL;
	if (a->hyp && a->hyp != VIRTBE_HYP_SIM)
		return -ENODEV;
	a->out_api_version = VIRTBE_API_VERSION;
	a->out_max_vcpus = 256;
	a->out_features = VIRTBE_F_REQUEST_CHANNEL | VIRTBE_F_IOEVENTFD |
			  VIRTBE_F_IRQFD | VIRTBE_F_MEM_FD;
	if (!fake.no_vmmio_isr)
		a->out_features |= VIRTBE_F_VIRTIO_MMIO_ISR;
	a->out_hyps = 1ULL << VIRTBE_HYP_SIM;
	a->out_hyp_features = a->hyp ? VIRTBE_HYP_F_MMIO |
		VIRTBE_HYP_F_IRQ_EDGE | VIRTBE_HYP_F_IRQ_LEVEL |
		VIRTBE_HYP_F_IRQ_EVTCHN | VIRTBE_HYP_F_IRQ_MSI : 0;
	return 0;
}

static int do_attach(int fd, struct virtbe_attach *a)
{
	int sv[2];

	if (fd == fake.guest_fd)
		return -ENOTTY;
	if (a->flags)
		return -EOPNOTSUPP;
	if (a->__reserved || a->request_timeout_ms > 60000)
		return -EINVAL;
	if (a->hyp != VIRTBE_HYP_SIM)
		return -ENODEV;
	/*
	 * The fake models one attachment: a second one gets what the kernel
	 * answers when the hypervisor has no room for another (the kernel
	 * itself takes any number: VIRTBE_F_MULTI_ATTACH, not reported here).
	 */
	if (fake.guest_fd >= 0)
		return -ENOSPC;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -errno;
	fake.guest_fd = sv[0];
	fake.peer_fd = sv[1];
	a->out_nr_vcpus = fake.nr_vcpus;
	return sv[0];
}

static int do_mem_map(struct virtbe_mem_map *a)
{
	unsigned int i;

	if (a->flags & ~VIRTBE_MEM_MAP_RDONLY)
		return -EOPNOTSUPP;
	if (a->__reserved || !a->len || (a->gpa | a->len) & 4095)
		return -EINVAL;
	for (i = 0; i < fake.nram; i++)
		if (fake.ram[i].gpa == a->gpa && fake.ram[i].len == a->len)
			return fcntl(fake.ram[i].memfd, F_DUPFD_CLOEXEC, 0);
	return -ENXIO;
}

static int do_range(struct virtbe_range *a)
{
	unsigned int i;

	if (a->flags & ~(VIRTBE_RANGE_PIO | VIRTBE_RANGE_RELEASE))
		return -EOPNOTSUPP;
	if (a->flags & VIRTBE_RANGE_PIO)
		return -EOPNOTSUPP;
	if (!a->len || a->addr > UINT64_MAX - (a->len - 1))
		return -EINVAL;
	if (a->flags & VIRTBE_RANGE_RELEASE) {
		for (i = 0; i < fake.nranges; i++) {
			if (fake.ranges[i].addr == a->addr &&
			    fake.ranges[i].len == a->len) {
				fake.ranges[i] = fake.ranges[--fake.nranges];
				return 0;
			}
		}
		return -ENOENT;
	}
	for (i = 0; i < fake.nranges; i++)
		if (overlaps(a->addr, a->len, fake.ranges[i].addr,
			     fake.ranges[i].len))
			return -EEXIST;
	if (fake.nranges == FAKE_MAX)
		return -ENOSPC;
	fake.ranges[fake.nranges++] = (struct fake_range){
		a->addr, a->len, a->flags };
	return 0;
}

static int do_ioeventfd(struct virtbe_ioeventfd *a)
{
	const uint32_t known = VIRTBE_IOEVENTFD_DATAMATCH |
			       VIRTBE_IOEVENTFD_PIO | VIRTBE_IOEVENTFD_DEASSIGN;
	uint32_t match = a->flags & ~VIRTBE_IOEVENTFD_DEASSIGN;
	struct fake_ioeventfd *e;
	unsigned int i;

	if (a->flags & ~known)
		return -EOPNOTSUPP;
	if (a->__reserved || (a->len != 0 && a->len != 1 && a->len != 2 &&
			      a->len != 4 && a->len != 8))
		return -EINVAL;
	if (!(a->flags & VIRTBE_IOEVENTFD_DATAMATCH) && a->datamatch)
		return -EINVAL;
	if (a->fd < 0 || fcntl(a->fd, F_GETFD) < 0)
		return -EBADF;
	if (a->flags & VIRTBE_IOEVENTFD_DEASSIGN) {
		for (i = 0; i < fake.nioev; i++) {
			e = &fake.ioev[i];
			if (e->fd == a->fd && e->addr == a->addr &&
			    e->len == a->len && e->flags == match &&
			    e->datamatch == a->datamatch) {
				*e = fake.ioev[--fake.nioev];
				return 0;
			}
		}
		return -ENOENT;
	}
	for (i = 0; i < fake.nioev; i++) {
		e = &fake.ioev[i];
		if (!overlaps(e->addr, e->len ? e->len : 8, a->addr,
			      a->len ? a->len : 8))
			continue;
		if ((e->flags & a->flags & VIRTBE_IOEVENTFD_DATAMATCH) &&
		    e->addr == a->addr && e->len == a->len &&
		    e->datamatch != a->datamatch)
			continue;
		return -EEXIST;
	}
	if (fake.nioev == FAKE_MAX)
		return -ENOSPC;
	fake.ioev[fake.nioev++] = (struct fake_ioeventfd){
		.fd = a->fd, .len = a->len, .flags = match,
		.addr = a->addr, .datamatch = a->datamatch };
	return 0;
}

/* Interrupts (see fakehv.h); all with fake.lock held. */

static struct fake_line *line_get(uint32_t type, uint32_t irq)
{
	struct fake_line *l;
	unsigned int i;

	for (i = 0; i < fake.nlines; i++)
		if (fake.lines[i].type == type && fake.lines[i].irq == irq)
			return &fake.lines[i];
	if (fake.nlines == FAKE_MAX)
		abort();
	l = &fake.lines[fake.nlines++];
	*l = (struct fake_line){ .type = type, .irq = irq };
	return l;
}

static struct fake_vmmio *vmmio_find(uint64_t base)
{
	unsigned int i;

	for (i = 0; i < fake.nvmmio; i++)
		if (fake.vmmio[i].base == base)
			return &fake.vmmio[i];
	return NULL;
}

/* What the kernel's wakeup callback does for each signal, done late. */
static void fake_sync(bool all)
{
	struct fake_irqfd *e;
	struct fake_vmmio *v;
	struct pollfd p;
	uint64_t cnt;
	unsigned int i;

	for (i = 0; i < fake.nirq; i++) {
		e = &fake.irq[i];
		if (!all && !(e->flags & VIRTBE_IRQFD_VIRTIO_MMIO))
			continue;
		p = (struct pollfd){ .fd = e->fd, .events = POLLIN };
		if (poll(&p, 1, 0) != 1 || read(e->fd, &cnt, 8) != 8)
			continue;
		v = e->flags & VIRTBE_IRQFD_VIRTIO_MMIO ?
			vmmio_find(e->vmmio_base) : NULL;
		if (v)
			v->isr |= e->isr_bits;
		line_get(e->type, e->irq)->pending++;
		fake.stats.out_irqs++;
	}
}

static bool range_claimed(uint64_t addr, uint64_t len)
{
	unsigned int i;

	for (i = 0; i < fake.nranges; i++)
		if (addr >= fake.ranges[i].addr &&
		    addr - fake.ranges[i].addr < fake.ranges[i].len &&
		    fake.ranges[i].len - (addr - fake.ranges[i].addr) >= len)
			return true;
	return false;
}

static int vmmio_get(const struct virtbe_irqfd *a)
{
	struct fake_vmmio *v = vmmio_find(a->vmmio_base);

	if (v) {
		/* One device, one interrupt. */
		if (v->type != a->type || v->irq != a->irq ||
		    v->msi_addr != a->msi_addr || v->msi_data != a->msi_data)
			return -EINVAL;
		v->users++;
		return 0;
	}
	if (fake.nvmmio == FAKE_MAX)
		return -ENOSPC;
	fake.vmmio[fake.nvmmio++] = (struct fake_vmmio){
		.base = a->vmmio_base, .users = 1, .type = a->type,
		.irq = a->irq, .msi_addr = a->msi_addr,
		.msi_data = a->msi_data };
	return 0;
}

/* The last irqfd naming the device is gone: so is its InterruptStatus. */
static void vmmio_put(uint64_t base)
{
	struct fake_vmmio *v = vmmio_find(base);

	if (v && !--v->users)
		*v = fake.vmmio[--fake.nvmmio];
}

static int do_irqfd(struct virtbe_irqfd *a)
{
	unsigned int i;
	int ret;

	if (a->flags & ~(VIRTBE_IRQFD_DEASSIGN | VIRTBE_IRQFD_VIRTIO_MMIO))
		return -EOPNOTSUPP;
	if (a->fd < 0 || fcntl(a->fd, F_GETFD) < 0)
		return -EBADF;
	if (a->flags & VIRTBE_IRQFD_DEASSIGN) {
		/* Signals before the deassignment were delivered. */
		fake_sync(false);
		for (i = 0; i < fake.nirq; i++) {
			if (fake.irq[i].fd == a->fd) {
				if (fake.irq[i].flags & VIRTBE_IRQFD_VIRTIO_MMIO)
					vmmio_put(fake.irq[i].vmmio_base);
				fake.irq[i] = fake.irq[--fake.nirq];
				return 0;
			}
		}
		return -ENOENT;
	}
	switch (a->type) {
	case VIRTBE_IRQ_LEVEL:
		if (a->resamplefd < 0 || fcntl(a->resamplefd, F_GETFD) < 0)
			return -EBADF;
		/* fallthrough */
	case VIRTBE_IRQ_EDGE:
	case VIRTBE_IRQ_EVTCHN:
		if (a->msi_addr || a->msi_data)
			return -EINVAL;
		break;
	case VIRTBE_IRQ_MSI:
		if (a->irq)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	if (a->type != VIRTBE_IRQ_LEVEL && a->resamplefd != -1)
		return -EINVAL;
	if (a->flags & VIRTBE_IRQFD_VIRTIO_MMIO) {
		if (!a->isr_bits || (a->isr_bits & ~(VIRTBE_VIRTIO_ISR_USED |
						     VIRTBE_VIRTIO_ISR_CONFIG)))
			return -EINVAL;
		if (a->vmmio_base % 0x100 || !range_claimed(a->vmmio_base, 0x100))
			return -EINVAL;
	} else if (a->isr_bits || a->vmmio_base) {
		return -EINVAL;
	}
	for (i = 0; i < fake.nirq; i++)
		if (fake.irq[i].fd == a->fd)
			return -EBUSY;
	if (fake.nirq == FAKE_MAX)
		return -ENOSPC;
	if (a->flags & VIRTBE_IRQFD_VIRTIO_MMIO) {
		ret = vmmio_get(a);
		if (ret)
			return ret;
	}
	fake.irq[fake.nirq++] = (struct fake_irqfd){
		.fd = a->fd, .resamplefd = a->resamplefd, .type = a->type,
		.irq = a->irq, .msi_addr = a->msi_addr,
		.msi_data = a->msi_data,
		.flags = a->flags & VIRTBE_IRQFD_VIRTIO_MMIO,
		.isr_bits = a->isr_bits, .vmmio_base = a->vmmio_base };
	return 0;
}

static int fake_default(int fd, unsigned long cmd, void *arg)
{
	size_t size = arg_size(cmd);
	uint32_t usize;

	if (!size)
		return -ENOTTY;
	memcpy(&usize, arg, sizeof(usize));
	if (usize < size)
		return -EINVAL;
	if (usize > size)
		return -E2BIG;
	if (cmd != VIRTBE_GET_INFO && cmd != VIRTBE_ATTACH &&
	    fd != fake.guest_fd)
		return -ENOTTY;

	switch (cmd) {
	case VIRTBE_GET_INFO:
		return do_info(arg);
	case VIRTBE_ATTACH:
		return do_attach(fd, arg);
	case VIRTBE_MEM_MAP:
		return do_mem_map(arg);
	case VIRTBE_CLAIM_RANGE:
		return do_range(arg);
	case VIRTBE_IOEVENTFD:
		return do_ioeventfd(arg);
	case VIRTBE_IRQFD:
		return do_irqfd(arg);
	case VIRTBE_GET_STATS: {
		struct virtbe_stats *s = arg;

		if (s->flags)
			return -EOPNOTSUPP;
		*s = fake.stats;
		s->size = sizeof(*s);
		return 0;
	}
	}
	return -ENOTTY;
}

int __wrap_ioctl(int fd, unsigned long cmd, ...)
{
	struct fake_call *c;
	va_list ap;
	void *arg;
	size_t size;
	int ret;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);

	pthread_mutex_lock(&fake.lock);
	if (fake.ncalls < sizeof(fake.calls) / sizeof(fake.calls[0])) {
		c = &fake.calls[fake.ncalls++];
		c->fd = fd;
		c->cmd = cmd;
		size = arg_size(cmd);
		memset(c->arg, 0, sizeof(c->arg));
		if (size)
			memcpy(c->arg, arg, size);
	}
	ret = fake.hook ? fake.hook(fd, cmd, arg) : FAKE_PASS;
	if (ret == FAKE_PASS)
		ret = fake_default(fd, cmd, arg);
	pthread_mutex_unlock(&fake.lock);
	if (ret < 0) {
		errno = -ret;
		return -1;
	}
	return ret;
}

ssize_t __wrap_write(int fd, const void *buf, size_t len)
{
	long ret = FAKE_PASS;

	if (fake.write_hook && fd == fake.guest_fd)
		ret = fake.write_hook(fd, buf, len);
	if (ret == FAKE_PASS)
		return __real_write(fd, buf, len);
	if (ret < 0) {
		errno = (int)-ret;
		return -1;
	}
	return ret;
}

/*
 * The kernel answers InterruptStatus/InterruptACK of the devices it keeps,
 * and a write of 0 to Status (a reset) clears their InterruptStatus before
 * it goes on to userspace (kernel/vmmio.c, virtbe_vmmio_access()).
 */
static bool vmmio_access(uint64_t addr, uint32_t len, bool write,
			 uint64_t data, uint64_t *val)
{
	unsigned int i;
	struct fake_vmmio *v;

	if (len != 4)
		return false;
	for (i = 0; i < fake.nvmmio; i++) {
		v = &fake.vmmio[i];
		if (!write && addr == v->base + 0x60) {
			fake_sync(false);
			if (val)
				*val = v->isr;
			return true;
		}
		if (write && addr == v->base + 0x64) {
			fake_sync(false);
			v->isr &= ~(uint32_t)data;
			return true;
		}
		if (write && !data && addr == v->base + 0x70) {
			fake_sync(false);
			v->isr = 0;
			return false;
		}
	}
	return false;
}

int fake_access_send(uint32_t vcpu, uint64_t addr, uint32_t len, bool write,
		     uint64_t data, uint64_t *id)
{
	return fake_access(vcpu, addr, len, write, data, id, NULL);
}

int fake_access(uint32_t vcpu, uint64_t addr, uint32_t len, bool write,
		uint64_t data, uint64_t *id, uint64_t *val)
{
	struct virtbe_request req = {
		.size = sizeof(req),
		.flags = write ? VIRTBE_REQ_WRITE : 0,
		.vcpu = vcpu,
		.len = len,
		.addr = addr,
		.data = write ? data : 0,
	};
	struct fake_ioeventfd *e;
	uint64_t one = 1;
	unsigned int i;

	pthread_mutex_lock(&fake.lock);
	if (write) {
		for (i = 0; i < fake.nioev; i++) {
			e = &fake.ioev[i];
			if (e->addr != addr || (e->len && e->len != len))
				continue;
			if ((e->flags & VIRTBE_IOEVENTFD_DATAMATCH) &&
			    e->datamatch != data)
				continue;
			fake.stats.out_kicks++;
			pthread_mutex_unlock(&fake.lock);
			return __real_write(e->fd, &one, sizeof(one)) ==
				       sizeof(one) ? 1 : -errno;
		}
	}
	if (vmmio_access(addr, len, write, data, val)) {
		pthread_mutex_unlock(&fake.lock);
		return FAKE_ACCESS_KERNEL;
	}
	req.id = ++fake.next_id;
	fake.stats.out_requests++;
	pthread_mutex_unlock(&fake.lock);
	if (id)
		*id = req.id;
	if (send(fake.peer_fd, &req, sizeof(req), MSG_NOSIGNAL) != sizeof(req))
		return -errno;
	return 0;
}

/* Completions arrive in batches (one message per write); queue them. */
static struct virtbe_completion comp_q[64];
static unsigned int comp_head, comp_n;

int fake_recv_completion(struct virtbe_completion *c, int timeout_ms)
{
	struct pollfd p = { .fd = fake.peer_fd, .events = POLLIN };
	ssize_t n;

	if (!comp_n) {
		if (poll(&p, 1, timeout_ms) != 1)
			return -ETIMEDOUT;
		n = recv(fake.peer_fd, comp_q, sizeof(comp_q), 0);
		if (n <= 0 || n % sizeof(comp_q[0]))
			return n < 0 ? -errno : -EPROTO;
		comp_head = 0;
		comp_n = (unsigned int)(n / sizeof(comp_q[0]));
	}
	*c = comp_q[comp_head++];
	comp_n--;
	pthread_mutex_lock(&fake.lock);
	fake.stats.out_completions++;
	pthread_mutex_unlock(&fake.lock);
	return 0;
}

void fake_hangup(void)
{
	shutdown(fake.peer_fd, SHUT_RDWR);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int fake_irq_wait(uint32_t type, uint32_t irq, int timeout_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms, now, n;
	struct pollfd p[FAKE_MAX];
	struct fake_line *l;
	unsigned int i, nfds;

	for (;;) {
		pthread_mutex_lock(&fake.lock);
		fake_sync(true);
		l = line_get(type, irq);
		n = l->pending;
		l->pending = 0;
		nfds = 0;
		for (i = 0; i < fake.nirq; i++)
			if (fake.irq[i].type == type && fake.irq[i].irq == irq)
				p[nfds++] = (struct pollfd){
					.fd = fake.irq[i].fd, .events = POLLIN };
		pthread_mutex_unlock(&fake.lock);
		if (n)
			return n > INT32_MAX ? INT32_MAX : (int)n;
		now = now_ms();
		if (now >= deadline)
			return -ETIMEDOUT;
		poll(p, nfds, (int)(deadline - now));
	}
}

void fake_eoi(uint32_t type, uint32_t irq)
{
	const uint64_t one = 1;
	struct fake_vmmio *v;
	unsigned int i;

	pthread_mutex_lock(&fake.lock);
	fake_sync(true);
	for (i = 0; i < fake.nirq; i++)
		if (fake.irq[i].type == type && fake.irq[i].irq == irq &&
		    fake.irq[i].type == VIRTBE_IRQ_LEVEL &&
		    __real_write(fake.irq[i].resamplefd, &one, 8) != 8)
			abort();
	for (i = 0; i < fake.nvmmio; i++) {
		v = &fake.vmmio[i];
		if (v->type == type && v->irq == irq && v->isr)
			line_get(type, irq)->pending++;
	}
	pthread_mutex_unlock(&fake.lock);
}

int64_t fake_vmmio_isr(uint64_t base)
{
	struct fake_vmmio *v;
	int64_t ret = -1;

	pthread_mutex_lock(&fake.lock);
	fake_sync(false);
	v = vmmio_find(base);
	if (v)
		ret = v->isr;
	pthread_mutex_unlock(&fake.lock);
	return ret;
}
