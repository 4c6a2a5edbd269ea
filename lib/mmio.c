// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * libvirtbe: a virtio-mmio version 2 device model (virtio 1.2, 4.2.2).
 *
 * Threads.  The registers are owned by the thread that handles requests
 * (vbe_dev_handle_request()/vbe_guest_process()) and kicks.  Three pieces of
 * state are shared with other threads and are atomics or locked:
 *
 * - InterruptStatus.  When the kernel keeps it (@kernel_isr, see below) the
 *   library keeps nothing: vbe_dev_notify_used/config only write the call
 *   or config call eventfd, whose irqfd sets the cause bit in the kernel
 *   before it raises the interrupt, and the guest's InterruptStatus reads and
 *   InterruptACK writes are answered by the kernel.  Otherwise (@isr): set
 *   with a seq_cst fetch_or *before* the call eventfd is written, cleared
 *   with a seq_cst fetch_and by InterruptACK, read with a seq_cst load.  A
 *   driver that reads InterruptStatus after receiving an interrupt sees
 *   every bit set before that interrupt was raised (the eventfd write, the
 *   hypervisor's injection and the request that carries the read are all
 *   ordered after the fetch_or), and an ACK clears only the bits it names,
 *   never a bit set concurrently.  For level interrupts the line is
 *   re-asserted after each guest EOI while InterruptStatus != 0
 *   (vbe_dev_handle_resample(); the kernel does it itself when it keeps
 *   InterruptStatus).
 * - Status (@status): the request thread changes it; other threads only
 *   OR in DEVICE_NEEDS_RESET (vbe_dev_set_needs_reset()), so every update
 *   is an atomic read-modify-write.
 * - The config buffer and ConfigGeneration: device-side updates store the
 *   bytes and increment the generation under @cfg_lock; driver reads of the
 *   buffer take the lock too, so a driver that saw new bytes also sees the
 *   new generation.
 *
 * Kernel-kept InterruptStatus.  When the guest's kernel reports
 * VIRTBE_F_VIRTIO_MMIO_ISR and the register block is 256-byte aligned, the
 * call eventfd is assigned with VIRTBE_IRQFD_VIRTIO_MMIO and isr_bits =
 * "used buffer", and a second eventfd (the config call fd) with "config
 * change", both on the device's interrupt.  Anyone may then write the call
 * fd (a vhost-user daemon, too) and InterruptStatus stays right.  Entering
 * that mode hands the bits the library kept so far to the kernel
 * (kernel_isr_enter()); a notify that races with it sets its bit before it
 * looks at the mode, and the mode is stored before the bits are taken, so
 * one of the two forwards the bit.  A device reset (0 to Status) needs
 * nothing of the library there: the kernel clears its copy (and lowers a
 * level line) when it sees the write, then passes the write on, and the
 * irqfds stay assigned.
 *
 * Copyright (C) 2026 The virtbe authors
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "internal.h"
#include "syscall.h"

#ifndef VIRTIO_F_NOTIFICATION_DATA
#define VIRTIO_F_NOTIFICATION_DATA 38
#endif
#ifndef VIRTIO_F_RING_RESET
#define VIRTIO_F_RING_RESET 40
#endif

#define VBE_MMIO_MAGIC 0x74726976U	/* "virt" */
#define VBE_MMIO_VERSION 2U
#define VBE_DEV_MAX_QUEUES 1024U
#define VBE_DEV_MAX_SIZE (1ULL << 32)
/* VIRTBE_IRQFD_VIRTIO_MMIO names 256-byte aligned register blocks. */
#define VBE_VMMIO_ALIGN 0x100U

/* Transport features the model cannot provide. */
#define VBE_DEV_BAD_FEATURES				\
	((1ULL << VIRTIO_F_RING_PACKED) |		\
	 (1ULL << VIRTIO_F_SR_IOV) |			\
	 (1ULL << VIRTIO_F_NOTIFICATION_DATA) |		\
	 (1ULL << VIRTIO_F_RING_RESET))

struct vbe_queue {
	uint32_t num;
	uint32_t ready;			/* atomic: read by vbe_dev_handle_kick */
	uint64_t desc;
	uint64_t avail;
	uint64_t used;
	struct vbe_vq *vq;
	int kick_fd;
	bool ioeventfd;			/* assigned to kick_fd */
};

struct vbe_dev {
	uint64_t base;
	uint64_t size;
	uint32_t device_id;
	uint32_t vendor_id;
	uint64_t features;		/* offered */
	unsigned int num_queues;
	unsigned int queue_max;
	struct vbe_dev_ops ops;
	void *opaque;
	const struct vbe_memtab *mt;
	bool mt_explicit;

	pthread_mutex_t cfg_lock;
	uint8_t *cfg;
	uint32_t cfg_len;
	uint32_t cfg_gen;		/* atomic */

