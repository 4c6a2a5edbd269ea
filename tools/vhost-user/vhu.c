// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * vhu: the frontend side of the vhost-user protocol (see vhu.h), written
 * from QEMU's docs/interop/vhost-user.rst.
 *
 * Copyright (C) 2026 The virtbe authors
 */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vhu.h"

/* Front-end message types. */
enum {
	VHU_GET_FEATURES = 1,
	VHU_SET_FEATURES = 2,
	VHU_SET_OWNER = 3,
	VHU_SET_MEM_TABLE = 5,
	VHU_SET_VRING_NUM = 8,
	VHU_SET_VRING_ADDR = 9,
	VHU_SET_VRING_BASE = 10,
	VHU_GET_VRING_BASE = 11,
	VHU_SET_VRING_KICK = 12,
	VHU_SET_VRING_CALL = 13,
	VHU_GET_PROTOCOL_FEATURES = 15,
	VHU_SET_PROTOCOL_FEATURES = 16,
	VHU_GET_QUEUE_NUM = 17,
	VHU_SET_VRING_ENABLE = 18,
	VHU_SET_BACKEND_REQ_FD = 21,
	VHU_GET_CONFIG = 24,
	VHU_SET_CONFIG = 25,
};

/* Back-end message types (on the backend request channel). */
enum {
	VHU_BACKEND_IOTLB_MSG = 1,
	VHU_BACKEND_CONFIG_CHANGE_MSG = 2,
	VHU_BACKEND_VRING_HOST_NOTIFIER_MSG = 3,
};

#define VHU_VERSION		0x1U
#define VHU_FLAG_REPLY		0x4U
#define VHU_FLAG_NEED_REPLY	0x8U
#define VHU_VRING_NOFD		0x100U
#define VHU_MAX_FDS		8

struct vhu_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
} __attribute__((packed));

struct vhu_state {
	uint32_t index;
	uint32_t num;
};

struct vhu_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc;
	uint64_t used;
	uint64_t avail;
	uint64_t log;
};

struct vhu_mem_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t uaddr;
	uint64_t offset;
};

struct vhu_mem {
	uint32_t nregions;
	uint32_t padding;
	struct vhu_mem_region r[VHU_MAX_REGIONS];
};

struct vhu_config {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
	uint8_t data[VHU_MAX_CONFIG];
};

union vhu_payload {
	uint64_t u64;
	struct vhu_state state;
	struct vhu_addr addr;
	struct vhu_mem mem;
	struct vhu_config config;
};

struct vhu_msg {
	struct vhu_hdr hdr;
	union vhu_payload p;
} __attribute__((packed));

struct vhu {
	int sock;
	int backend;		/* our end of the backend request channel */
	int timeout_ms;
	uint64_t features;
	uint64_t protocol;
	unsigned int queue_num;
};

/* Wait until @fd is readable, at most @ms; 0, -ETIMEDOUT or -errno. */
static int wait_readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int n;

	do
		n = poll(&p, 1, ms);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n ? 0 : -ETIMEDOUT;
}

