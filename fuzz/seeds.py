"""Seed inputs per target: corpus/obj, corpus/btf, and generated blobs.

Seeds are written to a directory of their own, which libFuzzer reads but never
writes (new units go to the first corpus directory only).
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Iterable, Iterator
from pathlib import Path

from fuzz.replay import REPO

CORPUS = REPO / "corpus"


def _files(pattern: str) -> Iterator[bytes]:
    for path in sorted(CORPUS.glob(pattern)):
        if path.is_file():
            yield path.read_bytes()


def _generated(target: str) -> Iterator[bytes]:
    # Structure generators live next to the mutators; they need the loader's writers,
    # which may not exist yet on a fresh checkout.
    try:
        gen = importlib.import_module("fuzz.generate")
    except ImportError:
        return
    yield from gen.seeds(target)


def seeds_for(target: str) -> Iterable[bytes]:
    """Hand-made blobs from corpus/, then what :mod:`fuzz.generate` cuts from objects."""
    name = Path(target).stem if target.endswith(".py") else target
    if name in ("btf", "btf_model"):
        yield from _files("btf/*.btf")
    if name == "libbpf_diff":
        yield from _agreed(_generated(name))
    else:
        yield from _generated(name)


def _agreed(blobs: Iterable[bytes]) -> Iterator[bytes]:
    # A seed both sides already disagree on (legacy "maps" sections, which libbpf
    # 1.0 dropped) would stop every libFuzzer run during its first pass.
    from fuzz import targets

    test_one_input = targets.load("libbpf_diff").TestOneInput
    for blob in blobs:
        try:
            test_one_input(blob)
        except Exception:  # a disagreement, or a crash the elf target reports anyway
            continue
        yield blob


def write_seeds(target: str, directory: Path) -> Path | None:
    """Write the seeds of ``target`` into ``directory``; None when there are none."""
    count = 0
    for data in seeds_for(target):
        directory.mkdir(parents=True, exist_ok=True)
        (directory / hashlib.sha1(data).hexdigest()).write_bytes(data)
        count += 1
    return directory if count else None
