// ELF64 executables for small test guests (ELF specification, the AArch64
// ELF ABI): little-endian, EM_AARCH64, ET_EXEC, loaded by their PT_LOAD
// segments' physical addresses. Every offset and size is checked against
// the file; nothing here trusts the bytes.
#pragma once

#include "passage/diagnostic.h"
#include "passage/result.h"
#include "passage/types.h"

namespace passage {

constexpr u16 kElfMachineAarch64 = 183;  // EM_AARCH64

struct ElfSegment {
    u64 paddr = 0;   // where it is loaded
    u64 vaddr = 0;   // where it is linked (the entry point is a vaddr)
    u64 offset = 0;  // in the file
    u64 filesz = 0;  // bytes copied from the file
    u64 memsz = 0;   // bytes occupied; memsz - filesz are zeroed (BSS)
};

struct ElfImage {
    static constexpr usize kMaxSegments = 8;
    u64 entry = 0;       // e_entry, a virtual address
    u64 entry_phys = 0;  // the physical address it is loaded at
    ElfSegment segments[kMaxSegments];
    usize segment_count = 0;  // PT_LOAD segments with memsz > 0, in file order
};

// True if the file starts with the ELF magic.
bool looks_like_elf(const u8* data, usize size);

// Parses and checks an ELF64 AArch64 executable of `size` bytes: the
// segments lie inside the file, do not overlap one another, do not wrap, and
// the entry point lies inside one of them.
Status parse_elf(const u8* data, usize size, ElfImage& out, Diagnostic& diag);

}  // namespace passage
