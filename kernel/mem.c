// SPDX-License-Identifier: GPL-2.0
/*
 * virtbe core: memory fds, windows of guest-physical memory.
 *
 * Each memory fd has an inode of its own on a private pseudo filesystem, so
 * that unmap_mapping_range() on it revokes every mapping of the window in
 * every process when the guest goes away.  Pages are inserted at fault time
 * under a read lock that revocation takes for writing, so a revoked window
 * never gets a new mapping.
 *
 * Copyright (C) 2026 The virtbe authors
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/pseudo_fs.h>
#include <linux/rwsem.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "virtbe.h"

#define VIRTBE_FS_MAGIC		0x76626566	/* "vbef" */
#define VIRTBE_FAULT_AROUND	16
#define VIRTBE_FAULT_BATCH	512	/* frames per &virtbe_hyp_ops.mem_fault */

/**
 * struct virtbe_mem - a memory window
 * @node: entry in virtbe_guest.mems, under the guest's lock
 * @guest: the guest (a reference is held)
 * @gpa: first guest-physical address
 * @nr_pages: window length in pages
 * @pages: the pages, filled by &virtbe_hyp_ops.mem_map
 * @sem: faults hold it for reading, revocation for writing
 * @dead: revoked; @pages are released
 * @inode: the memory fd's own inode
 * @mm: the mm whose locked_vm accounts the window
 */
struct virtbe_mem {
	struct list_head node;
	struct virtbe_guest *guest;
	u64 gpa;
	unsigned long nr_pages;
	struct page **pages;
	struct rw_semaphore sem;
	bool dead;
	struct inode *inode;
	struct mm_struct *mm;
};

static struct vfsmount *virtbe_mnt;

static int virtbe_fs_init_fs_context(struct fs_context *fc)
{
	return init_pseudo(fc, VIRTBE_FS_MAGIC) ? 0 : -ENOMEM;
}

/* No .owner: the mount would pin the module that unmounts it at exit. */
static struct file_system_type virtbe_fs_type = {
	.name = "virtbe_mem",
	.init_fs_context = virtbe_fs_init_fs_context,
	.kill_sb = kill_anon_super,
};

/* Revoke one window: unmap it everywhere and release its pages. */
static void virtbe_mem_revoke(struct virtbe_mem *mem)
{
	struct virtbe_guest *g = mem->guest;

	lockdep_assert_held(&g->lock);
	down_write(&mem->sem);
	if (mem->dead) {
		up_write(&mem->sem);
		return;
	}
	mem->dead = true;
	up_write(&mem->sem);

	unmap_mapping_range(mem->inode->i_mapping, 0, 0, 1);
	if (g->ops->mem_unmap)
		g->ops->mem_unmap(g, mem->nr_pages, mem->pages);
	kvfree(mem->pages);
	mem->pages = NULL;
}

/**
 * virtbe_mem_revoke_all() - revoke every window of a guest
 * @g: the guest, with g->lock held
 *
 * Every mapping of the guest's memory fds is torn down; later accesses
 * fault with SIGBUS.  The fds themselves stay open until their holders
 * close them.
 */
void virtbe_mem_revoke_all(struct virtbe_guest *g)
{
	struct virtbe_mem *mem;

	lockdep_assert_held(&g->lock);
	list_for_each_entry(mem, &g->mems, node)
		virtbe_mem_revoke(mem);
}

static vm_fault_t virtbe_mem_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct virtbe_mem *mem = vma->vm_file->private_data;
	unsigned long addr = vmf->address, pgoff = vmf->pgoff;
	vm_fault_t ret = VM_FAULT_NOPAGE;
	unsigned int i;
	int err;

	down_read(&mem->sem);
	if (mem->dead || pgoff >= mem->nr_pages) {
		ret = VM_FAULT_SIGBUS;
		goto out_unlock;
	}
	/* Map the faulting page, then a few following ones. */
	for (i = 0; i < VIRTBE_FAULT_AROUND; i++, addr += PAGE_SIZE, pgoff++) {
		if (addr >= vma->vm_end || pgoff >= mem->nr_pages)
			break;
		err = vm_insert_page(vma, addr, mem->pages[pgoff]);
		if (err == -EBUSY)
			continue;
		if (err) {
			if (i == 0)
				ret = err == -ENOMEM ? VM_FAULT_OOM :
						       VM_FAULT_SIGBUS;
			break;
		}
	}
