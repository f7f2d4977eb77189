// Linux's real reassignment, replayed: the config writes Debian's kernel made
// under passage on QEMU (captured with passage.loglevel=debug and turned into
// fixtures/*.txt by fixtures/make-replay-fixture.py), applied one by one to
// the same topology on the fake ECAM. After every write stage 2 must equal
// what the fabric routes and the hardware must be where passage put it; at
// the end every BAR Linux placed is shown, none left in a conflict.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "vconfig_rig.h"

using namespace passage;
using namespace passage::pci;
using namespace passage::pci::test;

namespace {

struct FixtureBar {
    std::string index, kind;
    bool pref;
    u64 size;
};
struct FixtureFn {
    Bdf bdf;
    u16 vendor, device;
    u32 class_code;
    bool bridge;
    std::string port;
    std::vector<FixtureBar> bars;
};
struct FixtureWrite {
    Bdf bdf;
    u16 reg;
    unsigned size;
    u32 value;
};
struct Fixture {
    std::vector<FixtureFn> fns;
    std::vector<FixtureWrite> writes;
};

Bdf parse_bdf(const std::string& text)  // "0000:01:00.0" or "01:00.0"
{
    std::string t = text.size() > 7 ? text.substr(text.size() - 7) : text;
    unsigned bus = 0, dev = 0, fn = 0;
    REQUIRE(std::sscanf(t.c_str(), "%x:%x.%u", &bus, &dev, &fn) == 3);
    return Bdf{u8(bus), u8(dev), u8(fn)};
}

Fixture load(const std::string& name)
{
    std::ifstream in(std::string(PASSAGE_SOURCE_DIR) + "/tests/unit/pci/fixtures/" + name);
    REQUIRE(in.good());
    Fixture f;
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream ls(line);
        std::string word;
        ls >> word;
        if (word == "fn") {
            FixtureFn fn;
            std::string bdf, ids, cls, kind;
            ls >> bdf >> ids >> cls >> kind >> fn.port;
            fn.bdf = parse_bdf(bdf);
            fn.vendor = u16(std::stoul(ids.substr(0, 4), nullptr, 16));
            fn.device = u16(std::stoul(ids.substr(5, 4), nullptr, 16));
            fn.class_code = u32(std::stoul(cls, nullptr, 16)) << 8;
            fn.bridge = kind == "bridge";
            f.fns.push_back(fn);
        } else if (word == "bar") {
            FixtureBar b;
            std::string pref;
            ls >> b.index >> b.kind >> pref >> b.size;
            b.pref = pref == "pref";
            REQUIRE_FALSE(f.fns.empty());
            f.fns.back().bars.push_back(b);
        } else if (word == "write") {
            std::string bdf, reg, value;
            FixtureWrite w;
            ls >> bdf >> reg >> w.size >> value;
            w.bdf = parse_bdf(bdf);
            w.reg = u16(std::stoul(reg, nullptr, 16));
            w.value = u32(std::stoull(value, nullptr, 16));
            f.writes.push_back(w);
        }
    }
    return f;
}

PortType port_type(const std::string& p)
{
    if (p == "root") return PortType::RootPort;
    if (p == "upstream") return PortType::SwitchUpstream;
    if (p == "downstream") return PortType::SwitchDownstream;
    if (p == "pcie-pci") return PortType::PcieToPciBridge;
    if (p == "integrated") return PortType::RcIntegratedEndpoint;
    if (p == "legacy") return PortType::LegacyEndpoint;
    return PortType::Endpoint;
}

}  // namespace

TEST_CASE("vconfig: Linux's own reassignment on a switch layout replayed ends with every BAR shown")
{
    Fixture fx = load("linux-switch.txt");
    REQUIRE(fx.fns.size() == 14);
    REQUIRE(fx.writes.size() > 500);
    Rig r([&](FakeEcam& ecam) {
        u8 next_bus = 1;
        // Depth-first numbering: a bridge's secondary bus is the next free
        // number when enumeration reaches it, and its subtree follows.
        std::function<void(u8, FakeFunction*)> place = [&](u8 bus, FakeFunction* parent) {
            for (const FixtureFn& fn : fx.fns) {
                if (fn.bdf.bus != bus) continue;
                FakeFunction& f = parent == nullptr ? ecam.add(fn.bdf.dev, fn.bdf.fn) : parent->child(fn.bdf.dev, fn.bdf.fn);
                if (fn.bdf.fn == 0) {
                    for (const FixtureFn& g : fx.fns)
                        if (g.bdf.bus == bus && g.bdf.dev == fn.bdf.dev && g.bdf.fn != 0) f.multifunction();
                }
                if (fn.bridge) f.pcie_bridge(port_type(fn.port));
                else if (fn.port != "none") f.pcie(port_type(fn.port));
                f.ids(fn.vendor, fn.device);
                if (!fn.bridge) f.class_code(fn.class_code);
                for (const FixtureBar& b : fn.bars) {
                    if (b.index == "rom") f.rom(b.size);
                    else if (b.kind == "io") f.bar_io(unsigned(std::stoul(b.index)), b.size);
                    else if (b.kind == "mem32") f.bar32(unsigned(std::stoul(b.index)), b.size, b.pref);
                    else f.bar64(unsigned(std::stoul(b.index)), b.size, b.pref);
                }
                if (fn.bridge) place(next_bus++, &f);
            }
        };
        place(0, nullptr);
    });
    // The same enumeration as on QEMU: same functions at the same places.
    REQUIRE(r.table.size() == fx.fns.size());
    for (usize i = 0; i < fx.fns.size(); ++i) CHECK(r.table.find(0, fx.fns[i].bdf) != nullptr);
    usize n = 0;
    for (const FixtureWrite& w : fx.writes) {
        INFO("write " << n << ": " << unsigned(w.bdf.bus) << ":" << unsigned(w.bdf.dev) << "." << unsigned(w.bdf.fn)
                      << " +0x" << std::hex << w.reg << "/" << std::dec << w.size << " = 0x" << std::hex << w.value);
        r.v->write(0, w.bdf, w.reg, w.size, w.value);
        r.check_physical_unchanged();
        r.check_router();
        ++n;
    }
    CHECK(r.v->conflicts_now() == 0);
    // Every BAR of a function Linux left decoding memory is shown.
    usize shown = 0;
    for (usize i = 0; i < r.table.size(); ++i)
        for (unsigned b = 0; b < PciFunction::kBars; ++b)
            if (r.v->route(i, b) == BarRoute::Direct || r.v->route(i, b) == BarRoute::Trapped) ++shown;
    CHECK(shown >= 10);
    CHECK(r.v->moves > 0);
}
