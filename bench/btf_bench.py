"""vmlinux BTF: our open+index, full decode and dump against `bpftool btf dump file`.

All figures are wall-clock medians measured in the same run; ratios are ours / bpftool.
Goals: open+index <= 0.5x, full decode <= 3x, dump <= 5x.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from loader.btf import parse_raw
from loader.btf.dump import dump_raw_bytes

VMLINUX = Path("/sys/kernel/btf/vmlinux")
GOALS = {"open+index": 0.5, "full decode": 3.0, "dump (in-process)": 5.0, "dump (CLI)": 5.0}


def median_time(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(repeat: int = 5) -> int:
    if not VMLINUX.exists():
        print(f"skip: {VMLINUX} absent")
        return 0
    bpftool = shutil.which("bpftool")
    if bpftool is None:
        print("skip: bpftool not installed")
        return 0

    def run_bpftool() -> None:
        subprocess.run([bpftool, "btf", "dump", "file", str(VMLINUX)], check=True,
                       stdout=subprocess.DEVNULL)

    def run_cli() -> None:
        code = "import sys; from loader.cli import main; sys.exit(main())"
        subprocess.run([sys.executable, "-c", code, "btf", "dump", str(VMLINUX)],
                       check=True, stdout=subprocess.DEVNULL)

    def open_index() -> None:
        parse_raw(VMLINUX.read_bytes())

    def full_decode() -> None:
        parse_raw(VMLINUX.read_bytes()).types()

    def dump() -> None:
        dump_raw_bytes(parse_raw(VMLINUX.read_bytes()))

    base = median_time(run_bpftool, repeat)
    spec = parse_raw(VMLINUX.read_bytes())
    print(f"vmlinux BTF: {VMLINUX.stat().st_size} bytes, {len(spec)} types")
    print(f"{'bpftool btf dump file':28s} {base * 1000:8.1f} ms   1.00x")
    # Figures, not a gate: on shared machines timings are too noisy to fail on.
    for name, fn in (("open+index", open_index), ("full decode", full_decode),
                     ("dump (in-process)", dump), ("dump (CLI)", run_cli)):
        took = median_time(fn, repeat)
        ratio = took / base
        ok = ratio <= GOALS[name]
        print(f"{name:28s} {took * 1000:8.1f} ms {ratio:6.2f}x  "
              f"(goal <= {GOALS[name]}x: {'met' if ok else 'MISSED'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
