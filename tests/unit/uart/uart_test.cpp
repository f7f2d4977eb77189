// The PL011/SBSA and 16550-family console drivers against register models:
// each model checks every access (offset, width) against the layout the
// device tree gives, answers status reads like the hardware, and records
// every write, so a test can say which registers the driver touched.
#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include "uart/ns16550.h"
#include "uart/pl011.h"

using namespace passage;

namespace {

struct Access {
    u64 off;
    unsigned width;
    bool write;
    u32 value;
};

// A 16550 with a transmit FIFO that drains one byte every `drain_every`
// LSR reads, and the DesignWare quirk: LCR writes are dropped while busy.
struct Model16550 {
    Ns16550Layout layout;
    unsigned fifo_size = 16;
    unsigned drain_every = 3;
    bool wedged = false;  // THRE never comes
    unsigned fifo = 0;
    unsigned lsr_reads = 0;
    std::string sent;
    std::vector<Access> log;
    std::map<unsigned, u32> regs;  // every other register, by index
    bool bad_access = false;

    // The register index an access hits, or -1 if it misses the layout.
    int index_of(u64 off, unsigned width)
    {
        if (width != layout.reg_io_width || off < layout.reg_offset) return -1;
        u64 rel = off - layout.reg_offset;
        u64 stride = u64{1} << layout.reg_shift;
        if (rel % stride != 0 || rel / stride > 7) return -1;
        return int(rel / stride);
    }

    u32 read(u64 off, unsigned width)
    {
        log.push_back({off, width, false, 0});
        int i = index_of(off, width);
        if (i < 0) {
            bad_access = true;
            return 0;
        }
        if (i != 5) return regs[unsigned(i)];
        ++lsr_reads;
        if (!wedged && fifo > 0 && lsr_reads % drain_every == 0) --fifo;
        bool room = !wedged && fifo < fifo_size;
        return (room ? 1u << 5 : 0) | (fifo == 0 && !wedged ? 1u << 6 : 0);
    }

    void write(u64 off, u32 value, unsigned width)
    {
        log.push_back({off, width, true, value});
        int i = index_of(off, width);
        if (i < 0) {
            bad_access = true;
            return;
        }
        if (i == 0) {
            if (fifo >= fifo_size) bad_access = true;  // overrun: the byte is lost on hardware
            ++fifo;
            sent.push_back(char(value));
            return;
        }
        regs[unsigned(i)] = value;
    }

    // Writes to anything but THR (LCR, DLL/DLM, FCR, IER, MCR).
    usize other_writes() const
    {
        usize n = 0;
        for (const Access& a : log)
            if (a.write && a.off != layout.reg_offset) ++n;
        return n;
    }
};

struct Regs16550 {
    Model16550* m;
    u32 read(u64 off, unsigned width) const { return m->read(off, width); }
    void write(u64 off, u32 value, unsigned width) const { m->write(off, value, width); }
};

// A PL011: DR at 0, FR at 0x18 (TXFF bit 5), 32-bit accesses only (the SBSA
// UART allows nothing else).
struct ModelPl011 {
    unsigned fifo = 0, fifo_size = 32, fr_reads = 0;
    bool stuck = false;  // the FIFO never drains: TXFF stays set
    std::string sent;
    bool bad_access = false;
    usize writes_elsewhere = 0;
    u32 read(u64 off, unsigned width)
    {
        if (width != 4 || off != 0x18) {
            bad_access = true;
            return 0;
        }
        ++fr_reads;
        if (stuck) return 1u << 5;
        if (fifo > 0 && fr_reads % 2 == 0) --fifo;
        return fifo >= fifo_size ? 1u << 5 : 0;
    }
    void write(u64 off, u32 value, unsigned width)
    {
        if (width != 4) bad_access = true;
        if (off != 0) {
            ++writes_elsewhere;
            return;
        }
        if (fifo >= fifo_size) bad_access = true;
        ++fifo;
        sent.push_back(char(value));
    }
};

struct RegsPl011 {
    ModelPl011* m;
    u32 read(u64 off, unsigned width) const { return m->read(off, width); }
    void write(u64 off, u32 value, unsigned width) const { m->write(off, value, width); }
};

const std::string kText = "passage 1.0: arm64 hypervisor\nplatform: LS1028A RDB Board\n";
const std::string kWire = "passage 1.0: arm64 hypervisor\r\nplatform: LS1028A RDB Board\r\n";

}  // namespace

