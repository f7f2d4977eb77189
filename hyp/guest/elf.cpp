// ELF64 executables for test guests. See passage/guest/elf.h.
#include "passage/guest/elf.h"

#include "util.h"

namespace passage {

using guest::le16;
using guest::le32;
using guest::le64;
using guest::within;

namespace {

// ELF64 header (ELF specification, "ELF Header"; 64-bit field widths).
constexpr usize kEhdrSize = 64;
constexpr usize kEiClass = 4, kEiData = 5, kEiVersion = 6;
constexpr u8 kElfClass64 = 2, kElfData2Lsb = 1, kEvCurrent = 1;
constexpr usize kOffType = 16, kOffMachine = 18, kOffVersion = 20, kOffEntry = 24, kOffPhoff = 32;
constexpr usize kOffPhentsize = 54, kOffPhnum = 56;
constexpr u16 kEtExec = 2, kEtDyn = 3;
constexpr u16 kPnXnum = 0xffff;

// ELF64 program header.
constexpr usize kPhdrSize = 56;
constexpr usize kPhType = 0, kPhOffset = 8, kPhVaddr = 16, kPhPaddr = 24, kPhFilesz = 32, kPhMemsz = 40;
constexpr u32 kPtLoad = 1;
constexpr usize kMaxPhnum = 64;  // program headers looked at (PT_LOAD or not)

}  // namespace

bool looks_like_elf(const u8* data, usize size)
{
    return data != nullptr && size >= 4 && data[0] == 0x7f && data[1] == 'E' && data[2] == 'L' && data[3] == 'F';
}

Status parse_elf(const u8* data, usize size, ElfImage& out, Diagnostic& diag)
{
    out = ElfImage{};
    if (data == nullptr || size < kEhdrSize)
        return fail(diag, Error::BadImage, size, "guest ELF: file of %zu bytes is smaller than the ELF64 header (%zu bytes)",
                    data == nullptr ? usize{0} : size, kEhdrSize);
    if (!looks_like_elf(data, size))
        return fail(diag, Error::BadImage, 0, "guest ELF: no ELF magic (7f 45 4c 46) at offset 0");
    if (data[kEiClass] != kElfClass64)
        return fail(diag, Error::Unsupported, data[kEiClass], "guest ELF: class %u is not ELFCLASS64", data[kEiClass]);
    if (data[kEiData] != kElfData2Lsb)
        return fail(diag, Error::Unsupported, data[kEiData],
                    "guest ELF: data encoding %u is not little-endian (ELFDATA2LSB)", data[kEiData]);
    if (data[kEiVersion] != kEvCurrent || le32(data + kOffVersion) != kEvCurrent)
        return fail(diag, Error::BadImage, data[kEiVersion], "guest ELF: version %u is not EV_CURRENT", data[kEiVersion]);
    u16 machine = le16(data + kOffMachine);
    if (machine != kElfMachineAarch64)
        return fail(diag, Error::Unsupported, machine, "guest ELF: machine %u is not EM_AARCH64 (%u)", machine,
                    kElfMachineAarch64);
    u16 type = le16(data + kOffType);
    if (type != kEtExec)
        return fail(diag, Error::Unsupported, type, "guest ELF: type %u is not ET_EXEC (2)%s", type,
                    type == kEtDyn ? "; position-independent (ET_DYN) guests are not supported" : "");

    u64 entry = le64(data + kOffEntry);
    u64 phoff = le64(data + kOffPhoff);
    u16 phentsize = le16(data + kOffPhentsize);
    u16 phnum = le16(data + kOffPhnum);
    if (phnum == 0) return fail(diag, Error::BadImage, 0, "guest ELF: no program headers");
    if (phnum == kPnXnum || phnum > kMaxPhnum)
        return fail(diag, Error::Unsupported, phnum, "guest ELF: %u program headers (at most %zu supported)", phnum,
                    kMaxPhnum);
    if (phentsize != kPhdrSize)
        return fail(diag, Error::BadImage, phentsize, "guest ELF: program header size %u, expected %zu", phentsize,
                    kPhdrSize);
    if (!within(phoff, u64{phnum} * kPhdrSize, size))
        return fail(diag, Error::BadImage, phoff,
                    "guest ELF: program headers at offset 0x%llx (%u x %zu bytes) run past the end of the file (%zu bytes)",
                    static_cast<unsigned long long>(phoff), phnum, kPhdrSize, size);

    for (u16 i = 0; i < phnum; ++i) {
        const u8* ph = data + phoff + u64{i} * kPhdrSize;
        if (le32(ph + kPhType) != kPtLoad) continue;
        ElfSegment s;
        s.offset = le64(ph + kPhOffset);
        s.vaddr = le64(ph + kPhVaddr);
        s.paddr = le64(ph + kPhPaddr);
        s.filesz = le64(ph + kPhFilesz);
        s.memsz = le64(ph + kPhMemsz);
        auto ull = [](u64 v) { return static_cast<unsigned long long>(v); };
        if (s.filesz > s.memsz)
            return fail(diag, Error::BadImage, s.paddr,
                        "guest ELF: segment %u (paddr 0x%llx) has p_filesz 0x%llx larger than p_memsz 0x%llx", i,
                        ull(s.paddr), ull(s.filesz), ull(s.memsz));
        if (!within(s.offset, s.filesz, size))
            return fail(diag, Error::BadImage, s.offset,
                        "guest ELF: segment %u: file bytes 0x%llx+0x%llx run past the end of the file (%zu bytes)", i,
                        ull(s.offset), ull(s.filesz), size);
        if (s.memsz == 0) continue;
        if (s.paddr > ~u64{0} - (s.memsz - 1) || s.vaddr > ~u64{0} - (s.memsz - 1))
            return fail(diag, Error::BadImage, s.paddr,
                        "guest ELF: segment %u at paddr 0x%llx size 0x%llx wraps past the top of the address space", i,
                        ull(s.paddr), ull(s.memsz));
        if (out.segment_count == ElfImage::kMaxSegments)
            return fail(diag, Error::Unsupported, out.segment_count,
                        "guest ELF: more than %zu PT_LOAD segments (a test guest needs a few)", ElfImage::kMaxSegments);
        for (usize j = 0; j < out.segment_count; ++j) {
            const ElfSegment& o = out.segments[j];
            if (ranges_overlap(s.paddr, s.memsz, o.paddr, o.memsz))
                return fail(diag, Error::Overlap, s.paddr,
                            "guest ELF: segment %u (paddr 0x%llx size 0x%llx) overlaps the one at paddr 0x%llx size 0x%llx",
                            i, ull(s.paddr), ull(s.memsz), ull(o.paddr), ull(o.memsz));
        }
        out.segments[out.segment_count++] = s;
    }
    if (out.segment_count == 0) return fail(diag, Error::BadImage, 0, "guest ELF: no PT_LOAD segment with p_memsz > 0");

    for (usize j = 0; j < out.segment_count; ++j) {
        const ElfSegment& s = out.segments[j];
        if (entry >= s.vaddr && entry - s.vaddr < s.memsz) {
            out.entry = entry;
            out.entry_phys = s.paddr + (entry - s.vaddr);
            return {};
        }
    }
    return fail(diag, Error::BadImage, entry, "guest ELF: entry point 0x%llx lies in no PT_LOAD segment",
                static_cast<unsigned long long>(entry));
}

}  // namespace passage
