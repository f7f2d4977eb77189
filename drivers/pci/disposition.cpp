// Each function's disposition: see include/passage/pci/disposition.h.
#include "passage/pci/disposition.h"

#include <cstdarg>

#include "passage/format.h"
#include "passage/log.h"
#include "passage/pci/enumerate.h"
#include "passage/pci/regs.h"

namespace passage::pci {

const DeviceQuirk kBuiltinQuirks[] = {
    // {vendor, device, "why"}: none known on the supported platforms yet.
    {0, 0, nullptr},
};
const usize kBuiltinQuirkCount = 0;

namespace {

bool same(const DeviceRef& r, const PciFunction& f) { return r.segment == f.segment && r.bdf == f.bdf; }

bool listed(const DeviceRef* refs, usize n, const PciFunction& f)
{
    for (usize k = 0; k < n; ++k)
        if (same(refs[k], f)) return true;
    return false;
}

bool parse_hex(const char*& p, unsigned digits_max, unsigned& out)
{
    unsigned v = 0, n = 0;
    for (; n < digits_max; ++n, ++p) {
        char c = *p;
        unsigned d;
        if (c >= '0' && c <= '9') d = unsigned(c - '0');
        else if (c >= 'a' && c <= 'f') d = unsigned(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') d = unsigned(c - 'A' + 10);
        else break;
        v = v * 16 + d;
    }
    out = v;
    return n > 0;
}

}  // namespace

Status parse_bdf_list(const char* text, DeviceRef* refs, usize max, usize& count, Diagnostic& diag)
{
    const char* p = text;
    while (*p != '\0') {
        const char* start = p;
        unsigned a = 0, b = 0, c = 0, fn = 0;
        bool ok = parse_hex(p, 4, a) && *p == ':';
        if (ok) ++p;
        ok = ok && parse_hex(p, 2, b);
        unsigned seg = 0, bus = a, dev = b;
        if (ok && *p == ':') {  // segment:bus:dev.fn
            ++p;
            ok = parse_hex(p, 2, c);
            seg = a, bus = b, dev = c;
        }
        ok = ok && *p == '.';
        if (ok) ++p;
        ok = ok && *p >= '0' && *p <= '7';
        if (ok) fn = unsigned(*p++ - '0');
        ok = ok && (*p == ',' || *p == '\0') && bus <= 0xff && dev <= 31 && seg <= 0xffff;
        if (!ok) {
            format(diag.text, sizeof diag.text, "device list: cannot read \"%s\" (want 0000:00:03.0)", start);
            return Failure{Error::InvalidArgument, 0};
        }
        if (count == max) {
            format(diag.text, sizeof diag.text, "device list: more than %zu devices", max);
            return Failure{Error::NoMemory, max};
        }
        refs[count++] = {u16(seg), {u8(bus), u8(dev), u8(fn)}};
        if (*p == ',') ++p;
    }
    return {};
}

Status check_direct_config(const DispositionOptions& options, Diagnostic& diag)
{
    const char* name = options.deny_count > 0 ? "passage.deny" : options.assign_given ? "passage.assign" : nullptr;
    if (name == nullptr) return {};
    format(diag.text, sizeof diag.text,
           "%s cannot be kept with passage.vpci=off: the guest sees every PCI function in config space; "
           "drop one of the two", name);
    return Failure{Error::InvalidArgument, 0};
}

void Dispositions::hide(usize i, const char* fmt, ...)
{
    Entry& e = entries_[i];
    if (e.disp == Disposition::Hidden) return;  // the first reason stands
    e.disp = Disposition::Hidden;
    va_list ap;
    va_start(ap, fmt);
    vformat(e.reason, sizeof e.reason, fmt, ap);
    va_end(ap);
}

void Dispositions::decide(const DeviceTable& table, const DispositionOptions& options)
{
    count_ = table.size() < kMax ? table.size() : kMax;
    for (usize i = 0; i < count_; ++i) {
        const PciFunction& f = table[i];
        Entry& e = entries_[i];
        e = Entry{};
        const char* why = nullptr;
        char text[56] = {};
        for (const PciBar& bar : f.bars) {
            if ((bar.present() && !bar.assigned()) || bar.status == BarStatus::Invalid) {
                if (bar.is_rom()) format(text, sizeof text, "ROM did not fit (%s)", bar_status_name(bar.status));
                else format(text, sizeof text, "BAR%u did not fit (%s)", unsigned(bar.index), bar_status_name(bar.status));
                why = text;
                break;
            }
        }
        if (why == nullptr && f.header_type != kHeaderEndpoint && f.header_type != kHeaderBridge) {
            format(text, sizeof text, "header type %u not supported", f.header_type);  // CardBus
            why = text;
        }
        if (why == nullptr && listed(options.deny, options.deny_count, f)) why = "passage.deny";
        if (why == nullptr && options.assign_given && !f.is_bridge && !listed(options.assign, options.assign_count, f))
            why = "not in passage.assign";
        if (why != nullptr && options.can_hide) {
            hide(i, "%s", why);
            continue;
        }
        if (why != nullptr) {
            log_warn("PCI %s: would be hidden (%s), but config space is direct: the guest sees it", BdfStr(f).c_str(), why);
        }
        for (usize k = 0; k < options.device_mmio_count; ++k) {
            if (!same(options.device_mmio[k], f)) continue;
            e.disp = Disposition::KeptDevice;
            format(e.reason, sizeof e.reason, "passage.device_mmio%s", options.fwb ? "" : " (a cap without FWB)");
        }
        for (usize q = 0; q < options.quirk_count && e.disp == Disposition::Assigned; ++q) {
            const DeviceQuirk& dq = options.quirks[q];
            if (dq.vendor != f.vendor || dq.device != f.device) continue;
            e.disp = Disposition::KeptDevice;
            format(e.reason, sizeof e.reason, "quirk: %s", dq.reason != nullptr ? dq.reason : "listed");
        }
    }
    if (options.can_hide)
        while (propagate(table, options)) {
        }
    for (usize i = 0; i < count_; ++i) {
        const PciFunction& f = table[i];
        entries_[i].single_function = false;
        if (f.bdf.fn != 0 || !visible(i)) continue;
        bool sibling = false;
        for (usize j = 0; j < count_ && !sibling; ++j) {
            const PciFunction& g = table[j];
            sibling = j != i && g.segment == f.segment && g.bdf.bus == f.bdf.bus && g.bdf.dev == f.bdf.dev && visible(j);
        }
        entries_[i].single_function = !sibling;
    }
}

// One round of the hiding rules; true when it hid something.
namespace {

// Whether function i sits anywhere below bridge b.
bool below(const DeviceTable& table, usize i, usize b)
{
    i32 p = table[i].parent;
    for (unsigned hops = 0; p != kNoParent && usize(p) < table.size() && hops < 256; ++hops) {
        if (usize(p) == b) return true;
        p = table[usize(p)].parent;
    }
    return false;
}

}  // namespace

bool Dispositions::propagate(const DeviceTable& table, const DispositionOptions& options)
{
    usize before = hidden_count();
    // Down: behind a hidden bridge.
    for (usize i = 0; i < count_; ++i) {
        i32 p = table[i].parent;
        if (p == kNoParent || usize(p) >= count_ || visible(usize(p))) continue;
        hide(i, "behind hidden bridge %s", BdfStr(table[usize(p)]).c_str());
    }
    // A device without function 0 is absent (a scan stops there).
    for (usize i = 0; i < count_; ++i) {
        const PciFunction& f = table[i];
        if (f.bdf.fn == 0 || !visible(i)) continue;
        for (usize j = 0; j < count_; ++j) {
            const PciFunction& g = table[j];
            if (g.segment == f.segment && g.bdf == Bdf{f.bdf.bus, f.bdf.dev, 0} && !visible(j))
                hide(i, "function 0 of its device is hidden");
        }
    }
    // One DMA requester ID for many (issue 13): below a bridge that takes
    // over its children's requests (a PCIe-to-PCI bridge: its secondary
    // bus, 00.0; a conventional or PCI-to-PCIe bridge: its own RID) the
    // SMMU sees one StreamID for all of them, so they are hidden together:
    // an aborting STE for the hidden one would stop the others, a
    // translating one would let the hidden one into the guest's memory.
    for (usize b = 0; b < count_; ++b) {
        const PciFunction& br = table[b];
        const bool aliasing = br.port_type == PortType::PcieToPciBridge || br.port_type == PortType::PciToPcieBridge ||
                              br.port_type == PortType::NotPcie;
        if (!br.is_bridge || !aliasing) continue;
        usize hidden_one = count_;
        for (usize i = 0; i < count_ && hidden_one == count_; ++i)
            if (!visible(i) && below(table, i, b)) hidden_one = i;
        if (hidden_one == count_) continue;
        const BdfStr name(table[hidden_one]);
        for (usize i = 0; i < count_; ++i)
            if (visible(i) && below(table, i, b)) hide(i, "shares its DMA requester ID with hidden %s", name.c_str());
        if (br.port_type != PortType::PcieToPciBridge && visible(b)) hide(b, "shares its DMA requester ID with hidden %s", name.c_str());
    }
    // Not isolated from a hidden function by ACS: the same DMA group.
    for (usize i = 0; options.dma_group != nullptr && i < count_ && i < options.dma_group_count; ++i) {
        if (visible(i) || options.dma_group[i] == 0) continue;
        const BdfStr name(table[i]);
        for (usize j = 0; j < count_ && j < options.dma_group_count; ++j)
            if (options.dma_group[j] == options.dma_group[i] && visible(j)) hide(j, "no ACS between it and hidden %s", name.c_str());
    }
    // Up: a bridge leading only to hidden functions; with passage.assign, an
    // empty bridge not named.
    for (usize i = count_; i-- > 0;) {
        const PciFunction& f = table[i];
        if (!f.is_bridge || !visible(i)) continue;
        bool any = false, any_visible = false;
        for (i32 c = f.first_child; c >= 0; c = table[usize(c)].next_sibling) {
            any = true;
            if (visible(usize(c))) any_visible = true;
        }
        if (any && !any_visible) hide(i, "leads only to hidden functions");
        else if (!any && options.assign_given && !listed(options.assign, options.assign_count, f))
            hide(i, "not in passage.assign");
    }
    return hidden_count() != before;
}

usize Dispositions::hidden_count() const
{
    usize n = 0;
    for (usize i = 0; i < count_; ++i) n += entries_[i].disp == Disposition::Hidden;
    return n;
}

usize Dispositions::kept_count() const
{
    usize n = 0;
    for (usize i = 0; i < count_; ++i) n += entries_[i].disp == Disposition::KeptDevice;
    return n;
}

void Dispositions::status_text(usize index, char* buf, usize size) const
{
    switch (of(index)) {
    case Disposition::Assigned: format(buf, size, "assigned"); return;
    case Disposition::KeptDevice: format(buf, size, "kept Device-nGnRE: %s", reason(index)); return;
    case Disposition::Hidden: format(buf, size, "hidden: %s", reason(index)); return;
    }
}

void Dispositions::print(const DeviceTable& table) const
{
    for (usize i = 0; i < table.size(); ++i) {
        const PciFunction& f = table[i];
        char text[80];
        if (i < count_) status_text(i, text, sizeof text);
        else format(text, sizeof text, "hidden: beyond passage's %zu functions", kMax);
        log_info("  PCI %s %04x:%04x  %s", BdfStr(f).c_str(), f.vendor, f.device, text);
    }
}

}  // namespace passage::pci
