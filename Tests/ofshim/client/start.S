/* The CI test client's entry: r5 = the client-interface entry. Entered at its
 * lowest address (SLOF with -kernel) or at e_entry (the shim): both are here. */
	.section .text.start, "ax"
	.globl _start
_start:
	lis	r1,stack_top@ha
	addi	r1,r1,stack_top@l
	li	r0,0
	stdu	r0,-128(r1)
	lis	r2,.TOC.@ha
	addi	r2,r2,.TOC.@l
	lis	r6,__bss_start@ha
	addi	r6,r6,__bss_start@l
	lis	r7,__bss_end@ha
	addi	r7,r7,__bss_end@l
1:	cmpld	r6,r7
	bge	2f
	stb	r0,0(r6)
	addi	r6,r6,1
	b	1b
2:	mr	r3,r5
	bl	client_main
	b	.

/* long call_ci(entry, args): the CI is an ordinary function call. */
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

	.globl get_tb
get_tb:
	mftb	r3
	blr

/* The PowerPC note: real-mode = -1 (true), real-base, real-size, virt-base, virt-size, load-base. */
	.section .note.powerpc, "a"
	.balign 4
	.long	8, 24, 0x1275
	.asciz	"PowerPC"
	.long	0xffffffff, 0x00c00000, 0xffffffff, 0xffffffff, 0xffffffff, 0x4000