out_unlock:
	up_read(&mem->sem);
	return ret;
}

static const struct vm_operations_struct virtbe_mem_vm_ops = {
	.fault = virtbe_mem_fault,
};

/* Fault of a VM_PFNMAP window: the backend maps a batch of frames. */
static vm_fault_t virtbe_mem_pfn_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct virtbe_mem *mem = vma->vm_file->private_data;
	struct virtbe_guest *g = mem->guest;
	unsigned long addr = vmf->address & PAGE_MASK;
	unsigned long n;
	vm_fault_t ret = VM_FAULT_NOPAGE;

	down_read(&mem->sem);
	if (mem->dead || vmf->pgoff >= mem->nr_pages) {
		ret = VM_FAULT_SIGBUS;
		goto out_unlock;
	}
	n = min3((unsigned long)VIRTBE_FAULT_BATCH,
		 (vma->vm_end - addr) >> PAGE_SHIFT,
		 mem->nr_pages - vmf->pgoff);
	if (g->ops->mem_fault(g, vma, addr,
			      mem->gpa + ((u64)vmf->pgoff << PAGE_SHIFT), n))
		ret = VM_FAULT_SIGBUS;
out_unlock:
	up_read(&mem->sem);
	return ret;
}

static const struct vm_operations_struct virtbe_mem_pfn_vm_ops = {
	.fault = virtbe_mem_pfn_fault,
};

static int virtbe_mem_fop_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct virtbe_mem *mem = file->private_data;
	int ret = 0;

	/* A MAP_SHARED mapping of an O_RDONLY fd has VM_MAYSHARE only. */
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	if (vma->vm_pgoff >= mem->nr_pages ||
	    vma_pages(vma) > mem->nr_pages - vma->vm_pgoff)
		return -EINVAL;

	down_read(&mem->sem);
	if (mem->dead)
		ret = -ENODEV;
	up_read(&mem->sem);
	if (ret)
		return ret;

	if (mem->guest->mem_pfnmap) {
		virtbe_vma_set_flags(vma, VM_IO | VM_PFNMAP | VM_DONTEXPAND |
				     VM_DONTDUMP | VM_DONTCOPY, 0);
		vma->vm_ops = &virtbe_mem_pfn_vm_ops;
		return 0;
	}
	virtbe_vma_set_flags(vma, VM_MIXEDMAP | VM_DONTEXPAND | VM_DONTDUMP,
			     0);
	vma->vm_ops = &virtbe_mem_vm_ops;
	return 0;
}

static int virtbe_mem_fop_release(struct inode *inode, struct file *file)
{
	struct virtbe_mem *mem = file->private_data;
	struct virtbe_guest *g = mem->guest;

	mutex_lock(&g->lock);
	virtbe_mem_revoke(mem);
	list_del(&mem->node);
	mutex_unlock(&g->lock);

	account_locked_vm(mem->mm, mem->nr_pages, false);
	mmdrop(mem->mm);
	kfree(mem);
	virtbe_guest_put(g);
	return 0;
}

static const struct file_operations virtbe_mem_fops = {
	.owner = THIS_MODULE,
	.mmap = virtbe_mem_fop_mmap,
	.release = virtbe_mem_fop_release,
	.llseek = noop_llseek,
};

static bool virtbe_mem_overlaps(struct virtbe_guest *g, u64 gpa, u64 len)
{
	struct virtbe_mem *mem;

	lockdep_assert_held(&g->lock);
	list_for_each_entry(mem, &g->mems, node) {
		u64 end = mem->gpa + ((u64)mem->nr_pages << PAGE_SHIFT);

		if (!mem->dead && gpa < end && mem->gpa < gpa + len)
			return true;
	}
	return false;
}

static struct file *virtbe_mem_file(struct virtbe_mem *mem, bool rdonly)
{
	struct inode *inode;
	struct file *file;

