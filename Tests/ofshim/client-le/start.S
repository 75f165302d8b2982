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

	.section .bss
	.balign 16
	.space 0x8000
stack_top:
