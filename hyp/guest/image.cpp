// The arm64 Linux Image header. See passage/guest/image.h.
#include "passage/guest/image.h"

#include "util.h"

namespace passage {

using guest::le32;
using guest::le64;

namespace {

constexpr usize kOffTextOffset = 8;
constexpr usize kOffImageSize = 16;
constexpr usize kOffFlags = 24;
constexpr usize kOffMagic = 56;

constexpr u64 kFlagBigEndian = 1u << 0;
constexpr u64 kFlagPageSizeShift = 1;
constexpr u64 kFlagPageSizeMask = 3u << kFlagPageSizeShift;
constexpr u64 kFlagPhysPlacement = 1u << 3;

}  // namespace

const char* kernel_page_size_name(KernelPageSize p)
{
    switch (p) {
    case KernelPageSize::Unspecified: return "unspecified";
    case KernelPageSize::K4: return "4K";
    case KernelPageSize::K16: return "16K";
    case KernelPageSize::K64: return "64K";
    }
    return "?";
}

bool looks_like_linux_image(const u8* data, usize size)
{
    return data != nullptr && size >= kLinuxImageHeaderSize && le32(data + kOffMagic) == kLinuxImageMagic;
}

Status parse_linux_image(const u8* data, usize size, LinuxImage& out, Diagnostic& diag)
{
    out = LinuxImage{};
    if (data == nullptr || size < kLinuxImageHeaderSize)
        return fail(diag, Error::BadImage, size, "guest Image: file of %zu bytes is smaller than its header (%zu bytes)",
                    data == nullptr ? usize{0} : size, kLinuxImageHeaderSize);
    u32 magic = le32(data + kOffMagic);
    if (magic != kLinuxImageMagic)
        return fail(diag, Error::BadImage, magic,
                    "guest Image: bad magic 0x%08x at offset 56 (not an arm64 Image; expected 0x%08x)", magic,
                    kLinuxImageMagic);

    u64 text_offset = le64(data + kOffTextOffset);
    u64 image_size = le64(data + kOffImageSize);
    u64 flags = le64(data + kOffFlags);

    if (image_size == 0) {
        // booting.rst: before 3.17 the header fields other than the magic
        // were not defined; text_offset is 0x80000 and the flags are zero.
        out.old_kernel = true;
        out.text_offset = kLinuxOldTextOffset;
        out.image_size = size;
        out.copy_size = size;
        out.flags = 0;
        return {};
    }

    if (flags & kFlagBigEndian) return fail(diag, Error::Unsupported, flags, "guest Image: big-endian kernels are not supported");
    if (image_size < kLinuxImageHeaderSize)
        return fail(diag, Error::BadImage, image_size, "guest Image: image_size %llu is smaller than the header",
                    static_cast<unsigned long long>(image_size));
    if (text_offset >= kLinuxImageAlign * 512 || image_size > (u64{1} << 40))
        return fail(diag, Error::BadImage, text_offset,
                    "guest Image: implausible header (text_offset 0x%llx, image_size 0x%llx)",
                    static_cast<unsigned long long>(text_offset), static_cast<unsigned long long>(image_size));

    out.text_offset = text_offset;
    out.image_size = image_size;
    out.copy_size = size < image_size ? size : image_size;
    out.flags = flags;  // bits 4-63 are reserved: ignored
    out.page_size = static_cast<KernelPageSize>((flags & kFlagPageSizeMask) >> kFlagPageSizeShift);
    out.place_anywhere = (flags & kFlagPhysPlacement) != 0;
    return {};
}

}  // namespace passage
