// SPDX-License-Identifier: GPL-2.0
/*
 * vbe_xen_guest: the domU half of virtbe's real-Xen test.
 *
 * A PVH guest has neither virtio-mmio command line devices (Debian's kernel
 * lacks CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES) nor an IOAPIC.  This module
 * allocates an event channel for dom0, binds it to a Linux IRQ, publishes
 * the port in xenstore (data/virtbe-port, relative to the domain), waits for
 * dom0 to write data/virtbe-go, and registers a "virtio-mmio" platform
 * device at @base with that IRQ: Linux's own virtio_mmio and virtio_blk
 * drivers then drive whatever dom0 serves there.
 *
 * With @fs_base set, a second device (virtio-mmio.1, meant for virtio-fs)
 * at that base gets an event channel of its own, published as
 * data/virtbe-fs-port, and is registered after the first.
 *
 * It also keeps one page of known content for dom0's tests of pages
 * referenced beyond revocation (tools/xen-guest/vbe-pin.c): its frame is
 * published as data/virtbe-page-gfn, and byte i of it is
 * (u8)(gen * 151 + i * 7 + (i >> 8) * 13 + 1), generation gen 1 at
 * first; whenever dom0 writes a number to data/virtbe-page-gen the page
 * is rewritten with that generation, which is then written to
 * data/virtbe-page-done.
 *
 * Copyright (C) 2026 The virtbe authors
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/ioport.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/slab.h>

#include <xen/events.h>
#include <xen/interface/event_channel.h>
#include <xen/page.h>
#include <xen/xen.h>
#include <xen/xenbus.h>

#include <asm/xen/hypercall.h>

static unsigned long base = 0xfe000000;
module_param(base, ulong, 0444);
MODULE_PARM_DESC(base, "guest-physical base of the virtio-mmio registers");

static unsigned long fs_base;
module_param(fs_base, ulong, 0444);
MODULE_PARM_DESC(fs_base, "base of a second virtio-mmio device (0: none)");

static unsigned int wait_ms = 120000;
module_param(wait_ms, uint, 0444);
MODULE_PARM_DESC(wait_ms, "how long to wait for dom0's go");

struct vxg_dev {
	const char *key;		/* xenstore node under data/ */
	unsigned long base;
	evtchn_port_t port;
	int irq;
	struct platform_device *pdev;
};

static struct page *vxg_page;

/* vbe-pin.c computes the same */
static void vxg_page_fill(unsigned int gen)
{
	u8 *p = page_address(vxg_page);
	unsigned int i;

	for (i = 0; i < PAGE_SIZE; i++)
		p[i] = (u8)(gen * 151 + i * 7 + (i >> 8) * 13 + 1);
	xenbus_printf(XBT_NIL, "data", "virtbe-page-done", "%u", gen);
}

static void vxg_page_gen(struct xenbus_watch *watch, const char *path,
			 const char *token)
{
	unsigned int gen;
	char *s = xenbus_read(XBT_NIL, "data", "virtbe-page-gen", NULL);

	if (IS_ERR(s))
		return;
	if (!kstrtouint(s, 10, &gen))
		vxg_page_fill(gen);
	kfree(s);
}

static struct xenbus_watch vxg_page_watch = {
	.node = "data/virtbe-page-gen",
	.callback = vxg_page_gen,
};

static bool vxg_page_watching;

static void vxg_page_free(void)
{
	if (vxg_page_watching)
		unregister_xenbus_watch(&vxg_page_watch);
	vxg_page_watching = false;
	if (vxg_page)
		__free_page(vxg_page);
	vxg_page = NULL;
}

/* the page, its frame in xenstore, and the watch that rewrites it */
static int vxg_page_init(void)
{
	int ret;

	vxg_page = alloc_page(GFP_KERNEL);
	if (!vxg_page)
		return -ENOMEM;
	vxg_page_fill(1);
	ret = xenbus_printf(XBT_NIL, "data", "virtbe-page-gfn", "%lu",
			    xen_page_to_gfn(vxg_page));
	if (!ret)
		ret = register_xenbus_watch(&vxg_page_watch);
	if (ret) {
		vxg_page_free();
		return ret;
	}
	vxg_page_watching = true;
	pr_info("test page at gfn %#lx\n", xen_page_to_gfn(vxg_page));
	return 0;
}

