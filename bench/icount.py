"""Instructions per ``load_collection_spec``, counted by valgrind: repeatable.

Timings on this shared machine move by 5-10% from one run to the next, which
hides the 1-3% a single rewrite of a hot path is worth.  Instruction counts
under valgrind (cachegrind without its cache model) do not move: the same tree,
object and hash seed give the same count.  Each figure is the count of a run of
2N loads minus a run of N, over N, so start-up and imports cancel.  Instructions
are not time (cache misses, branch misses), so a win is confirmed by the
interleaved timing of bench.collection_bench before it is claimed.

    python -m bench.icount                        # this tree, the slow objects
    python -m bench.icount --tree /tmp/base maps_btf subprogs
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OBJ_DIR = ROOT / "corpus" / "obj"
DEFAULT_OBJECTS = ("tail_calls", "maps_btf", "map_in_map", "subprogs", "callbacks",
                   "net", "sockets", "struct_ops")

_CHILD = r'''
import sys
sys.path.insert(0, sys.argv[1])
from loader.collection import load_collection_spec
with open(sys.argv[2], "rb") as f:
    data = f.read()
for _ in range(int(sys.argv[3])):
    load_collection_spec(data)
'''


def instructions(tree: Path, obj: Path, loads: int) -> int:
    """Instructions valgrind counts for a whole interpreter run of ``loads`` loads."""
    env = dict(os.environ, PYTHONHASHSEED="0")
    run = subprocess.run(
        ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
         sys.executable, "-c", _CHILD, str(tree), str(obj), str(loads)],
        capture_output=True, text=True, env=env, check=False,
    )
    found = re.search(r"I\s+refs:\s+([\d,]+)", run.stderr)
    if run.returncode != 0 or found is None:
        raise SystemExit(f"valgrind run failed ({run.returncode}):\n{run.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def per_load(tree: Path, obj: Path, loads: int) -> float:
    return (instructions(tree, obj, 2 * loads) - instructions(tree, obj, loads)) / loads


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("objects", nargs="*", default=list(DEFAULT_OBJECTS),
                    help="corpus object names (little-endian twin is used)")
    ap.add_argument("--tree", type=Path, default=ROOT,
                    help="directory holding the loader/ package to count (default: this one)")
    ap.add_argument("--base", type=Path, help="a baseline tree: print both and the ratio")
    ap.add_argument("-n", type=int, default=200, help="loads per run (default 200)")
    args = ap.parse_args(argv)
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind not found (apt install valgrind)")
    for name in args.objects:
        obj = OBJ_DIR / f"{name}.el.o"
        new = per_load(args.tree, obj, args.n)
        if args.base is None:
            print(f"{name:22s} {new:12,.0f} instructions per load", flush=True)
            continue
        old = per_load(args.base, obj, args.n)
        print(f"{name:22s} base {old:12,.0f}  new {new:12,.0f}  new/base {new / old:.4f}",
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
