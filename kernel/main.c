// SPDX-License-Identifier: GPL-2.0
/*
 * virtbe core: /dev/virtbe, ioctl dispatch and the backend registry.
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
static_assert(sizeof(struct virtbe_stats) == 64);
static_assert(sizeof(struct virtbe_request) == 64);
static_assert(sizeof(struct virtbe_completion) == 32);
static_assert(sizeof(struct virtbe_sim_create) == 24);
static_assert(sizeof(struct virtbe_sim_ram) == 40);
static_assert(sizeof(struct virtbe_sim_access) == 40);
static_assert(sizeof(struct virtbe_sim_bind_irq) == 24);
static_assert(sizeof(struct virtbe_sim_irq_state) == 32);
static_assert(sizeof(struct virtbe_sim_fault) == 16);
static_assert(sizeof(struct virtbe_sim_destroy) == 8);

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
EXPORT_SYMBOL_GPL(virtbe_hyp_register);

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
EXPORT_SYMBOL_GPL(virtbe_hyp_unregister);

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
			    VIRTBE_F_VIRTIO_MMIO_ISR | VIRTBE_F_MULTI_ATTACH;
	cmd->out_hyps = virtbe_hyp_loaded_mask();
	return 0;
}

/**
 * virtbe_ioctl_dispatch() - run one ioctl from a table
 * @ops: the table, indexed by _IOC_NR(cmd) modulo 64
 * @nr_ops: entries in @ops
 * @obj: the object the fd stands for, passed to the handler
 * @cmd: the ioctl number
 * @arg: the user pointer
 *
 * Copies the struct in with copy_struct_from_user() semantics and runs the
 * handler.  A struct with output fields is first written back unchanged
 * (so that an unwritable one fails before anything is done) and, on
 * success, written back with the results, truncated to the caller's size;
 * a file the handler created gets an fd, installed in the fd table only
 * then, and returned.
 *
 * Return: the handler's value, or -ENOTTY, -EFAULT, -EINVAL, -E2BIG.
 */
long virtbe_ioctl_dispatch(const struct virtbe_ioctl_op *ops,
			   unsigned int nr_ops, void *obj, unsigned int cmd,
			   unsigned long arg)
{
	void __user *uarg = (void __user *)arg;
	const struct virtbe_ioctl_op *op;
	u64 buf[VIRTBE_UCMD_MAX / sizeof(u64)];
	struct virtbe_ucmd ucmd = { .obj = obj, .cmd = buf };
	unsigned int nr = _IOC_NR(cmd) & 0x3f;
	u32 out_size;
	long ret;
	int fd;

	if (_IOC_TYPE(cmd) != VIRTBE_TYPE || nr >= nr_ops)
		return -ENOTTY;
	op = &ops[nr];
	if (!op->execute || op->ioctl_num != cmd)
		return -ENOTTY;
	if (WARN_ON_ONCE(op->size > sizeof(buf)))
		return -EINVAL;

	if (get_user(ucmd.user_size, (u32 __user *)uarg))
		return -EFAULT;
	if (ucmd.user_size < op->min_size)
		return -EINVAL;
	ret = copy_struct_from_user(buf, op->size, uarg, ucmd.user_size);
	if (ret)
		return ret;
	out_size = min_t(u32, op->size, ucmd.user_size);
	/*
	 * Prove the output can be written before acting: a read-only or
	 * partly mapped struct fails here with nothing done.
	 */
	if (op->out && copy_to_user(uarg, buf, out_size))
		return -EFAULT;

	ret = op->execute(&ucmd);
	if (ret < 0 || !ucmd.new_file) {
		if (!ret && op->out && copy_to_user(uarg, buf, out_size))
			ret = -EFAULT;
		return ret;
	}

	/* A new file: an fd for it, installed once the output is out. */
	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		ret = fd;
		goto err_fput;
	}
	if (op->out && copy_to_user(uarg, buf, out_size)) {
		ret = -EFAULT;
		goto err_put_fd;
	}
	fd_install(fd, ucmd.new_file);
	return fd;

err_put_fd:
	put_unused_fd(fd);
err_fput:
	fput(ucmd.new_file);
	return ret;
}
EXPORT_SYMBOL_GPL(virtbe_ioctl_dispatch);

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
	if (ret)
		goto err_irqfd_exit;
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
