// The guest's console: the PL011 /chosen/stdout-path names, and the report
// lines every check prints.
#pragma once

#include <stdarg.h>

#include "arch.h"

namespace guest {

void console_init(u64 pl011_base);
bool console_ready();

// printf-like: %s %c %d %u %x with l/ll, width and 0 flag, %p.
void vformat(char* buf, size_t size, const char* fmt, va_list args);
void format_into(char* buf, size_t size, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
void print(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// The report lines. info() is indented ("guest:   ...") and not a result.
void info(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void pass(const char* check);
void fail(const char* check, const char* why, ...) __attribute__((format(printf, 2, 3)));
void skip(const char* check, const char* why, ...) __attribute__((format(printf, 2, 3)));

unsigned passed_count();
unsigned failed_count();

// "2 MiB", "64 KiB", "1 GiB": sizes as the logs show them.
const char* size_text(u64 bytes, char (&buf)[24]);

}  // namespace guest
