// SPDX-License-Identifier: GPL-2.0
/*
 * virtbe core: the registry of hypervisor backends, and VIRTBE_GET_INFO.
 *
 * Copyright (C) 2026 The virtbe authors
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/mutex.h>

#include "virtbe.h"

static DEFINE_MUTEX(virtbe_hyp_lock);
static const struct virtbe_hyp_ops *virtbe_hyps[VIRTBE_HYP_MAX + 1];

/**
 * virtbe_hyp_register() - make a hypervisor backend available
 * @ops: the backend; must stay valid until virtbe_hyp_unregister()
 *
 * Return: 0, -EINVAL for a bad id or a missing mandatory op (attach,
 * detach, complete; irq_set when interrupt features are offered), or
 * -EEXIST if the id is taken.
 */
int virtbe_hyp_register(const struct virtbe_hyp_ops *ops)
{
	int ret = 0;

	if (!ops->id || ops->id > VIRTBE_HYP_MAX || !ops->attach ||
	    !ops->detach || !ops->complete)
		return -EINVAL;
	/* A backend that offers interrupts must be able to raise them. */
	if ((ops->features & (VIRTBE_HYP_F_IRQ_EDGE | VIRTBE_HYP_F_IRQ_LEVEL |
			      VIRTBE_HYP_F_IRQ_EVTCHN | VIRTBE_HYP_F_IRQ_MSI)) &&
	    !ops->irq_set)
		return -EINVAL;

	mutex_lock(&virtbe_hyp_lock);
	if (virtbe_hyps[ops->id])
		ret = -EEXIST;
	else
		virtbe_hyps[ops->id] = ops;
	mutex_unlock(&virtbe_hyp_lock);
	if (!ret)
		pr_info("hypervisor backend %s registered\n", ops->name);
	return ret;
}
EXPORT_SYMBOL_NS_GPL(virtbe_hyp_register, VIRTBE_NS);

/**
 * virtbe_hyp_unregister() - withdraw a hypervisor backend
 * @ops: the backend passed to virtbe_hyp_register()
 *
 * No guest can be attached at this point: each attached guest holds a
 * reference on @ops->owner, so the module cannot be unloading.
 */
void virtbe_hyp_unregister(const struct virtbe_hyp_ops *ops)
{
	mutex_lock(&virtbe_hyp_lock);
	if (virtbe_hyps[ops->id] == ops)
		virtbe_hyps[ops->id] = NULL;
	mutex_unlock(&virtbe_hyp_lock);
}
EXPORT_SYMBOL_NS_GPL(virtbe_hyp_unregister, VIRTBE_NS);

/**
 * virtbe_hyp_get() - look up a backend and pin its module
 * @id: VIRTBE_HYP_*
 *
 * Return: the backend, or NULL if it is not loaded (or is unloading).
 */
const struct virtbe_hyp_ops *virtbe_hyp_get(u32 id)
{
	const struct virtbe_hyp_ops *ops = NULL;

	if (!id || id > VIRTBE_HYP_MAX)
		return NULL;
	mutex_lock(&virtbe_hyp_lock);
	if (virtbe_hyps[id] && try_module_get(virtbe_hyps[id]->owner))
		ops = virtbe_hyps[id];
	mutex_unlock(&virtbe_hyp_lock);
	return ops;
}

/**
 * virtbe_hyp_put() - drop the reference taken by virtbe_hyp_get()
 * @ops: the backend
 */
void virtbe_hyp_put(const struct virtbe_hyp_ops *ops)
{
	module_put(ops->owner);
}

/**
 * virtbe_hyp_loaded_mask() - which backends are registered
 *
 * Return: bit N set for each registered backend id N.
 */
u64 virtbe_hyp_loaded_mask(void)
{
	u64 mask = 0;
	u32 i;

	mutex_lock(&virtbe_hyp_lock);
	for (i = 1; i <= VIRTBE_HYP_MAX; i++)
		if (virtbe_hyps[i])
			mask |= 1ULL << i;
	mutex_unlock(&virtbe_hyp_lock);
	return mask;
}

/**
 * virtbe_get_info() - VIRTBE_GET_INFO
 * @ucmd: the call; works on the control device and on guest fds
 *
 * Return: 0, or -EINVAL, -EOPNOTSUPP, -ENODEV as documented in the uapi.
 */
long virtbe_get_info(struct virtbe_ucmd *ucmd)
{
	struct virtbe_info *cmd = ucmd->cmd;
	const struct virtbe_hyp_ops *ops;

	if (cmd->flags)
		return -EOPNOTSUPP;
	if (cmd->__reserved)
		return -EINVAL;
	if (cmd->hyp > VIRTBE_HYP_MAX)
		return -EINVAL;

	cmd->out_hyp_features = 0;
	if (cmd->hyp) {
		ops = virtbe_hyp_get(cmd->hyp);
		if (!ops)
			return -ENODEV;
		cmd->out_hyp_features = ops->features;
		virtbe_hyp_put(ops);
	}
	cmd->out_api_version = VIRTBE_API_VERSION;
	cmd->out_max_vcpus = VIRTBE_MAX_VCPUS;
	cmd->out_features = VIRTBE_F_REQUEST_CHANNEL | VIRTBE_F_IOEVENTFD |
			    VIRTBE_F_IRQFD | VIRTBE_F_MEM_FD |
			    VIRTBE_F_VIRTIO_MMIO_ISR | VIRTBE_F_MULTI_ATTACH |
			    VIRTBE_F_STATS_REJECTED;
	cmd->out_hyps = virtbe_hyp_loaded_mask();
	return 0;
}
