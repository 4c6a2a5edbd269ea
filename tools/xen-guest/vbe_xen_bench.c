// SPDX-License-Identifier: GPL-2.0
/*
 * vbe_xen_bench: the domU half of the Xen lane's kick benchmark.
 *
 * dom0 and the domU have different clocks, so a kick is timed as a round
 * trip, entirely on the domU's clock: a thread on vCPU 0 writes a notify
 * register (the vCPU traps to Xen, which hands the access to an IOREQ
 * server in dom0), dom0's daemon wakes on its kick eventfd and signals its
 * irqfd, which sends on the event channel this module allocated; the
 * thread waits for that interrupt.  The registers are in three pages at
 * @base, each path a different address (see tools/xen-guest/vbe-xen-bench.c):
 *
 *   base + 0x50    virtbe's ioeventfd (the kernel signals the kick eventfd)
 *   base + 0x54    virtbe's request channel -> stub process -> kick eventfd
 *   base + 0x1050  a userspace IOREQ server (privcmd + /dev/xen/evtchn)
 *                  -> kick eventfd
 *   base + 0x2050  privcmd's ioeventfd (IOCTL_PRIVCMD_IOEVENTFD on a third
 *                  IOREQ server) -> kick eventfd
 *
 * so those paths differ only in how the kick reaches the daemon.  The
 * floor, base + 0x1054, has no eventfd and no daemon: the userspace IOREQ
 * server completes the access and sends the interrupt itself, on a second
 * event channel (@vxb_floor_port).
 *
 * The module publishes its ports in xenstore (data/virtbe-bench-port,
 * data/virtbe-bench-floor-port), waits (a xenstore watch, no polling) for
 * dom0 to write data/virtbe-bench-go ("ITERS [BUDGET_MS [PATH,...]]": round
 * trips per path, a time after which no new round starts, the paths to run,
 * default all), runs the paths in interleaved rounds and writes
 * "n=N rounds=R <path>=MEDIAN,P99,WRITE ..." (nanoseconds; WRITE is the
 * median time the register write itself took: the trap until the ioreq
 * was completed and the vCPU resumed) or "error ..." to
 * data/virtbe-bench-result.
 *
 * Copyright (C) 2026 The virtbe authors
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/atomic.h>
#include <linux/io.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/timekeeping.h>
#include <linux/wait.h>

#include <xen/events.h>
#include <xen/interface/event_channel.h>
#include <xen/xen.h>
#include <xen/xenbus.h>

#include <asm/xen/hypercall.h>

static unsigned long base = 0xfe010000;
module_param(base, ulong, 0444);
MODULE_PARM_DESC(base, "guest-physical base of the three benchmark pages");

#define VXB_ROUNDS	8
#define VXB_WARMUP	8
#define VXB_MAX_ITERS	100000
#define VXB_NR_PATHS	5
#define VXB_SPAN	0x3000

static const struct {
	const char *name;
	unsigned long off;
} vxb_paths[VXB_NR_PATHS] = {
	{ "virtbe", 0x50 },
	{ "stub", 0x54 },
	{ "evtchn", 0x1050 },
	{ "privcmd", 0x2050 },
	{ "floor", 0x1054 },
};

static evtchn_port_t vxb_port, vxb_floor_port;
static int vxb_irq = -1, vxb_floor_irq = -1;
static struct task_struct *vxb_task;
static DECLARE_COMPLETION(vxb_done);
static DECLARE_WAIT_QUEUE_HEAD(vxb_wait);
static atomic_t vxb_events = ATOMIC_INIT(0);

/* The go key changed (or the watch was registered): look again. */
static void vxb_watch_fired(struct xenbus_watch *w, const char *path,
			    const char *token)
{
	atomic_inc(&vxb_events);
	wake_up(&vxb_wait);
}

static struct xenbus_watch vxb_watch = {
	.node = "data/virtbe-bench-go",
	.callback = vxb_watch_fired,
};

static irqreturn_t vxb_interrupt(int irq, void *dev_id)
{
	complete(&vxb_done);
	return IRQ_HANDLED;
}

