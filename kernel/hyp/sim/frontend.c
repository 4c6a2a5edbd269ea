// SPDX-License-Identifier: GPL-2.0
/*
 * virtbe_sim: the frontend device, /dev/virtbe_sim: creates guests, gives
 * them RAM, runs their vCPUs' accesses, binds their interrupts to eventfds
 * and injects faults.
 *
 * Copyright (C) 2026 The virtbe authors
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "sim.h"

/* The frontend ABI's layout (<linux/virtbe_sim.h>), the same on every ABI. */
static_assert(sizeof(struct virtbe_sim_create) == 24);
static_assert(sizeof(struct virtbe_sim_ram) == 40);
static_assert(sizeof(struct virtbe_sim_access) == 40);
static_assert(sizeof(struct virtbe_sim_bind_irq) == 24);
static_assert(sizeof(struct virtbe_sim_irq_state) == 32);
static_assert(sizeof(struct virtbe_sim_fault) == 16);
static_assert(sizeof(struct virtbe_sim_destroy) == 8);

/* The attachment whose range holds the whole access, or NULL. */
static struct sim_be *sim_claimed(struct sim_guest *sg, bool pio, u64 addr,
				  u32 len)
{
	const struct sim_range *r;

	lockdep_assert_held(&sg->slock);
	list_for_each_entry(r, &sg->ranges, node)
		if (r->pio == pio && addr >= r->addr &&
		    addr - r->addr < r->len && r->len - (addr - r->addr) >= len)
			return r->be;
	return NULL;
}

static long sim_add_ram(struct virtbe_ucmd *ucmd)
{
	struct sim_guest *sg = ucmd->obj;
	struct virtbe_sim_ram *cmd = ucmd->cmd;
	struct file *file;
	unsigned int i;
	int ret;

	if (cmd->flags)
		return -EOPNOTSUPP;
	if (cmd->__reserved || !cmd->len || !PAGE_ALIGNED(cmd->gpa) ||
	    !PAGE_ALIGNED(cmd->len) || !PAGE_ALIGNED(cmd->offset) ||
	    cmd->gpa + cmd->len < cmd->gpa ||
	    cmd->offset + cmd->len < cmd->offset)
		return -EINVAL;

	file = fget(cmd->memfd);
	if (!file)
		return -EBADF;
	ret = -EINVAL;
	if (!shmem_file(file) || !(file->f_mode & FMODE_WRITE) ||
	    cmd->offset + cmd->len > i_size_read(file_inode(file)))
		goto err_fput;

	mutex_lock(&sg->lock);
	ret = -ENODEV;
	if (READ_ONCE(sg->destroyed))
		goto err_unlock;
	ret = -EEXIST;
	for (i = 0; i < sg->nr_ram; i++)
		if (cmd->gpa < sg->ram[i].gpa + sg->ram[i].len &&
		    sg->ram[i].gpa < cmd->gpa + cmd->len)
			goto err_unlock;
	ret = -ENOSPC;
	if (sg->nr_ram >= SIM_MAX_RAM)
		goto err_unlock;
	sg->ram[sg->nr_ram++] = (struct sim_ram) {
		.file = file, .gpa = cmd->gpa, .len = cmd->len,
		.offset = cmd->offset,
	};
	mutex_unlock(&sg->lock);
	return 0;

err_unlock:
	mutex_unlock(&sg->lock);
err_fput:
	fput(file);
	return ret;
}

/* A completion for a vCPU whose waiter was killed: just clear busy. */
static bool sim_vcpu_reclaim(struct sim_vcpu *v)
{
	/* Acquire pairs with sim_vcpu_wake(). */
	if (v->busy && smp_load_acquire(&v->done))
		v->busy = false;
	return !v->busy;
}

