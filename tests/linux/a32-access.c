// A 32-bit process for the Linux guest's initramfs (armhf, Thumb), built by
// fetch.sh with Debian's arm-linux-gnueabihf-gcc; no libc, raw EABI system
// calls. It maps one page of physical address space through /dev/mem and
// reads it:
//
//   a32-access bad 0xPHYS
//     one read. init.sh gives it a page of the PCI memory window that no BAR
//     uses. Under passage that page is not mapped at stage 2, so the read is
//     a stage-2 data abort from AArch32 EL0 that passage must hand back to
//     the guest as a synchronous external abort: the kernel kills this
//     process with SIGBUS, and the machine carries on. Exit 0 when the read
//     returned (bare QEMU reads all-ones there).
//
//   a32-access it-block 0xPHYS
//     init.sh gives it a register in an I/O BAR, through the PCI I/O window
//     (passage traps the window and forwards the access): a 16-bit Thumb load
//     inside an ITE block, whose else-slot must then be skipped, and a
//     32-bit load into R12. Passage has to complete both with the AArch32
//     register mapping, step 2 or 4 bytes, and move the IT state on. Prints
//     both values; exit 0 when the else-slot was skipped and both agree, 5
//     when the else-slot ran, 6 when the values differ.
//
// Exit 2: bad usage, 3: open failed, 4: mmap failed.

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

static int same(const char* a, const char* b)
{
    while (*a != '\0' && *a == *b) ++a, ++b;
    return *a == *b;
}

// cmp sets Z; "ite eq" makes the load the then-slot (it runs) and the mov
// the else-slot (it must not). Low registers ("l"): 16-bit encodings.
static ulong load_in_it_block(volatile ulong* p, ulong* else_ran)
{
    ulong v = 0, ran = 0;
    __asm__ volatile("cmp %[p], %[p]\n\t"
                     "ite eq\n\t"
                     "ldreq %[v], [%[p]]\n\t"
                     "movne %[ran], #1\n\t"
                     : [v] "+l"(v), [ran] "+l"(ran)
                     : [p] "l"(p)
                     : "cc", "memory");
    *else_ran = ran;
    return v;
}

// ldr.w r12, [p]: a 32-bit encoding into a high register (SRT 12).
static ulong load_into_r12(volatile ulong* p)
{
    register ulong r12 __asm__("r12");
    __asm__ volatile("ldr.w %[r], [%[p]]" : [r] "=r"(r12) : [p] "r"(p) : "memory");
    return r12;
}

static __attribute__((used, noreturn)) void start_c(long* sp)
{
    long argc = sp[0];
    char** argv = (char**)(sp + 1);
    unsigned long long phys;
    int bad = argc == 3 && same(argv[1], "bad");
    int it_block = argc == 3 && same(argv[1], "it-block");
    if (!(bad || it_block) || !parse_hex(argv[2], &phys) || (phys & 3) != 0) {
        say("usage: a32-access bad|it-block 0xPHYS (4-byte aligned)\n");
        leave(2);
    }
    const long kOpenRdonlySync = 0x101000;  // O_RDONLY | O_SYNC: an uncached mapping
    long fd = syscall6(kSysOpen, (long)"/dev/mem", kOpenRdonlySync, 0, 0, 0, 0);
    if (fd < 0) {
        say("a32-access: open /dev/mem failed\n");
        leave(3);
    }
    const long kProtRead = 1, kMapShared = 1;
    long p = syscall6(kSysMmap2, 0, 4096, kProtRead, kMapShared, fd, (long)(phys >> 12));
    if ((ulong)p >= (ulong)-4095) {
        say("a32-access: mmap of /dev/mem failed, errno ");
        say_hex((ulong)-p);
        say("\n");
        leave(4);
    }
    say("a32-access: reading physical page ");
    say_hex((ulong)(phys >> 12));
    say("000 + ");
    say_hex((ulong)(phys & 0xfff));
    say(" at ");
    say_hex((ulong)p);
    say("\n");
    volatile ulong* word = (volatile ulong*)(p + (long)(phys & 0xfff));
    if (bad) {
        ulong v = *word;
        say("a32-access: read ");
        say_hex(v);
        say("\n");
        leave(0);
    }
    ulong else_ran = 0;
    ulong v = load_in_it_block(word, &else_ran);
    ulong r12 = load_into_r12(word);
    say("a32-access: it-block read ");
    say_hex(v);
    say(", r12 read ");
    say_hex(r12);
    say(else_ran ? ", the else-slot RAN\n" : ", the else-slot was skipped\n");
    leave(else_ran ? 5 : v != r12 ? 6 : 0);
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
