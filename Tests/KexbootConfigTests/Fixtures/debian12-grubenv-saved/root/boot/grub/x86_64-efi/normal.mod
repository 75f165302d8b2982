kexboot test placeholder: normal.mod
