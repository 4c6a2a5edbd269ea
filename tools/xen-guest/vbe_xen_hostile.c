// SPDX-License-Identifier: GPL-2.0
/*
 * vbe_xen_hostile: a domU that drives a virtio-mmio window adversarially,
 * the domU half of the Xen lane's hostile-guest test.
 *
 * It publishes an event channel for dom0 (data/virtbe-hostile-port, as
 * vbe_xen_guest does for its devices), maps the page of the virtio-blk
 * device dom0 serves at @base (@size bytes claimed, the rest of the page
 * claimed by nobody) and drives it itself, without virtio_mmio, one phase
 * at a time: writing a phase's name to /sys/module/vbe_xen_hostile/
 * parameters/run runs it, and parameters/result then holds one line,
 * "OK ..." or "FAIL ...".  The phases:
 *
 *  up       reset, feature negotiation, queue 0, DRIVER_OK; sector 0 read
 *           and compared with dom0's pattern
 *  sizes    1-, 2- and 8-byte and unaligned accesses to 32-bit registers,
 *           8-byte config space accesses (the daemon refuses them: reads
 *           0, writes ignored), accesses straddling the claimed range's end
 *           and past it (Xen answers them itself: all-ones)
 *  rep      rep movsl from and to the registers, rep stosl to Status: Xen
 *           reports them with a count above 1 or data in guest memory,
 *           which virtbe_xen rejects (counted in GET_STATS out_rejected);
 *           a rep movsl of count 1 is an ordinary read, served
 *  ro       writes to the read-only registers and to virtio-blk's config
 *  cfg      config space read up to and past the window's end
 *  flood1   QueueNotify writes of queue 0 for @flood_ms (ioeventfd kicks)
 *  floodn   QueueNotify writes naming every queue 0..65535 for @flood_ms
 *           (all but 0 reach the daemon, which refuses them)
 *  garbage  rings the device must not follow: descriptors outside guest
 *           memory, a loop, huge lengths, an indirect table, a head index
 *           and an avail index out of range, queue addresses outside
 *           memory; after each the device must set DEVICE_NEEDS_RESET
 *           within VXH_NEEDS_RESET_MS and use no buffer, and after a reset
 *           serve a read again
 *  resets   @resets rounds of a read posted and kicked, then a reset at
 *           once (I/O in flight): once the reset is done the read must be
 *           either complete (used, status OK, the sector's data) or dropped
 *           (nothing written), and stay so; then the device must serve a
 *           read
 *
 * Every phase ends with sector 0 read through the device again: a device
 * reset makes a virtio device usable again (virtio 1.2, 2.4), which is
 * what this checks.
 *
 * The floods' effect on dom0's daemon is only visible in dom0: with
 * @dom0_marks the flood phases stop before and after the flood, write
 * "<phase>-before" or "<phase>-after" to data/virtbe-hostile-mark and wait
 * (up to VXH_MARK_MS) for dom0 to copy it to data/virtbe-hostile-ack once
 * it has the daemon's counters (tools/xen-guest/dom0-test.sh).  The flood
 * result line says how many writes named queue 0 (q0=) and other queues
 * (qother=).
 *
 * Copyright (C) 2026 The virtbe authors
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

/* rep movsl/stosl, readq/writeq: x86-64 only (tools/xen-guest/Kbuild) */
#ifndef CONFIG_X86_64
#error "vbe_xen_hostile is x86-64 only"
#endif

#include <linux/delay.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>

#include <uapi/linux/virtio_blk.h>
#include <uapi/linux/virtio_config.h>
#include <uapi/linux/virtio_mmio.h>
#include <uapi/linux/virtio_ring.h>

#include <xen/events.h>
#include <xen/interface/event_channel.h>
#include <xen/xen.h>
#include <xen/xenbus.h>

#include <asm/xen/hypercall.h>

static unsigned long base = 0xfe001000;
module_param(base, ulong, 0444);
MODULE_PARM_DESC(base, "guest-physical base of the attacked virtio-mmio device");

static unsigned int size = 0x200;
module_param(size, uint, 0444);
MODULE_PARM_DESC(size, "bytes of registers dom0 claims at base");

static unsigned int flood_ms = 3000;
module_param(flood_ms, uint, 0444);
MODULE_PARM_DESC(flood_ms, "how long each QueueNotify flood lasts");

static unsigned int flood_max = 2000000;
module_param(flood_max, uint, 0444);
MODULE_PARM_DESC(flood_max, "most QueueNotify writes of one flood");

static unsigned int resets = 40;
module_param(resets, uint, 0444);
MODULE_PARM_DESC(resets, "device resets with I/O in flight");

