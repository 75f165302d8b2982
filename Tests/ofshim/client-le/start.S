/* A little-endian client: the shim enters it with MSR.LE set and r5 = its trampoline. */
	.section .text.start, "ax"
	.globl _start
_start:
	lis	r1,stack_top@ha
	addi	r1,r1,stack_top@l
	li	r0,0
	stdu	r0,-128(r1)
	lis	r2,.TOC.@ha
	addi	r2,r2,.TOC.@l
	mr	r3,r5
	bl	le_main
	b	.

	.globl call_ci
call_ci:
	mflr	r0
	std	r0,16(r1)
	stdu	r1,-128(r1)
	std	r2,24(r1)
	mtctr	r3
	mr	r3,r4
	bctrl
	ld	r2,24(r1)
	addi	r1,r1,128
	ld	r0,16(r1)
	mtlr	r0
	extsw	r3,r3
	blr

/* long call_ci_be(entry, args): the call made in big-endian mode, as Linux's prom code
 * does it; the words between be_call and le_back are big-endian instructions. */
	.macro BEWORD w
	.byte ((\w)>>24)&0xff, ((\w)>>16)&0xff, ((\w)>>8)&0xff, (\w)&0xff
	.endm
	.globl call_ci_be
call_ci_be:
	mflr	r0
	std	r0,16(r1)
	stdu	r1,-128(r1)
	std	r2,24(r1)
	mr	r12,r3
	bl	1f
1:	mflr	r11
	addi	r11,r11,be_call-1b
	mtsrr0	r11
	mfmsr	r10
	xori	r10,r10,1
	mtsrr1	r10
	rfid
be_call:
	BEWORD	0x7d8903a6	/* mtctr r12 */
	BEWORD	0x7c832378	/* mr r3,r4 */
	BEWORD	0x4e800421	/* bctrl */
	BEWORD	0x48000005	/* bl .+4 */
	BEWORD	0x7d6802a6	/* mflr r11 */
	BEWORD	0x396b001c	/* addi r11,r11,28 (to le_back) */
	BEWORD	0x7d7a03a6	/* mtsrr0 r11 */
	BEWORD	0x7d4000a6	/* mfmsr r10 */
	BEWORD	0x614a0001	/* ori r10,r10,1: LE on */
	BEWORD	0x7d5b03a6	/* mtsrr1 r10 */
	BEWORD	0x4c000024	/* rfid */
le_back:
	ld	r2,24(r1)
	addi	r1,r1,128
	ld	r0,16(r1)
	mtlr	r0
	extsw	r3,r3
	blr

	.section .bss
	.balign 16
	.space 0x8000
stack_top:
