#!/usr/bin/env python3
"""Where the instructions of passage's abort paths go: one steady-state round of
the bench guest's measured loops, from a TCG trace, charged to functions.

    bench/guest/trace_guest_trap.py [--list ROUND]   # after cmake --build --preset cross

Runs the machine of bench_guest_trap.sh under `-singlestep -d exec,nochain`
(about a minute), keeps round 500 of the injected-abort loop, of the config
read loop and round 300 of the BAR-move loop (each round starts at the loop's
first instruction), and prints for each the instructions per function
(passage.elf's symbols, relocated to where the vector table was found; the
guest's own loop instructions are "guest"). docs/performance.md, "Guest trap
path", has the figures this gave. --list 'config' (or 'injected', 'BAR')
also prints that round instruction by instruction, disassembled.
"""
import bisect, collections, os, subprocess, sys

from trace_common import build, root, symbols


def print_listing(pcs, base, addrs, syms):
    """Each instruction of the round, disassembled (passage's) or marked as the guest's."""
    dump = subprocess.run(['aarch64-linux-gnu-objdump', '-d', '--no-show-raw-insn', os.path.join(build, 'passage.elf')],
                          capture_output=True, text=True, check=True).stdout
    text = {}
    for line in dump.splitlines():
        head, _, rest = line.partition(':')
        if rest and head.strip() and all(c in '0123456789abcdef' for c in head.strip()):
            text[int(head, 16)] = rest.strip()
    for p in pcs:
        off = p - base
        if off not in text:
            print('    guest')
            continue
        i = bisect.bisect_right(addrs, off) - 1
        print('    %6x  %-28s %s' % (off, syms[i][1][:28], text[off]))


def main():
    guest = {n: a for a, n in symbols(os.path.join(build, 'test_guest.elf'))}
    # The loop heads (tests/guests/bench.S): `mov x0, x22` of the load loop, the first store of the BAR move.
    load_head, bar_head = guest['bench_loop_load'] + 0x18, guest['bench_loop_bar_move'] + 0x14
    # The load loop runs twice, 16 + 1000 rounds each: first the injected abort, then the config read.
    want = {load_head: {500: 'injected abort', 1016 + 516: 'config read'}, bar_head: {300: 'BAR move (two)'}}
    bench = subprocess.run([os.path.join(root, 'bench/guest/bench_guest_trap.sh'), '--no-build', '--runs', '1'],
                           cwd=root, capture_output=True, text=True)
    cmd = next(l[2:] for l in bench.stderr.splitlines() if l.startswith('+ ')).split()
    qemu = subprocess.Popen(cmd + ['-singlestep', '-d', 'exec,nochain', '-D', '/dev/stdout'], cwd=root,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True)
    hits = collections.Counter()
    rounds, cur, buf = {}, None, []
    for line in qemu.stdout:
        if not line.startswith('Trace'):
            continue
        pc = int(line.split('/', 2)[1], 16)
        if pc in want:
            if cur is not None:
                rounds[cur], cur = buf, None
                if len(rounds) == sum(len(v) for v in want.values()):
                    break
            cur = want[pc].get(hits[pc])
            hits[pc] += 1
            buf = []
        if cur is not None:
            buf.append(pc)
    qemu.kill()
    syms = symbols(os.path.join(build, 'passage.elf'))
    addrs = [a for a, _ in syms]
    vectors = next(a for a, n in syms if n == 'el2_vectors')
    listing = sys.argv[sys.argv.index('--list') + 1] if '--list' in sys.argv else None
    for name, pcs in rounds.items():
        # The first EL2 instruction is el2_vectors + 0x400 (synchronous, lower EL, AArch64).
        base = next(p for p in pcs if not guest['bench_loop_nop'] <= p < guest['bench_loop_bar_move'] + 0x40) - vectors - 0x400
        count = collections.Counter()
        for p in pcs:
            if not base <= p < base + addrs[-1]:
                count['guest'] += 1
                continue
            i = bisect.bisect_right(addrs, p - base) - 1
            count[syms[i][1] if i >= 0 else '?'] += 1
        print('%s: %d instructions in the round' % (name, len(pcs)))
        if listing is not None and name.startswith(listing):
            print_listing(pcs, base, addrs, syms)
        for fn, n in count.most_common(25):
            print('  %6d  %s' % (n, fn[:100]))


if __name__ == '__main__':
    sys.exit(main())
