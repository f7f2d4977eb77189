#include "testdev.h"

namespace guest::testdev {

namespace {

constexpr u32 kPage = 4096;

// One 32-bit little-endian register; the device answers one byte per access.
u32 read_le32_bytes(u64 addr)
{
    u32 v = 0;
    for (unsigned i = 0; i < 4; ++i) v |= u32{mmio_read8(addr + i)} << (8 * i);
    return v;
}

}  // namespace

Run run(u64 base)
{
    // The BAR starts with a header: writing a test number to byte 0 starts
    // that test and zeroes its count; then the header describes it: width
    // (byte 1), offset to write (u32 at 4), data to write (byte 8), count
    // of matching writes (u32 at 12), name (16...).
    Run r;
    r.writes = 3;
    mmio_write8(base + 0, 0);
    r.width = mmio_read8(base + 1);
    r.offset = read_le32_bytes(base + 4);
    r.data = mmio_read8(base + 8);
    r.before = read_le32_bytes(base + 12);
    unsigned n = 0;
    for (; n < sizeof r.test - 1; ++n)
        if (!(r.test[n] = static_cast<char>(mmio_read8(base + 16 + n)))) break;
    r.test[n] = '\0';
    if (r.width != 1 || r.offset < 16 || r.offset >= kPage) {
        mmio_write8(base + 0, 0xff);
        r.error = "test 0's header does not read as pci-testdev's layout (width 1, offset inside the page)";
        return r;
    }
    for (unsigned i = 0; i < r.writes; ++i) mmio_write8(base + r.offset, r.data);
    dsb_sy();
    r.after = read_le32_bytes(base + 12);
    mmio_write8(base + 0, 0xff);  // a test number past the last one stops the test
    r.ok = r.after == r.before + r.writes;
    if (!r.ok) r.error = "the device did not count every write";
    return r;
}

}  // namespace guest::testdev