static unsigned int rep_rounds = 5;
module_param(rep_rounds, uint, 0444);
MODULE_PARM_DESC(rep_rounds, "how often each rejected rep access is made");

static bool dom0_marks;
module_param(dom0_marks, bool, 0444);
MODULE_PARM_DESC(dom0_marks, "let dom0 take its daemon's counters before and after each flood");

static char vxh_result[512] = "none";
module_param_string(result, vxh_result, sizeof(vxh_result), 0444);
MODULE_PARM_DESC(result, "the last phase's result line");

#define VXH_QSZ		8
#define VXH_SECTOR	512
#define VXH_PATTERN	"VIRTBE-HOSTILE-PATTERN\n"
#define VXH_ORDER	2		/* 16 KiB: rings, header, data */
#define VXH_AVAIL	0x400
#define VXH_USED	0x800
#define VXH_HDR		0x1000
#define VXH_STATUS	0x1010
#define VXH_DATA	0x2000
#define VXH_SCRATCH	0x3000
#define VXH_OUTSIDE	0xfffffffff000ULL	/* no guest has RAM there */
#define VXH_MAGIC	0x74726976		/* "virt" */
#define VXH_SECTORS	2048			/* dom0's 1 MiB image */
#define VXH_NEEDS_RESET_MS 5000
#define VXH_MARK_MS	30000

struct vxh_desc {
	__le64 addr;
	__le32 len;
	__le16 flags;
	__le16 next;
};

struct vxh_avail {
	__le16 flags;
	__le16 idx;
	__le16 ring[VXH_QSZ];
};

struct vxh_used {
	__le16 flags;
	__le16 idx;
	struct {
		__le32 id;
		__le32 len;
	} ring[VXH_QSZ];
};

struct vxh_blk_hdr {
	__le32 type;
	__le32 ioprio;
	__le64 sector;
};

static DEFINE_MUTEX(vxh_lock);
static void __iomem *vxh_page;		/* the device's page */
static void __iomem *vxh_regs;		/* its registers */
static u8 *vxh_mem;			/* rings and buffers */
static u16 vxh_avail_idx, vxh_used_seen;
static evtchn_port_t vxh_port;
static int vxh_irq = -1;
static atomic_t vxh_irqs = ATOMIC_INIT(0);

static u32 rd(u32 off)
{
	return readl(vxh_regs + off);
}

static void wr(u32 off, u32 val)
{
	writel(val, vxh_regs + off);
}

static void wr64(u32 off_low, u64 val)
{
	wr(off_low, lower_32_bits(val));
	wr(off_low + 4, upper_32_bits(val));
}

static struct vxh_desc *vxh_descs(void)
{
	return (struct vxh_desc *)vxh_mem;
}

static struct vxh_avail *vxh_avail(void)
{
	return (struct vxh_avail *)(vxh_mem + VXH_AVAIL);
}

static struct vxh_used *vxh_used(void)
{
	return (struct vxh_used *)(vxh_mem + VXH_USED);
}

static u64 vxh_gpa(unsigned int off)
{
	return virt_to_phys(vxh_mem + off);
}

/* Interrupts are only counted: every phase polls the used ring. */
static irqreturn_t vxh_interrupt(int irq, void *dev_id)
{
	atomic_inc(&vxh_irqs);
	return IRQ_HANDLED;
}

static int vxh_reset(void)
{
	unsigned long end = jiffies + 10 * HZ;

	wr(VIRTIO_MMIO_STATUS, 0);
	while (rd(VIRTIO_MMIO_STATUS)) {
		if (time_after(jiffies, end))
			return -ETIMEDOUT;
		usleep_range(1000, 2000);
	}
	return 0;
}

/*
 * Reset, negotiate VIRTIO_F_VERSION_1 only, set up queue 0 at @desc,
 * @avail and @used (guest-physical) and set DRIVER_OK.
 */
static int vxh_setup_at(u64 desc, u64 avail, u64 used)
{
	u32 st = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	int ret;

	ret = vxh_reset();
	if (ret)
		return ret;
	memset(vxh_mem, 0, VXH_HDR);
	vxh_avail_idx = 0;
	vxh_used_seen = 0;
	wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	wr(VIRTIO_MMIO_STATUS, st);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	if (!(rd(VIRTIO_MMIO_DEVICE_FEATURES) & BIT(VIRTIO_F_VERSION_1 - 32)))
		return -EPROTO;
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, BIT(VIRTIO_F_VERSION_1 - 32));
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 0);
	st |= VIRTIO_CONFIG_S_FEATURES_OK;
	wr(VIRTIO_MMIO_STATUS, st);
	if (!(rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK))
		return -EIO;
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	if (rd(VIRTIO_MMIO_QUEUE_NUM_MAX) < VXH_QSZ)
		return -ENOSPC;
	wr(VIRTIO_MMIO_QUEUE_NUM, VXH_QSZ);
	wr64(VIRTIO_MMIO_QUEUE_DESC_LOW, desc);
	wr64(VIRTIO_MMIO_QUEUE_AVAIL_LOW, avail);
	wr64(VIRTIO_MMIO_QUEUE_USED_LOW, used);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	wr(VIRTIO_MMIO_STATUS, st | VIRTIO_CONFIG_S_DRIVER_OK);
	return 0;
}

