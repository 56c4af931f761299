"""Behaviour diff of two loader trees over the corpus and mutated objects.

Performance work rewrites hot paths; this is how a rewrite shows it changed
nothing a user can see.  Each tree runs in its own interpreter over the same
inputs (every corpus object plus ``-n`` deterministic mutants made with the fuzz
mutators), and writes one line per input: a digest of the whole spec (maps,
variables, externs, programs with their linked instructions and .BTF.ext lists,
the BTF types) or the error class, the function that raised it and the message.
Lines are then compared.

    python -m bench.loader_diff /tmp/base          # baseline tree vs this one
    python -m bench.loader_diff /tmp/base -n 5000

Make a baseline with ``git archive HEAD loader | tar -x -C /tmp/base``.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OBJ_DIR = ROOT / "corpus" / "obj"


def make_inputs(count: int, seed: int) -> list[bytes]:
    from fuzz.mutators import elf_mutate, mutate_bytes

    objs = [p.read_bytes() for p in sorted(OBJ_DIR.glob("*.o"))]
    out = list(objs)
    rng = random.Random(seed)
    for i in range(count):
        data = objs[i % len(objs)]
        for _ in range(rng.randint(1, 3)):
            try:
                if rng.random() < 0.7:
                    data = elf_mutate(data, rng, 1 << 17)
                else:
                    data = mutate_bytes(data, rng, 1 << 17)
            except Exception:
                data = mutate_bytes(data, rng, 1 << 17)
        out.append(data)
    return out


def describe(data: bytes) -> str:
    """One input's outcome under the ``loader`` package on sys.path."""
    from loader.collection import load_collection_spec
    from loader.errors import LoaderError

    try:
        spec = load_collection_spec(data)
        parts = [repr(spec.maps), repr(spec.variables), repr(spec.externs),
                 spec.license, str(spec.kernel_version), spec.byte_order]
        for progs in (spec.programs, spec.functions):
            for name, prog in progs.items():
                parts.append(name)
                parts.append(repr(prog))  # fields, then the lazily built body below
                parts.append(repr(prog.instructions))
                parts.append(repr(prog.func_infos))
                parts.append(repr(prog.line_infos))
                parts.append(repr(prog.core_relos))
        if spec.btf is not None:
            parts.append(repr(spec.btf.types()))
        text = "OK " + "\n".join(parts)
    except LoaderError as exc:
        # Where it was raised counts too: fuzz findings are filed by the raising
        # function, so a rewrite that moves an error gives old findings new keys.
        text = f"ERR {type(exc).__name__} in {_raiser(exc)}: {exc}"
    except RecursionError:
        text = "CRASH RecursionError"
    except Exception as exc:  # a crash is an outcome to compare
        text = f"CRASH {type(exc).__name__}: {exc}"
    digest = hashlib.sha1(text.encode("utf-8", "surrogateescape")).hexdigest()
    return f"{digest} {text.split(' ', 1)[0]} {text[:160]!r}"


def _raiser(exc: BaseException) -> str:
    """``module:function`` of the innermost frame inside the loader package."""
    import loader

    root = Path(loader.__file__).resolve().parent.parent
    where = "?"
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        path = Path(code.co_filename)
        if path.is_relative_to(root / "loader"):
            where = f"{path.relative_to(root).with_suffix('')}:{code.co_name}"
        tb = tb.tb_next
    return where


def _child(tree: str, inputs: str, out: str) -> None:
    import pickle

    sys.path.insert(0, tree)
    import loader

    assert Path(loader.__file__).resolve().is_relative_to(Path(tree).resolve()), loader.__file__
    with open(inputs, "rb") as f:
        blobs = pickle.load(f)
    with open(out, "w") as f:
        for blob in blobs:
            f.write(describe(blob) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("baseline", help="a directory holding the baseline loader/ package")
    ap.add_argument("-n", type=int, default=2000, help="mutants (default 2000)")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        _child(*args.child)
        return 0
    import pickle

    inputs = make_inputs(args.n, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        blob_path = Path(tmp) / "inputs.pkl"
        blob_path.write_bytes(pickle.dumps(inputs))
        outs = []
        for tag, tree in (("base", args.baseline), ("new", str(ROOT))):
            out = Path(tmp) / f"{tag}.txt"
            subprocess.run(
                [sys.executable, __file__, tree, "--child", tree, str(blob_path), str(out)],
                check=True, cwd=tmp,
            )
            outs.append(out.read_text().splitlines())
    base, new = outs
    differ = [i for i, (a, b) in enumerate(zip(base, new, strict=True)) if a != b]
    status = [line.split(" ", 2)[1] for line in new]
    ok, crash = status.count("OK"), status.count("CRASH")
    print(f"{len(inputs)} inputs ({len(inputs) - args.n} corpus objects): {ok} load, "
          f"{len(inputs) - ok - crash} typed errors, {crash} crashes; {len(differ)} differ")
    for i in differ[:10]:
        print(f"  input {i}:\n    base {base[i][41:]}\n    new  {new[i][41:]}")
    return 1 if differ or crash else 0


if __name__ == "__main__":
    raise SystemExit(main())
