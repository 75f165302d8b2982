/*
 * ofshim entry points, exception vectors and the client-interface gate.
 *
 * The image is linked at physical address 0:
 *   0x000  kexec purgatory entry (r3 = FDT, r4 = image address)
 *   0x040  RTAS argument block the parked secondaries use (filled by the master)
 *   0x050  park flag: 1 once the master has put the stop-self token in the block
 *   0x05c  run-at-load word (kexec-tools may patch it; unused)
 *   0x060  secondary hold: kexec sends the other CPUs here (r3 = their number)
 *   0x100  QEMU -bios entry (r3 = FDT, r1 = 0) — also the system reset vector
 *   0x200… exception vectors: report and power off, except the decrementer (0x900)
 * The assembly routines live in the gaps between vectors (after 0x100, 0x200, 0x500,
 * 0x600, 0x700): the assembler refuses to move '.' backwards, so an overflow is a
 * build error, not a silent overlap. C code follows from 0xf8c.
 */
#define H_RTAS 0xf000

/* Stores an instruction byte-swapped, for code that runs with MSR.LE set. */
	.macro LEWORD w
	.byte (\w)&0xff, ((\w)>>8)&0xff, ((\w)>>16)&0xff, ((\w)>>24)&0xff
	.endm

/*
 * A ppc64le kernel's purgatory arrives here (and its other CPUs at 0x60) in
 * little-endian mode. The first word is "tdi 0,0,0x48" to a big-endian CPU (it
 * never traps) and "b .+8" to a little-endian one, onto byte-swapped code that
 * clears MSR.LE and rfids to the big-endian path.
 */
	.macro TO_BIG_ENDIAN be
	tdi	0,r0,0x48		/* LE: b .+8 */
	ba	\be			/* BE: on (absolute: the image is at 0) */
	LEWORD	0x7d6000a6		/* mfmsr r11 */
	LEWORD	0x696b0001		/* xori r11,r11,1 */
	LEWORD	0x7d7b03a6		/* mtsrr1 r11 */
	LEWORD	(0x39600000 | \be)	/* li r11,\be (the image is at 0) */
	LEWORD	0x7d7a03a6		/* mtsrr0 r11 */
	LEWORD	0x4c000024		/* rfid */
	.endm

	.section .text.head, "ax"
	.globl _start
_start:
	TO_BIG_ENDIAN 0x20
	. = 0x20
	mr	r31,r3
	li	r30,1			/* entered by kexec */
	b	boot_entered

	. = 0x40
	.globl park_args
park_args:
	.long	0, 0, 1, 0		/* token, nargs, nret, status */
	.globl park_flag
park_flag:
	.long	0

	. = 0x5c
	.long	0

	. = 0x60
secondary_hold:
	TO_BIG_ENDIAN 0x80
	. = 0x80
1:	or	1,1,1			/* low SMT priority while waiting */
	lwz	r5,0x50(0)
	cmpwi	r5,0
	beq	1b
	or	2,2,2
	li	r4,0x40
	li	r3,0
	ori	r3,r3,H_RTAS
	sc	1			/* stop-self: the client may start us with start-cpu */
2:	or	1,1,1			/* stop-self refused: spin where nobody looks */
	b	2b

	. = 0x100

boot_common:
	mr	r31,r3
	li	r30,0			/* entered as -bios firmware */
boot_entered:
	mfmsr	r11
	li	r12,1
	sldi	r12,r12,63		/* SF: the shim runs in 64-bit mode */
	or	r11,r11,r12
	li	r12,0
	ori	r12,r12,0x8030		/* EE, IR, DR off */
	andc	r11,r11,r12
	mtmsrd	r11
	isync
	lis	r1,stack_top@ha
	addi	r1,r1,stack_top@l
	li	r0,0
	stdu	r0,-128(r1)
	lis	r2,.TOC.@ha
	addi	r2,r2,.TOC.@l
	/* zero .bss (the heap and stacks live in .noinit, outside it) */
	lis	r4,__bss_start@ha
	addi	r4,r4,__bss_start@l
	lis	r5,__bss_end@ha
	addi	r5,r5,__bss_end@l
2:	cmpld	r4,r5
	bge	3f
	std	r0,0(r4)
	addi	r4,r4,8
	b	2b
3:	mr	r3,r31
	mr	r4,r30
	bl	shim_main
	b	.


/* Every vector saves r3 in SPRG1 and passes its own address to trap_common. */
	.macro VEC addr
	. = \addr
	mtsprg	1,r3
	li	r3,\addr
	b	trap_common
	.endm
	VEC 0x200

/* (placed in the gap after this vector) */
trap_common:
	mfsrr0	r4
	mfsrr1	r5
	mflr	r6
	lis	r1,trap_stack_top@ha
	addi	r1,r1,trap_stack_top@l
	li	r0,0
	stdu	r0,-128(r1)
	lis	r2,.TOC.@ha
	addi	r2,r2,.TOC.@l
	bl	trap_report
	b	.


	VEC 0x300
	VEC 0x380
	VEC 0x400
	VEC 0x480
	VEC 0x500