	uint32_t dev_features_sel;
	uint32_t drv_features_sel;
	uint32_t queue_sel;
	uint64_t drv_features;		/* as written by the driver */
	bool drv_features_extra;	/* a non-zero word above bit 63 */
	uint64_t acked_features;	/* accepted at FEATURES_OK */
	uint32_t status;		/* atomic */
	uint32_t isr;			/* atomic */
	uint64_t invalid;		/* atomic */

	bool irq_set;
	uint32_t irq_type;
	uint32_t irq;
	uint64_t msi_addr;
	uint32_t msi_data;
	int call_fd;
	int config_fd;			/* the config call fd */
	int resample_fd;
	bool irqfd_assigned;		/* call_fd */
	bool config_irqfd_assigned;	/* config_fd */
	uint32_t kernel_isr;		/* atomic: the kernel keeps the ISR */

	struct vbe_guest *guest;
	struct vbe_dev *next;		/* in guest->devs */

	struct vbe_queue q[];
};

static void count_invalid(struct vbe_dev *dev)
{
	__atomic_fetch_add(&dev->invalid, 1, __ATOMIC_RELAXED);
}

static uint32_t status_load(const struct vbe_dev *dev)
{
	return __atomic_load_n(&dev->status, __ATOMIC_SEQ_CST);
}

VBE_EXPORT int vbe_dev_new(uint64_t base, uint64_t size, uint32_t device_id,
			   unsigned int num_queues, unsigned int queue_max,
			   struct vbe_dev **devp)
{
	struct vbe_dev *dev;
	unsigned int i;
	int ret;

	if (size < VBE_DEV_MIN_SIZE || size > VBE_DEV_MAX_SIZE ||
	    base > UINT64_MAX - (size - 1))
		return -EINVAL;
	if (!device_id || !num_queues || num_queues > VBE_DEV_MAX_QUEUES)
		return -EINVAL;
	if (!queue_max || queue_max > VBE_VQ_MAX_SIZE ||
	    (queue_max & (queue_max - 1)))
		return -EINVAL;

	dev = calloc(1, sizeof(*dev) + num_queues * sizeof(dev->q[0]));
	if (!dev)
		return -ENOMEM;
	dev->base = base;
	dev->size = size;
	dev->device_id = device_id;
	dev->features = 1ULL << VIRTIO_F_VERSION_1;
	dev->num_queues = num_queues;
	dev->queue_max = queue_max;
	dev->call_fd = -1;
	dev->config_fd = -1;
	dev->resample_fd = -1;
	for (i = 0; i < num_queues; i++)
		dev->q[i].kick_fd = -1;
	ret = pthread_mutex_init(&dev->cfg_lock, NULL);
	if (ret) {
		free(dev);
		return -ret;
	}
	for (i = 0; i < num_queues; i++) {
		ret = vbe_sys_eventfd();
		if (ret < 0) {
			vbe_dev_free(dev);
			return ret;
		}
		dev->q[i].kick_fd = ret;
	}
	*devp = dev;
	return 0;
}

VBE_EXPORT void vbe_dev_free(struct vbe_dev *dev)
{
	unsigned int i;

	if (!dev)
		return;
	vbe_dev_detach(dev);
	for (i = 0; i < dev->num_queues; i++) {
		vbe_vq_free(dev->q[i].vq);
		vbe_sys_close(dev->q[i].kick_fd);
	}
	vbe_sys_close(dev->call_fd);
	vbe_sys_close(dev->config_fd);
	vbe_sys_close(dev->resample_fd);
	pthread_mutex_destroy(&dev->cfg_lock);
	free(dev->cfg);
	free(dev);
}

VBE_EXPORT int vbe_dev_set_ops(struct vbe_dev *dev,
			       const struct vbe_dev_ops *ops, void *opaque)
{
	if (dev->guest)
		return -EBUSY;
	if (ops)
		dev->ops = *ops;
	else
		memset(&dev->ops, 0, sizeof(dev->ops));
	dev->opaque = opaque;
	return 0;
}

VBE_EXPORT void *vbe_dev_opaque(const struct vbe_dev *dev)
{
	return dev->opaque;
}

VBE_EXPORT int vbe_dev_set_vendor_id(struct vbe_dev *dev, uint32_t vendor_id)
{
	if (dev->guest)
		return -EBUSY;
	dev->vendor_id = vendor_id;
	return 0;
}

VBE_EXPORT int vbe_dev_set_features(struct vbe_dev *dev, uint64_t features)
{
	if (dev->guest)
		return -EBUSY;
	if (features & VBE_DEV_BAD_FEATURES)
		return -EINVAL;
	dev->features = features | (1ULL << VIRTIO_F_VERSION_1);
	return 0;
}

