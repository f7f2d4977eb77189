// Per-CPU stacks, outside BSS (not cleared, not in the file), covered by
// the image header's image_size.
#include "asm_defs.h"

extern "C" {
alignas(16) __attribute__((section(".stacks"))) unsigned char passage_stacks[MAX_CPUS][STACK_SIZE];
}