static int vxb_cmp(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/*
 * One round trip through the path at @reg: its time in *@ns, the write's
 * alone in *@wns; 0 or -ETIMEDOUT.
 */
static int vxb_kick(void __iomem *reg, u64 *ns, u64 *wns)
{
	u64 t0, t1;

	reinit_completion(&vxb_done);
	t0 = ktime_get_ns();
	writel(0, reg);
	t1 = ktime_get_ns();
	if (!wait_for_completion_timeout(&vxb_done, 2 * HZ))
		return -ETIMEDOUT;
	*ns = ktime_get_ns() - t0;
	*wns = t1 - t0;
	return 0;
}

static __printf(1, 2) void vxb_result(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = kvasprintf(GFP_KERNEL, fmt, ap);
	va_end(ap);
	if (!s)
		return;
	if (xenbus_write(XBT_NIL, "data", "virtbe-bench-result", s))
		pr_err("cannot write the result\n");
	kfree(s);
}

/* The paths named in @list ("a,b,..."; NULL: all) as a mask; 0 if unknown. */
static unsigned int vxb_parse_paths(char *list)
{
	unsigned int mask = 0, p;
	char *name;

	if (!list)
		return (1U << VXB_NR_PATHS) - 1;
	while ((name = strsep(&list, ",")) != NULL) {
		for (p = 0; p < VXB_NR_PATHS; p++)
			if (!strcmp(name, vxb_paths[p].name))
				break;
		if (p == VXB_NR_PATHS)
			return 0;
		mask |= 1U << p;
	}
	return mask;
}

/*
 * @iters round trips per path of @mask in VXB_ROUNDS interleaved rounds;
 * after @budget_ms (0: none) no new round starts, and the rounds done count.
 */
static void vxb_run(unsigned int iters, unsigned int budget_ms,
		    unsigned int mask)
{
	unsigned int chunk = iters / VXB_ROUNDS, n = chunk * VXB_ROUNDS;
	u64 *ns[VXB_NR_PATHS] = {}, *wns[VXB_NR_PATHS] = {}, dummy, wdummy;
	void __iomem *regs;
	unsigned int p, r, i;
	char line[512];
	int len = 0;
	u64 start;

	if (!chunk || iters > VXB_MAX_ITERS) {
		vxb_result("error iters %u (%u..%u)", iters, VXB_ROUNDS,
			   VXB_MAX_ITERS);
		return;
	}
	if (!mask) {
		vxb_result("error unknown path in the go key");
		return;
	}
	regs = ioremap(base, VXB_SPAN);
	if (!regs) {
		vxb_result("error ioremap %#lx", base);
		return;
	}
	for (p = 0; p < VXB_NR_PATHS; p++) {
		if (!(mask & (1U << p)))
			continue;
		ns[p] = kvmalloc_array(n, sizeof(u64), GFP_KERNEL);
		wns[p] = kvmalloc_array(n, sizeof(u64), GFP_KERNEL);
		if (!ns[p] || !wns[p]) {
			vxb_result("error out of memory");
			goto out;
		}
	}
	for (p = 0; p < VXB_NR_PATHS; p++)
		for (i = 0; (mask & (1U << p)) && i < VXB_WARMUP; i++)
			if (vxb_kick(regs + vxb_paths[p].off, &dummy, &wdummy)) {
				vxb_result("error %s: no interrupt (warm-up %u)",
					   vxb_paths[p].name, i);
				goto out;
			}
	start = ktime_get_ns();
	for (r = 0; r < VXB_ROUNDS; r++) {
		if (r && budget_ms &&
		    ktime_get_ns() - start > budget_ms * NSEC_PER_MSEC)
			break;
		for (p = 0; p < VXB_NR_PATHS; p++)
			for (i = 0; (mask & (1U << p)) && i < chunk; i++)
				if (vxb_kick(regs + vxb_paths[p].off,
					     &ns[p][r * chunk + i],
					     &wns[p][r * chunk + i])) {
					vxb_result("error %s: no interrupt (round %u, kick %u)",
						   vxb_paths[p].name, r, i);
					goto out;
				}
	}
	n = chunk * r;
	len = scnprintf(line, sizeof(line), "n=%u rounds=%u", n, r);
	for (p = 0; p < VXB_NR_PATHS; p++) {
		if (!(mask & (1U << p)))
			continue;
		sort(ns[p], n, sizeof(u64), vxb_cmp, NULL);
		sort(wns[p], n, sizeof(u64), vxb_cmp, NULL);
		len += scnprintf(line + len, sizeof(line) - len,
				 " %s=%llu,%llu,%llu", vxb_paths[p].name,
				 ns[p][n / 2], ns[p][n * 99 / 100], wns[p][n / 2]);
	}
	vxb_result("%s", line);
out:
	for (p = 0; p < VXB_NR_PATHS; p++) {
		kvfree(ns[p]);
		kvfree(wns[p]);
	}
	iounmap(regs);
}

static int vxb_thread(void *unused)
{
	unsigned int iters = 0, budget_ms = 0, mask = 0;
	int seen = 0;

	/* no polling: the domU stays quiet while the lane's tests run */
	while (!kthread_should_stop()) {
		unsigned int len;
		char *s;

		wait_event_interruptible(vxb_wait, kthread_should_stop() ||
					 atomic_read(&vxb_events) != seen);
		if (kthread_should_stop())
			break;
		seen = atomic_read(&vxb_events);
		s = xenbus_read(XBT_NIL, "data", "virtbe-bench-go", &len);
		if (!IS_ERR(s)) {
			/* "ITERS [BUDGET_MS [PATH,...]]" */
			char *paths = NULL, *f = s;

			if (sscanf(s, "%u %u", &iters, &budget_ms) < 1)
				iters = 0;
			strsep(&f, " ");
			strsep(&f, " ");
			if (f && *f)
				paths = strsep(&f, "\n ");
			mask = vxb_parse_paths(paths);
			kfree(s);
			break;
		}
	}
	if (!kthread_should_stop())
		vxb_run(iters, budget_ms, mask);
	while (!kthread_should_stop()) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (!kthread_should_stop())
			schedule();
		__set_current_state(TASK_RUNNING);
	}
	return 0;
}

