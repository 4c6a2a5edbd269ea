// SPDX-License-Identifier: GPL-2.0
/*
 * vbe_xen_bench: the domU half of the Xen lane's kick benchmark.
 *
 * dom0 and the domU have different clocks, so a kick is timed as a round
 * trip, entirely on the domU's clock: a thread on vCPU 0 writes a notify
 * register (the vCPU traps to Xen, which hands the access to an IOREQ
 * server in dom0), dom0's daemon wakes on its kick eventfd and signals its
 * irqfd, which sends on the event channel this module allocated; the
 * thread waits for that interrupt.  The registers are in two pages at
 * @base, each path a different address (see tools/xen-guest/vbe-xen-bench.c):
 *
 *   base + 0x50    virtbe's ioeventfd (the kernel signals the kick eventfd)
 *   base + 0x54    virtbe's request channel -> stub process -> kick eventfd
 *   base + 0x1050  a userspace IOREQ server (privcmd + /dev/xen/evtchn)
 *                  -> kick eventfd
 *
 * so the paths differ only in how the kick reaches the daemon.  The module
 * publishes its port in xenstore (data/virtbe-bench-port), waits (a
 * xenstore watch, no polling) for dom0 to write data/virtbe-bench-go
 * ("ITERS [BUDGET_MS]": round trips per path, and a time after which no
 * new round starts), runs the paths in interleaved rounds and writes
 * "n=N rounds=R <path>=MEDIAN,P99 ..." (nanoseconds) or "error ..." to
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
MODULE_PARM_DESC(base, "guest-physical base of the two benchmark pages");

#define VXB_ROUNDS	8
#define VXB_WARMUP	8
#define VXB_MAX_ITERS	100000
#define VXB_NR_PATHS	3

static const struct {
	const char *name;
	unsigned long off;
} vxb_paths[VXB_NR_PATHS] = {
	{ "virtbe", 0x50 },
	{ "stub", 0x54 },
	{ "evtchn", 0x1050 },
};

static evtchn_port_t vxb_port;
static int vxb_irq = -1;
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

/* One round trip through the path at @reg; 0 or -ETIMEDOUT. */
static int vxb_kick(void __iomem *reg, u64 *ns)
{
	u64 t0;

	reinit_completion(&vxb_done);
	t0 = ktime_get_ns();
	writel(0, reg);
	if (!wait_for_completion_timeout(&vxb_done, 2 * HZ))
		return -ETIMEDOUT;
	*ns = ktime_get_ns() - t0;
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

/*
 * @iters round trips per path in VXB_ROUNDS interleaved rounds; after
 * @budget_ms (0: none) no new round starts, and the rounds done count.
 */
static void vxb_run(unsigned int iters, unsigned int budget_ms)
{
	unsigned int chunk = iters / VXB_ROUNDS, n = chunk * VXB_ROUNDS;
	u64 *ns[VXB_NR_PATHS] = {}, dummy, start;
	void __iomem *regs;
	unsigned int p, r, i;
	char line[256];
	int len = 0;

	if (!chunk || iters > VXB_MAX_ITERS) {
		vxb_result("error iters %u (%u..%u)", iters, VXB_ROUNDS,
			   VXB_MAX_ITERS);
		return;
	}
	regs = ioremap(base, 0x2000);
	if (!regs) {
		vxb_result("error ioremap %#lx", base);
		return;
	}
	for (p = 0; p < VXB_NR_PATHS; p++) {
		ns[p] = kvmalloc_array(n, sizeof(u64), GFP_KERNEL);
		if (!ns[p]) {
			vxb_result("error out of memory");
			goto out;
		}
	}
	for (p = 0; p < VXB_NR_PATHS; p++)
		for (i = 0; i < VXB_WARMUP; i++)
			if (vxb_kick(regs + vxb_paths[p].off, &dummy)) {
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
			for (i = 0; i < chunk; i++)
				if (vxb_kick(regs + vxb_paths[p].off,
					     &ns[p][r * chunk + i])) {
					vxb_result("error %s: no interrupt (round %u, kick %u)",
						   vxb_paths[p].name, r, i);
					goto out;
				}
	}
	n = chunk * r;
	len = scnprintf(line, sizeof(line), "n=%u rounds=%u", n, r);
	for (p = 0; p < VXB_NR_PATHS; p++) {
		sort(ns[p], n, sizeof(u64), vxb_cmp, NULL);
		len += scnprintf(line + len, sizeof(line) - len, " %s=%llu,%llu",
				 vxb_paths[p].name, ns[p][n / 2],
				 ns[p][n * 99 / 100]);
	}
	vxb_result("%s", line);
out:
	for (p = 0; p < VXB_NR_PATHS; p++)
		kvfree(ns[p]);
	iounmap(regs);
}

static int vxb_thread(void *unused)
{
	unsigned int iters = 0, budget_ms = 0;
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
			/* "ITERS [BUDGET_MS]" */
			if (sscanf(s, "%u %u", &iters, &budget_ms) < 1)
				iters = 0;
			kfree(s);
			break;
		}
	}
	if (!kthread_should_stop())
		vxb_run(iters, budget_ms);
	while (!kthread_should_stop()) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (!kthread_should_stop())
			schedule();
		__set_current_state(TASK_RUNNING);
	}
	return 0;
}

static int __init vxb_init(void)
{
	struct evtchn_alloc_unbound alloc = {
		.dom = DOMID_SELF,
		.remote_dom = 0,
	};
	int ret;

	if (!xen_domain() || xen_initial_domain())
		return -ENODEV;
	ret = HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &alloc);
	if (ret)
		return ret;
	vxb_port = alloc.port;
	ret = bind_evtchn_to_irqhandler(vxb_port, vxb_interrupt, 0,
					"vbe-xen-bench", &vxb_port);
	if (ret < 0) {
		struct evtchn_close close = { .port = vxb_port };

		HYPERVISOR_event_channel_op(EVTCHNOP_close, &close);
		return ret;
	}
	vxb_irq = ret;
	ret = xenbus_printf(XBT_NIL, "data", "virtbe-bench-port", "%u",
			    vxb_port);
	if (ret)
		goto err_unbind;
	/* The event channel is bound to vCPU 0: the waiter runs there too. */
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
	pr_info("port %u irq %d base %#lx: waiting for dom0\n", vxb_port,
		vxb_irq, base);
	return 0;

err_unbind:
	unbind_from_irqhandler(vxb_irq, &vxb_port);	/* closes the port */
	return ret;
}

static void __exit vxb_exit(void)
{
	unregister_xenbus_watch(&vxb_watch);
	kthread_stop(vxb_task);
	unbind_from_irqhandler(vxb_irq, &vxb_port);
}

module_init(vxb_init);
module_exit(vxb_exit);
MODULE_DESCRIPTION("virtbe real-Xen benchmark: kick round trips from a PVH domU");
MODULE_LICENSE("GPL");
