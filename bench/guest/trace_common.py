"""What the trace scripts share: the build's place and an ELF's function symbols."""
import os, subprocess

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
build = os.path.join(root, 'build', 'cross')


def symbols(elf):
    """(address, name) of every function symbol of elf, by address."""
    out = subprocess.run(['nm', '-n', '-C', elf], capture_output=True, text=True, check=True).stdout
    syms = []
    for line in out.splitlines():
        p = line.split(' ', 2)
        if len(p) == 3 and p[1] in 'tTwW' and not p[2].startswith('$'):
            syms.append((int(p[0], 16), p[2]))
    return syms
