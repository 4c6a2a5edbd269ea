/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtbe_sim: private interfaces of the simulator's backend and frontend.
 *
 * Copyright (C) 2026 The virtbe authors
 */
#ifndef _VIRTBE_SIM_H
#define _VIRTBE_SIM_H

#include <linux/anon_inodes.h>
#include <linux/delay.h>
#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/pagemap.h>
#include <linux/sched/signal.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/xarray.h>

#include <virtbe_backend.h>
#include <linux/virtbe_sim.h>

#define SIM_MAX_VCPUS		256
#define SIM_MAX_RAM		16
#define SIM_NR_LINES		1024
#define SIM_NR_PORTS		1024
#define SIM_MAX_FAULT_MS	10000
#define SIM_WATCHDOG_MS		2000

/**
 * struct sim_ram - one RAM region of a simulated guest
 * @file: the memfd (a reference is held)
 * @gpa: guest-physical base
 * @len: length in bytes
 * @offset: offset in @file
 */
struct sim_ram {
	struct file *file;
	u64 gpa;
	u64 len;
	u64 offset;
};

/**
 * struct sim_be - one attachment of the core to a simulated guest
 * @node: entry in sim_guest.bes: an RCU list, written under its slock
 * @sg: the guest, referenced
 * @g: the core's guest (one guest fd)
 * @gone: sim_guest_destroy() reported the guest's death to @g (slock)
 */
struct sim_be {
	struct list_head node;
	struct sim_guest *sg;
	struct virtbe_guest *g;
	bool gone;
};

/**
 * struct sim_range - a range claimed by an attachment
 * @node: entry in sim_guest.ranges, under its slock
 * @be: the attachment accesses to the range go to
 * @pio: port I/O space
 * @addr: first address
 * @len: length
 */
struct sim_range {
	struct list_head node;
	struct sim_be *be;
	bool pio;
	u64 addr;
	u64 len;
};

/**
 * struct sim_irq - an interrupt line or event channel port
 * @eventfd: the frontend's eventfd, or NULL; signalled under RCU, never
 *	under the guest's spinlock (a wakeup may re-enter the simulator)
 * @level: a level line is asserted
 * @count: interrupts delivered
 */
struct sim_irq {
	struct eventfd_ctx __rcu *eventfd;
	bool level;
	u64 count;
};

/**
 * struct sim_vcpu - a simulated vCPU
 * @lock: held while the vCPU makes an access
 * @wq: the vCPU waits here for its completion
 * @busy: an access was handed to the backend and is not completed
 * @done: the completion arrived
 * @aborted: it was completed by the kernel, not the backend
 * @data: the value read
 * @delay_work: delivers a completion late (fault injection)
 */
struct sim_vcpu {
	struct mutex lock;		/* one access at a time */
	wait_queue_head_t wq;
	bool busy;
	bool done;
	bool aborted;
	u64 data;
	struct delayed_work delay_work;
};

/**
 * struct sim_guest - a simulated guest
 * @ref: held by the sim guest fd and by an attached backend
 * @id: the guest id backends attach with
 * @nr_vcpus: number of vCPUs
 * @vcpus: the vCPUs
 * @lock: protects @ram, @nr_ram, @destroyed against configuration
 * @ram: RAM regions
 * @nr_ram: entries in @ram
 * @slock: protects @bes (writers), @ranges, @lines, @ports, @destroyed for
 *	readers in atomic context
 * @destroyed: the guest is dead
 * @bes: the attachments (struct sim_be); read under RCU or @slock
 * @ranges: ranges claimed by all of @bes (struct sim_range); the core
 *	keeps them from overlapping
 * @lines: interrupt lines
 * @ports: event channel ports
 * @pending: lines (0..1023) and ports (1024..) with a deferred delivery
 * @irq_work: delivers deferred interrupts
 * @fail_map: fault: map calls left to fail
 * @drop_irq: fault: interrupts left to drop
 * @drop_event: fault: request events left to drop
 * @delay_irq_ms: fault: interrupt delay
 * @delay_completion_ms: fault: completion delay
 */
struct sim_guest {
	struct kref ref;
	u32 id;
	u32 nr_vcpus;
	struct sim_vcpu *vcpus;

	struct mutex lock;		/* RAM regions */
	struct sim_ram ram[SIM_MAX_RAM];
	unsigned int nr_ram;

	spinlock_t slock;		/* attachments, ranges, interrupts */
	bool destroyed;
	struct list_head bes;
	struct list_head ranges;
	struct sim_irq lines[SIM_NR_LINES];
	struct sim_irq ports[SIM_NR_PORTS];
	DECLARE_BITMAP(pending, SIM_NR_LINES + SIM_NR_PORTS);
	struct delayed_work irq_work;

	atomic_t fail_map;
	atomic_t drop_irq;
	atomic_t drop_event;
	unsigned int delay_irq_ms;
	unsigned int delay_completion_ms;
};

/* Every simulated guest, by id (backend.c) */
extern struct xarray sim_guests;

/**
 * sim_guest_put() - drop a reference on a simulated guest
 * @sg: the guest; freed with the last reference
 */
void sim_guest_put(struct sim_guest *sg);

/**
 * sim_irq_get() - look up an interrupt line or event channel port
 * @sg: the guest
 * @type: VIRTBE_IRQ_EDGE, VIRTBE_IRQ_LEVEL or VIRTBE_IRQ_EVTCHN
 * @irq: the line or port
 * @bit: set to its bit in &sim_guest.pending
 *
 * Return: the interrupt, or NULL if there is no such one.
 */
struct sim_irq *sim_irq_get(struct sim_guest *sg, u32 type, u32 irq,
			    unsigned int *bit);

/**
 * sim_irq_work() - deliver the interrupts delayed by fault injection
 * @work: &sim_guest.irq_work
 */
void sim_irq_work(struct work_struct *work);

/**
 * sim_vcpu_delay_work() - deliver a completion delayed by fault injection
 * @work: &sim_vcpu.delay_work
 */
void sim_vcpu_delay_work(struct work_struct *work);

int sim_frontend_init(void);
void sim_frontend_exit(void);

#endif /* _VIRTBE_SIM_H */
