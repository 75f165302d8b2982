/*
 * The source of the entry kexboot's ppc64 kexec_load boot hands the kernel
 * (PPC64BootLayout.entryWords, Sources/KexbootOS/PPC64Boot.swift): a test assembles this
 * little-endian and compares it with the words kexboot writes.
 *
 * Linux's kexec_sequence copies the entry's first 0x100 bytes to physical 0 (kexboot puts
 * the new kernel's own bytes 4-0xff there: its secondary-CPU hold code at 0x60), releases
 * the other CPUs to 0x60 and calls the entry in real mode with r3 = its CPU number.
 */
	.section .text, "ax"
	.globl _start
_start:
	b	code			/* word 0 */
	. = 0x100
code:
	bcl	20,31,1f
1:	mflr	r9
	ld	r10,tree-1b(r9)
	ld	r4,kernel-1b(r9)
	li	r11,28			/* the tree header's boot_cpuid_phys */
	stwbrx	r3,r10,r11		/* big endian, as the whole tree */
	mr	r3,r10			/* r3: the device tree */
	li	r5,0			/* r5: no client interface; r4: the kernel's address */
	mtctr	r4
	bctr
	. = 0x128
tree:	.quad	0
kernel:	.quad	0
