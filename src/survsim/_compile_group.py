"""``python -m survsim._compile_group MODEL GROUP``: a compiling process of :mod:`survsim.warm`."""

from __future__ import annotations

import sys

from survsim.warm import compile_group, die_with_parent

if __name__ == "__main__":
    if len(sys.argv) > 3:
        die_with_parent(int(sys.argv[3]))
    compile_group(sys.argv[1], sys.argv[2])
