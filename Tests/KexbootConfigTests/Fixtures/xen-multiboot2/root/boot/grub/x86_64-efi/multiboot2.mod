kexboot test placeholder: multiboot2.mod
