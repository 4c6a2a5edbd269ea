/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * A fake virtbe kernel for host-only tests.  The test binary is linked with
 * -Wl,--wrap=ioctl,--wrap=write so that the library's ioctl() calls land in
 * fakehv.c, which validates each argument the way the kernel documents it
 * (size, flags, reserved fields) and keeps a small model: a guest fd that is
 * one end of a SOCK_STREAM socketpair (the other end plays the
 * hypervisor: it sends virtbe_request records and receives completions),
 * RAM regions backed by memfds, claimed ranges, ioeventfds and irqfds.
 *
 * Interrupts.  An irqfd's eventfd is the fake's interrupt wire, read lazily:
 * fake_irq_wait(), fake_eoi() and every access the fake kernel answers
 * first drain the signalled eventfds (fake_sync), which counts one raise of
 * the irqfd's line and, with VIRTBE_IRQFD_VIRTIO_MMIO, sets the irqfd's
 * isr_bits in the InterruptStatus the fake kernel keeps for the device -
 * what the kernel's wakeup callback does at once.  A test that uses these
 * must not read the irqfds' eventfds itself.
 */
#ifndef VBE_TEST_FAKEHV_H
#define VBE_TEST_FAKEHV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <linux/virtbe.h>

#define FAKE_MAX 64
#define FAKE_PASS 1000000	/* hook result: use the default model */

struct fake_call {
	int fd;
	unsigned long cmd;
	unsigned char arg[128];
};

struct fake_range {
	uint64_t addr, len;
	uint32_t flags;
};

struct fake_ioeventfd {
	int fd;
	uint32_t len, flags;
	uint64_t addr, datamatch;
};

struct fake_irqfd {
	int fd, resamplefd;
	uint32_t type, irq;
	uint64_t msi_addr;
	uint32_t msi_data;
	uint32_t flags;		/* VIRTBE_IRQFD_VIRTIO_MMIO or 0 */
	uint32_t isr_bits;
	uint64_t vmmio_base;
};

/* InterruptStatus of a device named by VIRTBE_IRQFD_VIRTIO_MMIO irqfds. */
struct fake_vmmio {
	uint64_t base;
	uint32_t isr;
	unsigned int users;	/* irqfds naming it */
	uint32_t type, irq;	/* its interrupt */
	uint64_t msi_addr;
	uint32_t msi_data;
};

/* An interrupt line (type, irq) as the guest sees it. */
struct fake_line {
	uint32_t type, irq;
	uint64_t pending;	/* raised, not yet taken by fake_irq_wait() */
};

struct fake_ram {
	uint64_t gpa, len;
	int memfd;
	void *ptr;
};

struct fakehv {
	pthread_mutex_t lock;
	unsigned int ncalls;
	struct fake_call calls[512];
	/* Return FAKE_PASS for the default behaviour, else the result. */
	int (*hook)(int fd, unsigned long cmd, void *arg);
	/* For write(2) on the guest fd: return FAKE_PASS or the result. */
	long (*write_hook)(int fd, const void *buf, unsigned long len);
	int guest_fd;		/* the backend's end */
	int peer_fd;		/* the hypervisor's end */
	uint64_t next_id;
	unsigned int nr_vcpus;
	bool no_vmmio_isr;	/* a kernel without VIRTBE_F_VIRTIO_MMIO_ISR */
	unsigned int nranges, nioev, nirq, nram, nvmmio, nlines;
	struct fake_range ranges[FAKE_MAX];
	struct fake_ioeventfd ioev[FAKE_MAX];
	struct fake_irqfd irq[FAKE_MAX];
	struct fake_ram ram[16];
	struct fake_vmmio vmmio[FAKE_MAX];
	struct fake_line lines[FAKE_MAX];
	struct virtbe_stats stats;
};

extern struct fakehv fake;

void fake_reset(void);
/* A RAM region of the fake guest; returns the driver-side pointer. */
void *fake_add_ram(uint64_t gpa, uint64_t len);
/* Driver-side pointer of a guest-physical address (NULL if not RAM). */
void *fake_gpa(uint64_t gpa);
/* The last logged call of @cmd (NULL if none). */
const struct fake_call *fake_last(unsigned long cmd);
unsigned int fake_count(unsigned long cmd);

/*
 * A vCPU access.  A write matched by an ioeventfd signals it and returns 1;
 * otherwise the request is queued on the channel (id in *@id) and 0 is
 * returned.  Returns -errno on failure.
 */
int fake_access_send(uint32_t vcpu, uint64_t addr, uint32_t len, bool write,
		     uint64_t data, uint64_t *id);
/*
 * As fake_access_send(); in addition a 4-byte read of InterruptStatus or
 * write of InterruptACK of a device named by a VIRTBE_IRQFD_VIRTIO_MMIO
 * irqfd is answered by the fake kernel: FAKE_ACCESS_KERNEL is returned
 * and, for a read, the value stored in *@val.
 */
#define FAKE_ACCESS_KERNEL 2
int fake_access(uint32_t vcpu, uint64_t addr, uint32_t len, bool write,
		uint64_t data, uint64_t *id, uint64_t *val);
/*
 * Wait until line (@type, @irq) was raised; returns the number of raises
 * taken (at least 1) or -ETIMEDOUT.
 */
int fake_irq_wait(uint32_t type, uint32_t irq, int timeout_ms);
/*
 * The guest EOIs line (@type, @irq): the resample eventfds of the level
 * irqfds on it are signalled, and the line is raised again while a device
 * whose InterruptStatus the fake kernel keeps has bits set.
 */
void fake_eoi(uint32_t type, uint32_t irq);
/* The InterruptStatus the fake kernel keeps for @base; -1 if it keeps none. */
int64_t fake_vmmio_isr(uint64_t base);
/* Wait for one completion (-ETIMEDOUT after @timeout_ms). */
int fake_recv_completion(struct virtbe_completion *c, int timeout_ms);
/* The hypervisor destroys the guest: the guest fd hangs up. */
void fake_hangup(void);

#endif
