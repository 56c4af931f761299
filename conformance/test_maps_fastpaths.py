"""The BTF map reader's fast path reads each member's type once per load (a
``__uint``'s N per type id, a ``__type``'s pointee per type id) and checks a type
id where it first reads it: these tests point map definition members at every
kind of wrong or shared type and compare with the careful path (same specs, same
error and message).
"""

from __future__ import annotations

import struct
from array import array

import pytest

from conformance.conftest import CORPUS_OBJ
from loader import elf
from loader.btf.elf import btf_section_bytes
from loader.btf.spec import Spec, TypeIndex, open_raw
from loader.collection import load_collection_spec
from loader.collection import maps as maps_mod
from loader.collection.maps import _MEMBER_CODES
from loader.errors import LoaderError

_OBJECTS = ("maps_btf.el.o", "maps_btf.eb.o", "map_in_map.el.o", "tail_calls.el.o",
            "callbacks.eb.o")


def _outcome(data: bytes) -> str:
    try:
        spec = load_collection_spec(data)
    except LoaderError as exc:
        return f"ERR {type(exc).__name__}: {exc}"
    return f"OK {spec.maps!r}"


def _careful(data: bytes) -> str:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(maps_mod.BTFWords, "section", lambda *_a: None)
        return _outcome(data)


def _assert_word_mutant_agrees(data: bytes, u32: struct.Struct, place: int, new: int,
                               context: object) -> None:
    """The object with the u32 at file offset ``place`` set to ``new``: fast and
    careful paths give the same outcome."""
    b = bytearray(data)
    u32.pack_into(b, place, new)
    mutant = bytes(b)
    assert _outcome(mutant) == _careful(mutant), context


def _btf_types(data: bytes) -> tuple[Spec, int, str]:
    """The object's unfixed .BTF, the file offset of its type section, and the
    byte order."""
    ef = elf.ELFFile(data)
    bo = ef.byte_order
    btf_sec = ef.section_by_name(".BTF")
    assert btf_sec is not None
    spec = open_raw(btf_section_bytes(ef), None)
    hdr_len, type_off = struct.unpack_from(bo + "II", data, btf_sec.offset + 4)
    return spec, btf_sec.offset + hdr_len + type_off, bo


def _type_words(data: bytes) -> tuple[Spec, int, array[int], TypeIndex, struct.Struct]:
    """What the word-mutation tests start from: the unfixed .BTF, its type
    section's file offset, its words and type positions, and a u32 in its byte
    order (to write a mutant word)."""
    spec, types, bo = _btf_types(data)
    words, offsets = spec.index
    return spec, types, words, offsets, struct.Struct(bo + "I")


def _member_type_words(data: bytes) -> tuple[list[int], int, str]:
    """File offsets of the type id word of every member of every map definition
    struct (a STRUCT whose members all have map member names), the BTF's end id,
    and its byte order."""
    spec, types, bo = _btf_types(data)
    words, offsets = spec.index
    out = []
    for pos in offsets:
        info = words[pos + 1]
        if (info >> 24) & 0x1F != 4:  # STRUCT
            continue
        vlen = info & 0xFFFF
        names = [spec.strings.get(words[pos + 3 + 3 * i]) for i in range(vlen)]
        if vlen and all(n in _MEMBER_CODES for n in names):
            out += [types + 4 * (pos + 4 + 3 * i) for i in range(vlen)]
    return out, spec.end_type_id, bo


@pytest.mark.parametrize("name", _OBJECTS)
def test_member_types_fast_equals_careful(name: str) -> None:
    data = (CORPUS_OBJ / name).read_bytes()
    places, end, bo = _member_type_words(data)
    assert places
    u32 = struct.Struct(bo + "I")
    # Every member's type in turn becomes: void, the last id, past the end, far
    # past it, and each other member's type (shared types, a uint as a key, ...).
    others = sorted({u32.unpack_from(data, p)[0] for p in places})
    checked = 0
    for place in places:
        old = u32.unpack_from(data, place)[0]
        for new in [0, end - 1, end, end + 7, 0xFFFFFFFF, *others]:
            if new == old:
                continue
            _assert_word_mutant_agrees(data, u32, place, new, (name, place, new))
            checked += 1
    assert checked