// The layouts the corpus has: ns16550a/fsl,ns16550 (bytes, shift 0),
// DesignWare (32-bit registers 4 apart), 16-bit ones, and a reg-offset.
TEST_CASE("uart: a 16550 sends every byte at the layout the tree gives")
{
    struct Case {
        const char* name;
        Ns16550Layout layout;
    };
    auto c = GENERATE(Case{"ns16550a", {0, 1, 0}}, Case{"snps,dw-apb-uart", {2, 4, 0}}, Case{"reg-io-width 2", {1, 2, 0}},
                      Case{"bytes 4 apart", {2, 1, 0}}, Case{"reg-offset 0x40", {2, 4, 0x40}});
    Model16550 m;
    m.layout = c.layout;
    Ns16550Port<Regs16550> uart(Regs16550{&m}, c.layout);
    uart.write(kText.data(), kText.size());
    INFO(c.name);
    CHECK(m.sent == kWire);
    CHECK_FALSE(m.bad_access);
}

// Keep the firmware's divisor: only THR is ever written. A DesignWare UART
// busy with a byte drops LCR writes, so a driver that sets the baud rate
// could leave DLAB set and turn the log into divisor values.
TEST_CASE("uart: a 16550 driver writes nothing but THR")
{
    Model16550 m;
    m.layout = {2, 4, 0};
    Ns16550Port<Regs16550> uart(Regs16550{&m}, m.layout);
    uart.write(kText.data(), kText.size());
    CHECK(m.other_writes() == 0);
    CHECK(m.sent == kWire);
}

// A full FIFO is waited out, never overrun: the model flags a byte written
// while THRE is clear.
TEST_CASE("uart: a 16550 with a one-byte holding register is never overrun")
{
    Model16550 m;
    m.layout = {0, 1, 0};
    m.fifo_size = 1;
    m.drain_every = 7;
    Ns16550Port<Regs16550> uart(Regs16550{&m}, m.layout);
    uart.write(kText.data(), kText.size());
    CHECK(m.sent == kWire);
    CHECK_FALSE(m.bad_access);
}

// A wedged UART (THRE never set: a guest disabled the console it shares
// with passage) costs one bounded wait, not one per byte; bytes are dropped
// until it has room again, and then output resumes.
TEST_CASE("uart: a wedged 16550 costs one bounded wait and output resumes")
{
    Model16550 m;
    m.layout = {0, 1, 0};
    m.wedged = true;
    Ns16550Port<Regs16550> uart(Regs16550{&m}, m.layout);
    const std::string line(200, 'x');
    uart.write(line.data(), line.size());
    CHECK(m.sent.empty());
    CHECK(uart.wedged());
    CHECK(m.lsr_reads == kUartSpinLimit + line.size() - 1);
    m.wedged = false;
    uart.write("ok", 2);
    CHECK(m.sent == "ok");
    CHECK_FALSE(uart.wedged());
}

TEST_CASE("uart: a wedged PL011 costs one bounded wait and output resumes")
{
    ModelPl011 m;
    m.stuck = true;
    Pl011Port<RegsPl011> uart(RegsPl011{&m});
    const std::string line(200, 'x');
    uart.write(line.data(), line.size());
    CHECK(m.sent.empty());
    CHECK(m.fr_reads == kUartSpinLimit + line.size() - 1);
    m.stuck = false;
    uart.write("ok", 2);
    CHECK(m.sent == "ok");
    CHECK_FALSE(m.bad_access);
}

TEST_CASE("uart: a PL011 or SBSA UART sends every byte with 32-bit accesses only")
{
    ModelPl011 m;
    Pl011Port<RegsPl011> uart(RegsPl011{&m});
    uart.write(kText.data(), kText.size());
    CHECK(m.sent == kWire);
    CHECK_FALSE(m.bad_access);
    CHECK(m.writes_elsewhere == 0);
}

// A port never initialised (a silent boot) writes nothing at all.
TEST_CASE("uart: a driver without a device stays silent")
{
    Ns16550Port<Regs16550> ns;
    Pl011Port<RegsPl011> pl;
    CHECK_FALSE(ns.ready());
    CHECK_FALSE(pl.ready());
    ns.write("x", 1);  // would dereference a null model if it tried
    pl.write("x", 1);
}
