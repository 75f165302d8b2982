/* Only a header: cfuzz.h declares libFuzzer's driver for the Swift harnesses. */
#include "cfuzz.h"
