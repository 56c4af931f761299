#!/usr/bin/env python3
"""Build corpus/obj/NAME.{el,eb}.o from corpus/src/NAME.c with the pinned clang.

    python corpus/build.py            rebuild every object in place
    python corpus/build.py --check    rebuild into a temp dir, compare bytes with
                                      the committed objects, exit 1 on drift
    python corpus/build.py NAME...    only these sources

The objects are committed so that tests and fuzzers run without clang; this
script is the one way they are made.  Output must depend only on the sources and
the compiler: every path handed to clang is relative to the checkout, and the
debug info records "." as the compilation directory, so two checkouts in
different places produce identical bytes.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC_DIR = Path("corpus/src")
OBJ_DIR = Path("corpus/obj")
INCLUDE_DIR = Path("corpus/include")
# Debian 12's clang; other majors emit different code and BTF, so objects drift.
PINNED_MAJOR = 14
TARGETS = {"el": "bpfel", "eb": "bpfeb"}
MULTIARCH_INCLUDE = "/usr/include/x86_64-linux-gnu"


class BuildError(Exception):
    """The toolchain is missing or wrong, or a source failed to compile."""


@dataclass(frozen=True)
class Job:
    name: str
    order: str  # "el" or "eb"

    @property
    def source(self) -> Path:
        return SRC_DIR / f"{self.name}.c"

    def object_in(self, out_dir: Path) -> Path:
        return out_dir / f"{self.name}.{self.order}.o"


def find_clang() -> str:
    """The clang to use: $CLANG, else clang-14, else clang; must be 14.x."""
    candidates = [os.environ.get("CLANG"), "clang-14", "clang"]
    for cand in candidates:
        if not cand:
            continue
        path = shutil.which(cand)
        if path is None:
            continue
        version = subprocess.run(
            [path, "--version"], capture_output=True, text=True, check=False
        ).stdout
        m = re.search(r"clang version (\d+)\.(\d+)\.(\d+)", version)
        if m is None:
            continue
        if int(m.group(1)) != PINNED_MAJOR:
            raise BuildError(
                f"{path} is clang {m.group(0).split()[-1]}; the corpus is pinned to clang "
                f"{PINNED_MAJOR}.x (Debian 12's 14.0.6): install it (apt-get install clang-14) "
                "or point $CLANG at it"
            )
        return path
    raise BuildError(f"no clang found; install clang {PINNED_MAJOR} (apt-get install clang)")


def compile_command(clang: str, job: Job, out: Path) -> list[str]:
    return [
        clang,
        "-O2",
        "-g",
        "-target",
        TARGETS[job.order],
        "-I",
        str(INCLUDE_DIR),
        f"-I{MULTIARCH_INCLUDE}",
        # Keep the checkout's location out of DW_AT_comp_dir and file names.
        "-fdebug-compilation-dir=.",
        f"-fdebug-prefix-map={ROOT}=.",
        "-Wall",
        "-Werror",
        "-c",
        str(job.source),
        "-o",
        str(out),
    ]


# A corpus source compiles in about a second; a hung clang must not hang CI.
COMPILE_TIMEOUT_S = 300


def build(clang: str, job: Job, out_dir: Path) -> Path:
    out = job.object_in(out_dir)
    try:
        proc = subprocess.run(
            compile_command(clang, job, out), cwd=ROOT, capture_output=True, text=True,
            check=False, timeout=COMPILE_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        raise BuildError(
            f"{job.source} ({TARGETS[job.order]}): clang still running after "
            f"{COMPILE_TIMEOUT_S} s"
        ) from None
    if proc.returncode != 0:
        raise BuildError(f"{job.source} ({TARGETS[job.order]}):\n{proc.stderr}")
    return out


def sources(names: list[str]) -> list[str]:
    found = sorted(p.stem for p in (ROOT / SRC_DIR).glob("*.c"))
    if not names:
        return found
    unknown = sorted(set(names) - set(found))
    if unknown:
        raise BuildError(f"no such corpus source: {', '.join(unknown)}")
    return names


def build_all(clang: str, names: list[str], out_dir: Path, *, quiet: bool = False) -> None:
    jobs = [Job(n, o) for n in names for o in TARGETS]
    # The machines are shared and small: two compilers at a time is plenty.
    with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
        futures = [pool.submit(build, clang, j, out_dir) for j in jobs]
        for i, (job, fut) in enumerate(zip(jobs, futures, strict=True), 1):
            fut.result()
            if not quiet:
                print(f"[{i:2}/{len(jobs)}] {job.object_in(OBJ_DIR)}", flush=True)


def check(clang: str, names: list[str]) -> list[str]:
    """Rebuild into a temp dir; the committed objects that differ or are missing."""
    drifted = []
    with tempfile.TemporaryDirectory(prefix="corpus-check-") as tmp:
        build_all(clang, names, Path(tmp), quiet=True)
        for name in names:
            for order in TARGETS:
                job = Job(name, order)
                committed = ROOT / job.object_in(OBJ_DIR)
                fresh = job.object_in(Path(tmp))
                if not committed.exists() or committed.read_bytes() != fresh.read_bytes():
                    drifted.append(str(job.object_in(OBJ_DIR)))
    return drifted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    parser.add_argument("names", nargs="*", help="source names (default: all)")
    args = parser.parse_args(argv)
    try:
        clang = find_clang()
        names = sources(args.names)
        if args.check:
            drifted = check(clang, names)
            if drifted:
                print("objects drifted from their sources:", file=sys.stderr)
                for path in drifted:
                    print(f"  {path}", file=sys.stderr)
                return 1
            print(f"{2 * len(names)} objects match their sources")
            return 0
        (ROOT / OBJ_DIR).mkdir(parents=True, exist_ok=True)
        build_all(clang, names, ROOT / OBJ_DIR)
    except BuildError as exc:
        print(f"corpus/build.py: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
