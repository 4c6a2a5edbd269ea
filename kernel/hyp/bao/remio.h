/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtbe_bao: Bao's remote I/O hypercall, as a backend VM makes it.
 *
 * Written from the hypervisor's side of the interface (Bao's
 * src/core/remio.c and src/arch/armv8/aborts.c, an HVC in the SMCCC
 * vendor-hypervisor range): one fast SMC64 call, function 2, whose
 * arguments are x1 = device model id (the device's index among the
 * backend VM's remote I/O devices), x2 = address, x3 = operation,
 * x4 = value, x5 = request id.  x0 returns 0 or an error; ASK also
 * returns the request in x1..x6.
 *
 * Copyright (C) 2026 The virtbe authors
 */
#ifndef _VIRTBE_BAO_REMIO_H
#define _VIRTBE_BAO_REMIO_H

#include <linux/arm-smccc.h>
#include <linux/types.h>

/* ARM_SMCCC_CALL_VAL(FAST, SMC_64, OWNER_VENDOR_HYP, 2) */
#define VBB_HC_REMIO	ARM_SMCCC_CALL_VAL(ARM_SMCCC_FAST_CALL,		\
					   ARM_SMCCC_SMC_64,		\
					   ARM_SMCCC_OWNER_VENDOR_HYP, 2)

/* x3: the operation (Bao's enum REMIO_HYP_EVENT) */
#define VBB_OP_WRITE	0	/* complete a write request */
#define VBB_OP_READ	1	/* complete a read request with x4 */
#define VBB_OP_ASK	2	/* fetch the next pending request */
#define VBB_OP_NOTIFY	3	/* inject the device's frontend interrupt */

/**
 * struct vbb_req - a request as ASK returns it
 * @addr: the frontend's guest-physical address
 * @op: VBB_OP_WRITE or VBB_OP_READ
 * @value: the value written (writes)
 * @width: access width in bytes
 * @id: Bao's request id, for the completion
 * @more: more requests of the device are pending
 */
struct vbb_req {
	u64 addr;
	u64 op;
	u64 value;
	u64 width;
	u64 id;
	bool more;
};

/**
 * vbb_remio() - one remote I/O hypercall
 * @dm_id: the device model id (x1)
 * @addr: x2 (0 for ASK and NOTIFY)
 * @op: VBB_OP_* (x3)
 * @value: the value read, for READ (x4)
 * @id: Bao's request id, for READ and WRITE (x5)
 * @res: x0 to x17 as the call left them
 *
 * Return: x0: 0 on success, else Bao's error.
 */
static inline unsigned long vbb_remio(u32 dm_id, u64 addr, u32 op, u64 value,
				      u64 id, struct arm_smccc_1_2_regs *res)
{
	struct arm_smccc_1_2_regs args = {
		.a0 = VBB_HC_REMIO, .a1 = dm_id, .a2 = addr, .a3 = op,
		.a4 = value, .a5 = id,
	};

	arm_smccc_1_2_hvc(&args, res);
	return res->a0;
}

/**
 * vbb_remio_ask() - fetch the next pending request of a device (ASK)
 * @dm_id: the device model id
 * @req: filled with the request
 *
 * Return: true with @req filled, false when none is pending.
 */
static inline bool vbb_remio_ask(u32 dm_id, struct vbb_req *req)
{
	struct arm_smccc_1_2_regs res;

	if (vbb_remio(dm_id, 0, VBB_OP_ASK, 0, 0, &res))
		return false;
	*req = (struct vbb_req) {
		.addr = res.a1, .op = res.a2, .value = res.a3,
		.width = res.a4, .id = res.a5, .more = res.a6 != 0,
	};
	return true;
}

#endif /* _VIRTBE_BAO_REMIO_H */
