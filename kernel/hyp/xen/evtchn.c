// SPDX-License-Identifier: GPL-2.0
/*
 * virtbe_xen: event channels (the vCPUs' ioreq channels, guest ports)
 * and interrupt lines.
 *
 * Copyright (C) 2026 The virtbe authors
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "xen.h"

/* ---- Event channels ---- */

static int vbx_bind_interdomain(domid_t domid, evtchn_port_t remote,
				evtchn_port_t *local)
{
	struct evtchn_bind_interdomain bind = {
		.remote_dom = domid,
		.remote_port = remote,
	};
	int ret;

	ret = HYPERVISOR_event_channel_op(EVTCHNOP_bind_interdomain, &bind);
	if (!ret)
		*local = bind.local_port;
	return ret;
}

void vbx_close_port(evtchn_port_t port)
{
	struct evtchn_close close = { .port = port };

	HYPERVISOR_event_channel_op(EVTCHNOP_close, &close);
}

void vbx_unbind_vcpus(struct vbx_guest *xg)
{
	u32 i;

	if (xg->buf_irq >= 0)
		unbind_from_irqhandler(xg->buf_irq, xg);
	xg->buf_irq = -1;

	for (i = 0; i < xg->nr_vcpus; i++) {
		if (xg->vcpus[i].irq >= 0)
			unbind_from_irqhandler(xg->vcpus[i].irq, &xg->vcpus[i]);
		xg->vcpus[i].irq = -1;
	}
}

int vbx_bind_vcpus(struct vbx_guest *xg)
{
	struct vbx_ioreq *slots = page_address(xg->pages[1]);
	struct vbx_dm_op op = {
		.op = VBX_DMOP_get_ioreq_server_info,
		.u.info = { .id = xg->id, .flags = VBX_DMOP_no_gfns },
	};
	evtchn_port_t local;
	u32 i;
	int ret;

	/* The buffered ring's channel, one for the server (x86 only) */
	if (VBX_HAVE_BUF) {
		ret = vbx_dm_op(xg->domid, &op);
		if (ret)
			return ret;
		ret = vbx_bind_interdomain(xg->domid, op.u.info.bufioreq_port,
					   &local);
		if (ret)
			return ret;
		ret = bind_evtchn_to_irqhandler_lateeoi(local, vbx_buf_event, 0,
							"virtbe-xen-buf", xg);
		if (ret < 0) {
			vbx_close_port(local);
			return ret;
		}
		xg->buf_irq = ret;
	}

	for (i = 0; i < xg->nr_vcpus; i++) {
		struct vbx_vcpu *v = &xg->vcpus[i];

		v->req = &slots[i];
		ret = vbx_bind_interdomain(xg->domid,
					   READ_ONCE(slots[i].vp_eport),
					   &local);
		if (ret)
			return ret;
		ret = bind_evtchn_to_irqhandler_lateeoi(local, vbx_ioreq_event,
							0, "virtbe-xen", v);
		if (ret < 0) {
			vbx_close_port(local);
			return ret;
		}
		v->irq = ret;
	}
	return 0;
}

/* x86: ISA IRQs; Arm: SPIs (Xen checks the domain's own limit) */
static bool vbx_line_ok(u32 line)
{
	return IS_ENABLED(CONFIG_X86) ? line < 16 : line >= 32 && line < 1020;
}

/* Set an interrupt line; a dm_op does not sleep: fine in wakeups. */
static void vbx_set_line(struct vbx_guest *xg, u32 line, bool level)
{
	struct vbx_dm_op op;

	if (IS_ENABLED(CONFIG_X86))
		op = (struct vbx_dm_op) {
			.op = VBX_DMOP_set_isa_irq_level,
			.u.isa_irq = { .isa_irq = line, .level = level },
		};
	else
		op = (struct vbx_dm_op) {
			.op = VBX_DMOP_set_irq_level,
			.u.irq_level = { .irq = line, .level = level },
		};
	vbx_dm_op(xg->domid, &op);
}

int vbx_irq_check(struct virtbe_guest *g, const struct virtbe_irq *irq)
{
	struct vbx_guest *xg = virtbe_guest_hyp_data(g);
	evtchn_port_t local;
	int ret = 0;

	switch (irq->type) {
	case VIRTBE_IRQ_EDGE:
	case VIRTBE_IRQ_LEVEL:
		return vbx_line_ok(irq->irq) ? 0 : -EINVAL;
	case VIRTBE_IRQ_MSI:
		return IS_ENABLED(CONFIG_X86) ? 0 : -EINVAL;
	case VIRTBE_IRQ_EVTCHN:
		break;
	default:
		return -EINVAL;
	}
	if (!irq->irq)
		return -EINVAL;
	mutex_lock(&xg->port_lock);
	if (xa_load(&xg->ports, irq->irq))
		goto out_unlock;
	ret = vbx_bind_interdomain(xg->domid, irq->irq, &local);
	if (ret) {
		pr_debug("d%u: binding port %u: %d\n", xg->domid, irq->irq,
			 ret);
		ret = -EINVAL;
		goto out_unlock;
	}
	ret = xa_err(xa_store(&xg->ports, irq->irq, xa_mk_value(local),
			      GFP_KERNEL));
	if (ret)
		vbx_close_port(local);
out_unlock:
	mutex_unlock(&xg->port_lock);
	return ret;
}

int vbx_irq_set(struct virtbe_guest *g, const struct virtbe_irq *irq,
		bool level)
{
	struct vbx_guest *xg = virtbe_guest_hyp_data(g);
	struct vbx_dm_op op;
	void *entry;

	switch (irq->type) {
	case VIRTBE_IRQ_EVTCHN:
		entry = xa_load(&xg->ports, irq->irq);
		if (entry)
			notify_remote_via_evtchn(xa_to_value(entry));
		return 0;
	case VIRTBE_IRQ_EDGE:
		vbx_set_line(xg, irq->irq, true);
		vbx_set_line(xg, irq->irq, false);
		return 0;
	case VIRTBE_IRQ_LEVEL:
		vbx_set_line(xg, irq->irq, level);
		return 0;
	case VIRTBE_IRQ_MSI:
		op = (struct vbx_dm_op) {
			.op = VBX_DMOP_inject_msi,
			.u.msi = { .data = irq->msi_data,
				   .addr = irq->msi_addr },
		};
		vbx_dm_op(xg->domid, &op);
		return 0;
	}
	return 0;
}
