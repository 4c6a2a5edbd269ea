/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Backend daemons of a simulated guest, as its tests, benchmarks and demo
 * run them: Debian's qemu-storage-daemon exporting an image as
 * vhost-user-blk on a unix socket, waiting for a daemon's socket, stopping
 * a daemon, the CPU time a process has used, and where the programs are.
 */
#ifndef VBE_DAEMONS_H
#define VBE_DAEMONS_H

#include <sys/types.h>

const char *daemon_path(const char *env, const char *dflt);

/* The programs, where the test VM has them; the environment overrides. */
#define QSD_PATH	daemon_path("QSD", "/bin/qemu-storage-daemon")
#define BRIDGE_PATH	daemon_path("VBE_VHOST_USER", "/bin/virtbe-vhost-user")
#define VBE_BLK_PATH	daemon_path("VBE_BLK", "/bin/vbe-blk")

pid_t qsd_spawn(const char *qsd_path, const char *img, const char *sock,
		unsigned int queues);
int daemon_wait_socket(pid_t pid, const char *sock, int timeout_ms);
int daemon_stop(pid_t pid, int timeout_ms);
long proc_cpu_ms(pid_t pid);

#endif /* VBE_DAEMONS_H */
