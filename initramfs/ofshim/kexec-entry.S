/*
 * kexec-entry.bin: the entry kexboot hands to kexec_load next to ofshim.elf.
 *
 * Linux's kexec_sequence copies the first 0x100 bytes of the entry to physical 0
 * (after the segments) and sends the other CPUs to 0x60; it calls the entry with
 * r3 = its CPU number, in the running kernel's byte order. So:
 *  - bytes 0x04-0xff are replaced by the shim's own bytes 0x04-0xff at build time:
 *    what lands at 0 is then the shim's park block and secondary hold;
 *  - word 0, 0x48010148, is "b .+0x10148" read either way round, so it works from a
 *    big- or little-endian kernel (and at physical 0 nothing executes it);
 *  - at 0x10148: switch to big endian if needed, load the device tree's address from
 *    the 8-byte slot at 0x10100 (kexboot writes it there) and enter the shim's
 *    big-endian kexec path at physical 0x20.
 * It runs wherever it is loaded (position independent).
 */
	.macro LEWORD w
	.byte (\w)&0xff, ((\w)>>8)&0xff, ((\w)>>16)&0xff, ((\w)>>24)&0xff
	.endm

	.section .text, "ax"
	.globl _start
_start:
	.long	0x48010148		/* b .+0x10148, in either byte order */
	. = 0x100
	.space	0x10000			/* room that makes the palindromic branch possible */
	. = 0x10100
dt_slot:
	.quad	0			/* the device tree's physical address */
	. = 0x10148
	tdi	0,r0,0x48		/* LE: b .+8 */
	b	be_main
	LEWORD	0x48000005		/* bl .+4 */
	LEWORD	0x7d6802a6		/* mflr r11 */
	LEWORD	0x396b001c		/* addi r11,r11,28 (to be_main) */
	LEWORD	0x7d7a03a6		/* mtsrr0 r11 */
	LEWORD	0x7d8000a6		/* mfmsr r12 */
	LEWORD	0x698c0001		/* xori r12,r12,1: LE off */
	LEWORD	0x7d9b03a6		/* mtsrr1 r12 */
	LEWORD	0x4c000024		/* rfid */
be_main:
	bl	1f
1:	mflr	r4
	ld	r3,dt_slot-1b(r4)
	li	r4,0
	li	r5,0x20			/* the shim's big-endian kexec path */
	mtctr	r5
	bctr