static int vxh_setup(void)
{
	return vxh_setup_at(vxh_gpa(0), vxh_gpa(VXH_AVAIL), vxh_gpa(VXH_USED));
}

/* A read of @sector into the data buffer, as descriptors 0-2. */
static void vxh_fill_read(u64 sector)
{
	struct vxh_blk_hdr *hdr = (struct vxh_blk_hdr *)(vxh_mem + VXH_HDR);
	struct vxh_desc *d = vxh_descs();

	*hdr = (struct vxh_blk_hdr) {
		.type = cpu_to_le32(VIRTIO_BLK_T_IN),
		.sector = cpu_to_le64(sector),
	};
	vxh_mem[VXH_STATUS] = 0xff;
	memset(vxh_mem + VXH_DATA, 0, VXH_SECTOR);
	d[0] = (struct vxh_desc) {
		.addr = cpu_to_le64(vxh_gpa(VXH_HDR)),
		.len = cpu_to_le32(sizeof(*hdr)),
		.flags = cpu_to_le16(VRING_DESC_F_NEXT), .next = cpu_to_le16(1),
	};
	d[1] = (struct vxh_desc) {
		.addr = cpu_to_le64(vxh_gpa(VXH_DATA)),
		.len = cpu_to_le32(VXH_SECTOR),
		.flags = cpu_to_le16(VRING_DESC_F_WRITE | VRING_DESC_F_NEXT),
		.next = cpu_to_le16(2),
	};
	d[2] = (struct vxh_desc) {
		.addr = cpu_to_le64(vxh_gpa(VXH_STATUS)),
		.len = cpu_to_le32(1),
		.flags = cpu_to_le16(VRING_DESC_F_WRITE),
	};
}

/* Make head @head available (the avail index advanced by @step) and kick. */
static void vxh_kick(u16 head, u16 step)
{
	struct vxh_avail *a = vxh_avail();

	a->ring[vxh_avail_idx % VXH_QSZ] = cpu_to_le16(head);
	vxh_avail_idx += step;
	/* The ring entry before the index, both before the kick. */
	wmb();
	WRITE_ONCE(a->idx, cpu_to_le16(vxh_avail_idx));
	/* The index is visible before the device hears the kick. */
	mb();
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
}

/* Wait up to @ms for the device to use one more buffer. */
static int vxh_wait_used(unsigned int ms)
{
	unsigned long end = jiffies + msecs_to_jiffies(ms);

	while (le16_to_cpu(READ_ONCE(vxh_used()->idx)) == vxh_used_seen) {
		if (time_after(jiffies, end))
			return -ETIMEDOUT;
		usleep_range(200, 1000);
	}
	/* The used element and the buffers after the index. */
	rmb();
	vxh_used_seen++;
	return 0;
}

/* Does the data buffer hold @sector of dom0's image (VXH_PATTERN over)? */
static bool vxh_data_ok(u64 sector)
{
	const char pat[] = VXH_PATTERN;
	unsigned int i;

	for (i = 0; i < VXH_SECTOR; i++)
		if (vxh_mem[VXH_DATA + i] !=
		    (u8)pat[(sector * VXH_SECTOR + i) % (sizeof(pat) - 1)])
			return false;
	return true;
}

/*
 * Set the device up again and read sector 0 through it: 0, or -errno with
 * @what saying which step failed.
 */
static int vxh_usable(const char **what)
{
	int ret;

	*what = "setup";
	ret = vxh_setup();
	if (ret)
		return ret;
	vxh_fill_read(0);
	vxh_kick(0, 1);
	*what = "read of sector 0";
	ret = vxh_wait_used(10000);
	if (ret)
		return ret;
	*what = "request status";
	if (vxh_mem[VXH_STATUS] != VIRTIO_BLK_S_OK)
		return -EIO;
	*what = "sector 0's data";
	return vxh_data_ok(0) ? 0 : -EILSEQ;
}