VBE_EXPORT int vbe_dev_set_config(struct vbe_dev *dev, const void *buf,
				  uint32_t len)
{
	uint8_t *cfg = NULL;

	if (dev->guest)
		return -EBUSY;
	if (len > dev->size - VBE_DEV_MIN_SIZE)
		return -EINVAL;
	if (len) {
		cfg = malloc(len);
		if (!cfg)
			return -ENOMEM;
		memcpy(cfg, buf, len);
	}
	pthread_mutex_lock(&dev->cfg_lock);
	free(dev->cfg);
	dev->cfg = cfg;
	dev->cfg_len = len;
	pthread_mutex_unlock(&dev->cfg_lock);
	return 0;
}

static bool any_queue_ready(const struct vbe_dev *dev)
{
	unsigned int i;

	for (i = 0; i < dev->num_queues; i++)
		if (dev->q[i].vq)
			return true;
	return false;
}

VBE_EXPORT int vbe_dev_set_memtab(struct vbe_dev *dev,
				  const struct vbe_memtab *mt)
{
	if (any_queue_ready(dev))
		return -EBUSY;
	dev->mt = mt;
	dev->mt_explicit = mt != NULL;
	if (!mt && dev->guest)
		dev->mt = dev->guest->mt;
	return 0;
}

/* Interrupts */

static bool kernel_isr(const struct vbe_dev *dev)
{
	return __atomic_load_n(&dev->kernel_isr, __ATOMIC_SEQ_CST);
}

/* Will the kernel keep InterruptStatus if we ask? */
static bool want_kernel_isr(struct vbe_dev *dev)
{
	return !(dev->base % VBE_VMMIO_ALIGN) &&
	       (vbe__guest_features(dev->guest) & VIRTBE_F_VIRTIO_MMIO_ISR);
}

/* One irqfd on the device's interrupt; @isr_bits 0: a plain one. */
static int irqfd_assign(struct vbe_dev *dev, int fd, uint32_t isr_bits)
{
	struct virtbe_irqfd arg = {
		.size = sizeof(arg),
		.flags = isr_bits ? VIRTBE_IRQFD_VIRTIO_MMIO : 0,
		.fd = fd,
		.resamplefd = dev->resample_fd,	/* -1 unless level */
		.type = dev->irq_type,
		.irq = dev->irq,
		.msi_addr = dev->msi_addr,
		.msi_data = dev->msi_data,
		.isr_bits = isr_bits,
		.vmmio_base = isr_bits ? dev->base : 0,
	};

	return vbe__irqfd(dev->guest, &arg);
}

/* Kernel-kept ISR: the irqfds of both causes (undone on failure). */
static int irqfds_assign_kernel(struct vbe_dev *dev)
{
	int ret;

	ret = irqfd_assign(dev, dev->call_fd, VIRTBE_VIRTIO_ISR_USED);
	if (ret)
		return ret;
	ret = irqfd_assign(dev, dev->config_fd, VIRTBE_VIRTIO_ISR_CONFIG);
	if (ret) {
		vbe_guest_deassign_irqfd(dev->guest, dev->call_fd);
		return ret;
	}
	dev->irqfd_assigned = true;
	dev->config_irqfd_assigned = true;
	return 0;
}

/* Raise the causes @bits through the irqfds of a kernel-kept ISR. */
static int kernel_raise(struct vbe_dev *dev, uint32_t bits)
{
	int ret = 0;

	if (bits & VIRTIO_MMIO_INT_VRING)
		ret = vbe_sys_eventfd_signal(dev->call_fd);
	if (!ret && (bits & VIRTIO_MMIO_INT_CONFIG))
		ret = vbe_sys_eventfd_signal(dev->config_fd);
	return ret;
}

/* From now on the kernel keeps InterruptStatus: give it our bits. */
static void kernel_isr_enter(struct vbe_dev *dev)
{
	__atomic_store_n(&dev->kernel_isr, 1, __ATOMIC_SEQ_CST);
	kernel_raise(dev, __atomic_exchange_n(&dev->isr, 0, __ATOMIC_SEQ_CST));
}

/* Assign the irqfd(s) of an attached device with an interrupt. */
static int irqfds_assign(struct vbe_dev *dev)
{
	int ret;

	if (want_kernel_isr(dev)) {
		ret = irqfds_assign_kernel(dev);
		if (!ret)
			kernel_isr_enter(dev);
		return ret;
	}
	ret = irqfd_assign(dev, dev->call_fd, 0);
	if (!ret)
		dev->irqfd_assigned = true;
	return ret;
}

static void irqfds_deassign(struct vbe_dev *dev)
{
	if (dev->config_irqfd_assigned) {
		vbe_guest_deassign_irqfd(dev->guest, dev->config_fd);
		dev->config_irqfd_assigned = false;
	}
	if (dev->irqfd_assigned) {
		vbe_guest_deassign_irqfd(dev->guest, dev->call_fd);
		dev->irqfd_assigned = false;
	}
	__atomic_store_n(&dev->kernel_isr, 0, __ATOMIC_SEQ_CST);
}