@pytest.mark.parametrize("name", ("maps_btf.el.o", "map_in_map.eb.o", "callbacks.el.o"))
def test_type_headers_fast_equals_careful(name: str) -> None:
    # Every type's info word with the kind flag set, a vlen, an unused bit, or the
    # kind of its neighbours (the __uint, key/value size and 'values' readers take
    # only plain headers and leave the rest to the careful path).
    data = (CORPUS_OBJ / name).read_bytes()
    _, types, words, offsets, u32 = _type_words(data)
    for pos in offsets:
        place = types + 4 * (pos + 1)
        info = words[pos + 1]
        for new in (info | 0x80000000, info + 1, info | 0x01000000, info ^ 0x09000000,
                    (info & 0x80FFFFFF) | 0x08000000, (info & 0x80FFFFFF) | 0x01000000):
            if new == info:
                continue
            _assert_word_mutant_agrees(data, u32, place, new, (name, pos, hex(new)))


@pytest.mark.parametrize("name", ("maps_btf.el.o", "maps_btf.eb.o", "tail_calls.el.o",
                                  "callbacks.el.o"))
def test_pointer_chain_words_fast_equals_careful(name: str) -> None:
    # A __uint's PTR and the ARRAY right after it are read in one unpack, and so
    # are a __type's PTR, TYPEDEF and INT: point each PTR and TYPEDEF elsewhere
    # (itself, past the next type, another ARRAY, the last id, past the end),
    # change each ARRAY and INT word and the names, and compare.
    data = (CORPUS_OBJ / name).read_bytes()
    spec, types, words, offsets, u32 = _type_words(data)
    first, end = spec.first_type_id, spec.end_type_id
    arrays = [first + i for i, pos in enumerate(offsets) if (words[pos + 1] >> 24) & 0x1F == 3]
    checked = 0
    for i, pos in enumerate(offsets):
        kind = (words[pos + 1] >> 24) & 0x1F
        if kind == 2:  # PTR
            tid = first + i
            changes = [(2, new) for new in (tid, tid + 2, end - 1, end, *arrays[:3])]
        elif kind == 3:  # ARRAY
            changes = [(2, 1), (3, end), (3, 0), (4, end), (5, 0), (5, 0xFFFFFFFF), (0, 0xFFFFFF)]
        elif kind == 8:  # TYPEDEF (a __type's PTR, TYPEDEF, INT are read in one unpack too)
            tid = first + i
            changes = [(2, tid), (2, tid + 2), (2, end), (0, 0xFFFFFF), (0, 0xFFFFFFFF)]
        elif kind == 1:  # INT
            changes = [(3, words[pos + 3] | 0x10000000), (3, words[pos + 3] + 0x100),
                       (2, words[pos + 2] * 2), (0, 0xFFFFFF)]
        else:
            continue
        for word, new in changes:
            if words[pos + word] == new:
                continue
            _assert_word_mutant_agrees(data, u32, types + 4 * (pos + word), new,
                                       (name, pos, word, new))
            checked += 1
    assert checked


@pytest.mark.parametrize("name", ("maps_btf.el.o", "maps_btf.eb.o", "map_in_map.el.o"))
def test_key_value_struct_members_fast_equals_careful(name: str) -> None:
    # A struct key or value's size is read from the words when every member's type
    # id is in range and its name inside the string table: point each member's
    # type and name of every other struct out of range and compare.
    data = (CORPUS_OBJ / name).read_bytes()
    spec, types, words, offsets, u32 = _type_words(data)
    checked = 0
    for pos in offsets:
        info = words[pos + 1]
        if (info >> 24) & 0x1F not in (4, 5):  # STRUCT, UNION
            continue
        for i in range(info & 0xFFFF):
            for word, new in ((0, 0xFFFFFF), (0, 0xFFFFFFFF), (1, spec.end_type_id),
                              (1, 0xFFFFFFFF)):
                place = types + 4 * (pos + 3 + 3 * i + word)
                _assert_word_mutant_agrees(data, u32, place, new, (name, pos, i, word, new))
                checked += 1
    assert checked


