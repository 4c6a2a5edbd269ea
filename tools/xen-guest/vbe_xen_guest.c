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
#include <xen/xen.h>
#include <xen/xenbus.h>

#include <asm/xen/hypercall.h>

static unsigned long base = 0xfe000000;
module_param(base, ulong, 0444);
MODULE_PARM_DESC(base, "guest-physical base of the virtio-mmio registers");

static unsigned int wait_ms = 120000;
module_param(wait_ms, uint, 0444);
MODULE_PARM_DESC(wait_ms, "how long to wait for dom0's go");

static struct platform_device *vxg_pdev;
static evtchn_port_t vxg_port;
static int vxg_irq = -1;

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

static int __init vxg_init(void)
{
	struct evtchn_alloc_unbound alloc = {
		.dom = DOMID_SELF,
		.remote_dom = 0,
	};
	struct resource res[2];
	unsigned int waited = 0;
	int ret;

	if (!xen_domain() || xen_initial_domain())
		return -ENODEV;
	ret = HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &alloc);
	if (ret)
		return ret;
	vxg_port = alloc.port;
	ret = bind_evtchn_to_irqhandler(vxg_port, vxg_interrupt, IRQF_SHARED,
					"vbe-xen-guest", &vxg_port);
	if (ret < 0)
		goto err_close;
	vxg_irq = ret;

	ret = xenbus_printf(XBT_NIL, "data", "virtbe-port", "%u", vxg_port);
	if (ret)
		goto err_unbind;
	pr_info("port %u irq %d base %#lx: waiting for dom0\n", vxg_port,
		vxg_irq, base);
	while (!vxg_go()) {
		if (waited >= wait_ms) {
			ret = -ETIMEDOUT;
			goto err_unbind;
		}
		msleep(100);
		waited += 100;
	}

	res[0] = (struct resource)DEFINE_RES_MEM(base, 0x200);
	res[1] = (struct resource)DEFINE_RES_IRQ(vxg_irq);
	vxg_pdev = platform_device_register_simple("virtio-mmio", 0, res, 2);
	if (IS_ERR(vxg_pdev)) {
		ret = PTR_ERR(vxg_pdev);
		goto err_unbind;
	}
	pr_info("virtio-mmio device registered\n");
	return 0;

err_unbind:
	unbind_from_irqhandler(vxg_irq, &vxg_port);	/* closes the port */
	return ret;
err_close:
	vxg_close(vxg_port);
	return ret;
}

static void __exit vxg_exit(void)
{
	platform_device_unregister(vxg_pdev);
	unbind_from_irqhandler(vxg_irq, &vxg_port);
}

module_init(vxg_init);
module_exit(vxg_exit);
MODULE_DESCRIPTION("virtbe real-Xen test: a virtio-mmio device in a PVH domU");
MODULE_LICENSE("GPL");