static int send_msg(int sock, const struct vhu_msg *m, const int *fds,
		    unsigned int nfds)
{
	char cbuf[CMSG_SPACE(sizeof(int) * VHU_MAX_FDS)];
	struct iovec iov = {
		.iov_base = (void *)m,
		.iov_len = sizeof(m->hdr) + m->hdr.size,
	};
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;
	ssize_t n;

	if (nfds > VHU_MAX_FDS)
		return -EINVAL;
	if (nfds) {
		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == iov.iov_len ? 0 : -EPIPE;
}

/*
 * Read one message (header, then its payload) within @ms; file
 * descriptors sent with it are closed: no reply we ask for carries any.
 */
static int recv_msg(int sock, struct vhu_msg *m, int ms)
{
	char cbuf[CMSG_SPACE(sizeof(int) * VHU_MAX_FDS)];
	struct iovec iov = { .iov_base = &m->hdr, .iov_len = sizeof(m->hdr) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c;
	size_t got = 0;
	ssize_t n;
	int ret;

	ret = wait_readable(sock, ms);
	if (ret)
		return ret;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ECONNRESET;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			int fd;

			while (k--) {
				memcpy(&fd, CMSG_DATA(c) + k * sizeof(int),
				       sizeof(fd));
				close(fd);
			}
		}
	}
	if ((size_t)n < sizeof(m->hdr)) {
		/* the rest of a header split across reads */
		got = (size_t)n;
		while (got < sizeof(m->hdr)) {
			ret = wait_readable(sock, ms);
			if (ret)
				return ret;
			n = read(sock, (char *)&m->hdr + got,
				 sizeof(m->hdr) - got);
			if (n <= 0)
				return n ? -errno : -ECONNRESET;
			got += (size_t)n;
		}
	}
	if (m->hdr.size > sizeof(m->p))
		return -EPROTO;
	got = 0;
	while (got < m->hdr.size) {
		ret = wait_readable(sock, ms);
		if (ret)
			return ret;
		n = read(sock, (char *)&m->p + got, m->hdr.size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n ? -errno : -ECONNRESET;
		got += (size_t)n;
	}
	return 0;
}

static void msg_init(struct vhu_msg *m, uint32_t req, uint32_t size)
{
	memset(m, 0, sizeof(*m));
	m->hdr.request = req;
	m->hdr.flags = VHU_VERSION;
	m->hdr.size = size;
}

/* A request that gets a reply of @size bytes into *@m. */
static int call(struct vhu *v, struct vhu_msg *m, uint32_t size)
{
	uint32_t req = m->hdr.request;
	int ret;

	ret = send_msg(v->sock, m, NULL, 0);
	if (ret)
		return ret;
	ret = recv_msg(v->sock, m, v->timeout_ms);
	if (ret)
		return ret;
	if (m->hdr.request != req || !(m->hdr.flags & VHU_FLAG_REPLY) ||
	    m->hdr.size != size)
		return -EPROTO;
	return 0;
}

/*
 * A request without a reply of its own; with REPLY_ACK negotiated the
 * daemon acknowledges it, and a non-zero acknowledgement is -EIO.
 */
static int post(struct vhu *v, struct vhu_msg *m, const int *fds,
		unsigned int nfds)
{
	bool ack = vhu_has_protocol(v, VHU_PROTOCOL_F_REPLY_ACK);
	uint32_t req = m->hdr.request;
	int ret;

	if (ack)
		m->hdr.flags |= VHU_FLAG_NEED_REPLY;
	ret = send_msg(v->sock, m, fds, nfds);
	if (ret || !ack)
		return ret;
	ret = recv_msg(v->sock, m, v->timeout_ms);
	if (ret)
		return ret;
	if (m->hdr.request != req || !(m->hdr.flags & VHU_FLAG_REPLY) ||
	    m->hdr.size != sizeof(uint64_t))
		return -EPROTO;
	return m->p.u64 ? -EIO : 0;
}

static int post_u64(struct vhu *v, uint32_t req, uint64_t val, int fd)
{
	struct vhu_msg m;

	msg_init(&m, req, sizeof(m.p.u64));
	m.p.u64 = val;
	return post(v, &m, &fd, fd >= 0 ? 1 : 0);
}

static int post_state(struct vhu *v, uint32_t req, unsigned int index,
		      unsigned int num)
{
	struct vhu_msg m;

	msg_init(&m, req, sizeof(m.p.state));
	m.p.state.index = index;
	m.p.state.num = num;
	return post(v, &m, NULL, 0);
}

static int get_u64(struct vhu *v, uint32_t req, uint64_t *val)
{
	struct vhu_msg m;
	int ret;

	msg_init(&m, req, 0);
	ret = call(v, &m, sizeof(m.p.u64));
	if (!ret)
		*val = m.p.u64;
	return ret;
}

static int unix_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa))) {
		int ret = -errno;

		close(s);
		return ret;
	}
	return s;
}