	inode = alloc_anon_inode(virtbe_mnt->mnt_sb);
	if (IS_ERR(inode))
		return ERR_CAST(inode);
	inode->i_size = (loff_t)mem->nr_pages << PAGE_SHIFT;
	/* alloc_file_pseudo() does not pin f_op->owner; the final fput drops it. */
	__module_get(THIS_MODULE);
	file = alloc_file_pseudo(inode, virtbe_mnt, "[virtbe-mem]",
				 rdonly ? O_RDONLY : O_RDWR, &virtbe_mem_fops);
	if (IS_ERR(file)) {
		module_put(THIS_MODULE);
		iput(inode);
		return file;
	}
	file->private_data = mem;
	mem->inode = inode;
	return file;
}

/**
 * virtbe_mem_map() - VIRTBE_MEM_MAP
 * @ucmd: the call, on a guest fd
 *
 * Return: 0 with the memory file handed to the dispatcher, which returns
 * its fd; or -errno as documented in the uapi.
 */
long virtbe_mem_map(struct virtbe_ucmd *ucmd)
{
	struct virtbe_guest *g = ucmd->obj;
	struct virtbe_mem_map *cmd = ucmd->cmd;
	struct virtbe_mem *mem;
	struct file *file;
	int ret;

	if (cmd->flags & ~VIRTBE_MEM_MAP_RDONLY)
		return -EOPNOTSUPP;
	if (cmd->__reserved)
		return -EINVAL;
	if (!cmd->len || !PAGE_ALIGNED(cmd->gpa) || !PAGE_ALIGNED(cmd->len) ||
	    cmd->gpa + cmd->len < cmd->gpa ||
	    cmd->len >> PAGE_SHIFT > VIRTBE_MAX_MEM_PAGES)
		return -EINVAL;
	if (!g->ops->mem_map)
		return -EOPNOTSUPP;

	mem = kzalloc(sizeof(*mem), GFP_KERNEL_ACCOUNT);
	if (!mem)
		return -ENOMEM;
	mem->guest = g;
	mem->gpa = cmd->gpa;
	mem->nr_pages = cmd->len >> PAGE_SHIFT;
	init_rwsem(&mem->sem);
	INIT_LIST_HEAD(&mem->node);

	mem->pages = kvcalloc(mem->nr_pages, sizeof(*mem->pages),
			      GFP_KERNEL_ACCOUNT);
	if (!mem->pages) {
		ret = -ENOMEM;
		goto err_free_mem;
	}
	ret = account_locked_vm(current->mm, mem->nr_pages, true);
	if (ret)
		goto err_free_pages;
	mem->mm = current->mm;
	mmgrab(mem->mm);

	mutex_lock(&g->lock);
	ret = -ENODEV;
	if (g->state != VIRTBE_GUEST_LIVE)
		goto err_unlock;
	ret = -EEXIST;
	if (virtbe_mem_overlaps(g, cmd->gpa, cmd->len))
		goto err_unlock;
	ret = g->ops->mem_map(g, cmd->gpa, mem->nr_pages, mem->pages);
	if (ret)
		goto err_unlock;
	file = virtbe_mem_file(mem, cmd->flags & VIRTBE_MEM_MAP_RDONLY);
	if (IS_ERR(file)) {
		ret = PTR_ERR(file);
		goto err_unmap;
	}
	list_add_tail(&mem->node, &g->mems);
	virtbe_guest_get(g);
	mutex_unlock(&g->lock);

	return virtbe_ucmd_return_file(ucmd, file);

err_unmap:
	if (g->ops->mem_unmap)
		g->ops->mem_unmap(g, mem->nr_pages, mem->pages);
err_unlock:
	mutex_unlock(&g->lock);
	account_locked_vm(mem->mm, mem->nr_pages, false);
	mmdrop(mem->mm);
err_free_pages:
	kvfree(mem->pages);
err_free_mem:
	kfree(mem);
	return ret;
}

/**
 * virtbe_mem_init() - mount the memory fds' pseudo filesystem
 *
 * Return: 0 or -errno.
 */
int virtbe_mem_init(void)
{
	virtbe_mnt = kern_mount(&virtbe_fs_type);
	return PTR_ERR_OR_ZERO(virtbe_mnt);
}

/**
 * virtbe_mem_exit() - unmount it
 */
void virtbe_mem_exit(void)
{
	kern_unmount(virtbe_mnt);
}
