// The guest tree's walk: the host's structure block token by token, each
// node decided when its properties end, its edits made on what was just
// written (guest_dtb.cpp describes the whole build).
#include "guest_dtb_build.h"

#include <stdarg.h>

namespace passage::guest_dtb {

void Builder::later(u64 r, Error code, u64 addr, const char* fmt, ...)
{
    if (first_set_ && first_rank_ <= r) return;
    va_list args;
    va_start(args, fmt);
    vformat(first_diag_.text, sizeof first_diag_.text, fmt, args);
    va_end(args);
    first_set_ = true;
    first_rank_ = r;
    first_ = Failure{code, addr};
}

// fdt::node_path of the current node: its path, or ".../name" when that
// does not fit.
void Builder::path(char* buf, usize size) const
{
    usize total = depth_ == 1 ? 1 : 0;
    for (int i = 1; i < depth_; ++i) total += 1 + frames_[i].name_len;
    if (total + 1 > size) {
        copy_string(buf, size, ".../");
        usize at = 4;
        const Frame& f = frames_[depth_ - 1];
        for (u32 i = 0; i < f.name_len && at + 1 < size; ++i) buf[at++] = f.name[i];
        buf[at] = '\0';
        return;
    }
    usize at = 0;
    if (depth_ == 1) buf[at++] = '/';
    for (int i = 1; i < depth_; ++i) {
        buf[at++] = '/';
        __builtin_memcpy(buf + at, frames_[i].name, frames_[i].name_len);
        at += frames_[i].name_len;
    }
    buf[at] = '\0';
}

Status Builder::walk()
{
    fdt::TokenReader reader(host_);
    Token t;
    bool root_done = false;
    while (reader.next(t)) {
        switch (t.kind) {
        case TokenKind::BeginNode: {
            if (root_done) return malformed("a second root node", t.offset);
            if (depth_ > 0 && !top().props_done)
                if (Status s = end_of_props(); !s) return s;
            if (depth_ == kMaxDepth)
                return fail(diag_, Error::Unsupported, t.offset,
                            "guest DTB: the host device tree nests deeper than %d nodes (structure offset 0x%x)", kMaxDepth,
                            t.offset);
            const Frame* up = depth_ > 0 ? &top() : nullptr;
            Frame& f = frames_[depth_++];
            f = Frame{};
            f.name = t.name;
            f.name_len = t.name_len;
            f.host_offset = t.offset;
            flush();
            f.out_start = w_.size();
            f.emit = up == nullptr || up->emit;
            f.checked = up == nullptr || up->checked;
            f.chosen_candidate = depth_ == 2 && !chosen_found_ && named(f, "chosen");
            props_.seen = 0;
            if (f.emit) copy(t, reader.offset());
            break;
        }
        case TokenKind::Prop: {
            if (depth_ == 0) return malformed("a property outside the root node", t.offset);
            const Frame& f = top();
            // Properties after a child are copied as they are: libfdt never
            // finds them (nor does Linux), so nothing looks at them.
            Name n = kOther;
            if (__builtin_expect(bounded_names_, 0)) {
                bool outside = false;
                n = bounded_name(t, outside);
                names_outside_ |= outside && f.emit;
            } else if (!f.props_done) {
                n = name_cache_.of(t);
            }
            if (!f.props_done) {
                // The SMMU is hidden: every reference to it goes.
                if (n == kIommuMap || n == kIommuMapMask || n == kIommus) break;
                if (n != kOther && !props_.has(n)) {
                    props_.seen |= 1u << n;
                    props_.value[n] = t.value;
                    props_.len[n] = t.len;
                    props_.out[n] = w_.size() + pending();
                } else if (n >= kBootargs && n <= kProbeOnly && f.chosen_candidate) {
                    // A second /chosen property of a name the build sets or
                    // removes would outlive the edit of the first and come
                    // to light where that one was removed.
                    break;
                }
            }
            if (f.emit) copy(t, reader.offset());
            break;
        }
        case TokenKind::EndNode:
            if (depth_ == 0) return malformed("a node ends outside the root", t.offset);
            if (!top().props_done)
                if (Status s = end_of_props(); !s) return s;
            end_of_node();
            if (depth_ == 0) root_done = true;
            break;
        case TokenKind::End:
            if (!root_done || depth_ != 0) return malformed("the structure block ends inside a node", t.offset);
            flush();
            w_.set_context(kCopying);
            w_.end();
            return {};
        }
    }
    return malformed(reader.problem() ? reader.problem() : "no end tag", reader.problem_offset());
}

// A version 16 tree's names as the old build read them: fdt_open_into made
// its copy version 17, whose names libfdt reads inside size_dt_strings only
// (one that starts or ends past it is no name at all).
Name Builder::bounded_name(const Token& t, bool& outside)
{
    const u32 room = t.nameoff < strings_size_ ? strings_size_ - t.nameoff : 0;
    u32 len = 0;
    while (len < room && t.name[len] != '\0') ++len;
    if (len < room) return name_cache_.of(t);
    outside = true;
    return kOther;
}

// Takes the node back: what waits in the run is its own (its parent's went
// out when its properties ended), the rest was written from out_start on.
void Builder::drop(Frame& f)
{
    run_ = false;
    if (f.emit) w_.truncate(f.out_start);
    f.emit = false;
}

// Every decision about the current node, its properties all read.
Status Builder::end_of_props()
{
    Frame& f = top();
    Frame* up = parent();
    f.props_done = true;
    f.ac = cells(kAddressCells, 2);
    f.sc = cells(kSizeCells, 1);
    if (!f.checked) return {};  // below a memory or module node: gone before anything looked
    compat_ = props_.has(kCompatible) ? compat_bits(props_.value[kCompatible], props_.len[kCompatible]) : 0;

    // Steps 2 and 4: memory nodes and /chosen's module nodes go first.
    if (up != nullptr && type_is("memory", 7)) {
        f.checked = false;
        drop(f);
        return {};
    }
    if (up != nullptr && up->is_chosen && (compat_ & kMultibootPrefix)) {
        f.checked = false;
        drop(f);
        return {};
    }
    if (depth_ == 2) {
        if (!chosen_found_ && named(f, "chosen")) f.is_chosen = chosen_found_ = true;
        if (!cfg_.cpus.empty() && !cpus_found_ && named(f, "cpus")) {
            f.is_cpus = cpus_found_ = true;
            cpus_ac_ = f.ac;
            if (f.ac < 1 || f.ac > kMaxValueCells)
                later(rank(6, 0, 0), Error::BadDeviceTree, 0, "guest DTB: /cpus: #address-cells must be 1 or 2");
        }
        if (mem_name_len_ != 0 && f.name_len == mem_name_len_ && __builtin_memcmp(f.name, mem_name_, mem_name_len_) == 0)
            return fail(diag_, Error::Exists, mem_base_, "guest DTB: a node /%s already exists and is not a memory node", mem_name_);
    }

    const int keep = gic_keep(f, up);  // step 5

    // Step 6: CPUs the guest does not get, and cpu-map if one went.
    bool goes = false;
    if (up != nullptr && up->is_cpus && cpus_ac_ >= 1 && cpus_ac_ <= kMaxValueCells && type_is("cpu", 4)) {
        const u32 want = u32(cpus_ac_) * 4;
        if (!props_.has(kReg) || props_.len[kReg] != want) {
            goes = true;
        } else {
            const u64 mpidr = fdt::read_cells(props_.value[kReg], cpus_ac_);
            goes = true;
            for (u64 c : cfg_.cpus)
                if ((c & 0xff00ffffffull) == (mpidr & 0xff00ffffffull)) goes = false;
            cpus_removed_ |= goes;
        }
    }
    if (!goes && up != nullptr && up->is_cpus && !cpu_map_found_ && named(f, "cpu-map")) f.is_cpu_map = cpu_map_found_ = true;
    // Steps 8 and 9: the SMMU and passage's own nodes.
    if (up != nullptr && (compat_ & (kSmmuV3 | kPassagePrefix))) goes = true;
    if (goes) drop(f);
    if (!f.emit) return {};
    flush();

    // The edits, on the properties just written, in the old build's order.
    if (f.is_chosen) edit_chosen();
    if (cfg_.pci_probe_only && (compat_ & kEcam)) {
        static constexpr u8 kOne[4] = {0, 0, 0, 1};
        set_prop(kProbeOnly, kOne, 4, "linux,pci-probe-only on a host bridge");
    }
    if (keep >= 0) {
        const u32 entry = u32(up->ac + up->sc) * 4;
        set_prop(kReg, props_.value[kReg], u32(keep) * entry, "trimming a GIC's reg");
    }
    if (up == nullptr) return add_memory_node(f);
    return {};
}

// Checks the GIC's reg as the old build's trim did: the parent's cells,
// whole entries, at least `keep` of them (after a GICv2 trim when the node
// is both). Records the failure; false if there is one.
bool Builder::reg_has(const Frame* up, int keep, int trimmed, const char* what, u64 r, int& count)
{
    char where[96];
    if (up == nullptr || up->ac < 1 || up->ac > kMaxValueCells || up->sc < 0 || up->sc > kMaxValueCells) {
        path(where, sizeof where);
        later(r, Error::BadDeviceTree, 0, "guest DTB: %s %s: the parent's #address-cells/#size-cells are malformed", what, where);
        return false;
    }
    const int entry = (up->ac + up->sc) * 4;
    const bool has = props_.has(kReg);
    const int len = trimmed >= 0 ? trimmed * entry : has ? static_cast<int>(props_.len[kReg]) : -FDT_ERR_NOTFOUND;
    if (!has || len % entry != 0) {
        path(where, sizeof where);
        later(r, Error::BadDeviceTree, static_cast<u64>(len), "guest DTB: %s %s: reg is %d bytes, not whole entries of %d bytes", what,
              where, has ? len : 0, entry);
        return false;
    }
    count = len / entry;
    if (count < keep) {
        path(where, sizeof where);
        later(r, Error::BadDeviceTree, static_cast<u64>(count), "guest DTB: %s %s has %d reg entries, expected at least %d", what, where,
              count, keep);
        return false;
    }
    return true;
}

// Step 5: how many reg entries of a GIC the guest keeps, or -1 to leave reg
// as it is. GICv2 with the virtualization extensions: distributor, CPU
// interface, then GICH and GICV, which are passage's. GICv3: distributor,
// #redistributor-regions redistributor regions, then GICC, GICH, GICV.
int Builder::gic_keep(const Frame& f, const Frame* up)
{
    int v2 = -1;
    for (int i = 0; i < 3 && v2 < 0; ++i)
        if (compat_ & (kGic400 << i)) v2 = i;
    const bool v3 = compat_ & kGicV3;
    if (v2 < 0 && !v3) return -1;
    int count = 0;
    int keep = -1;
    if (v2 >= 0) {
        if (!reg_has(up, 2, -1, "GICv2", rank(5, u64(v2), f.host_offset), count)) return -1;
        if (count > 2) keep = count = 2;
    }
    if (!v3) return keep;
    u64 regions = 1;
    if (props_.has(kRedistRegions)) {
        regions = props_.len[kRedistRegions] == 4 ? fdt::read_be32(props_.value[kRedistRegions]) : 0;
        if (regions < 1 || regions > 31) {
            char where[96];
            path(where, sizeof where);
            later(rank(5, 3, f.host_offset), Error::BadDeviceTree, regions,
                  "guest DTB: GICv3 %s: #redistributor-regions must be one cell of 1 to 31", where);
            return -1;
        }
    }
    const int want = static_cast<int>(1 + regions);
    if (!reg_has(up, want, keep, "GICv3", rank(5, 3, f.host_offset), count)) return -1;
    return count > want ? want : keep;
}

// The recorded properties from `from` on moved by delta bytes.
void Builder::shift(u32 from, i64 delta)
{
    static constexpr Name kEdited[] = {kReg, kBootargs, kInitrdStart, kInitrdEnd, kProbeOnly};
    for (Name n : kEdited)
        if (props_.has(n) && props_.out[n] >= from) props_.out[n] = static_cast<u32>(props_.out[n] + delta);
}

// fdt_setprop on the current node: the first property of that name
// rewritten where it is, or a new one before the node's others.
void Builder::set_prop(Name n, const void* value, u32 len, const char* what)
{
    w_.set_context(what);
    if (props_.has(n)) {
        const u32 at = props_.out[n];
        const u32 before = w_.size();
        w_.replace_prop(at, value, len);
        shift(at + 1, i64(w_.size()) - i64(before));
        return;
    }
    // libfdt puts a new property first, right after the node's name.
    const Frame& f = top();
    const u32 at = f.out_start + StructWriter::begin_node_bytes(f.name_len);
    const u32 bytes = StructWriter::prop_bytes(len);
    if (!w_.open(at, bytes)) return;
    w_.put_prop(at, names_.off[n], value, len);
    shift(at, bytes);
    props_.seen |= 1u << n;
    props_.out[n] = at;
    props_.len[n] = len;
}

void Builder::delete_prop(Name n)
{
    if (!props_.has(n)) return;
    const u32 at = props_.out[n];
    const u32 bytes = StructWriter::prop_bytes(props_.len[n]);
    w_.cut(at, bytes);
    props_.seen &= ~(1u << n);
    shift(at + 1, -i64(bytes));
}

// Step 4 on an existing /chosen.
void Builder::edit_chosen()
{
    if (cfg_.bootargs != nullptr) set_prop(kBootargs, cfg_.bootargs, string_length(cfg_.bootargs) + 1, "bootargs");
    else delete_prop(kBootargs);
    if (cfg_.has_initrd) {
        u8 v[8];
        put_be(v, 8, cfg_.initrd_start);
        set_prop(kInitrdStart, v, 8, "linux,initrd-start");
        put_be(v, 8, cfg_.initrd_end);
        set_prop(kInitrdEnd, v, 8, "linux,initrd-end");
    } else {
        delete_prop(kInitrdStart);
        delete_prop(kInitrdEnd);
    }
    if (cfg_.pci_probe_only) {
        static constexpr u8 kOne[4] = {0, 0, 0, 1};
        set_prop(kProbeOnly, kOne, 4, "linux,pci-probe-only in /chosen");
    }
}

// A tree without /chosen gets one as the root's first child, before the
// memory node (both went in right after the root's properties).
void Builder::insert_chosen()
{
    static constexpr u8 kOne[4] = {0, 0, 0, 1};
    const u32 args = cfg_.bootargs != nullptr ? string_length(cfg_.bootargs) + 1 : 0;
    u32 bytes = StructWriter::begin_node_bytes(6) + 4;
    if (cfg_.bootargs != nullptr) bytes += StructWriter::prop_bytes(args);
    if (cfg_.has_initrd) bytes += 2 * StructWriter::prop_bytes(8);
    if (cfg_.pci_probe_only) bytes += StructWriter::prop_bytes(4);
    w_.set_context("/chosen");
    if (!w_.open(mem_start_, bytes)) return;
    u32 at = mem_start_;
    at += w_.put_begin_node(at, "chosen", 6);
    // Each property went in first: they read in the reverse of the edits.
    if (cfg_.pci_probe_only) at += w_.put_prop(at, names_.off[kProbeOnly], kOne, 4);
    if (cfg_.has_initrd) {
        u8 v[8];
        put_be(v, 8, cfg_.initrd_end);
        at += w_.put_prop(at, names_.off[kInitrdEnd], v, 8);
        put_be(v, 8, cfg_.initrd_start);
        at += w_.put_prop(at, names_.off[kInitrdStart], v, 8);
    }
    if (cfg_.bootargs != nullptr) at += w_.put_prop(at, names_.off[kBootargs], cfg_.bootargs, args);
    w_.put_end_node(at);
}

void Builder::end_of_node()
{
    flush();
    Frame& f = top();
    if (f.is_cpus && f.emit && cpus_removed_ && cpu_map_start_ != kNone) w_.cut(cpu_map_start_, cpu_map_end_ - cpu_map_start_);
    if (depth_ == 1 && !chosen_found_) insert_chosen();
    if (f.emit) {
        w_.set_context(kCopying);
        w_.end_node();
    }
    if (f.is_cpu_map && f.emit) {
        cpu_map_start_ = f.out_start;
        cpu_map_end_ = w_.size();
    }
    --depth_;
}

// Step 3: one memory node listing guest RAM, sorted by base and named after
// the lowest, in the root's cells.
Status Builder::add_memory_node(const Frame& root)
{
    if (root.ac < 1 || root.ac > kMaxValueCells || root.sc < 1 || root.sc > kMaxValueCells)
        return fail(diag_, Error::BadDeviceTree, 0, "guest DTB: the root's #address-cells or #size-cells is not 1 or 2");
    const int ac = root.ac, sc = root.sc;
    MemRange sorted[kMaxLayoutRanges];
    usize n = 0;
    for (const MemRange& r : cfg_.ram) {
        if (!guest::well_formed(r))
            return fail(diag_, Error::InvalidArgument, r.base, "guest DTB: guest RAM range 0x%llx size 0x%llx is empty or wraps",
                        ull(r.base), ull(r.size));
        usize i = n++;
        while (i > 0 && sorted[i - 1].base > r.base) {
            sorted[i] = sorted[i - 1];
            --i;
        }
        sorted[i] = r;
    }
    u8 reg[kMaxLayoutRanges * 16];
    const int entry = (ac + sc) * 4;
    for (usize i = 0; i < n; ++i) {
        u8* p = reg + i * entry;
        if (!fdt::write_cells(p, ac, sorted[i].base) || !fdt::write_cells(p + ac * 4, sc, sorted[i].size))
            return fail(diag_, Error::Unsupported, sorted[i].base,
                        "guest DTB: guest RAM 0x%llx size 0x%llx does not fit the root's #address-cells %d / #size-cells %d",
                        ull(sorted[i].base), ull(sorted[i].size), ac, sc);
    }
    mem_base_ = sorted[0].base;
    mem_name_len_ = static_cast<u32>(format(mem_name_, sizeof mem_name_, "memory@%llx", ull(sorted[0].base)));
    mem_start_ = w_.size();
    w_.set_context("adding the memory node");
    w_.begin_node(mem_name_, mem_name_len_);
    // reg was set last, so it comes first.
    w_.set_context("memory node reg");
    w_.prop(names_.off[kReg], reg, static_cast<u32>(n * entry));
    w_.set_context("memory node");
    w_.prop(names_.off[kDeviceType], "memory", 7);
    w_.end_node();
    return {};
}

}  // namespace passage::guest_dtb
