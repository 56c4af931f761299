"""The fast paths of the map, struct_ops, data section and extern readers give
exactly what the careful paths give: the same specs, the same error and message.

Each fast path reads BTF words for the common case and hands anything unusual to
the careful code (which decodes types and raises); these tests force the careful
code and compare, over the corpus and deterministic mutants of the parts those
readers look at (.BTF type words and strings, .maps/.struct_ops bytes, symbols).
"""

from __future__ import annotations

import random
import struct

import pytest

from loader import elf
from loader.collection import datasec as datasec_mod
from loader.collection import load_collection_spec
from loader.collection import maps as maps_mod
from loader.collection import structops as structops_mod
from loader.errors import LoaderError

_SECTIONS = (".maps", ".struct_ops", ".struct_ops.link")


def _outcome(data: bytes) -> str:
    try:
        spec = load_collection_spec(data)
    except LoaderError as exc:
        return f"ERR {type(exc).__name__}: {exc}"
    return f"OK {spec.maps!r} {spec.variables!r} {spec.externs!r}"


def _force_careful(mp: pytest.MonkeyPatch) -> None:
    words = maps_mod.BTFWords
    mp.setattr(words, "section", lambda *_a: None)
    mp.setattr(words, "datasec_entries", lambda *_a: None)
    mp.setattr(words, "var_or_func", lambda *_a: None)
    mp.setattr(words, "resolved", lambda *_a: -1)
    mp.setattr(words, "align", lambda *_a: 0)
    mp.setattr(structops_mod, "_load_plain_section", lambda *_a: False)
    mp.setattr(datasec_mod, "_plain_datasec", lambda *_a: None)


def _both(data: bytes) -> tuple[str, str]:
    fast = _outcome(data)
    with pytest.MonkeyPatch.context() as mp:
        _force_careful(mp)
        careful = _outcome(data)
    return fast, careful


def _mutants(data: bytes, rng: random.Random, count: int):
    ef = elf.ELFFile(data)
    bo = ef.byte_order
    u32 = struct.Struct(bo + "I")
    btf = ef.section_by_name(".BTF")
    assert btf is not None
    hdr_len, type_off, type_len, str_off, str_len = struct.unpack_from(
        bo + "I4I", data, btf.offset + 4
    )
    types = btf.offset + hdr_len + type_off
    strings = btf.offset + hdr_len + str_off
    plain = [ef.section_by_name(n) for n in _SECTIONS]
    sections = [s for s in plain if s is not None and s.size and s.type != elf.SHT_NOBITS]
    for _ in range(count):
        b = bytearray(data)
        for _k in range(rng.randint(1, 2)):
            what = rng.random()
            if what < 0.6 and type_len >= 4:
                off = types + 4 * rng.randrange(type_len // 4)
                old = u32.unpack_from(b, off)[0]
                u32.pack_into(b, off, rng.choice([
                    0, 1, 2, 3, 4, 8, 13, 0x80000000, 0xFFFFFFFF, old ^ (1 << rng.randrange(32)),
                    (old + rng.choice((-1, 1))) & 0xFFFFFFFF, rng.randrange(0, 128),
                ]))
            elif what < 0.75 and str_len:
                b[strings + rng.randrange(str_len)] = rng.choice((0, ord("a"), ord("_")))
            elif what < 0.9 and sections:
                sec = rng.choice(sections)
                b[sec.offset + rng.randrange(sec.size)] = rng.randrange(256)
            elif ef.symtab is not None:
                sym = rng.randrange(ef.symtab.size // elf.SYM_SIZE)
                field = ef.symtab.offset + sym * elf.SYM_SIZE + rng.choice((4, 8, 16))
                b[field] = rng.randrange(256)
        yield bytes(b)


def _readers_objects(corpus_objects):
    out = []
    for path in corpus_objects:
        data = path.read_bytes()
        ef = elf.ELFFile(data)
        if ef.section_by_name(".BTF") is not None:
            out.append((path.name, data))
    assert out
    return out


def test_corpus_fast_equals_careful(corpus_objects):
    for name, data in _readers_objects(corpus_objects):
        fast, careful = _both(data)
        assert fast == careful, name


def test_corpus_takes_the_fast_paths(corpus_objects, monkeypatch):
    # Every clean .maps and .struct_ops section of the corpus is read by the fast
    # path (a silent fallback would still be correct, only slow again).
    taken = []
    section, plain = maps_mod.BTFWords.section, structops_mod._load_plain_section

    def record_section(*args):
        found = section(*args)
        taken.append(found is not None)
        return found

    def record_plain(*args):
        found = plain(*args)
        taken.append(found)
        return found

    monkeypatch.setattr(maps_mod.BTFWords, "section", record_section)
    monkeypatch.setattr(structops_mod, "_load_plain_section", record_plain)
    for _name, data in _readers_objects(corpus_objects):
        load_collection_spec(data)
    assert taken and all(taken)


@pytest.mark.parametrize("seed", range(4))
def test_mutants_fast_equals_careful(corpus_objects, seed):
    rng = random.Random(seed)
    checked = 0
    for name, data in _readers_objects(corpus_objects):
        for i, mutant in enumerate(_mutants(data, rng, 25)):
            fast, careful = _both(mutant)
            assert fast == careful, f"{name} mutant {seed}/{i}"
            checked += 1
    assert checked


def test_of_kind_is_by_index_grouped(corpus_objects):
    # ObjectFile.of_kind (what the reader uses to skip the readers of kinds an
    # object lacks) holds every kept non-code section, by kind, in index order.
    from loader.btf.elf import parse_elf_section
    from loader.collection.objfile import Kind, ObjectFile

    for path in corpus_objects:
        ef = elf.ELFFile(path.read_bytes())
        btf_index = ef.section_index(".BTF")
        btf = parse_elf_section(ef, btf_index) if btf_index >= 0 else None
        obj = ObjectFile(ef, btf)
        expected: dict[Kind, list[object]] = {}
        for osec in obj.by_index.values():
            if osec.kind is not Kind.PROGRAM and osec.kind is not Kind.UNDEF:
                expected.setdefault(osec.kind, []).append(osec)
        assert obj.of_kind == expected, path.name
        for kind in Kind:
            if kind is not Kind.PROGRAM and kind is not Kind.UNDEF:
                assert obj.sections_of(kind) == expected.get(kind, []), path.name


def test_every_reader_called_gives_the_same(corpus_objects, monkeypatch):
    # The reader skips a reader whose kind is absent: calling them all (as an
    # object with every kind would) changes nothing, result or error.
    from loader.collection import reader as reader_mod

    class Always(dict):  # every kind "present"
        def __contains__(self, _key: object) -> bool:
            return True

    skipped = [_outcome(path.read_bytes()) for path in corpus_objects]
    init = reader_mod.ObjectFile.__init__
    made = []

    def init_all(self, *args):
        init(self, *args)
        self.of_kind = Always(self.of_kind)
        made.append(self)

    monkeypatch.setattr(reader_mod.ObjectFile, "__init__", init_all)
    called = [_outcome(path.read_bytes()) for path in corpus_objects]
    assert len(made) == len(corpus_objects)
    assert skipped == called
