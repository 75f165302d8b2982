    .section .note.ppc1275, "a"
    .balign 4
    .long 8          /* namesz: "PowerPC\0" */
    .long 24         /* descsz: six cells */
    .long 0x1275
    .asciz "PowerPC"
    .balign 4
    .long -1         /* real-mode */
    .long 0x00c00000 /* real-base */
    .long -1         /* real-size */
    .long -1         /* virt-base */
    .long -1         /* virt-size */
    .long 0x4000     /* load-base */
    .text
    .globl _start
_start:
    b _start