VBE_EXPORT int vbe_dev_set_irq(struct vbe_dev *dev, uint32_t type,
			       uint32_t irq, uint64_t msi_addr,
			       uint32_t msi_data)
{
	int ret;

	if (dev->irq_set)
		return -EBUSY;
	switch (type) {
	case VIRTBE_IRQ_EDGE:
	case VIRTBE_IRQ_LEVEL:
	case VIRTBE_IRQ_EVTCHN:
		if (msi_addr || msi_data)
			return -EINVAL;
		break;
	case VIRTBE_IRQ_MSI:
		if (irq)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}

	ret = vbe_sys_eventfd();
	if (ret < 0)
		return ret;
	dev->call_fd = ret;
	ret = vbe_sys_eventfd();
	if (ret < 0)
		goto err_close;
	dev->config_fd = ret;
	if (type == VIRTBE_IRQ_LEVEL) {
		ret = vbe_sys_eventfd();
		if (ret < 0)
			goto err_close;
		dev->resample_fd = ret;
	}
	dev->irq_type = type;
	dev->irq = irq;
	dev->msi_addr = msi_addr;
	dev->msi_data = msi_data;
	if (dev->guest) {
		ret = irqfds_assign(dev);
		if (ret)
			goto err_close;
	}
	dev->irq_set = true;
	return 0;

err_close:
	vbe_sys_close(dev->resample_fd);
	dev->resample_fd = -1;
	vbe_sys_close(dev->config_fd);
	dev->config_fd = -1;
	vbe_sys_close(dev->call_fd);
	dev->call_fd = -1;
	return ret;
}

static int raise_irq(struct vbe_dev *dev, uint32_t bit)
{
	if (kernel_isr(dev))
		return kernel_raise(dev, bit);
	__atomic_fetch_or(&dev->isr, bit, __ATOMIC_SEQ_CST);
	if (dev->call_fd < 0)
		return -ENOENT;
	/* Entered kernel mode meanwhile: the bit must reach the kernel. */
	if (kernel_isr(dev))
		return kernel_raise(dev, __atomic_exchange_n(&dev->isr, 0,
							     __ATOMIC_SEQ_CST));
	return vbe_sys_eventfd_signal(dev->call_fd);
}

VBE_EXPORT int vbe_dev_notify_used(struct vbe_dev *dev)
{
	return raise_irq(dev, VIRTIO_MMIO_INT_VRING);
}

VBE_EXPORT int vbe_dev_notify_config(struct vbe_dev *dev)
{
	__atomic_fetch_add(&dev->cfg_gen, 1, __ATOMIC_SEQ_CST);
	return raise_irq(dev, VIRTIO_MMIO_INT_CONFIG);
}

VBE_EXPORT int vbe_dev_handle_resample(struct vbe_dev *dev)
{
	int ret;

	if (dev->resample_fd < 0)
		return -ENOENT;
	ret = vbe_sys_eventfd_drain(dev->resample_fd);
	if (ret < 0)
		return ret;
	/* The kernel raises the line again while its copy is not 0. */
	if (kernel_isr(dev))
		return 0;
	/* The line was lowered before the resample fd was signalled. */
	if (!__atomic_load_n(&dev->isr, __ATOMIC_SEQ_CST))
		return 0;
	ret = vbe_sys_eventfd_signal(dev->call_fd);
	return ret < 0 ? ret : 1;
}

VBE_EXPORT int vbe_dev_call_fd(const struct vbe_dev *dev)
{
	return dev->call_fd < 0 ? -ENOENT : dev->call_fd;
}

VBE_EXPORT int vbe_dev_config_call_fd(const struct vbe_dev *dev)
{
	return kernel_isr(dev) ? dev->config_fd : -ENOENT;
}

VBE_EXPORT bool vbe_dev_kernel_isr(const struct vbe_dev *dev)
{
	return kernel_isr(dev);
}

VBE_EXPORT int vbe_dev_resample_fd(const struct vbe_dev *dev)
{
	return dev->resample_fd < 0 ? -ENOENT : dev->resample_fd;
}

VBE_EXPORT uint32_t vbe_dev_interrupt_status(const struct vbe_dev *dev)
{
	return __atomic_load_n(&dev->isr, __ATOMIC_SEQ_CST);
}

/* Configuration space */

VBE_EXPORT int vbe_dev_config_changed(struct vbe_dev *dev)
{
	__atomic_fetch_add(&dev->cfg_gen, 1, __ATOMIC_SEQ_CST);
	if (!(status_load(dev) & VIRTIO_CONFIG_S_DRIVER_OK))
		return 0;
	return raise_irq(dev, VIRTIO_MMIO_INT_CONFIG);
}

static bool cfg_range_ok(const struct vbe_dev *dev, uint32_t offset,
			 uint32_t len)
{
	return offset <= dev->cfg_len && len <= dev->cfg_len - offset;
}

