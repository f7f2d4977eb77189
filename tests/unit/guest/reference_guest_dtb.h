// The guest DTB as passage built it before issue 17 (libfdt edits, step by
// step): the reference the one-pass build_guest_dtb is compared with.
#pragma once

#include "passage/guest/guest_dtb.h"

namespace passage {

Result<usize> build_guest_dtb_reference(const void* host_fdt, void* out, usize out_size, const GuestDtbConfig& cfg,
                                        Diagnostic& diag);

}  // namespace passage
