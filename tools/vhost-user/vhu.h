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

/**
 * vhu_connect() - connect to a daemon and learn what it offers
 * @path: the daemon's unix socket
 * @want_protocol: the VHU_PROTOCOL_F_* bits this frontend implements
 * @timeout_ms: how long any reply of the daemon may take
 * @vp: on success, the connection
 *
 * Sends SET_OWNER and GET_FEATURES; when the daemon offers
 * VHU_F_PROTOCOL_FEATURES, GET_PROTOCOL_FEATURES and SET_PROTOCOL_FEATURES
 * of what both sides have; with MQ, GET_QUEUE_NUM; with BACKEND_REQ,
 * SET_BACKEND_REQ_FD with one end of a new socket pair.
 *
 * Return: 0; -ENOENT or -ECONNREFUSED (nobody listens), -ETIMEDOUT,
 * -ECONNRESET, -EPIPE, -EPROTO (a malformed reply), -ENOMEM.
 */
int vhu_connect(const char *path, uint64_t want_protocol, int timeout_ms,
		struct vhu **vp);

/**
 * vhu_close() - close the connection (the daemon sees a hang-up)
 * @v: the connection, or NULL
 */
void vhu_close(struct vhu *v);

/**
 * vhu_fd() - the connection's socket
 * @v: the connection
 *
 * The daemon speaks only when asked: the socket becoming readable or
 * hanging up means it died or broke the protocol.
 *
 * Return: the fd (owned by @v).
 */
int vhu_fd(const struct vhu *v);

/**
 * vhu_features() - the device features the daemon offered (GET_FEATURES)
 * @v: the connection
 *
 * Return: the bits, VHU_F_PROTOCOL_FEATURES included.
 */
uint64_t vhu_features(const struct vhu *v);

/**
 * vhu_protocol_features() - the protocol features both sides have
 * @v: the connection
 *
 * Return: the VHU_PROTOCOL_F_* bits negotiated.
 */
uint64_t vhu_protocol_features(const struct vhu *v);

/**
 * vhu_has_protocol() - was a protocol feature negotiated?
 * @v: the connection
 * @bit: a VHU_PROTOCOL_F_* number
 *
 * Return: true if it was.
 */
bool vhu_has_protocol(const struct vhu *v, unsigned int bit);

/**
 * vhu_queue_num() - the daemon's maximum number of queues
 * @v: the connection
 *
 * Return: GET_QUEUE_NUM's answer (at most 1024), 0 without MQ.
 */
unsigned int vhu_queue_num(const struct vhu *v);

/*
 * The requests below return 0 or a negative errno: -ETIMEDOUT, -ECONNRESET
 * or -EPIPE when the daemon is gone, -EPROTO for a malformed reply, and
 * -EIO when it refused the request through REPLY_ACK.
 */

/**
 * vhu_set_features() - SET_FEATURES
 * @v: the connection
 * @features: the features the driver accepted, plus VHU_F_PROTOCOL_FEATURES
 *	if it was offered
 *
 * Return: 0 or -errno.
 */
int vhu_set_features(struct vhu *v, uint64_t features);

/**
 * vhu_set_mem_table() - SET_MEM_TABLE
 * @v: the connection
 * @r: the regions, whose fds are sent with the message
 * @n: their number, 1 to VHU_MAX_REGIONS
 *
 * Return: 0, -EINVAL (@n), or -errno.
 */
int vhu_set_mem_table(struct vhu *v, const struct vhu_region *r,
		      unsigned int n);

/**
 * vhu_start_vring() - hand a ring to the daemon
 * @v: the connection
 * @r: the ring
 *
 * SET_VRING_NUM, SET_VRING_ADDR, SET_VRING_BASE, SET_VRING_KICK and
 * SET_VRING_CALL (the fds are sent), then SET_VRING_ENABLE when protocol
 * features are in use (without them a ring starts when kicked).
 *
 * Return: 0 or -errno.
 */
int vhu_start_vring(struct vhu *v, const struct vhu_vring *r);

/**
 * vhu_stop_vring() - GET_VRING_BASE, which stops the ring
 * @v: the connection
 * @index: the ring
 * @base: if not NULL, the next available index the daemon would process
 *
 * Return: 0 or -errno.
 */
int vhu_stop_vring(struct vhu *v, unsigned int index, unsigned int *base);

/**
 * vhu_set_vring_enable() - SET_VRING_ENABLE
 * @v: the connection
 * @index: the ring
 * @enable: enable or disable it
 *
 * Return: 0 or -errno.
 */
int vhu_set_vring_enable(struct vhu *v, unsigned int index, bool enable);

/**
 * vhu_get_config() - GET_CONFIG
 * @v: the connection
 * @offset: offset in the config space
 * @buf: where the bytes go
 * @len: their number, at most VHU_MAX_CONFIG
 *
 * Return: 0, -EOPNOTSUPP (no CONFIG protocol feature), -EINVAL (@len),
 * -EPROTO (also: the daemon refused, e.g. a @len it does not have), -errno.
 */
int vhu_get_config(struct vhu *v, uint32_t offset, void *buf, uint32_t len);

/**
 * vhu_set_config() - SET_CONFIG (what the driver wrote)
 * @v: the connection
 * @offset: offset in the config space
 * @buf: the bytes
 * @len: their number, at most VHU_MAX_CONFIG
 *
 * Return: 0, -EOPNOTSUPP, -EINVAL, -EIO (refused), -errno.
 */
int vhu_set_config(struct vhu *v, uint32_t offset, const void *buf,
		   uint32_t len);

/**
 * vhu_backend_fd() - the daemon's request channel
 * @v: the connection
 *
 * When it is readable, call vhu_backend_process().
 *
 * Return: the fd (owned by @v), -ENOENT without BACKEND_REQ.
 */
int vhu_backend_fd(const struct vhu *v);

#define VHU_EV_CONFIG_CHANGED	1U	/* CONFIG_CHANGE_MSG */

/**
 * vhu_backend_process() - read and answer one message of the daemon
 * @v: the connection
 * @events: set to the VHU_EV_* bits the message means
 *
 * Messages other than CONFIG_CHANGE_MSG are answered with a failure when
 * the daemon asks for a reply.
 *
 * Return: 0, -ENOENT (no channel), or -errno (the daemon is gone).
 */
int vhu_backend_process(struct vhu *v, unsigned int *events);

#endif /* VHU_H */
