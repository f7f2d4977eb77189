#include "util.h"

namespace passage::guest {

Failure fail(Diagnostic& diag, Error code, u64 addr, const char* fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    Failure f = vfail(diag, code, addr, fmt, args);
    va_end(args);
    return f;
}

}  // namespace passage::guest