def test_fast_constructors_equal_dataclass_constructors() -> None:
    # map_spec, map_kv, struct_ops_member and variable_spec stand in for the dataclass
    # constructors on the loader's hot paths: same parameters (names, order,
    # defaults) as the fields, and the same object for the same arguments.
    import dataclasses
    import inspect

    from loader.collection.spec import (
        MapKV,
        MapSpec,
        StructOpsMember,
        VariableSpec,
        map_kv,
        map_spec,
        struct_ops_member,
        variable_spec,
    )

    for cls, fast in ((MapSpec, map_spec), (MapKV, map_kv), (StructOpsMember, struct_ops_member),
                      (VariableSpec, variable_spec)):
        params = list(inspect.signature(fast).parameters.values())
        fields = dataclasses.fields(cls)
        assert [p.name for p in params] == [f.name for f in fields]
        assert [p.default for p in params] == [
            inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default
            for f in fields
        ]
        values = [f"v{i}" if f.type in ("str", "bytes | str") else i + 1
                  for i, f in enumerate(fields)]
        built, made = fast(*values), cls(*values)
        assert type(built) is cls
        assert built == made and repr(built) == repr(made)
        assert [getattr(built, f.name) for f in fields] == values
        minimal = [v for v, p in zip(values, params, strict=True)
                   if p.default is inspect.Parameter.empty]
        assert fast(*minimal) == cls(*minimal)
    kv = map_kv(1, b"x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        kv.key = 2  # type: ignore[misc]
    assert hash(kv) == hash(MapKV(1, b"x"))


@pytest.mark.parametrize("name", ("maps_btf.el.o", "maps_btf.eb.o", "map_in_map.el.o",
                                  "tail_calls.el.o"))
def test_datasec_entries_and_vars_fast_equals_careful(name: str) -> None:
    # The section reader unpacks the .maps DATASEC's entries and each VAR's four
    # words at once, and counts names instead of looking each one up: point
    # entries at each other's VARs (a name twice), move and resize them, give
    # VARs each other's names, other linkages and types, and compare.
    data = (CORPUS_OBJ / name).read_bytes()
    spec, types, words, offsets, u32 = _type_words(data)
    first, end = spec.first_type_id, spec.end_type_id
    (ds_id,) = spec.datasecs()[".maps"]
    pos = offsets[ds_id - first]
    entries = [pos + 3 + 3 * i for i in range(words[pos + 1] & 0xFFFF)]
    var_ids = [words[e] for e in entries]
    var_pos = [offsets[v - first] for v in var_ids]
    checked = 0
    for e in entries:
        off, size = words[e + 1], words[e + 2]
        for word, new in ((0, 0), (0, end), (0, var_ids[0]), (0, var_ids[-1]), (1, off + 8),
                          (1, 0xFFFFFFF0), (2, size + 8), (2, 0), (2, 0xFFFFFFFF)):
            if words[e + word] != new:
                _assert_word_mutant_agrees(data, u32, types + 4 * (e + word), new,
                                           (name, e, word, new))
                checked += 1
    for vp in var_pos:
        for word, new in ((0, words[var_pos[0]]), (0, words[var_pos[-1]]), (0, 0),
                          (0, 0xFFFFFFFF), (1, words[vp + 1] | 1), (2, end), (2, 0),
                          (3, 0), (3, 2), (3, 0xFFFFFFFF)):
            if words[vp + word] != new:
                _assert_word_mutant_agrees(data, u32, types + 4 * (vp + word), new,
                                           (name, vp, word, new))
                checked += 1
    assert checked


def test_section_refuses_a_map_already_read() -> None:
    # The section reader checks that no map of the section is in ``out`` once,
    # after its loop: a name already there (a legacy map's) is a refusal, with
    # ``out`` untouched, and the careful path raises.
    from loader.collection.objfile import ObjectFile
    from loader.collection.reader import _load_btf
    from loader.errors import CollectionError

    data = (CORPUS_OBJ / "maps_btf.el.o").read_bytes()
    ef = elf.ELFFile(data)
    btf = _load_btf(ef)[0]
    assert btf is not None
    obj = ObjectFile(ef, btf)
    (osec,) = obj.sections_of(maps_mod._BTF_MAPS)
    (ds_id,) = btf.datasecs()[".maps"]
    taken = load_collection_spec(data).maps["mb_lru"]
    out = {"mb_lru": taken}
    assert maps_mod.BTFWords(btf).section(osec, ds_id, out) is None
    assert out == {"mb_lru": taken}
    with pytest.raises(CollectionError, match="duplicate map name"):
        maps_mod.load_btf_maps(obj, out)


def _member_name_words(data: bytes) -> tuple[list[int], list[int], Spec, int, str]:
    """File offsets of the name word of every member of every map definition
    struct, the name offsets they hold, the unfixed .BTF, the file offset of its
    type section and the byte order."""
    spec, types, bo = _btf_types(data)
    words, offsets = spec.index
    places, names = [], set()
    for pos in offsets:
        info = words[pos + 1]
        if (info >> 24) & 0x1F != 4:  # STRUCT
            continue
        vlen = info & 0xFFFF
        offs = [words[pos + 3 + 3 * i] for i in range(vlen)]
        if vlen and all(spec.strings.get(o) in _MEMBER_CODES for o in offs):
            places += [types + 4 * (pos + 3 + 3 * i) for i in range(vlen)]
            names.update(offs)
    return places, sorted(names), spec, types, bo


@pytest.mark.parametrize("name", ("map_in_map.el.o", "map_in_map.eb.o", "maps_btf.el.o"))
def test_shared_struct_reuse_fast_equals_careful(name: str) -> None:
    # Two maps of one struct type, and an inner map template that is a named
    # map's struct, take the fields read once: rename each member of every map
    # struct to each other member name (a 'values' or a duplicate member in the
    # shared struct, a missing type, ...) and compare.
    data = (CORPUS_OBJ / name).read_bytes()
    places, names, _, _, bo = _member_name_words(data)
    u32 = struct.Struct(bo + "I")
    checked = 0
    for place in places:
        old = u32.unpack_from(data, place)[0]
        for new in names:
            if new != old:
                _assert_word_mutant_agrees(data, u32, place, new, (name, place, new))
                checked += 1
    assert checked


@pytest.mark.parametrize("name", ("map_in_map.el.o", "map_in_map.eb.o"))
def test_pinned_twin_is_no_inner_template(name: str) -> None:
    # The inner template of mim_outer_array is struct mim_inner, also the type of
    # mim_inner_a/b: with its 'max_entries' (1) renamed 'pinning' the named maps
    # read (pinned by name), but the inner template must not reuse their fields:
    # an inner map definition cannot be pinned.
    data = bytearray((CORPUS_OBJ / name).read_bytes())
    spec, types, bo = _btf_types(bytes(data))
    words, offsets = spec.index
    ef = elf.ELFFile(bytes(data))
    btf_sec = ef.section_by_name(".BTF")
    assert btf_sec is not None
    hdr_len, _, _, str_off = struct.unpack_from(bo + "IIII", data, btf_sec.offset + 4)
    u32 = struct.Struct(bo + "I")
    strings = btf_sec.offset + hdr_len + str_off
    # An INT's name, unused by the maps: its bytes become "pinning".
    raw = bytes(data[strings:])
    at = raw.index(b"__ARRAY_SIZE_TYPE__\0")
    data[strings + at:strings + at + 8] = b"pinning\0"
    for pos in offsets:
        info = words[pos + 1]
        if (info >> 24) & 0x1F == 4 and spec.strings.get(words[pos]) == "mim_inner":
            for i in range(info & 0xFFFF):
                if spec.strings.get(words[pos + 3 + 3 * i]) == "max_entries":
                    u32.pack_into(data, types + 4 * (pos + 3 + 3 * i), at)
    mutant = bytes(data)
    assert _outcome(mutant) == _careful(mutant)
    assert "inner map definitions cannot be pinned" in _outcome(mutant)