static long sim_access(struct virtbe_ucmd *ucmd)
{
	struct sim_guest *sg = ucmd->obj;
	struct virtbe_sim_access *cmd = ucmd->cmd;
	bool write = cmd->flags & VIRTBE_SIM_ACCESS_WRITE;
	u64 mask = cmd->len >= 8 ? ~0ULL : (1ULL << (cmd->len * 8)) - 1;
	struct virtbe_io io = {
		.vcpu = cmd->vcpu, .len = cmd->len, .write = write,
		.pio = cmd->flags & VIRTBE_SIM_ACCESS_PIO,
		.addr = cmd->addr, .data = cmd->data & mask,
	};
	struct virtbe_guest *be;
	struct sim_be *sbe;
	struct sim_vcpu *v;
	unsigned long flags;
	bool dropped = false;
	long ret = 0;
	int disp;

	if (cmd->flags & ~(VIRTBE_SIM_ACCESS_WRITE | VIRTBE_SIM_ACCESS_PIO |
			   VIRTBE_SIM_ACCESS_POSTED | VIRTBE_SIM_ACCESS_REP))
		return -EOPNOTSUPP;
	if ((cmd->flags & VIRTBE_SIM_ACCESS_POSTED) && !write)
		return -EINVAL;
	/* Xen buffers no string access */
	if ((cmd->flags & VIRTBE_SIM_ACCESS_POSTED) &&
	    (cmd->flags & VIRTBE_SIM_ACCESS_REP))
		return -EINVAL;
	if (cmd->__reserved || cmd->vcpu >= sg->nr_vcpus ||
	    (cmd->len != 1 && cmd->len != 2 && cmd->len != 4 && cmd->len != 8))
		return -EINVAL;
	if (cmd->addr + cmd->len - 1 < cmd->addr)
		return -EINVAL;

	v = &sg->vcpus[cmd->vcpu];
	if (!mutex_trylock(&v->lock))
		return -EBUSY;
	if (!sim_vcpu_reclaim(v)) {
		ret = -EBUSY;
		goto out_unlock;
	}

	/*
	 * The access goes to the attachment that claimed its address, which
	 * stays attached for the RCU read section (sim_detach() waits for
	 * it); dispatch outside slock, since signalling an ioeventfd may
	 * re-enter the simulator through an irqfd.
	 */
	rcu_read_lock();
	spin_lock_irqsave(&sg->slock, flags);
	if (sg->destroyed) {
		spin_unlock_irqrestore(&sg->slock, flags);
		rcu_read_unlock();
		ret = -ENODEV;
		goto out_unlock;
	}
	sbe = sim_claimed(sg, io.pio, io.addr, io.len);
	if (!sbe) {
		spin_unlock_irqrestore(&sg->slock, flags);
		rcu_read_unlock();
		cmd->out_result = VIRTBE_SIM_RESULT_UNCLAIMED;
		cmd->data = write ? cmd->data : mask;
		goto out_unlock;
	}
	be = sbe->g;
	spin_unlock_irqrestore(&sg->slock, flags);
	if (cmd->flags & VIRTBE_SIM_ACCESS_REP) {
		/* What Xen's backend does with a count above 1 */
		virtbe_ioreq_rejected(be);
		rcu_read_unlock();
		cmd->out_result = VIRTBE_SIM_RESULT_REJECTED;
		cmd->data = write ? cmd->data : mask;
		goto out_unlock;
	}
	if (cmd->flags & VIRTBE_SIM_ACCESS_POSTED) {
		disp = virtbe_ioreq_posted(be, &io);
		rcu_read_unlock();
		cmd->out_result = disp == VIRTBE_IO_DONE ?
					VIRTBE_SIM_RESULT_IOEVENTFD :
				  disp == VIRTBE_IO_KERNEL ?
					VIRTBE_SIM_RESULT_KERNEL :
					VIRTBE_SIM_RESULT_DROPPED;
		goto out_unlock;
	}
	v->done = false;
	if (atomic_dec_if_positive(&sg->drop_event) >= 0) {
		dropped = true;
		disp = VIRTBE_IO_QUEUED;
	} else {
		disp = virtbe_ioreq_dispatch(be, &io);
	}
	rcu_read_unlock();
	if (disp == VIRTBE_IO_QUEUED && !dropped)
		v->busy = true;

	if (disp == VIRTBE_IO_DONE) {
		cmd->out_result = VIRTBE_SIM_RESULT_IOEVENTFD;
		goto out_unlock;
	}
	if (disp == VIRTBE_IO_KERNEL) {
		cmd->out_result = VIRTBE_SIM_RESULT_KERNEL;
		if (!write)
			cmd->data = io.data & mask;
		goto out_unlock;
	}
	if (disp < 0) {
		cmd->out_result = VIRTBE_SIM_RESULT_ABORTED;
		cmd->data = write ? cmd->data : mask;
		goto out_unlock;
	}
	if (dropped) {
		/* Lost notification: only the watchdog releases the vCPU. */
		schedule_timeout_killable(msecs_to_jiffies(SIM_WATCHDOG_MS));
		cmd->out_result = VIRTBE_SIM_RESULT_ABORTED;
		cmd->data = write ? cmd->data : mask;
		goto out_unlock;
	}

	/* Acquire: data and aborted were written before done. */
	ret = wait_event_killable(v->wq, smp_load_acquire(&v->done));
	if (ret) {
		/* v->busy stays set until the completion arrives. */
		ret = -EINTR;
		goto out_unlock;
	}
	v->busy = false;
	cmd->out_result = v->aborted ? VIRTBE_SIM_RESULT_ABORTED :
				       VIRTBE_SIM_RESULT_BACKEND;
	if (!write)
		cmd->data = v->aborted ? mask : v->data & mask;

out_unlock:
	mutex_unlock(&v->lock);
	return ret;
}

static long sim_bind_irq(struct virtbe_ucmd *ucmd)
{
	struct sim_guest *sg = ucmd->obj;
	struct virtbe_sim_bind_irq *cmd = ucmd->cmd;
	struct eventfd_ctx *new = NULL, *old;
	struct sim_irq *si;
	unsigned long flags;
	unsigned int bit;

	if (cmd->flags & ~VIRTBE_SIM_BIND_IRQ_UNBIND)
		return -EOPNOTSUPP;
	if (cmd->__reserved)
		return -EINVAL;
	si = sim_irq_get(sg, cmd->type, cmd->irq, &bit);
	if (!si)
		return -EINVAL;
	if (!(cmd->flags & VIRTBE_SIM_BIND_IRQ_UNBIND)) {
		new = eventfd_ctx_fdget(cmd->fd);
		if (IS_ERR(new))
			return PTR_ERR(new);
	}

	spin_lock_irqsave(&sg->slock, flags);
	old = rcu_dereference_protected(si->eventfd,
					lockdep_is_held(&sg->slock));
	rcu_assign_pointer(si->eventfd, new);
	clear_bit(bit, sg->pending);
	spin_unlock_irqrestore(&sg->slock, flags);
	if (old) {
		synchronize_rcu();
		eventfd_ctx_put(old);
	}
	return 0;
}

static long sim_irq_state(struct virtbe_ucmd *ucmd)
{
	struct sim_guest *sg = ucmd->obj;
	struct virtbe_sim_irq_state *cmd = ucmd->cmd;
	bool resample = false;
	struct sim_be *be;
	struct sim_irq *si;
	unsigned long flags;
	unsigned int bit;

	if (cmd->flags & ~VIRTBE_SIM_IRQ_EOI)
		return -EOPNOTSUPP;
	if (cmd->__reserved)
		return -EINVAL;
	si = sim_irq_get(sg, cmd->type, cmd->irq, &bit);
	if (!si)
		return -EINVAL;

	/* The attachments stay attached for the RCU read section. */
	rcu_read_lock();
	spin_lock_irqsave(&sg->slock, flags);
	if ((cmd->flags & VIRTBE_SIM_IRQ_EOI) && si->level) {
		si->level = false;
		resample = !sg->destroyed;
	}
	cmd->out_level = si->level;
	cmd->out_count = si->count;
	spin_unlock_irqrestore(&sg->slock, flags);

	/* Outside slock: resampling may raise the line again. */
	if (resample)
		list_for_each_entry_rcu(be, &sg->bes, node)
			virtbe_irq_resample(be->g, VIRTBE_IRQ_LEVEL, cmd->irq);
	rcu_read_unlock();
	return 0;
}

