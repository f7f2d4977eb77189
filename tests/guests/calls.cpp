// The calls check: passage answers PSCI_VERSION and unknown function IDs
// in assembly before saving registers (hyp/arch/aarch64/vectors.S), and
// calls that need C++ with only the caller-saved registers saved. Through
// both conduits, this checks what the host tests can only model: the
// function ID is read from w0 (the upper half and the SVE hint bit ignored,
// SMCCC 1.3), the answer is the one the C++ path gives, and no register but
// x0 (a constant answer) or x0-x3 (a call C++ answers) changes.
#include "checks.h"
#include "console.h"
#include "psci.h"

extern "C" void raw_hvc(const guest::u64* in, guest::u64* out);
extern "C" void raw_smc(const guest::u64* in, guest::u64* out);

namespace guest {

namespace {

constexpr unsigned kRegs = 29;  // x0-x28

struct Call {
    const char* what;
    u64 x0, x1;
    u64 expect;           // w0 after the call
    unsigned first_kept;  // x<first_kept>..x28 must come back unchanged
};

// One call through `conduit`; false (and a FAIL line) when the answer or a
// register that must be kept is not as expected.
bool run(const char* name, bool smc, const Call& c)
{
    u64 in[kRegs], out[kRegs];
    for (unsigned i = 0; i < kRegs; ++i) in[i] = 0x5a5a000000000000ull | (u64(i) << 32) | (0xc0de0000u + i);
    in[0] = c.x0;
    in[1] = c.x1;
    (smc ? raw_smc : raw_hvc)(in, out);
    const char* via = smc ? "SMC" : "HVC";
    if ((out[0] & 0xffffffff) != (c.expect & 0xffffffff)) {
        fail(name, "%s %s (x0 0x%lx): w0 0x%lx, expected 0x%lx", via, c.what, c.x0, out[0] & 0xffffffff,
             c.expect & 0xffffffff);
        return false;
    }
    for (unsigned i = c.first_kept; i < kRegs; ++i) {
        if (out[i] != in[i]) {
            fail(name, "%s %s: x%u came back 0x%lx, was 0x%lx", via, c.what, i, out[i], in[i]);
            return false;
        }
    }
    return true;
}

}  // namespace

void check_calls(Context& ctx)
{
    const char* name = "calls";
    if (ctx.standalone) return skip(name, "no hypervisor to call");
    const u64 version = psci::version();
    constexpr u64 kNotSupported = 0xffffffff;
    const Call calls[] = {
        {"PSCI_VERSION", psci::kVersion, 0, version, 1},
        {"PSCI_VERSION with the SVE hint", psci::kVersion | (1u << 16), 0, version, 1},
        {"PSCI_VERSION with x0[63:32] set", 0xdead000000000000ull | psci::kVersion, 0, version, 1},
        {"an unknown function", 0x86000000, 0, kNotSupported, 1},
        {"an unknown PSCI function", 0x8400001f, 0, kNotSupported, 1},
        // Answered in C++: the caller-saved registers it may use are restored.
        {"PSCI_FEATURES(PSCI_VERSION)", psci::kFeatures, psci::kVersion, 0, 1},
        {"PSCI_FEATURES(unknown)", psci::kFeatures, 0x86000000, kNotSupported, 1},
    };
    for (int smc = 0; smc < 2; ++smc)
        for (const Call& c : calls)
            if (!run(name, smc != 0, c)) return;
    info("%u calls through HVC and SMC: answers as expected, x1-x28 unchanged", unsigned(2 * (sizeof calls / sizeof calls[0])));
    pass(name);
}

}  // namespace guest