#define vxh_say(fmt, ...) \
	scnprintf(vxh_result, sizeof(vxh_result), fmt, ##__VA_ARGS__)

/* Append to the result line. */
static void vxh_add(const char *fmt, ...) __printf(1, 2);
static void vxh_add(const char *fmt, ...)
{
	size_t n = strlen(vxh_result);
	va_list ap;

	va_start(ap, fmt);
	vscnprintf(vxh_result + n, sizeof(vxh_result) - n, fmt, ap);
	va_end(ap);
}

/* Make the result line's verdict FAIL, keeping what follows the verdict. */
static void vxh_fail(void)
{
	static char rest[sizeof(vxh_result)];	/* under vxh_lock */

	if (str_has_prefix(vxh_result, "FAIL"))
		return;
	if (str_has_prefix(vxh_result, "OK"))
		strscpy(rest, vxh_result + strlen("OK"), sizeof(rest));
	else
		scnprintf(rest, sizeof(rest), " %s", vxh_result);
	vxh_say("FAIL%s", rest);
}

/* Ends every phase: "usable" or the step that failed; false if it failed. */
static bool vxh_end(void)
{
	const char *what;
	int ret = vxh_usable(&what);

	if (ret) {
		vxh_add("; NOT USABLE after it: %s: %d", what, ret);
		return false;
	}
	vxh_add("; usable after it (sector 0 read back)");
	return true;
}

static void vxh_up(void)
{
	unsigned long end = jiffies + 120 * HZ;
	u32 magic;

	while ((magic = rd(VIRTIO_MMIO_MAGIC_VALUE)) != VXH_MAGIC) {
		if (time_after(jiffies, end)) {
			vxh_say("FAIL no backend: MagicValue %#x", magic);
			return;
		}
		msleep(200);
	}
	vxh_say("OK version %u device %u",
		rd(VIRTIO_MMIO_VERSION), rd(VIRTIO_MMIO_DEVICE_ID));
	if (rd(VIRTIO_MMIO_VERSION) != 2 ||
	    rd(VIRTIO_MMIO_DEVICE_ID) != VIRTIO_ID_BLOCK)
		vxh_fail();
	else if (!vxh_end())
		vxh_fail();
}

/* One expectation of the sizes phase: @got must be @want. */
static unsigned int vxh_expect(const char *what, u64 got, u64 want)
{
	if (got == want)
		return 0;
	vxh_add(" [%s: %#llx, want %#llx]", what, got, want);
	return 1;
}

static void vxh_sizes(void)
{
	static const u32 regs[] = {
		VIRTIO_MMIO_MAGIC_VALUE, VIRTIO_MMIO_VERSION,
		VIRTIO_MMIO_DEVICE_ID, VIRTIO_MMIO_QUEUE_NUM_MAX,
		VIRTIO_MMIO_STATUS,
	};
	unsigned int i, bad = 0, n = 0;
	u32 st;

	vxh_say("result");
	if (vxh_setup()) {
		vxh_say("FAIL setup");
		return;
	}
	st = rd(VIRTIO_MMIO_STATUS);
	/* The daemon refuses what virtio-mmio forbids: reads 0. */
	for (i = 0; i < ARRAY_SIZE(regs); i++) {
		bad += vxh_expect("readb", readb(vxh_regs + regs[i] + 1), 0);
		bad += vxh_expect("readw", readw(vxh_regs + regs[i]), 0);
		bad += vxh_expect("readw+2", readw(vxh_regs + regs[i] + 2), 0);
		bad += vxh_expect("readq", readq(vxh_regs + regs[i]), 0);
		n += 4;
	}
	bad += vxh_expect("unaligned readl", readl(vxh_regs + 2), 0);
	bad += vxh_expect("config readq", readq(vxh_regs + 0x100), 0);
	bad += vxh_expect("unaligned config readw",
			  readw(vxh_regs + 0x101), 0);
	n += 3;
	/* Writes a 32-bit-only register must ignore: Status 0 is a reset. */
	writeb(0, vxh_regs + VIRTIO_MMIO_STATUS);
	writew(0, vxh_regs + VIRTIO_MMIO_STATUS);
	writeq(0, vxh_regs + VIRTIO_MMIO_STATUS);
	writel(0, vxh_regs + VIRTIO_MMIO_STATUS + 2);
	writeb(1, vxh_regs + VIRTIO_MMIO_QUEUE_NOTIFY);
	writeq(0, vxh_regs + VIRTIO_MMIO_QUEUE_NOTIFY);
	n += 6;
	bad += vxh_expect("Status after narrow and wide writes of 0",
			  rd(VIRTIO_MMIO_STATUS), st);
	/* Straddling the claimed range's end, and past it: Xen's all-ones. */
	bad += vxh_expect("readl straddling", readl(vxh_regs + size - 2),
			  0xffffffff);
	bad += vxh_expect("readq straddling", readq(vxh_regs + size - 4),
			  ~0ULL);
	bad += vxh_expect("readw straddling", readw(vxh_regs + size - 1),
			  0xffff);
	bad += vxh_expect("readl past the end", readl(vxh_regs + size),
			  0xffffffff);
	writel(0, vxh_regs + size - 2);
	writeq(0, vxh_regs + size - 4);
	n += 6;
	vxh_say("%s %u accesses, %u unexpected", bad ? "FAIL" : "OK", n, bad);
	if (!vxh_end())
		vxh_fail();
}

/* rep movsl of @count dwords, @src to @dst */
static void vxh_rep_movsl(void *dst, const void __iomem *src,
			  unsigned long count)
{
	asm volatile("rep movsl"
		     : "+D" (dst), "+S" (src), "+c" (count) : : "memory");
}

static void vxh_rep_stosl(void __iomem *dst, u32 val, unsigned long count)
{
	asm volatile("rep stosl"
		     : "+D" (dst), "+c" (count) : "a" (val) : "memory");
}

static void vxh_rep(void)
{
	u32 *buf = (u32 *)(vxh_mem + VXH_SCRATCH);
	unsigned int i, bad = 0, rejected = 0;
	u32 st;

	vxh_say("result");
	if (vxh_setup()) {
		vxh_say("FAIL setup");
		return;
	}
	st = rd(VIRTIO_MMIO_STATUS);
	for (i = 0; i < rep_rounds; i++) {
		/* MMIO to RAM, 4 dwords: data_is_ptr, count 4 */
		memset(buf, 0x5a, 64);
		vxh_rep_movsl(buf, vxh_regs + VIRTIO_MMIO_MAGIC_VALUE, 4);
		rejected++;
		bad += vxh_expect("rep movsl from MMIO left the buffer",
				  buf[0], 0x5a5a5a5a);
		/* RAM to MMIO: zeros to Status and on, a reset if taken */
		memset(buf, 0, 64);
		vxh_rep_movsl((void __force *)vxh_regs + VIRTIO_MMIO_STATUS,
			      (const void __iomem __force *)buf, 4);
		rejected++;
		/* rep stosl of 0 to Status: count 4, data inline */
		vxh_rep_stosl(vxh_regs + VIRTIO_MMIO_STATUS, 0, 4);
		rejected++;
		bad += vxh_expect("Status after rep writes of 0",
				  rd(VIRTIO_MMIO_STATUS), st);
		/* count 1 is an ordinary read, which the daemon serves */
		buf[0] = 0;
		vxh_rep_movsl(buf, vxh_regs + VIRTIO_MMIO_MAGIC_VALUE, 1);
		bad += vxh_expect("rep movsl of one dword", buf[0], VXH_MAGIC);
	}
	vxh_say("%s rejected %u (rep movsl both ways, rep stosl; %u rounds), %u unexpected",
		bad ? "FAIL" : "OK", rejected, rep_rounds, bad);
	if (!vxh_end())
		vxh_fail();
}

static void vxh_ro(void)
{
	static const u32 regs[] = {
		VIRTIO_MMIO_MAGIC_VALUE, VIRTIO_MMIO_VERSION,
		VIRTIO_MMIO_DEVICE_ID, VIRTIO_MMIO_VENDOR_ID,
		VIRTIO_MMIO_DEVICE_FEATURES, VIRTIO_MMIO_QUEUE_NUM_MAX,
		VIRTIO_MMIO_INTERRUPT_STATUS, VIRTIO_MMIO_CONFIG_GENERATION,
		VIRTIO_MMIO_CONFIG, VIRTIO_MMIO_CONFIG + 4,
	};
	u32 before[ARRAY_SIZE(regs)];
	unsigned int i, sel, bad = 0;

	vxh_say("result");
	if (vxh_setup()) {
		vxh_say("FAIL setup");
		return;
	}
	for (sel = 0; sel < 2; sel++) {
		wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, sel);
		for (i = 0; i < ARRAY_SIZE(regs); i++)
			before[i] = rd(regs[i]);
		for (i = 0; i < ARRAY_SIZE(regs); i++) {
			wr(regs[i], 0xdeadbeef);
			wr(regs[i], 0);
		}
		for (i = 0; i < ARRAY_SIZE(regs); i++)
			bad += vxh_expect("read-only register", rd(regs[i]),
					  before[i]);
	}
	vxh_say("%s %zu read-only registers (capacity too) written, %u changed",
		bad ? "FAIL" : "OK", ARRAY_SIZE(regs), bad);
	if (!vxh_end())
		vxh_fail();
}

