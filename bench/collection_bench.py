"""load_collection_spec vs libbpf 1.1 bpf_object__open_mem + close, per corpus object.

Both run in this process on the same bytes; each figure is the best and the
median of many runs.  Goal: within 10x of libbpf on every object.

Two figures for ours: ``open`` is load_collection_spec alone (the work libbpf's
open does: programs' code is decoded and linked on first access, as libbpf
decodes and links at load), ``+mat`` also builds every program's and hidden
function's linked instructions and .BTF.ext lists, so the cost laziness moves
stays in view.  Both ratios are against the same libbpf open.
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


def _ours_materialised(data: bytes, repeat: int) -> list[float]:
    clock = time.perf_counter
    out = []
    for _ in range(repeat):
        t0 = clock()
        spec = load_collection_spec(data)
        for prog in (*spec.programs.values(), *spec.functions.values()):
            prog.instructions  # noqa: B018 - builds code and .BTF.ext lists
        out.append(clock() - t0)
    return out


def main() -> None:
    try:
        libbpf: Libbpf | None = Libbpf()
    except LibbpfUnavailable as exc:
        print(f"libbpf unavailable ({exc}); timing ours only")
        libbpf = None
    print(f"{'object':<18} {'open best/med us':>17} {'+mat med us':>11} "
          f"{'libbpf best/med us':>19} {'open x':>7} {'+mat x':>7}")
    tot_ours = tot_mat = tot_lib = 0.0
    worst = worst_mat = 0.0
    for path in sorted(OBJ_DIR.glob("*.el.o")):
        data = path.read_bytes()
        _ours(data, 5)
        ours = _ours(data, REPEAT)
        mat = _ours_materialised(data, REPEAT)
        o_best, o_med = min(ours) * 1e6, statistics.median(ours) * 1e6
        m_med = statistics.median(mat) * 1e6
        lib_txt, ratio_txt, mratio_txt = "-", "-", "-"
        if libbpf is not None:
            try:
                lib = libbpf.time_open_close(data, object_name_for(path), REPEAT)
            except LibbpfOpenError:
                lib_txt = "refuses"
            else:
                l_best, l_med = min(lib) * 1e6, statistics.median(lib) * 1e6
                lib_txt = f"{l_best:7.1f}/{l_med:7.1f}"
                ratio, mratio = o_med / l_med, m_med / l_med
                ratio_txt, mratio_txt = f"{ratio:6.1f}x", f"{mratio:6.1f}x"
                worst = max(worst, ratio)
                worst_mat = max(worst_mat, mratio)
                tot_ours += o_med
                tot_mat += m_med
                tot_lib += l_med
        name = path.name.removesuffix(".el.o")
        print(f"{name:<18} {o_best:7.1f}/{o_med:7.1f} {m_med:11.1f} {lib_txt:>19} "
              f"{ratio_txt:>7} {mratio_txt:>7}")
    if tot_lib:
        print(f"{'total (both open)':<18} {tot_ours:17.1f} {tot_mat:11.1f} {tot_lib:19.1f} "
              f"{tot_ours / tot_lib:6.1f}x {tot_mat / tot_lib:6.1f}x")
        print(f"worst: open {worst:.1f}x, open+materialise {worst_mat:.1f}x")


if __name__ == "__main__":
    main()