/* The backend request channel: a socket pair, one end sent to the daemon. */
static int setup_backend_channel(struct vhu *v)
{
	struct vhu_msg m;
	int sv[2], ret;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -errno;
	msg_init(&m, VHU_SET_BACKEND_REQ_FD, 0);
	ret = post(v, &m, &sv[1], 1);
	close(sv[1]);
	if (ret) {
		close(sv[0]);
		return ret;
	}
	v->backend = sv[0];
	return 0;
}

int vhu_connect(const char *path, uint64_t want_protocol, int timeout_ms,
		struct vhu **vp)
{
	struct vhu_msg m;
	struct vhu *v;
	uint64_t val;
	int ret;

	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->backend = -1;
	v->timeout_ms = timeout_ms;
	v->sock = unix_connect(path);
	if (v->sock < 0) {
		ret = v->sock;
		free(v);
		return ret;
	}
	msg_init(&m, VHU_SET_OWNER, 0);
	ret = send_msg(v->sock, &m, NULL, 0);
	if (!ret)
		ret = get_u64(v, VHU_GET_FEATURES, &v->features);
	if (ret)
		goto err;
	if (v->features & (1ULL << VHU_F_PROTOCOL_FEATURES)) {
		ret = get_u64(v, VHU_GET_PROTOCOL_FEATURES, &val);
		if (ret)
			goto err;
		v->protocol = val & want_protocol;
		msg_init(&m, VHU_SET_PROTOCOL_FEATURES, sizeof(m.p.u64));
		m.p.u64 = v->protocol;
		/* no REPLY_ACK yet: the daemon has not seen it negotiated */
		ret = send_msg(v->sock, &m, NULL, 0);
		if (ret)
			goto err;
	}
	if (vhu_has_protocol(v, VHU_PROTOCOL_F_MQ)) {
		ret = get_u64(v, VHU_GET_QUEUE_NUM, &val);
		if (ret)
			goto err;
		v->queue_num = val > 1024 ? 1024 : (unsigned int)val;
	}
	if (vhu_has_protocol(v, VHU_PROTOCOL_F_BACKEND_REQ)) {
		ret = setup_backend_channel(v);
		if (ret)
			goto err;
	}
	*vp = v;
	return 0;
err:
	vhu_close(v);
	return ret;
}

void vhu_close(struct vhu *v)
{
	if (!v)
		return;
	if (v->backend >= 0)
		close(v->backend);
	close(v->sock);
	free(v);
}

int vhu_fd(const struct vhu *v)
{
	return v->sock;
}

uint64_t vhu_features(const struct vhu *v)
{
	return v->features;
}

uint64_t vhu_protocol_features(const struct vhu *v)
{
	return v->protocol;
}

bool vhu_has_protocol(const struct vhu *v, unsigned int bit)
{
	return v->protocol & (1ULL << bit);
}

unsigned int vhu_queue_num(const struct vhu *v)
{
	return v->queue_num;
}

int vhu_set_features(struct vhu *v, uint64_t features)
{
	return post_u64(v, VHU_SET_FEATURES, features, -1);
}

int vhu_set_mem_table(struct vhu *v, const struct vhu_region *r,
		      unsigned int n)
{
	int fds[VHU_MAX_REGIONS];
	struct vhu_msg m;
	unsigned int i;

	if (!n || n > VHU_MAX_REGIONS)
		return -EINVAL;
	msg_init(&m, VHU_SET_MEM_TABLE,
		 offsetof(struct vhu_mem, r) + n * sizeof(m.p.mem.r[0]));
	m.p.mem.nregions = n;
	for (i = 0; i < n; i++) {
		m.p.mem.r[i].gpa = r[i].gpa;
		m.p.mem.r[i].size = r[i].size;
		m.p.mem.r[i].uaddr = r[i].uaddr;
		m.p.mem.r[i].offset = r[i].offset;
		fds[i] = r[i].fd;
	}
	return post(v, &m, fds, n);
}

int vhu_set_vring_enable(struct vhu *v, unsigned int index, bool enable)
{
	return post_state(v, VHU_SET_VRING_ENABLE, index, enable);
}