static void vxh_cfg(void)
{
	unsigned int off, bad = 0, n = 0;

	vxh_say("result");
	/* virtio-blk's config is below 0x80 bytes: the rest reads 0 */
	for (off = VIRTIO_MMIO_CONFIG + 0x80; off < size; off += 4, n++)
		bad += vxh_expect("config past its end", rd(off), 0);
	for (off = VIRTIO_MMIO_CONFIG + 0x80; off < size; off++, n++)
		bad += vxh_expect("config byte past its end",
				  readb(vxh_regs + off), 0);
	/* past the window: nobody claims it, Xen answers all-ones */
	for (off = size; off + 4 <= PAGE_SIZE - offset_in_page(base);
	     off += 4, n++)
		bad += vxh_expect("past the window", rd(off), 0xffffffff);
	vxh_say("%s %u config and past-the-window reads, %u unexpected",
		bad ? "FAIL" : "OK", n, bad);
	if (!vxh_end())
		vxh_fail();
}

/*
 * With @dom0_marks: tell dom0 that the device is quiet and wait until it has
 * taken its daemon's counters (it writes @mark back); 0 or -errno.
 */
static int vxh_mark(const char *mark)
{
	unsigned long end = jiffies + msecs_to_jiffies(VXH_MARK_MS);
	int ret;

	if (!dom0_marks)
		return 0;
	ret = xenbus_write(XBT_NIL, "data", "virtbe-hostile-mark", mark);
	if (ret)
		return ret;
	for (;;) {
		unsigned int len;
		char *ack = xenbus_read(XBT_NIL, "data", "virtbe-hostile-ack",
					&len);
		bool done = !IS_ERR(ack) && !strcmp(ack, mark);

		if (!IS_ERR(ack))
			kfree(ack);
		if (done)
			return 0;
		if (time_after(jiffies, end))
			return -ETIMEDOUT;
		msleep(100);
	}
}