VBE_EXPORT int vbe_dev_config_update(struct vbe_dev *dev, uint32_t offset,
				     const void *buf, uint32_t len)
{
	pthread_mutex_lock(&dev->cfg_lock);
	if (!cfg_range_ok(dev, offset, len)) {
		pthread_mutex_unlock(&dev->cfg_lock);
		return -EINVAL;
	}
	if (len)
		memcpy(dev->cfg + offset, buf, len);
	__atomic_fetch_add(&dev->cfg_gen, 1, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&dev->cfg_lock);
	if (!(status_load(dev) & VIRTIO_CONFIG_S_DRIVER_OK))
		return 0;
	return raise_irq(dev, VIRTIO_MMIO_INT_CONFIG);
}

VBE_EXPORT int vbe_dev_config_get(struct vbe_dev *dev, uint32_t offset,
				  void *buf, uint32_t len)
{
	pthread_mutex_lock(&dev->cfg_lock);
	if (!cfg_range_ok(dev, offset, len)) {
		pthread_mutex_unlock(&dev->cfg_lock);
		return -EINVAL;
	}
	if (len)
		memcpy(buf, dev->cfg + offset, len);
	pthread_mutex_unlock(&dev->cfg_lock);
	return 0;
}

/* Little-endian value of @len bytes at @p. */
static uint64_t get_le(const uint8_t *p, uint32_t len)
{
	uint64_t v = 0;

	while (len--)
		v = (v << 8) | p[len];
	return v;
}

