"""What a fresh page of memory costs on this machine: ``python -m benchmarks.page_touch [MB]``.

Touches ``MB`` (default 1,024) of new anonymous memory one 4 KiB page at a time, once with
ordinary pages and once with transparent huge pages asked for (``MADV_HUGEPAGE``), and prints
one JSON object: wall and system seconds, page faults, microseconds per 4 KiB page.

Why it is here: every figure of BENCHMARKS.md §4 that keeps a lot in memory (a national parse +
check, a national `rollup` from the store, a big unit's `run`) pays for each new page the
process touches. On the benchmark machine (a virtual machine inside another) the guest keeps
a gigabyte or two warm: touching 512 MB has cost 3-7 µs a page, touching 4 GB 33-41 µs a page
(about 10 s of system time per GB beyond the warm part), and both vary from one hour to the
next with the host: the main source of the drift the A/B figures work around. A run's system
time (``ru_stime``) is mostly this. Compare ``python -m benchmarks.page_touch 512`` with
``... 4096``.
"""
from __future__ import annotations

import json
import mmap
import resource
import sys
import time

PAGE = 4096


def touch(megabytes: int, huge: bool) -> dict[str, float]:
    size = megabytes << 20
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    area = mmap.mmap(-1, size)
    if huge and hasattr(mmap, "MADV_HUGEPAGE"):
        area.madvise(mmap.MADV_HUGEPAGE)
    for offset in range(0, size, PAGE):
        area[offset] = 1
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    area.close()
    return {"wall_s": round(wall, 2), "sys_s": round(after.ru_stime - before.ru_stime, 2),
            "faults": after.ru_minflt - before.ru_minflt,
            "us_per_4k_page": round(wall / (size // PAGE) * 1e6, 2)}


def main(megabytes: int = 1024) -> dict[str, object]:
    return {"megabytes": megabytes, "pages_4k": touch(megabytes, huge=False),
            "huge_pages_asked": touch(megabytes, huge=True)}


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1024)))
