"""load_collection_spec vs libbpf 1.1 bpf_object__open_mem + close, per corpus object.

Both run in this process on the same bytes; each figure is the best and the
median of many runs.  Goal: within 10x of libbpf on every object.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from conformance.oracles.libbpf import Libbpf, LibbpfOpenError, LibbpfUnavailable, object_name_for
from loader.collection import load_collection_spec

OBJ_DIR = Path(__file__).resolve().parent.parent / "corpus" / "obj"
REPEAT = 200


def _ours(data: bytes, repeat: int) -> list[float]:
    clock = time.perf_counter
    out = []
    for _ in range(repeat):
        t0 = clock()
        load_collection_spec(data)
        out.append(clock() - t0)
    return out


def main() -> None:
    try:
        libbpf: Libbpf | None = Libbpf()
    except LibbpfUnavailable as exc:
        print(f"libbpf unavailable ({exc}); timing ours only")
        libbpf = None
    print(f"{'object':<22} {'ours best/med us':>18} {'libbpf best/med us':>20} {'ratio(med)':>10}")
    tot_ours = tot_lib = 0.0
    worst = 0.0
    for path in sorted(OBJ_DIR.glob("*.el.o")):
        data = path.read_bytes()
        _ours(data, 5)
        ours = _ours(data, REPEAT)
        o_best, o_med = min(ours) * 1e6, statistics.median(ours) * 1e6
        lib_txt, ratio_txt = "-", "-"
        if libbpf is not None:
            try:
                lib = libbpf.time_open_close(data, object_name_for(path), REPEAT)
            except LibbpfOpenError:
                lib_txt = "refuses"
            else:
                l_best, l_med = min(lib) * 1e6, statistics.median(lib) * 1e6
                lib_txt = f"{l_best:8.1f}/{l_med:8.1f}"
                ratio = o_med / l_med
                ratio_txt = f"{ratio:9.1f}x"
                worst = max(worst, ratio)
                tot_ours += o_med
                tot_lib += l_med
        print(f"{path.name:<22} {o_best:8.1f}/{o_med:8.1f} {lib_txt:>20} {ratio_txt:>10}")
    if tot_lib:
        print(f"{'total (both opened)':<22} {tot_ours:17.1f} {tot_lib:20.1f} "
              f"{tot_ours / tot_lib:9.1f}x   worst {worst:.1f}x")


if __name__ == "__main__":
    main()