static void put_le(uint8_t *p, uint32_t len, uint64_t v)
{
	uint32_t i;

	for (i = 0; i < len; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t config_read(struct vbe_dev *dev, uint32_t off, uint32_t len)
{
	uint64_t val = 0;

	if (dev->ops.config_read) {
		if (dev->ops.config_read(dev, off, len, &val))
			return 0;
		return val;
	}
	pthread_mutex_lock(&dev->cfg_lock);
	if (cfg_range_ok(dev, off, len))
		val = get_le(dev->cfg + off, len);
	else
		count_invalid(dev);
	pthread_mutex_unlock(&dev->cfg_lock);
	return val;
}

static void config_write(struct vbe_dev *dev, uint32_t off, uint32_t len,
			 uint64_t val)
{
	if (!dev->ops.config_write ||
	    dev->ops.config_write(dev, off, len, val)) {
		count_invalid(dev);
		return;
	}
	pthread_mutex_lock(&dev->cfg_lock);
	if (cfg_range_ok(dev, off, len))
		put_le(dev->cfg + off, len, val);
	pthread_mutex_unlock(&dev->cfg_lock);
}

/* Queues */

static struct vbe_queue *sel_queue(struct vbe_dev *dev)
{
	return dev->queue_sel < dev->num_queues ? &dev->q[dev->queue_sel] :
						  NULL;
}

static uint64_t notify_addr(const struct vbe_dev *dev)
{
	return dev->base + VIRTIO_MMIO_QUEUE_NOTIFY;
}

static void queue_assign_ioeventfd(struct vbe_dev *dev, unsigned int qi)
{
	struct vbe_queue *q = &dev->q[qi];

	if (!dev->guest || q->ioeventfd)
		return;
	/*
	 * On failure kicks keep arriving through the request channel, where
	 * they are handled the same way: nothing is lost.
	 */
	if (!vbe_guest_assign_ioeventfd(dev->guest, q->kick_fd,
					notify_addr(dev), 4,
					VIRTBE_IOEVENTFD_DATAMATCH, qi))
		q->ioeventfd = true;
}

static void queue_deassign_ioeventfd(struct vbe_dev *dev, unsigned int qi)
{
	struct vbe_queue *q = &dev->q[qi];

	if (!q->ioeventfd)
		return;
	vbe_guest_deassign_ioeventfd(dev->guest, q->kick_fd, notify_addr(dev), 4,
				     VIRTBE_IOEVENTFD_DATAMATCH, qi);
	q->ioeventfd = false;
}

static void queue_stop(struct vbe_dev *dev, unsigned int qi)
{
	struct vbe_queue *q = &dev->q[qi];

	if (!q->vq)
		return;
	queue_deassign_ioeventfd(dev, qi);
	__atomic_store_n(&q->ready, 0, __ATOMIC_RELEASE);
	if (dev->ops.queue_ready)
		dev->ops.queue_ready(dev, qi, NULL);
	vbe_vq_free(q->vq);
	q->vq = NULL;
}

static void queue_start(struct vbe_dev *dev, unsigned int qi)
{
	struct vbe_queue *q = &dev->q[qi];
	uint32_t status = status_load(dev);
	int ret;

	if (!(status & VIRTIO_CONFIG_S_FEATURES_OK) ||
	    (status & (VIRTIO_CONFIG_S_FAILED | VIRTIO_CONFIG_S_NEEDS_RESET))) {
		count_invalid(dev);
		return;
	}
	ret = -EINVAL;
	if (q->num && q->num <= dev->queue_max && !(q->num & (q->num - 1)) &&
	    dev->mt)
		ret = vbe_vq_new(dev->mt, q->num, q->desc, q->avail, q->used,
				 dev->acked_features, &q->vq);
	if (ret) {
		/* The driver gave an unusable queue: it must reset us. */
		count_invalid(dev);
		vbe_dev_set_needs_reset(dev);
		return;
	}
	if (dev->ops.queue_ready)
		dev->ops.queue_ready(dev, qi, q->vq);
	__atomic_store_n(&q->ready, 1, __ATOMIC_RELEASE);
	queue_assign_ioeventfd(dev, qi);
}

static void queue_notify(struct vbe_dev *dev, unsigned int qi)
{
	if (!__atomic_load_n(&dev->q[qi].ready, __ATOMIC_ACQUIRE))
		return;
	if (dev->ops.queue_notify)
		dev->ops.queue_notify(dev, qi);
}

VBE_EXPORT int vbe_dev_kick_fd(const struct vbe_dev *dev, unsigned int q)
{
	return q < dev->num_queues ? dev->q[q].kick_fd : -EINVAL;
}

VBE_EXPORT int vbe_dev_handle_kick(struct vbe_dev *dev, unsigned int qi)
{
	int ret;

	if (qi >= dev->num_queues)
		return -EINVAL;
	ret = vbe_sys_eventfd_drain(dev->q[qi].kick_fd);
	if (ret <= 0)
		return ret;
	if (!__atomic_load_n(&dev->q[qi].ready, __ATOMIC_ACQUIRE))
		return 0;
	queue_notify(dev, qi);
	return 1;
}

VBE_EXPORT struct vbe_vq *vbe_dev_vq(const struct vbe_dev *dev,
				     unsigned int q)
{
	return q < dev->num_queues ? dev->q[q].vq : NULL;
}

VBE_EXPORT int vbe_dev_queue_addr(const struct vbe_dev *dev, unsigned int q,
				  struct vbe_queue_addr *addr)
{
	const struct vbe_queue *vq;

	if (q >= dev->num_queues)
		return -EINVAL;
	vq = &dev->q[q];
	if (!vq->vq)
		return -ENOENT;
	addr->num = vq->num;
	addr->desc = vq->desc;
	addr->avail = vq->avail;
	addr->used = vq->used;
	return 0;
}

/* Status and reset */

static void dev_reset(struct vbe_dev *dev)
{
	unsigned int i;

	for (i = 0; i < dev->num_queues; i++)
		queue_stop(dev, i);
	if (dev->ops.reset)
		dev->ops.reset(dev);
	for (i = 0; i < dev->num_queues; i++) {
		dev->q[i].num = 0;
		dev->q[i].desc = 0;
		dev->q[i].avail = 0;
		dev->q[i].used = 0;
	}
	dev->dev_features_sel = 0;
	dev->drv_features_sel = 0;
	dev->queue_sel = 0;
	dev->drv_features = 0;
	dev->drv_features_extra = false;
	dev->acked_features = 0;
	__atomic_store_n(&dev->isr, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&dev->status, 0, __ATOMIC_SEQ_CST);
}

static bool features_acceptable(struct vbe_dev *dev)
{
	uint64_t f = dev->drv_features;

	if (dev->drv_features_extra || (f & ~dev->features))
		return false;
	if (!(f & (1ULL << VIRTIO_F_VERSION_1)))
		return false;
	return !dev->ops.features_ok || !dev->ops.features_ok(dev, f);
}

static void status_write(struct vbe_dev *dev, uint32_t val)
{
	uint32_t old = status_load(dev);
	uint32_t set;

	if (!val) {
		/*
		 * A kernel that keeps InterruptStatus cleared it when it saw
		 * this write, before passing it on; the irqfds stay.
		 */
		dev_reset(dev);
		return;
	}
	/* Only a reset clears bits; only the device sets NEEDS_RESET. */
	if ((old & ~val & ~VIRTIO_CONFIG_S_NEEDS_RESET) ||
	    (val & ~old & VIRTIO_CONFIG_S_NEEDS_RESET))
		count_invalid(dev);
	set = val & ~old & ~VIRTIO_CONFIG_S_NEEDS_RESET;

	if (set & VIRTIO_CONFIG_S_FEATURES_OK) {
		if (features_acceptable(dev))
			dev->acked_features = dev->drv_features;
		else
			set &= ~VIRTIO_CONFIG_S_FEATURES_OK;
	}
	if ((set & VIRTIO_CONFIG_S_DRIVER_OK) &&
	    !((old | set) & VIRTIO_CONFIG_S_FEATURES_OK)) {
		count_invalid(dev);
		set &= ~VIRTIO_CONFIG_S_DRIVER_OK;
	}
	__atomic_fetch_or(&dev->status, set, __ATOMIC_SEQ_CST);
	if ((set & VIRTIO_CONFIG_S_DRIVER_OK) && dev->ops.driver_ok)
		dev->ops.driver_ok(dev);
}

VBE_EXPORT void vbe_dev_set_needs_reset(struct vbe_dev *dev)
{
	uint32_t old = __atomic_fetch_or(&dev->status,
					 VIRTIO_CONFIG_S_NEEDS_RESET,
					 __ATOMIC_SEQ_CST);

	if ((old & VIRTIO_CONFIG_S_DRIVER_OK) &&
	    !(old & VIRTIO_CONFIG_S_NEEDS_RESET))
		raise_irq(dev, VIRTIO_MMIO_INT_CONFIG);
}

VBE_EXPORT uint32_t vbe_dev_status(const struct vbe_dev *dev)
{
	return status_load(dev);
}

VBE_EXPORT uint64_t vbe_dev_driver_features(const struct vbe_dev *dev)
{
	return dev->acked_features;
}

VBE_EXPORT uint64_t vbe_dev_invalid_accesses(const struct vbe_dev *dev)
{
	return __atomic_load_n(&dev->invalid, __ATOMIC_RELAXED);
}

/* Registers */

static uint32_t reg_read(struct vbe_dev *dev, uint32_t off)
{
	struct vbe_queue *q;

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VBE_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return VBE_MMIO_VERSION;
	case VIRTIO_MMIO_DEVICE_ID:
		return dev->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return dev->vendor_id;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		if (dev->dev_features_sel > 1)
			return 0;
		return (uint32_t)(dev->features >> (32 * dev->dev_features_sel));
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return sel_queue(dev) ? dev->queue_max : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		q = sel_queue(dev);
		return q ? __atomic_load_n(&q->ready, __ATOMIC_RELAXED) : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return __atomic_load_n(&dev->isr, __ATOMIC_SEQ_CST);
	case VIRTIO_MMIO_STATUS:
		return status_load(dev);
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW:
	case VIRTIO_MMIO_SHM_BASE_HIGH:
		/* No shared memory regions: every region has length -1. */
		return 0xffffffffU;
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return __atomic_load_n(&dev->cfg_gen, __ATOMIC_SEQ_CST);
	}
	/* Write-only, legacy or unknown. */
	count_invalid(dev);
	return 0;
}

/* Replace the 32-bit half @hi of *@v with @val. */
static void set_half(uint64_t *v, bool hi, uint32_t val)
{
	if (hi)
		*v = (*v & 0xffffffffULL) | ((uint64_t)val << 32);
	else
		*v = (*v & ~0xffffffffULL) | val;
}

/* A queue register write: only to an existing queue that is not ready. */
static struct vbe_queue *writable_queue(struct vbe_dev *dev)
{
	struct vbe_queue *q = sel_queue(dev);

	if (!q || q->vq) {
		count_invalid(dev);
		return NULL;
	}
	return q;
}

static void reg_write(struct vbe_dev *dev, uint32_t off, uint32_t val)
{
	struct vbe_queue *q;

	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		dev->dev_features_sel = val;
		return;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (status_load(dev) & VIRTIO_CONFIG_S_FEATURES_OK) {
			count_invalid(dev);
			return;
		}
		if (dev->drv_features_sel <= 1)
			set_half(&dev->drv_features, dev->drv_features_sel, val);
		else if (val)
			dev->drv_features_extra = true;
		return;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		dev->drv_features_sel = val;
		return;
	case VIRTIO_MMIO_QUEUE_SEL:
		dev->queue_sel = val;
		return;
	case VIRTIO_MMIO_QUEUE_NUM:
		q = writable_queue(dev);
		if (q)
			q->num = val;
		return;
	case VIRTIO_MMIO_QUEUE_READY:
		q = sel_queue(dev);
		if (!q || val > 1) {
			count_invalid(dev);
			return;
		}
		if (val && !q->vq)
			queue_start(dev, dev->queue_sel);
		else if (!val && q->vq)
			queue_stop(dev, dev->queue_sel);
		return;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		/* A kick that did not go through the ioeventfd. */
		if (val >= dev->num_queues) {
			count_invalid(dev);
			return;
		}
		queue_notify(dev, val);
		return;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		__atomic_fetch_and(&dev->isr, ~val, __ATOMIC_SEQ_CST);
		return;
	case VIRTIO_MMIO_STATUS:
		status_write(dev, val);
		return;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		q = writable_queue(dev);
		if (q)
			set_half(&q->desc, off == VIRTIO_MMIO_QUEUE_DESC_HIGH,
				 val);
		return;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
		q = writable_queue(dev);
		if (q)
			set_half(&q->avail, off == VIRTIO_MMIO_QUEUE_AVAIL_HIGH,
				 val);
		return;
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		q = writable_queue(dev);
		if (q)
			set_half(&q->used, off == VIRTIO_MMIO_QUEUE_USED_HIGH,
				 val);
		return;
	case VIRTIO_MMIO_SHM_SEL:
		/* Any region id selects a region that does not exist. */
		return;
	}
	/* Read-only, legacy or unknown. */
	count_invalid(dev);
}

