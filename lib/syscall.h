/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * The only place where libvirtbe looks at errno: every system call goes
 * through one of these helpers, which return the result or -errno.
 */
#ifndef LIBVIRTBE_SYSCALL_H
#define LIBVIRTBE_SYSCALL_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

static inline int vbe_sys_ioctl(int fd, unsigned long cmd, void *arg)
{
	int ret = ioctl(fd, cmd, arg);

	return ret < 0 ? -errno : ret;
}

static inline int vbe_sys_open(const char *path, int flags)
{
	int ret;

	do
		ret = open(path, flags);
	while (ret < 0 && errno == EINTR);
	return ret < 0 ? -errno : ret;
}

static inline void vbe_sys_close(int fd)
{
	/* Linux releases the fd even when close() fails: never retry. */
	if (fd >= 0)
		close(fd);
}

static inline ssize_t vbe_sys_read(int fd, void *buf, size_t len)
{
	ssize_t ret;

	do
		ret = read(fd, buf, len);
	while (ret < 0 && errno == EINTR);
	return ret < 0 ? -errno : ret;
}

static inline ssize_t vbe_sys_write(int fd, const void *buf, size_t len)
{
	ssize_t ret;

	do
		ret = write(fd, buf, len);
	while (ret < 0 && errno == EINTR);
	return ret < 0 ? -errno : ret;
}

static inline int vbe_sys_fstat(int fd, struct stat *st)
{
	return fstat(fd, st) ? -errno : 0;
}

static inline int vbe_sys_mmap(void **out, size_t len, int prot, int flags,
			       int fd, off_t off)
{
	void *p = mmap(NULL, len, prot, flags, fd, off);

	if (p == MAP_FAILED)
		return -errno;
	*out = p;
	return 0;
}

static inline void vbe_sys_munmap(void *p, size_t len)
{
	if (p)
		munmap(p, len);
}

static inline int vbe_sys_set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -errno;
	if (fl & O_NONBLOCK)
		return 0;
	return fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ? -errno : 0;
}

static inline int vbe_sys_eventfd(void)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	return fd < 0 ? -errno : fd;
}

/* Add 1 to an eventfd.  A full counter (EAGAIN) is already signalled. */
static inline int vbe_sys_eventfd_signal(int fd)
{
	uint64_t one = 1;
	ssize_t ret = vbe_sys_write(fd, &one, sizeof(one));

	if (ret == -EAGAIN)
		return 0;
	return ret < 0 ? (int)ret : 0;
}

/* Reset a non-blocking eventfd: 1 if it was signalled, 0 if not. */
static inline int vbe_sys_eventfd_drain(int fd)
{
	uint64_t val;
	ssize_t ret = vbe_sys_read(fd, &val, sizeof(val));

	if (ret == -EAGAIN)
		return 0;
	return ret < 0 ? (int)ret : 1;
}

#endif /* LIBVIRTBE_SYSCALL_H */
