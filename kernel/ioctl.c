// SPDX-License-Identifier: GPL-2.0
/*
 * virtbe core: table-driven ioctl dispatch, for /dev/virtbe, guest fds and
 * backends with a device of their own.
 *
 * Copyright (C) 2026 The virtbe authors
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/uaccess.h>

#include "virtbe.h"

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
EXPORT_SYMBOL_NS_GPL(virtbe_ioctl_dispatch, VIRTBE_NS);
