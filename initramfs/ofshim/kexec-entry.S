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
 *  - at 0x10148: switch to big endian if needed; copy the shim to physical 0 when
 *    kexboot loaded it elsewhere (slots at 0x10108: its address, 0x10110: bytes to
 *    copy, 0x10118: bytes it occupies, the rest zeroed; Linux refuses kexec segments
 *    below the running kernel's end, so the shim cannot be a segment at 0 itself),
 *    flush the caches over it, load the device tree's address from the 8-byte slot at
 *    0x10100 and enter the shim's big-endian kexec path at physical 0x20.
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
shim_src:
	.quad	0			/* where the shim was loaded; 0: it is at 0 already */
shim_len:
	.quad	0			/* bytes to copy to 0 (a multiple of 8) */
shim_memsz:
	.quad	0			/* bytes the shim occupies from 0 (a multiple of 8) */
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
	ld	r6,shim_src-1b(r4)
	cmpdi	r6,0
	beq	5f
	ld	r7,shim_len-1b(r4)
	ld	r8,shim_memsz-1b(r4)
	li	r9,0
2:	cmpld	r9,r7			/* copy the shim's bytes to 0 */
	bge	3f
	ldx	r10,r6,r9
	stdx	r10,0,r9
	addi	r9,r9,8
	b	2b
3:	li	r10,0
4:	cmpld	r9,r8			/* and zero the rest of its memory */
	bge	6f
	stdx	r10,0,r9
	addi	r9,r9,8
	b	4b
6:	li	r9,0			/* data cache to memory, then instruction cache */
7:	dcbst	0,r9
	addi	r9,r9,128
	cmpld	r9,r8
	blt	7b
	sync
	li	r9,0
8:	icbi	0,r9
	addi	r9,r9,128
	cmpld	r9,r8
	blt	8b
	sync
	isync
5:	ld	r3,dt_slot-1b(r4)
	li	r4,0
	li	r5,0x20			/* the shim's big-endian kexec path */
	mtctr	r5
	bctr