static long sim_fault(struct virtbe_ucmd *ucmd)
{
	struct sim_guest *sg = ucmd->obj;
	struct virtbe_sim_fault *cmd = ucmd->cmd;

	if (cmd->flags)
		return -EOPNOTSUPP;
	if (cmd->arg > SIM_MAX_FAULT_MS)
		return -EINVAL;
	switch (cmd->fault) {
	case VIRTBE_SIM_FAULT_FAIL_MAP:
		atomic_set(&sg->fail_map, cmd->arg);
		break;
	case VIRTBE_SIM_FAULT_DROP_IRQ:
		atomic_set(&sg->drop_irq, cmd->arg);
		break;
	case VIRTBE_SIM_FAULT_DELAY_IRQ:
		WRITE_ONCE(sg->delay_irq_ms, cmd->arg);
		break;
	case VIRTBE_SIM_FAULT_DELAY_COMPLETION:
		WRITE_ONCE(sg->delay_completion_ms, cmd->arg);
		break;
	case VIRTBE_SIM_FAULT_DROP_EVENT:
		atomic_set(&sg->drop_event, cmd->arg);
		break;
	default:
		return -EINVAL;
	}
	return 0;
}

/* Kill the guest, as a hypervisor destroying a domain would. */
static void sim_guest_destroy(struct sim_guest *sg)
{
	struct virtbe_guest *g;
	unsigned long flags;
	struct sim_be *be;

	spin_lock_irqsave(&sg->slock, flags);
	if (sg->destroyed) {
		spin_unlock_irqrestore(&sg->slock, flags);
		return;
	}
	sg->destroyed = true;
	spin_unlock_irqrestore(&sg->slock, flags);

	/*
	 * Tell every attachment, one at a time: virtbe_guest_gone() sleeps,
	 * so not under slock, and attachments may detach meanwhile (none
	 * can be added: the guest is destroyed).
	 */
	for (;;) {
		g = NULL;
		spin_lock_irqsave(&sg->slock, flags);
		list_for_each_entry(be, &sg->bes, node) {
			if (!be->gone) {
				be->gone = true;
				g = be->g;
				virtbe_guest_get(g);
				break;
			}
		}
		spin_unlock_irqrestore(&sg->slock, flags);
		if (!g)
			break;
		virtbe_guest_gone(g);
		virtbe_guest_put(g);
	}
}

static long sim_destroy(struct virtbe_ucmd *ucmd)
{
	struct virtbe_sim_destroy *cmd = ucmd->cmd;

	if (cmd->flags)
		return -EOPNOTSUPP;
	sim_guest_destroy(ucmd->obj);
	return 0;
}

static const struct virtbe_ioctl_op sim_guest_ops[] = {
	VIRTBE_IOCTL_OP(VIRTBE_SIM_ADD_RAM, sim_add_ram, struct virtbe_sim_ram,
			offset),
	VIRTBE_IOCTL_OP_OUT(VIRTBE_SIM_ACCESS, sim_access,
			    struct virtbe_sim_access, __reserved),
	VIRTBE_IOCTL_OP(VIRTBE_SIM_BIND_IRQ, sim_bind_irq,
			struct virtbe_sim_bind_irq, __reserved),
	VIRTBE_IOCTL_OP_OUT(VIRTBE_SIM_IRQ_STATE, sim_irq_state,
			    struct virtbe_sim_irq_state, out_count),
	VIRTBE_IOCTL_OP(VIRTBE_SIM_FAULT, sim_fault, struct virtbe_sim_fault,
			arg),
	VIRTBE_IOCTL_OP(VIRTBE_SIM_DESTROY, sim_destroy,
			struct virtbe_sim_destroy, flags),
};

static long sim_guest_fop_ioctl(struct file *file, unsigned int cmd,
				unsigned long arg)
{
	struct sim_guest *sg = file->private_data;

	if (READ_ONCE(sg->destroyed) && cmd != VIRTBE_SIM_IRQ_STATE)
		return -ENODEV;
	return virtbe_ioctl_dispatch(sim_guest_ops, ARRAY_SIZE(sim_guest_ops),
				     sg, cmd, arg);
}

static int sim_guest_fop_release(struct inode *inode, struct file *file)
{
	struct sim_guest *sg = file->private_data;

	sim_guest_destroy(sg);
	sim_guest_put(sg);
	return 0;
}

static const struct file_operations sim_guest_fops = {
	.owner = THIS_MODULE,
	.release = sim_guest_fop_release,
	.unlocked_ioctl = sim_guest_fop_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static long sim_create(struct virtbe_ucmd *ucmd)
{
	struct virtbe_sim_create *cmd = ucmd->cmd;
	struct sim_guest *sg;
	struct file *file;
	unsigned int i;
	int ret;

	if (cmd->flags)
		return -EOPNOTSUPP;
	if (cmd->__reserved || !cmd->nr_vcpus || cmd->nr_vcpus > SIM_MAX_VCPUS)
		return -EINVAL;

	sg = kvzalloc(sizeof(*sg), GFP_KERNEL_ACCOUNT);
	if (!sg)
		return -ENOMEM;
	kref_init(&sg->ref);
	mutex_init(&sg->lock);
	spin_lock_init(&sg->slock);
	INIT_LIST_HEAD(&sg->bes);
	INIT_LIST_HEAD(&sg->ranges);
	INIT_DELAYED_WORK(&sg->irq_work, sim_irq_work);
	sg->nr_vcpus = cmd->nr_vcpus;
	sg->vcpus = kcalloc(sg->nr_vcpus, sizeof(*sg->vcpus),
			    GFP_KERNEL_ACCOUNT);
	if (!sg->vcpus) {
		ret = -ENOMEM;
		goto err_free_guest;
	}
	for (i = 0; i < sg->nr_vcpus; i++) {
		mutex_init(&sg->vcpus[i].lock);
		init_waitqueue_head(&sg->vcpus[i].wq);
		INIT_DELAYED_WORK(&sg->vcpus[i].delay_work,
				  sim_vcpu_delay_work);
	}

	ret = xa_alloc(&sim_guests, &sg->id, sg, xa_limit_31b,
		       GFP_KERNEL_ACCOUNT);
	if (ret)
		goto err_free_vcpus;

	file = anon_inode_getfile("[virtbe-sim-guest]", &sim_guest_fops, sg,
				  O_RDWR);
	if (IS_ERR(file)) {
		ret = PTR_ERR(file);
		goto err_erase;
	}
	cmd->out_guest_id = sg->id;
	return virtbe_ucmd_return_file(ucmd, file);

err_erase:
	xa_erase(&sim_guests, sg->id);
err_free_vcpus:
	kfree(sg->vcpus);
err_free_guest:
	kvfree(sg);
	return ret;
}

static const struct virtbe_ioctl_op sim_ctl_ops[] = {
	VIRTBE_IOCTL_OP_OUT(VIRTBE_SIM_CREATE, sim_create,
			    struct virtbe_sim_create, out_guest_id),
};

static long sim_ctl_ioctl(struct file *file, unsigned int cmd,
			  unsigned long arg)
{
	return virtbe_ioctl_dispatch(sim_ctl_ops, ARRAY_SIZE(sim_ctl_ops),
				     NULL, cmd, arg);
}

static const struct file_operations sim_ctl_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = sim_ctl_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice sim_miscdev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "virtbe_sim",
	.fops = &sim_ctl_fops,
	.mode = 0600,
};

/**
 * sim_frontend_init() - register /dev/virtbe_sim
 *
 * Return: 0 or -errno from misc_register().
 */
int sim_frontend_init(void)
{
	return misc_register(&sim_miscdev);
}

/**
 * sim_frontend_exit() - deregister /dev/virtbe_sim
 */
void sim_frontend_exit(void)
{
	misc_deregister(&sim_miscdev);
}
