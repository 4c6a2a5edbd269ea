// SPDX-License-Identifier: GPL-2.0
/*
 * virtbe core: /dev/virtbe and the module.
 *
 * Copyright (C) 2026 The virtbe authors
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/build_bug.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/uaccess.h>

#include "virtbe.h"

static_assert(sizeof(struct virtbe_info) == 48);
static_assert(sizeof(struct virtbe_attach) == 32);
static_assert(sizeof(struct virtbe_mem_map) == 32);
static_assert(sizeof(struct virtbe_range) == 24);
static_assert(sizeof(struct virtbe_ioeventfd) == 40);
static_assert(sizeof(struct virtbe_irqfd) == 48);
static_assert(sizeof(struct virtbe_stats) == 72);
static_assert(sizeof(struct virtbe_request) == 64);
static_assert(sizeof(struct virtbe_completion) == 32);

static const struct virtbe_ioctl_op virtbe_ctl_ops[] = {
	VIRTBE_IOCTL_OP_OUT(VIRTBE_GET_INFO, virtbe_get_info,
			    struct virtbe_info, out_hyp_features),
	VIRTBE_IOCTL_OP_OUT(VIRTBE_ATTACH, virtbe_guest_attach,
			    struct virtbe_attach, __reserved),
};

static long virtbe_ctl_ioctl(struct file *file, unsigned int cmd,
			     unsigned long arg)
{
	return virtbe_ioctl_dispatch(virtbe_ctl_ops, ARRAY_SIZE(virtbe_ctl_ops),
				     NULL, cmd, arg);
}

static const struct file_operations virtbe_ctl_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = virtbe_ctl_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice virtbe_miscdev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "virtbe",
	.fops = &virtbe_ctl_fops,
	.mode = 0600,
};

static int __init virtbe_init(void)
{
	int ret;

	ret = virtbe_mem_init();
	if (ret)
		return ret;
	ret = virtbe_irqfd_init();
	if (ret)
		goto err_mem_exit;
	ret = misc_register(&virtbe_miscdev);
	if (ret) {
		pr_err("not loaded: cannot create /dev/virtbe (%d)\n", ret);
		goto err_irqfd_exit;
	}
	return 0;

err_irqfd_exit:
	virtbe_irqfd_exit();
err_mem_exit:
	virtbe_mem_exit();
	return ret;
}

static void __exit virtbe_exit(void)
{
	misc_deregister(&virtbe_miscdev);
	/* ioeventfds are freed by RCU callbacks. */
	rcu_barrier();
	virtbe_irqfd_exit();
	virtbe_mem_exit();
}

module_init(virtbe_init);
module_exit(virtbe_exit);
MODULE_DESCRIPTION("virtbe: hypervisor-agnostic ABI for virtio backends");
MODULE_LICENSE("GPL");
MODULE_VERSION(VIRTBE_VERSION);