static void vxh_flood(bool many)
{
	const char *phase = many ? "floodn" : "flood1";
	unsigned int n, q, q0 = 0, irqs;
	char mark[32];
	ktime_t t0, end;
	s64 us;
	int ret;

	vxh_say("result");
	if (vxh_setup()) {
		vxh_say("FAIL setup");
		return;
	}
	snprintf(mark, sizeof(mark), "%s-before", phase);
	ret = vxh_mark(mark);
	if (ret) {
		vxh_say("FAIL dom0 did not answer mark %s: %d", mark, ret);
		return;
	}
	irqs = atomic_read(&vxh_irqs);
	t0 = ktime_get();
	end = ktime_add_ms(t0, flood_ms);
	for (n = 0; n < flood_max;) {
		q = many ? n & 0xffff : 0;
		wr(VIRTIO_MMIO_QUEUE_NOTIFY, q);
		q0 += !q;
		n++;
		if (!(n & 255)) {
			if (ktime_after(ktime_get(), end))
				break;
			cond_resched();
		}
	}
	us = ktime_us_delta(ktime_get(), t0);
	vxh_say("OK writes=%u q0=%u qother=%u (QueueNotify, %s) in %lld ms: %lld/s, %d interrupts",
		n, q0, n - q0, many ? "queues 0-65535" : "queue 0",
		us / 1000, us ? (s64)n * 1000000 / us : 0,
		atomic_read(&vxh_irqs) - irqs);
	snprintf(mark, sizeof(mark), "%s-after", phase);
	ret = vxh_mark(mark);
	if (ret) {
		vxh_add("; dom0 did not answer mark %s: %d", mark, ret);
		vxh_fail();
	}
	if (!vxh_end())
		vxh_fail();
}