/* (placed in the gap after this vector) */
/*
 * The client-interface entry. Clients call it in 32- or 64-bit mode with
 * r3 = the argument array; it runs the C handler on the shim's own stack in
 * 64-bit mode and returns with the caller's MSR, r1, r2 and LR restored.
 */
	.globl ci_entry
ci_entry:
	mfmsr	r11
	mr	r12,r1
	lis	r10,ci_stack_top@ha
	addi	r10,r10,ci_stack_top@l
	std	r12,-8(r10)
	std	r11,-16(r10)
	mflr	r0
	std	r0,-24(r10)
	std	r2,-32(r10)
	addi	r1,r10,-160
	li	r0,0
	std	r0,0(r1)
	li	r9,1
	sldi	r9,r9,63
	or	r9,r11,r9
	mtmsrd	r9
	isync
	lis	r2,.TOC.@ha
	addi	r2,r2,.TOC.@l
	clrldi	r3,r3,32
	bl	ci_handler
	lis	r10,ci_stack_top@ha
	addi	r10,r10,ci_stack_top@l
	ld	r0,-24(r10)
	mtlr	r0
	ld	r2,-32(r10)
	ld	r11,-16(r10)
	ld	r1,-8(r10)
	mtmsrd	r11
	isync
	blr


	VEC 0x600

/* (placed in the gap after this vector) */
/*
 * Little-endian clients are given le_tramp as their CI entry. Some call it with
 * MSR.LE set, some (like Linux's prom code) switch to big endian first, so its
 * first word works both ways: big endian it is "tdi 0,0,0x48", which never traps,
 * and the next word goes straight to ci_entry; little endian the same bytes read
 * "b .+8", onto nine words stored byte-swapped that rfid into big-endian code,
 * call ci_entry and rfid back to the caller's LR with MSR.LE set again.
 */
	.balign 8
	.globl le_tramp
le_tramp:
	tdi	0,r0,0x48	/* LE: b .+8 */
	b	ci_entry
	LEWORD 0x7c0802a6	/* mflr r0 */
	LEWORD 0x48000005	/* bl .+4 */
	LEWORD 0x7d6802a6	/* mflr r11 */
	LEWORD 0x396b001c	/* addi r11,r11,28 (to le_be) */
	LEWORD 0x7d7a03a6	/* mtsrr0 r11 */
	LEWORD 0x7d8000a6	/* mfmsr r12 */
	LEWORD 0x698c0001	/* xori r12,r12,1: LE off */
	LEWORD 0x7d9b03a6	/* mtsrr1 r12 */
	LEWORD 0x4c000024	/* rfid */
le_be:
	lis	r11,le_saved_lr@ha
	std	r0,le_saved_lr@l(r11)
	bl	ci_entry
	lis	r11,le_saved_lr@ha
	ld	r0,le_saved_lr@l(r11)
	mtsrr0	r0
	mfmsr	r12
	ori	r12,r12,1
	mtsrr1	r12
	rfid


	VEC 0x700

/* (placed in the gap after this vector) */
/* void enter_client(entry, r3, r4, msr, stack, ci) — never returns */
	.globl enter_client
enter_client:
	mtsrr0	r3
	mtsrr1	r6
	mr	r1,r7
	mr	r3,r4
	mr	r4,r5
	mr	r5,r8
	li	r6,0
	li	r7,0
	rfid

/* long hcall(op, a1..a6, u64 out[4] or 0): r3 back; r4-r7 stored in out */
	.globl hcall
hcall:
	std	r10,-8(r1)
	sc	1
	ld	r10,-8(r1)
	cmpdi	r10,0
	beqlr
	std	r4,0(r10)
	std	r5,8(r10)
	std	r6,16(r10)
	std	r7,24(r10)
	blr

	.globl get_msr
get_msr:
	mfmsr	r3
	blr

	.globl get_tb
get_tb:
	mftb	r3
	blr

	VEC 0x800
	. = 0x900
	/* Decrementer, for a client that enabled interrupts: push it far away and return
	 * (no CR or other register touched but r3, which SPRG1 holds meanwhile). */
	mtsprg	1,r3
	lis	r3,0x7fff
	ori	r3,r3,0xffff
	mtdec	r3
	mfsprg	r3,1
	rfid
	VEC 0x980
	VEC 0xa00
	VEC 0xb00
	VEC 0xc00
	VEC 0xd00
	VEC 0xe00
	VEC 0xe20
	VEC 0xe40
	VEC 0xe60
	VEC 0xe80
	VEC 0xea0
	VEC 0xf00
	VEC 0xf20
	VEC 0xf40
	VEC 0xf60
	VEC 0xf80

	.section .bss
	.balign 8
le_saved_lr:
	.space	8
