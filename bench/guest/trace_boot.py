#!/usr/bin/env python3
"""Where passage's boot instructions go: the bench boot of bench_guest_trap.sh,
from reset to the guest's first instruction, from a TCG trace, charged to
functions.

    bench/guest/trace_boot.py [--depth N] [--callers NAME]   # after cmake --build --preset cross

Runs QEMU under `-singlestep -d exec,nochain` (one trace line per executed
instruction) and prints two tables: instructions per function (self), and
per function including everything it called (a shadow call stack follows
`bl` into a symbol's first instruction and returns to a caller still on the
stack). libfdt is linked into passage.elf, so its functions appear by name
in the first table and inside their callers in the second. --callers NAME
adds a third: the instructions of every function whose name starts with
NAME (memset, say), charged to the function that called it.
"""
import bisect, collections, os, subprocess, sys

from trace_common import build, root, symbols


def main():
    depth = int(sys.argv[sys.argv.index('--depth') + 1]) if '--depth' in sys.argv else 40
    callee = sys.argv[sys.argv.index('--callers') + 1] if '--callers' in sys.argv else None
    by_caller = collections.Counter()
    guest_entry = next(a for a, n in symbols(os.path.join(build, 'test_guest.elf')) if n == '_start')
    bench = subprocess.run([os.path.join(root, 'bench/guest/bench_guest_trap.sh'), '--no-build', '--runs', '1'],
                           cwd=root, capture_output=True, text=True)
    cmd = next(l[2:] for l in bench.stderr.splitlines() if l.startswith('+ ')).split()
    qemu = subprocess.Popen(cmd + ['-singlestep', '-d', 'exec,nochain', '-D', '/dev/stdout'], cwd=root,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True)
    syms = symbols(os.path.join(build, 'passage.elf'))
    addrs = [a for a, _ in syms]
    starts = set(addrs)
    size = addrs[-1] + 0x1000
    base = None
    flat, incl = collections.Counter(), collections.Counter()
    stack, total = [], 0
    for line in qemu.stdout:
        if not line.startswith('Trace'):
            continue
        pc = int(line.split('/', 2)[1], 16)
        total += 1
        if base is None and pc >= 0x40000100:
            base = pc  # passage's _start: where QEMU's boot stub (at the start of RAM) jumps
        if base is None:
            flat['(QEMU boot stub)'] += 1
            continue
        off = pc - base
        if not 0 <= off < size:
            if pc == guest_entry:
                break
            flat['(outside passage)'] += 1
            continue
        i = bisect.bisect_right(addrs, off) - 1
        fn = syms[i][1]
        flat[fn] += 1
        if not stack or stack[-1] != fn:
            if fn in stack:
                while stack[-1] != fn:
                    stack.pop()
            elif off in starts:
                stack.append(fn)
            else:
                stack[-1:] = [fn]
        for f in set(stack[:depth]):
            incl[f] += 1
        if callee is not None:
            at = next((k for k, f in enumerate(stack) if f.startswith(callee)), None)
            if at is not None:
                by_caller[stack[at - 1] if at > 0 else '?'] += 1
    qemu.kill()
    print('%d instructions from reset to the guest' % total)
    print('self:')
    for fn, n in flat.most_common(40):
        print('  %9d  %s' % (n, fn[:110]))
    print('including callees:')
    for fn, n in incl.most_common(70):
        print('  %9d  %s' % (n, fn[:110]))
    if callee is not None:
        print('%s, by caller:' % callee)
        for fn, n in by_caller.most_common(30):
            print('  %9d  %s' % (n, fn[:110]))


if __name__ == '__main__':
    sys.exit(main())
