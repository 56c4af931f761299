"""The structure-aware mutators, unguarded: they run on every seed without raising,
are deterministic per seed, and keep most mutants parseable at the outer layer."""

from __future__ import annotations

import random

from fuzz import mutators, seeds
from loader.btf.header import parse_header
from loader.elf import ELFFile
from loader.errors import LoaderError


def _share_parsing(blobs, mutate, parse, rounds=4):
    parsed = total = 0
    for i, blob in enumerate(blobs):
        for r in range(rounds):
            out = mutate(blob, random.Random(i * 100 + r))
            assert isinstance(out, bytes)
            total += 1
            try:
                parse(out)
                parsed += 1
            except LoaderError:
                pass
    return parsed / total


def test_btf_mutator_keeps_the_header_valid_mostly():
    blobs = [b for b in seeds.seeds_for("btf") if b[:2] == b"\x9f\xeb"][:40]
    assert blobs
    share = _share_parsing(blobs, mutators.btf_mutate, parse_header)
    # Byte-level mutation breaks the header of most mutants; these touch one thing.
    assert share > 0.5, share


def test_elf_mutator_keeps_the_container_valid_mostly():
    blobs = list(seeds.seeds_for("elf"))[:12]
    share = _share_parsing(blobs, lambda b, rng: mutators.elf_mutate(b, rng, 1 << 20), ELFFile)
    assert share > 0.3, share


def test_mutators_are_deterministic_and_change_something():
    blob = next(b for b in seeds.seeds_for("btf") if len(b) > 200)
    a = mutators.btf_mutate(blob, random.Random(7))
    b = mutators.btf_mutate(blob, random.Random(7))
    assert a == b
    changed = sum(mutators.btf_mutate(blob, random.Random(s)) != blob for s in range(50))
    assert changed > 40
