/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The Bao lane's VM image: this loader, a device tree blob, a Linux arm64
 * Image and an initramfs, in one flat binary that Bao copies to the VM's
 * RAM base and enters at its first byte (scripts/bao-lane.sh builds it;
 * loader.ld places the parts).  It does what the arm64 boot protocol asks
 * of a boot loader: x0 = the DTB's physical address, x1..x3 = 0, then a
 * branch to the Image (2 MiB above the base: 2 MiB aligned, where the
 * kernel wants to run).  The initramfs lies after the Image's image_size
 * (its bss included); the DTB's /chosen names it (linux,initrd-start/-end).
 * Position independent: the VM's RAM base is never needed here.
 *
 * Built with -DDTB=<path> -DIMAGE=<path> -DINITRD=<path> (strings).
 */
	.section .loader, "ax"
	.global _start
_start:
	adr	x0, dtb
	mov	x1, xzr
	mov	x2, xzr
	mov	x3, xzr
	b	kernel

	.section .dtb, "a"
dtb:
	.incbin	DTB

	.section .kernel, "ax"
kernel:
	.incbin	IMAGE

	.section .initrd, "a"
	.global initrd
initrd:
	.incbin	INITRD
	.global initrd_end
initrd_end:
