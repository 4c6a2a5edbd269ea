// SPDX-License-Identifier: GPL-2.0
/*
 * Backend daemons of a simulated guest: qemu-storage-daemon as a
 * vhost-user-blk server, a daemon's socket, its stop, its CPU time, the
 * programs' paths.
 */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemons.h"

static uint64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

static int is_socket(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISSOCK(st.st_mode);
}

/**
 * daemon_path() - a program's path, from the environment or a default
 * @env: the environment variable that overrides it
 * @dflt: the path if @env is unset or empty
 *
 * Return: @env's value, or @dflt.
 */
const char *daemon_path(const char *env, const char *dflt)
{
	const char *p = getenv(env);

	return p && *p ? p : dflt;
}

/**
 * qsd_spawn() - start qemu-storage-daemon exporting an image as vhost-user-blk
 * @qsd_path: the daemon's program
 * @img: the image file, a raw disk
 * @sock: the unix socket to export it on (removed first if it exists)
 * @queues: the export's num-queues; 0 leaves the daemon's default (one)
 *
 * The export is writable.  The socket is not waited for: see
 * daemon_wait_socket().
 *
 * Return: the daemon's pid, or -1 if it could not be forked.
 */
pid_t qsd_spawn(const char *qsd_path, const char *img, const char *sock,
		unsigned int queues)
{
	char file[256], exp[320], nq[32] = "";
	pid_t pid;

	snprintf(file, sizeof(file), "driver=file,node-name=f,filename=%s",
		 img);
	if (queues)
		snprintf(nq, sizeof(nq), ",num-queues=%u", queues);
	snprintf(exp, sizeof(exp),
		 "type=vhost-user-blk,id=e,node-name=d,addr.type=unix,addr.path=%s,writable=on%s",
		 sock, nq);
	unlink(sock);
	fflush(stdout);
	pid = fork();
	if (!pid) {
		const char *argv[] = {
			qsd_path, "--blockdev", file,
			"--blockdev", "driver=raw,node-name=d,file=f",
			"--export", exp, NULL,
		};

		execv(argv[0], (char **)argv);
		fprintf(stderr, "exec %s: %s\n", qsd_path, strerror(errno));
		_exit(127);
	}
	return pid;
}

/**
 * daemon_wait_socket() - wait for a daemon to listen on its unix socket
 * @pid: the daemon, a child of this process
 * @sock: the socket's path
 * @timeout_ms: how long to wait
 *
 * Return: 0 once @sock is a socket, -ECHILD if the daemon exited (it is
 * reaped), -ETIMEDOUT after @timeout_ms (the daemon is left running).
 */
int daemon_wait_socket(pid_t pid, const char *sock, int timeout_ms)
{
	uint64_t end = ms_now() + timeout_ms;

	while (!is_socket(sock)) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return -ECHILD;
		if (ms_now() >= end)
			return -ETIMEDOUT;
		usleep(10000);
	}
	return 0;
}

/**
 * daemon_stop() - SIGTERM a child and reap it, SIGKILL it if it lingers
 * @pid: the child; 0 or less does nothing
 * @timeout_ms: how long it has to exit after SIGTERM
 *
 * Return: its exit status, 128 + the signal if a signal ended it, 0 if @pid
 * is 0 or less, -ETIMEDOUT if it had to be killed, or -errno of waitpid().
 */
int daemon_stop(pid_t pid, int timeout_ms)
{
	uint64_t end = ms_now() + timeout_ms;
	int status;

	if (pid <= 0)
		return 0;
	kill(pid, SIGTERM);
	while (ms_now() < end) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) :
						   128 + WTERMSIG(status);
		if (r < 0)
			return -errno;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -ETIMEDOUT;
}

/**
 * proc_cpu_ms() - the CPU time a process has used, from /proc/PID/stat
 * @pid: the process
 *
 * Return: its utime + stime in milliseconds, or -1 if it cannot be read.
 */
long proc_cpu_ms(pid_t pid)
{
	unsigned long ut, st;
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	p = strrchr(buf, ')');	/* the command name may hold anything */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
			 &ut, &st) != 2)
		return -1;
	return (long)((ut + st) * 1000 / sysconf(_SC_CLK_TCK));
}
