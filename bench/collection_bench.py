"""load_collection_spec vs libbpf 1.1 bpf_object__open_mem + close, per corpus object.

Both run in this process on the same bytes, interleaved in rounds (the machine
is shared; a burst of other work then hits one round of both sides), and each
ratio is the median of per-round ratios.  Goal: within 10x of libbpf on every
object.

Two figures for ours: ``open`` is load_collection_spec alone (the work libbpf's
open does: programs' code is decoded and linked on first access, as libbpf
decodes and links at load), ``+mat`` also builds every program's and hidden
function's linked instructions and .BTF.ext lists, so the cost laziness moves
stays in view.  Both ratios are against the same libbpf open.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from conformance.oracles.libbpf import Libbpf, LibbpfOpenError, LibbpfUnavailable, object_name_for
from loader.collection import load_collection_spec

OBJ_DIR = Path(__file__).resolve().parent.parent / "corpus" / "obj"
ROUNDS = 9
PER_ROUND = 40
WARMUP = 50
GOAL = 10.0


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


def _round_medians(data: bytes, libbpf: Libbpf | None, obj_name: str,
                   ) -> tuple[list[float], list[float], list[float] | None]:
    """Per-round medians (us) of ours, ours+materialise and libbpf, interleaved.

    The machine is shared: a burst of other work lands in one round of all three
    rather than in one side's whole run, and a ratio is taken per round.
    """
    ours, mat, lib = [], [], []
    for _ in range(ROUNDS):
        ours.append(statistics.median(_ours(data, PER_ROUND)) * 1e6)
        mat.append(statistics.median(_ours_materialised(data, PER_ROUND)) * 1e6)
        if libbpf is not None:
            lib.append(statistics.median(
                libbpf.time_open_close(data, obj_name, PER_ROUND)) * 1e6)
    return ours, mat, (lib if libbpf is not None else None)


def main() -> None:
    try:
        libbpf: Libbpf | None = Libbpf()
    except LibbpfUnavailable as exc:
        print(f"libbpf unavailable ({exc}); timing ours only")
        libbpf = None
    print(f"{ROUNDS} rounds x {PER_ROUND} runs per object, interleaved; figures are the "
          f"median over rounds of per-round medians (us), ratios per round")
    print(f"{'object':<20} {'open us':>8} {'+mat us':>8} {'libbpf us':>9} "
          f"{'open x':>7} {'+mat x':>7}")
    tot_ours = tot_mat = tot_lib = 0.0
    worst = worst_mat = 0.0
    for path in sorted(OBJ_DIR.glob("*.el.o")):
        data = path.read_bytes()
        name = path.name.removesuffix(".el.o")
        _ours(data, WARMUP)
        lib_obj = libbpf
        if lib_obj is not None:
            try:
                lib_obj.time_open_close(data, object_name_for(path), 1)
            except LibbpfOpenError:
                lib_obj = None
        ours, mat, lib = _round_medians(data, lib_obj, object_name_for(path))
        o_med, m_med = statistics.median(ours), statistics.median(mat)
        if lib is None:
            lib_txt = "refuses" if libbpf is not None else "-"
            print(f"{name:<20} {o_med:8.1f} {m_med:8.1f} {lib_txt:>9} {'-':>7} {'-':>7}")
            continue
        l_med = statistics.median(lib)
        ratio = statistics.median(o / b for o, b in zip(ours, lib, strict=True))
        mratio = statistics.median(m / b for m, b in zip(mat, lib, strict=True))
        worst, worst_mat = max(worst, ratio), max(worst_mat, mratio)
        tot_ours += o_med
        tot_mat += m_med
        tot_lib += l_med
        flag = "" if ratio <= GOAL else "  over goal"
        print(f"{name:<20} {o_med:8.1f} {m_med:8.1f} {l_med:9.1f} {ratio:6.1f}x "
              f"{mratio:6.1f}x{flag}")
    if tot_lib:
        print(f"{'total (both open)':<20} {tot_ours:8.1f} {tot_mat:8.1f} {tot_lib:9.1f} "
              f"{tot_ours / tot_lib:6.1f}x {tot_mat / tot_lib:6.1f}x")
        print(f"worst: open {worst:.1f}x, open+materialise {worst_mat:.1f}x "
              f"(goal: open within {GOAL:.0f}x on every object)")
        print(f"interpreter: {sys.version.split()[0]} at {sys.base_prefix}")


if __name__ == "__main__":
    main()
