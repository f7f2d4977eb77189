// A 32-bit process for the Linux guest's initramfs (armhf, Thumb), built by
// fetch.sh with Debian's arm-linux-gnueabihf-gcc; no libc, raw EABI system
// calls. It maps one page of physical address space through /dev/mem and
// reads a word of it:
//
//   a32-bad-access 0xPHYS
//
// init.sh gives it a page of the PCI memory window that no BAR uses. Under
// passage that page is not mapped at stage 2, so the read is a stage-2 data
// abort from AArch32 EL0: passage must hand it back to the guest as a
// synchronous external abort, and the kernel kills this process with SIGBUS
// (it must not take the machine down). Exit status: 0 when the read
// returned (bare QEMU reads all-ones there), 2 bad usage, 3 open failed,
// 4 mmap failed; killed by a signal otherwise.

typedef unsigned long ulong;

enum {  // arch/arm/tools/syscall.tbl (EABI)
    kSysExit = 1,
    kSysWrite = 4,
    kSysOpen = 5,
    kSysMmap2 = 192,
};

static long syscall6(long nr, long a, long b, long c, long d, long e, long f)
{
    register long r0 __asm__("r0") = a;
    register long r1 __asm__("r1") = b;
    register long r2 __asm__("r2") = c;
    register long r3 __asm__("r3") = d;
    register long r4 __asm__("r4") = e;
    register long r5 __asm__("r5") = f;
    register long r7 __asm__("r7") = nr;
    __asm__ volatile("svc #0" : "+r"(r0) : "r"(r1), "r"(r2), "r"(r3), "r"(r4), "r"(r5), "r"(r7) : "memory");
    return r0;
}

static void say(const char* s)
{
    long n = 0;
    while (s[n] != '\0') ++n;
    syscall6(kSysWrite, 1, (long)s, n, 0, 0, 0);
}

static void say_hex(ulong v)
{
    char buf[11] = "0x";
    for (int i = 0; i < 8; ++i) buf[2 + i] = "0123456789abcdef"[(v >> (28 - 4 * i)) & 0xf];
    buf[10] = '\0';
    say(buf);
}

static __attribute__((noreturn)) void leave(long status)
{
    syscall6(kSysExit, status, 0, 0, 0, 0, 0);
    __builtin_unreachable();
}

// A 64-bit hex number ("0x" optional); page numbers for mmap2 reach 2^44.
static int parse_hex(const char* s, unsigned long long* out)
{
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s += 2;
    unsigned long long v = 0;
    int digits = 0;
    for (; *s != '\0'; ++s, ++digits) {
        char c = *s;
        unsigned d;
        if (c >= '0' && c <= '9') d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') d = (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') d = (unsigned)(c - 'A' + 10);
        else return 0;
        v = v << 4 | d;
    }
    *out = v;
    return digits > 0 && digits <= 16;
}

static __attribute__((used, noreturn)) void start_c(long* sp)
{
    long argc = sp[0];
    char** argv = (char**)(sp + 1);
    unsigned long long phys;
    if (argc != 2 || !parse_hex(argv[1], &phys) || (phys & 0xfff) != 0) {
        say("usage: a32-bad-access 0xPHYS (page aligned)\n");
        leave(2);
    }
    const long kOpenRdonlySync = 0x101000;  // O_RDONLY | O_SYNC: an uncached mapping
    long fd = syscall6(kSysOpen, (long)"/dev/mem", kOpenRdonlySync, 0, 0, 0, 0);
    if (fd < 0) {
        say("a32-bad-access: open /dev/mem failed\n");
        leave(3);
    }
    const long kProtRead = 1, kMapShared = 1;
    long p = syscall6(kSysMmap2, 0, 4096, kProtRead, kMapShared, fd, (long)(phys >> 12));
    if ((ulong)p >= (ulong)-4095) {
        say("a32-bad-access: mmap of /dev/mem failed\n");
        leave(4);
    }
    say("a32-bad-access: reading physical page ");
    say_hex((ulong)(phys >> 12));
    say("000 at ");
    say_hex((ulong)p);
    say("\n");
    ulong v = *(volatile ulong*)p;
    say("a32-bad-access: read ");
    say_hex(v);
    say("\n");
    leave(0);
}

// The kernel starts a process with argc at [sp], then argv.
__asm__(".text\n"
        ".thumb\n"
        ".global _start\n"
        ".thumb_func\n"
        ".type _start, %function\n"
        "_start:\n"
        "    mov r0, sp\n"
        "    bl start_c\n");