static uint64_t len_mask(uint32_t len)
{
	return len >= 8 ? UINT64_MAX : (1ULL << (8 * len)) - 1;
}

VBE_EXPORT int vbe_dev_handle_request(struct vbe_dev *dev,
				      const struct virtbe_request *req,
				      uint64_t *data_out)
{
	bool write = req->flags & VIRTBE_REQ_WRITE;
	uint32_t len = req->len;
	uint64_t off, val = 0;

	*data_out = 0;
	if (req->flags & VIRTBE_REQ_PIO)
		return -EINVAL;
	if (req->addr < dev->base || req->addr - dev->base >= dev->size)
		return -ERANGE;
	off = req->addr - dev->base;

	if ((len != 1 && len != 2 && len != 4 && len != 8) ||
	    len > dev->size - off || (off & (len - 1))) {
		count_invalid(dev);
		return 0;
	}

	if (off < VIRTIO_MMIO_CONFIG) {
		/* Control registers: 32-bit accesses only. */
		if (len != 4) {
			count_invalid(dev);
			return 0;
		}
		if (write)
			reg_write(dev, (uint32_t)off, (uint32_t)req->data);
		else
			val = reg_read(dev, (uint32_t)off);
	} else {
		/* Config space: 8-, 16- and 32-bit accesses. */
		if (len == 8) {
			count_invalid(dev);
			return 0;
		}
		off -= VIRTIO_MMIO_CONFIG;
		if (write)
			config_write(dev, (uint32_t)off, len,
				     req->data & len_mask(len));
		else
			val = config_read(dev, (uint32_t)off, len);
	}
	if (!write)
		*data_out = val & len_mask(len);
	return 0;
}

