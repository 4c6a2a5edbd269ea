/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * A fake virtbe kernel for host-only tests.  The test binary is linked with
 * -Wl,--wrap=ioctl,--wrap=write so that the library's ioctl() calls land in
 * fakehv.c, which validates each argument the way the kernel documents it
 * (size, flags, reserved fields) and keeps a small model: a guest fd that is
 * one end of a SOCK_STREAM socketpair (the other end plays the
 * hypervisor: it sends virtbe_request records and receives completions),
 * RAM regions backed by memfds, claimed ranges, ioeventfds and irqfds.
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
	unsigned int nranges, nioev, nirq, nram;
	struct fake_range ranges[FAKE_MAX];
	struct fake_ioeventfd ioev[FAKE_MAX];
	struct fake_irqfd irq[FAKE_MAX];
	struct fake_ram ram[16];
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
/* Wait for one completion (-ETIMEDOUT after @timeout_ms). */
int fake_recv_completion(struct virtbe_completion *c, int timeout_ms);
/* The hypervisor destroys the guest: the guest fd hangs up. */
void fake_hangup(void);

#endif