/*
 * An event channel for dom0 to bind, its interrupt bound on vCPU 0 and
 * published at data/@key; its irq or -errno.
 */
static int vxb_port_alloc(evtchn_port_t *port, const char *key)
{
	struct evtchn_alloc_unbound alloc = {
		.dom = DOMID_SELF,
		.remote_dom = 0,
	};
	int irq, ret;

	ret = HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &alloc);
	if (ret)
		return ret;
	*port = alloc.port;
	irq = bind_evtchn_to_irqhandler(*port, vxb_interrupt, 0,
					"vbe-xen-bench", port);
	if (irq < 0) {
		struct evtchn_close close = { .port = *port };

		HYPERVISOR_event_channel_op(EVTCHNOP_close, &close);
		return irq;
	}
	ret = xenbus_printf(XBT_NIL, "data", key, "%u", *port);
	if (ret) {
		unbind_from_irqhandler(irq, port);	/* closes the port */
		return ret;
	}
	return irq;
}

static int __init vxb_init(void)
{
	int ret;

	if (!xen_domain() || xen_initial_domain())
		return -ENODEV;
	ret = vxb_port_alloc(&vxb_port, "virtbe-bench-port");
	if (ret < 0)
		return ret;
	vxb_irq = ret;
	ret = vxb_port_alloc(&vxb_floor_port, "virtbe-bench-floor-port");
	if (ret < 0)
		goto err_unbind;
	vxb_floor_irq = ret;
	/* Both event channels are bound to vCPU 0: the waiter runs there too. */
	vxb_task = kthread_create(vxb_thread, NULL, "vbe-xen-bench");
	if (IS_ERR(vxb_task)) {
		ret = PTR_ERR(vxb_task);
		goto err_unbind;
	}
	kthread_bind(vxb_task, 0);
	wake_up_process(vxb_task);
	ret = register_xenbus_watch(&vxb_watch);
	if (ret) {
		kthread_stop(vxb_task);
		goto err_unbind;
	}
	pr_info("ports %u, %u (floor) base %#lx: waiting for dom0\n", vxb_port,
		vxb_floor_port, base);
	return 0;

err_unbind:
	if (vxb_floor_irq >= 0)
		unbind_from_irqhandler(vxb_floor_irq, &vxb_floor_port);
	unbind_from_irqhandler(vxb_irq, &vxb_port);	/* closes the port */
	return ret;
}

static void __exit vxb_exit(void)
{
	unregister_xenbus_watch(&vxb_watch);
	kthread_stop(vxb_task);
	unbind_from_irqhandler(vxb_floor_irq, &vxb_floor_port);
	unbind_from_irqhandler(vxb_irq, &vxb_port);
}

module_init(vxb_init);
module_exit(vxb_exit);
MODULE_DESCRIPTION("virtbe real-Xen benchmark: kick round trips from a PVH domU");
MODULE_LICENSE("GPL");