/* Guests */

static bool dev_overlaps(const struct vbe_dev *a, const struct vbe_dev *b)
{
	return a->base <= b->base + (b->size - 1) &&
	       b->base <= a->base + (a->size - 1);
}

int vbe__dev_link(struct vbe_dev *dev, struct vbe_guest *guest)
{
	struct vbe_dev *d;

	if (dev->guest)
		return -EBUSY;
	for (d = guest->devs; d; d = d->next)
		if (dev_overlaps(d, dev))
			return -EEXIST;
	dev->guest = guest;
	dev->next = guest->devs;
	guest->devs = dev;
	if (!dev->mt_explicit)
		dev->mt = guest->mt;
	return 0;
}

static void dev_unlink(struct vbe_dev *dev)
{
	struct vbe_dev **pp;

	for (pp = &dev->guest->devs; *pp; pp = &(*pp)->next) {
		if (*pp == dev) {
			*pp = dev->next;
			break;
		}
	}
	dev->next = NULL;
	dev->guest = NULL;
	if (!dev->mt_explicit)
		dev->mt = NULL;
}

VBE_EXPORT int vbe_dev_attach(struct vbe_dev *dev, struct vbe_guest *guest)
{
	unsigned int i;
	int ret;

	ret = vbe__dev_link(dev, guest);
	if (ret)
		return ret;
	ret = vbe_guest_claim_range(guest, dev->base, dev->size, 0);
	if (ret)
		goto err_unlink;
	if (dev->irq_set) {
		ret = irqfds_assign(dev);
		if (ret)
			goto err_release_range;
	}
	for (i = 0; i < dev->num_queues; i++)
		if (dev->q[i].vq)
			queue_assign_ioeventfd(dev, i);
	return 0;

err_release_range:
	vbe_guest_release_range(guest, dev->base, dev->size, 0);
err_unlink:
	dev_unlink(dev);
	return ret;
}

VBE_EXPORT void vbe_dev_detach(struct vbe_dev *dev)
{
	if (!dev || !dev->guest)
		return;
	dev_reset(dev);
	irqfds_deassign(dev);
	vbe_guest_release_range(dev->guest, dev->base, dev->size, 0);
	dev_unlink(dev);
}

void vbe__dev_orphan(struct vbe_dev *dev)
{
	unsigned int i;

	/* The guest fd is about to close: the kernel drops everything. */
	for (i = 0; i < dev->num_queues; i++)
		dev->q[i].ioeventfd = false;
	dev->irqfd_assigned = false;
	dev->config_irqfd_assigned = false;
	__atomic_store_n(&dev->kernel_isr, 0, __ATOMIC_SEQ_CST);
	dev_reset(dev);
	dev_unlink(dev);
}

/* For loop.c: the device of @guest whose window holds the access. */
struct vbe_dev *vbe__dev_find(struct vbe_guest *guest,
			      const struct virtbe_request *req)
{
	struct vbe_dev *d;

	if (req->flags & VIRTBE_REQ_PIO)
		return NULL;
	for (d = guest->devs; d; d = d->next)
		if (req->addr >= d->base && req->addr - d->base < d->size)
			return d;
	return NULL;
}
