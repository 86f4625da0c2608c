"""Run a command and report its peak resident memory: `python bench/peak_rss.py OUT CMD...`.

Why a launcher: Linux's `ru_maxrss` of a child counts the memory of the process it was forked
from (exec records the old address space's high-water mark), so a command started directly by
`bench/train.py`, which holds the benchmark data, would report that process's size instead of
its own. Started from this small process, the command's own peak is what `wait4` reports.
Writes `PEAK_KIB` to OUT and exits with the command's exit code. Imports only the standard
library.
"""

from __future__ import annotations

import os
import subprocess
import sys


def main() -> int:
    out, cmd = sys.argv[1], sys.argv[2:]
    proc = subprocess.Popen(cmd)
    _, status, usage = os.wait4(proc.pid, 0)
    with open(out, "w") as f:
        f.write(str(usage.ru_maxrss))
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main())
