/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * vhu: the frontend side of the vhost-user protocol, as small as the
 * virtbe bridge (virtbe-vhost-user) and the benchmark floor need: one
 * connection to one backend daemon's unix socket, the control messages, fd
 * passing, REPLY_ACK, and the backend's own request channel.
 *
 * Every function returns 0 or a negative errno and never sets errno.  A
 * daemon that does not answer within the connection's timeout is treated as
 * dead (-ETIMEDOUT); -EPIPE / -ECONNRESET mean it went away.
 *
 * Copyright (C) 2026 The virtbe authors
 */
#ifndef VHU_H
#define VHU_H

#include <stdbool.h>
#include <stdint.h>

/* Feature bits of the vhost-user protocol itself. */
#define VHU_F_PROTOCOL_FEATURES		30	/* in GET/SET_FEATURES */

#define VHU_PROTOCOL_F_MQ		0
#define VHU_PROTOCOL_F_LOG_SHMFD	1
#define VHU_PROTOCOL_F_REPLY_ACK	3
#define VHU_PROTOCOL_F_BACKEND_REQ	5
#define VHU_PROTOCOL_F_CONFIG		9
#define VHU_PROTOCOL_F_BACKEND_SEND_FD	10
#define VHU_PROTOCOL_F_HOST_NOTIFIER	11
#define VHU_PROTOCOL_F_INFLIGHT_SHMFD	12
#define VHU_PROTOCOL_F_CONFIGURE_MEM_SLOTS 15
#define VHU_PROTOCOL_F_STATUS		16

#define VHU_MAX_REGIONS			8
#define VHU_MAX_CONFIG			256

/**
 * struct vhu_region - one memory region of SET_MEM_TABLE
 * @gpa: guest-physical address of its first byte
 * @size: its length
 * @uaddr: the address ring addresses are given in (the bridge uses @gpa)
 * @offset: where the region starts in @fd
 * @fd: an mmap-able fd holding the region
 */
struct vhu_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t uaddr;
	uint64_t offset;
	int fd;
};

/**
 * struct vhu_vring - everything a ring needs at start
 * @index: the queue index
 * @num: its size
 * @desc: descriptor table address (in struct vhu_region.uaddr terms)
 * @avail: driver (available) ring address
 * @used: device (used) ring address
 * @base: the next available index to process (0 for a fresh ring)
 * @kick_fd: eventfd the daemon waits on
 * @call_fd: eventfd the daemon signals
 */
struct vhu_vring {
	unsigned int index;
	unsigned int num;
	uint64_t desc;
	uint64_t avail;
	uint64_t used;
	unsigned int base;
	int kick_fd;
	int call_fd;
};

struct vhu;

/*
 * vhu_connect() - connect to a daemon's socket, SET_OWNER, and read its
 * features (GET_FEATURES, and with VHU_F_PROTOCOL_FEATURES
 * GET_PROTOCOL_FEATURES / SET_PROTOCOL_FEATURES of @want_protocol & what
 * it offers; with MQ GET_QUEUE_NUM).  @timeout_ms bounds every reply.
 */
int vhu_connect(const char *path, uint64_t want_protocol, int timeout_ms,
		struct vhu **vp);
void vhu_close(struct vhu *v);
/* The connection's socket: readable or hung up means the daemon spoke or died. */
int vhu_fd(const struct vhu *v);
uint64_t vhu_features(const struct vhu *v);		/* device's GET_FEATURES */
uint64_t vhu_protocol_features(const struct vhu *v);	/* negotiated */
bool vhu_has_protocol(const struct vhu *v, unsigned int bit);
unsigned int vhu_queue_num(const struct vhu *v);	/* GET_QUEUE_NUM, or 0 */

int vhu_set_features(struct vhu *v, uint64_t features);
int vhu_set_mem_table(struct vhu *v, const struct vhu_region *r,
		      unsigned int n);
/* SET_VRING_NUM, _ADDR, _BASE, _KICK, _CALL, then _ENABLE(1) if negotiated. */
int vhu_start_vring(struct vhu *v, const struct vhu_vring *r);
/* GET_VRING_BASE (which stops the ring): *@base is the next avail index. */
int vhu_stop_vring(struct vhu *v, unsigned int index, unsigned int *base);
int vhu_set_vring_enable(struct vhu *v, unsigned int index, bool enable);
int vhu_get_config(struct vhu *v, uint32_t offset, void *buf, uint32_t len);
int vhu_set_config(struct vhu *v, uint32_t offset, const void *buf,
		   uint32_t len);
/*
 * vhu_backend_fd() - the backend request channel (BACKEND_REQ negotiated
 * at connect), or -ENOENT.  When readable call vhu_backend_process(),
 * which answers the daemon and returns a mask of VHU_EV_* events.
 */
int vhu_backend_fd(const struct vhu *v);
#define VHU_EV_CONFIG_CHANGED	1U
int vhu_backend_process(struct vhu *v, unsigned int *events);
/* Name of a request number, for messages. */
const char *vhu_request_name(uint32_t req);

#endif /* VHU_H */