/* The garbage rings, by number; a name for the result line. */
static const char *vxh_garbage_one(unsigned int k)
{
	struct vxh_desc *d = vxh_descs();

	if (k == 7) {
		/* rings outside guest memory */
		vxh_setup_at(VXH_OUTSIDE, VXH_OUTSIDE + 0x1000,
			     VXH_OUTSIDE + 0x2000);
		vxh_kick(0, 1);
		return "rings-outside-memory";
	}
	vxh_setup();
	vxh_fill_read(0);
	switch (k) {
	case 0:
		d[0].addr = cpu_to_le64(VXH_OUTSIDE);
		vxh_kick(0, 1);
		return "header-outside-memory";
	case 1:
		d[1].addr = cpu_to_le64(VXH_OUTSIDE);
		vxh_kick(0, 1);
		return "data-outside-memory";
	case 2:
		d[1].next = cpu_to_le16(0);
		vxh_kick(0, 1);
		return "descriptor-loop";
	case 3:
		d[1].len = cpu_to_le32(0xffffffff);
		vxh_kick(0, 1);
		return "huge-length";
	case 4:
		d[0] = (struct vxh_desc) {
			.addr = cpu_to_le64(vxh_gpa(0)),
			.len = cpu_to_le32(0xfff0),
			.flags = cpu_to_le16(VRING_DESC_F_INDIRECT),
		};
		vxh_kick(0, 1);
		return "indirect-self";
	case 5:
		vxh_kick(0x1234, 1);
		return "head-out-of-range";
	default:
		vxh_kick(0, 30000);
		return "avail-idx-jump";
	}
}

/*
 * Status once it has DEVICE_NEEDS_RESET, or the last one read after
 * VXH_NEEDS_RESET_MS (all-ones, an access nobody answered, does not count)
 */
static u32 vxh_wait_needs_reset(void)
{
	unsigned long end = jiffies + msecs_to_jiffies(VXH_NEEDS_RESET_MS);
	u32 st;

	for (;;) {
		st = rd(VIRTIO_MMIO_STATUS);
		if (st != ~0U && (st & VIRTIO_CONFIG_S_NEEDS_RESET))
			return st;
		if (time_after(jiffies, end))
			return st;
		usleep_range(1000, 2000);
	}
}

static void vxh_garbage(void)
{
	static char cases[sizeof(vxh_result)];
	unsigned int k, bad = 0;
	const char *name;

	vxh_say("result");
	for (k = 0; k < 8; k++) {
		const char *what;
		bool fail = false;
		u16 used;
		u32 st;
		int ret;

		name = vxh_garbage_one(k);
		st = vxh_wait_needs_reset();
		/* a broken queue uses nothing: no buffer before it, none after */
		used = le16_to_cpu(READ_ONCE(vxh_used()->idx));
		vxh_add(" %s:status=%#x,used=%u", name, st, used);
		if (st == ~0U || !(st & VIRTIO_CONFIG_S_NEEDS_RESET)) {
			vxh_add(",NO-NEEDS_RESET");
			fail = true;
		}
		if (used) {
			vxh_add(",USED");
			fail = true;
		}
		ret = vxh_usable(&what);
		if (ret) {
			vxh_add(",NOT-USABLE(%s:%d)", what, ret);
			fail = true;
		}
		bad += fail;
	}
	/* "result" was a placeholder for the verdict */
	strscpy(cases, vxh_result + strlen("result"), sizeof(cases));
	vxh_say("%s 8 garbage rings, %u failed", bad ? "FAIL" : "OK", bad);
	vxh_add(" (NEEDS_RESET in %u ms, none used, usable after a reset):%s",
		VXH_NEEDS_RESET_MS, cases);
	if (!vxh_end())
		vxh_fail();
}

/*
 * What became of the read of @sector (vxh_fill_read(), head 0): 1 complete
 * (used with its length, status OK, the sector's data), 0 dropped (not
 * used, nothing written), -1 anything else.
 */
static int vxh_read_state(u64 sector)
{
	struct vxh_used *u = vxh_used();
	u16 idx = le16_to_cpu(READ_ONCE(u->idx));
	unsigned int i;

	/* the used element and the buffers after the index */
	rmb();
	if (idx == 1 && le32_to_cpu(u->ring[0].id) == 0 &&
	    le32_to_cpu(u->ring[0].len) == VXH_SECTOR + 1 &&
	    vxh_mem[VXH_STATUS] == VIRTIO_BLK_S_OK && vxh_data_ok(sector))
		return 1;
	if (idx || vxh_mem[VXH_STATUS] != 0xff)
		return -1;
	for (i = 0; i < VXH_SECTOR; i++)
		if (vxh_mem[VXH_DATA + i])
			return -1;
	return 0;
}