static struct vxg_dev vxg_devs[2] = {
	{ .key = "virtbe-port", .irq = -1 },
	{ .key = "virtbe-fs-port", .irq = -1 },
};

static unsigned int vxg_ndevs;

/* virtio_mmio shares the IRQ; this handler only keeps the binding. */
static irqreturn_t vxg_interrupt(int irq, void *dev_id)
{
	return IRQ_NONE;
}

static bool vxg_go(void)
{
	unsigned int len;
	char *s = xenbus_read(XBT_NIL, "data", "virtbe-go", &len);

	if (IS_ERR(s))
		return false;
	kfree(s);
	return true;
}

static void vxg_close(evtchn_port_t port)
{
	struct evtchn_close close = { .port = port };

	HYPERVISOR_event_channel_op(EVTCHNOP_close, &close);
}

/* an event channel for dom0, bound to an IRQ, its port in xenstore */
static int vxg_channel(struct vxg_dev *d)
{
	struct evtchn_alloc_unbound alloc = {
		.dom = DOMID_SELF,
		.remote_dom = 0,
	};
	int ret;

	ret = HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &alloc);
	if (ret)
		return ret;
	d->port = alloc.port;
	ret = bind_evtchn_to_irqhandler(d->port, vxg_interrupt, IRQF_SHARED,
					"vbe-xen-guest", d);
	if (ret < 0) {
		vxg_close(d->port);
		return ret;
	}
	d->irq = ret;
	ret = xenbus_printf(XBT_NIL, "data", d->key, "%u", d->port);
	if (ret) {
		unbind_from_irqhandler(d->irq, d);	/* closes the port */
		d->irq = -1;
		return ret;
	}
	pr_info("device %td: port %u irq %d base %#lx\n", d - vxg_devs,
		d->port, d->irq, d->base);
	return 0;
}

static void vxg_teardown(void)
{
	unsigned int i;

	for (i = vxg_ndevs; i-- > 0;) {
		struct vxg_dev *d = &vxg_devs[i];

		if (!IS_ERR_OR_NULL(d->pdev))
			platform_device_unregister(d->pdev);
		if (d->irq >= 0)
			unbind_from_irqhandler(d->irq, d);
	}
	vxg_page_free();
}

static int __init vxg_init(void)
{
	struct resource res[2];
	unsigned int waited = 0, i;
	int ret;

	if (!xen_domain() || xen_initial_domain())
		return -ENODEV;
	vxg_devs[0].base = base;
	vxg_devs[1].base = fs_base;
	ret = vxg_page_init();
	if (ret)
		return ret;
	for (vxg_ndevs = 0; vxg_ndevs < (fs_base ? 2 : 1); vxg_ndevs++) {
		ret = vxg_channel(&vxg_devs[vxg_ndevs]);
		if (ret)
			goto err;
	}
	pr_info("%u device(s): waiting for dom0\n", vxg_ndevs);
	while (!vxg_go()) {
		if (waited >= wait_ms) {
			ret = -ETIMEDOUT;
			goto err;
		}
		msleep(100);
		waited += 100;
	}

	for (i = 0; i < vxg_ndevs; i++) {
		struct vxg_dev *d = &vxg_devs[i];

		res[0] = (struct resource)DEFINE_RES_MEM(d->base, 0x200);
		res[1] = (struct resource)DEFINE_RES_IRQ(d->irq);
		d->pdev = platform_device_register_simple("virtio-mmio", i, res, 2);
		if (IS_ERR(d->pdev)) {
			ret = PTR_ERR(d->pdev);
			goto err;
		}
		pr_info("virtio-mmio.%u registered\n", i);
	}
	return 0;

err:
	vxg_teardown();
	return ret;
}

static void __exit vxg_exit(void)
{
	vxg_teardown();
}

module_init(vxg_init);
module_exit(vxg_exit);
MODULE_DESCRIPTION("virtbe real-Xen test: virtio-mmio devices in a PVH domU");
MODULE_LICENSE("GPL");
