#include <stddef.h>
#include <stdint.h>

/* libFuzzer's driver, for a program whose main is its own (SwiftPM aliases main to the
   executable module's entry point, so libFuzzer's main is never linked). */
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
