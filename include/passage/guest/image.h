// The arm64 Linux Image header (Documentation/arch/arm64/booting.rst):
//
//   offset  size  field
//        0     4  code0 (executable code)
//        4     4  code1
//        8     8  text_offset   little-endian
//       16     8  image_size    little-endian, 0 on kernels before 3.17
//       24     8  flags         little-endian
//       32    24  res2..res4
//       56     4  magic 0x644d5241 ("ARM\x64")
//       60     4  res5 (PE header offset)
//
// The kernel is placed text_offset bytes above a 2 MiB-aligned base and
// entered at its first byte.
#pragma once

#include "passage/diagnostic.h"
#include "passage/result.h"
#include "passage/types.h"

namespace passage {

constexpr usize kLinuxImageHeaderSize = 64;
constexpr u32 kLinuxImageMagic = 0x644d5241;
constexpr u64 kLinuxImageAlign = 2 * MiB;      // the base the text_offset is added to
constexpr u64 kLinuxOldTextOffset = 0x80000;   // image_size == 0: text_offset is assumed

// flags bits 1-2: the kernel's page size.
enum class KernelPageSize : u8 { Unspecified = 0, K4 = 1, K16 = 2, K64 = 3 };

struct LinuxImage {
    u64 text_offset = 0;
    // Bytes the kernel occupies from its load address, BSS included: nothing
    // else may sit there.
    u64 image_size = 0;
    // Bytes of the file to copy to the load address (the file, but never more
    // than image_size: anything appended past it, such as a signature, is not
    // part of the loaded kernel).
    u64 copy_size = 0;
    // The header's image_size was 0 (a kernel older than 3.17): text_offset is
    // taken as 0x80000 and image_size as the file size, which does not cover
    // the kernel's BSS. The caller should say so.
    bool old_kernel = false;
    u64 flags = 0;
    KernelPageSize page_size = KernelPageSize::Unspecified;
    // flags bit 3: the 2 MiB base may be anywhere in RAM; clear, it should be
    // as close as possible to the base of DRAM.
    bool place_anywhere = false;
};

// Parses and checks the header of an Image of `size` bytes. Big-endian
// kernels are refused; each failure leaves a message in diag.
Status parse_linux_image(const u8* data, usize size, LinuxImage& out, Diagnostic& diag);

// True if the first bytes look like an arm64 Image (the magic is there), so
// a loader can pick between an Image and an ELF before parsing either.
bool looks_like_linux_image(const u8* data, usize size);

const char* kernel_page_size_name(KernelPageSize p);

}  // namespace passage