int vhu_start_vring(struct vhu *v, const struct vhu_vring *r)
{
	struct vhu_msg m;
	int ret;

	ret = post_state(v, VHU_SET_VRING_NUM, r->index, r->num);
	if (ret)
		return ret;
	msg_init(&m, VHU_SET_VRING_ADDR, sizeof(m.p.addr));
	m.p.addr.index = r->index;
	m.p.addr.desc = r->desc;
	m.p.addr.used = r->used;
	m.p.addr.avail = r->avail;
	ret = post(v, &m, NULL, 0);
	if (!ret)
		ret = post_state(v, VHU_SET_VRING_BASE, r->index, r->base);
	if (!ret)
		ret = post_u64(v, VHU_SET_VRING_KICK, r->index, r->kick_fd);
	if (!ret)
		ret = post_u64(v, VHU_SET_VRING_CALL, r->index, r->call_fd);
	/* without protocol features a ring is enabled when kicked */
	if (!ret && (v->features & (1ULL << VHU_F_PROTOCOL_FEATURES)))
		ret = vhu_set_vring_enable(v, r->index, true);
	return ret;
}

int vhu_stop_vring(struct vhu *v, unsigned int index, unsigned int *base)
{
	struct vhu_msg m;
	int ret;

	msg_init(&m, VHU_GET_VRING_BASE, sizeof(m.p.state));
	m.p.state.index = index;
	ret = call(v, &m, sizeof(m.p.state));
	if (ret)
		return ret;
	if (m.p.state.index != index)
		return -EPROTO;
	if (base)
		*base = m.p.state.num;
	return 0;
}

int vhu_get_config(struct vhu *v, uint32_t offset, void *buf, uint32_t len)
{
	uint32_t size = offsetof(struct vhu_config, data) + len;
	struct vhu_msg m;
	int ret;

	if (!vhu_has_protocol(v, VHU_PROTOCOL_F_CONFIG))
		return -EOPNOTSUPP;
	if (len > VHU_MAX_CONFIG)
		return -EINVAL;
	msg_init(&m, VHU_GET_CONFIG, size);
	m.p.config.offset = offset;
	m.p.config.size = len;
	ret = call(v, &m, size);
	if (ret)
		return ret;
	if (m.p.config.size != len)
		return -EPROTO;
	memcpy(buf, m.p.config.data, len);
	return 0;
}

int vhu_set_config(struct vhu *v, uint32_t offset, const void *buf,
		   uint32_t len)
{
	struct vhu_msg m;

	if (!vhu_has_protocol(v, VHU_PROTOCOL_F_CONFIG))
		return -EOPNOTSUPP;
	if (len > VHU_MAX_CONFIG)
		return -EINVAL;
	msg_init(&m, VHU_SET_CONFIG, offsetof(struct vhu_config, data) + len);
	m.p.config.offset = offset;
	m.p.config.size = len;
	memcpy(m.p.config.data, buf, len);
	return post(v, &m, NULL, 0);
}

int vhu_backend_fd(const struct vhu *v)
{
	return v->backend >= 0 ? v->backend : -ENOENT;
}

int vhu_backend_process(struct vhu *v, unsigned int *events)
{
	struct vhu_msg m;
	uint64_t result;
	int ret;

	*events = 0;
	if (v->backend < 0)
		return -ENOENT;
	ret = recv_msg(v->backend, &m, v->timeout_ms);
	if (ret)
		return ret;
	switch (m.hdr.request) {
	case VHU_BACKEND_CONFIG_CHANGE_MSG:
		*events |= VHU_EV_CONFIG_CHANGED;
		result = 0;
		break;
	default:
		/* host notifiers, IOTLB: not offered by this frontend */
		result = 1;
		break;
	}
	if (!(m.hdr.flags & VHU_FLAG_NEED_REPLY))
		return 0;
	m.hdr.flags = VHU_VERSION | VHU_FLAG_REPLY;
	m.hdr.size = sizeof(m.p.u64);
	m.p.u64 = result;
	return send_msg(v->backend, &m, NULL, 0);
}