static void vxh_resets(void)
{
	unsigned long end = jiffies + 60 * HZ;
	unsigned int i, done = 0, dropped = 0, torn = 0, failed = 0;
	int state;

	vxh_say("result");
	for (i = 0; i < resets && time_before(jiffies, end); i++) {
		u64 sector = i % VXH_SECTORS;

		if (vxh_setup()) {
			failed++;
			continue;
		}
		vxh_fill_read(sector);
		vxh_kick(0, 1);
		/* reset with the read in flight */
		if (vxh_reset()) {
			failed++;
			continue;
		}
		/*
		 * The reset is done (Status read 0): the read was served
		 * before it or is dropped, and the device writes nothing
		 * after it, not even when the kick reaches it late.
		 */
		state = vxh_read_state(sector);
		msleep(20);
		if (state < 0 || vxh_read_state(sector) != state)
			torn++;
		else if (state)
			done++;
		else
			dropped++;
	}
	vxh_say("%s %u/%u resets with a read in flight: %u completed before it, %u dropped,",
		failed || torn || i < resets ? "FAIL" : "OK", i, resets, done,
		dropped);
	vxh_add(" %u neither or changed after it, %u resets or setups failed",
		torn, failed);
	if (!vxh_end())
		vxh_fail();
}

static int vxh_run(const char *val, const struct kernel_param *kp)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} phases[] = {
		{ "up", vxh_up }, { "sizes", vxh_sizes }, { "rep", vxh_rep },
		{ "ro", vxh_ro }, { "cfg", vxh_cfg },
		{ "garbage", vxh_garbage }, { "resets", vxh_resets },
	};
	unsigned int i;

	mutex_lock(&vxh_lock);
	if (sysfs_streq(val, "flood1") || sysfs_streq(val, "floodn")) {
		vxh_flood(sysfs_streq(val, "floodn"));
		goto out;
	}
	for (i = 0; i < ARRAY_SIZE(phases); i++) {
		if (sysfs_streq(val, phases[i].name)) {
			phases[i].fn();
			goto out;
		}
	}
	mutex_unlock(&vxh_lock);
	return -EINVAL;
out:
	pr_info("%s\n", vxh_result);
	mutex_unlock(&vxh_lock);
	return 0;
}

static const struct kernel_param_ops vxh_run_ops = {
	.set = vxh_run,
};
module_param_cb(run, &vxh_run_ops, NULL, 0200);
MODULE_PARM_DESC(run, "write a phase's name to run it");

static void vxh_close(evtchn_port_t port)
{
	struct evtchn_close close = { .port = port };

	HYPERVISOR_event_channel_op(EVTCHNOP_close, &close);
}

static int __init vxh_init(void)
{
	struct evtchn_alloc_unbound alloc = {
		.dom = DOMID_SELF,
		.remote_dom = 0,
	};
	int ret;

	if (!xen_domain() || size < 0x104 ||
	    offset_in_page(base) + size > PAGE_SIZE)
		return -ENODEV;
	vxh_mem = (u8 *)__get_free_pages(GFP_KERNEL | __GFP_ZERO, VXH_ORDER);
	if (!vxh_mem)
		return -ENOMEM;
	vxh_page = ioremap(base & PAGE_MASK, PAGE_SIZE);
	if (!vxh_page) {
		ret = -ENOMEM;
		goto err_mem;
	}
	vxh_regs = vxh_page + offset_in_page(base);
	ret = HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &alloc);
	if (ret)
		goto err_map;
	vxh_port = alloc.port;
	ret = bind_evtchn_to_irqhandler(vxh_port, vxh_interrupt, 0,
					"vbe-xen-hostile", NULL);
	if (ret < 0) {
		vxh_close(vxh_port);
		goto err_map;
	}
	vxh_irq = ret;
	ret = xenbus_printf(XBT_NIL, "data", "virtbe-hostile-port", "%u",
			    vxh_port);
	if (ret)
		goto err_irq;
	pr_info("device at %#lx (%#x claimed), port %u irq %d\n", base, size,
		vxh_port, vxh_irq);
	return 0;

err_irq:
	unbind_from_irqhandler(vxh_irq, NULL);	/* closes the port */
err_map:
	iounmap(vxh_page);
err_mem:
	free_pages((unsigned long)vxh_mem, VXH_ORDER);
	return ret;
}

static void __exit vxh_exit(void)
{
	int ret = vxh_reset();

	xenbus_rm(XBT_NIL, "data", "virtbe-hostile-port");
	if (dom0_marks)
		xenbus_rm(XBT_NIL, "data", "virtbe-hostile-mark");
	unbind_from_irqhandler(vxh_irq, NULL);
	iounmap(vxh_page);
	if (ret) {
		/* the device may still own the rings: they stay allocated */
		pr_warn("the device did not reset (%d): leaking its %lu bytes of rings and buffers\n",
			ret, PAGE_SIZE << VXH_ORDER);
		return;
	}
	free_pages((unsigned long)vxh_mem, VXH_ORDER);
}

module_init(vxh_init);
module_exit(vxh_exit);
MODULE_DESCRIPTION("virtbe Xen lane: a domU driving a virtio-mmio window adversarially");
MODULE_LICENSE("GPL");
