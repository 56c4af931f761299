"""The inline paths of the program section reader give exactly what the careful
paths give.

``programs._section_functions`` recognises the usual relocations, the usual
section shape (one function spanning it) and the usual .BTF.ext layout inline
(records checked packed, placed when a section is decoded), and hands anything
else to the careful code (``Relocator.resolve``, ``_split``,
``_attach_ext``/``_check_packed``), which builds every error.  These tests
compare the two over the corpus and deterministic mutants of what that reader
looks at (instruction bytes, relocations, function symbols, .BTF.ext words): the
same functions, the same relocation effects, the same error and message.
"""

from __future__ import annotations

import random
import re
import struct
from collections.abc import Iterator

import pytest

from loader import elf
from loader.asm.instruction import decode_slots
from loader.collection import linker, load_collection_spec, reader
from loader.collection import programs as programs_mod
from loader.collection.datasec import load_data_sections
from loader.collection.externs import load_externs
from loader.collection.maps import load_btf_maps, load_legacy_maps
from loader.collection.objfile import Kind, ObjectFile
from loader.collection.relocations import Relocator
from loader.collection.structops import load_struct_ops
from loader.errors import LoaderError, RelocationError

_INLINE_KINDS = ("_BTF_MAPS", "_LEGACY_MAPS", "_STRUCT_OPS", "_DATA", "_PROGRAM", "_UNDEF")


class _NoStructs(dict[int, object]):
    """A _LINE_STRUCTS table that never has the answer: line records always go
    through _check_packed."""

    def get(self, key: int, default: object = None) -> object:
        return default


def _outcome(data: bytes) -> str:
    try:
        spec = load_collection_spec(data)
        parts = []
        for progs in (spec.programs, spec.functions):
            for name, prog in progs.items():
                parts.append(f"{name} {prog!r}")
    except LoaderError as exc:
        return f"ERR {type(exc).__name__}: {exc}"
    return "OK " + "\n".join(parts)


def _careful(data: bytes) -> str:
    with pytest.MonkeyPatch.context() as mp:
        for name in _INLINE_KINDS:
            mp.setattr(programs_mod, name, object())
        mp.setattr(programs_mod, "_LINE_STRUCTS", {"<": _NoStructs(), ">": _NoStructs()})
        mp.setattr(programs_mod, "_INLINE_SHAPES", False)
        return _outcome(data)


def _mutants(data: bytes, rng: random.Random, count: int) -> Iterator[bytes]:
    ef = elf.ELFFile(data)
    bo = ef.byte_order
    progs = [s for s in ef.sections if s.is_executable and s.size >= 8]
    rels = [r for s in progs if (r := ef.rel_section(s)) is not None and r.size >= 16]
    ext = ef.section_by_name(".BTF.ext")
    symtab = ef.symtab
    assert symtab is not None
    edges = []
    for sec in progs:
        offsets, targets = ef.relocation_targets(sec)
        for off, index in zip(offsets, targets, strict=True):
            sym = ef.symbols[index]
            if 0 < sym.shndx < len(ef.sections) and off + 8 <= sec.size:
                edges.append((sec.offset + off, ef.sections[sym.shndx].size - sym.value))
    # Function symbols, and the symbols program relocations refer to.
    in_progs = [sym.index for sym in ef.symbols if any(sym.shndx == s.index for s in progs)]
    in_progs += [sym for s in progs for sym in ef.relocation_targets(s)[1]]
    for _ in range(count):
        b = bytearray(data)
        for _k in range(rng.randint(1, 2)):
            what = rng.random()
            if what < 0.4 and progs:
                sec = rng.choice(progs)
                at = sec.offset + 8 * rng.randrange(sec.size // 8)
                pick = rng.randrange(4)
                if pick == 0:
                    b[at] = rng.choice((0x85, 0x18, 0x95, 0x07, rng.randrange(256)))
                elif pick == 1:
                    src, dst = rng.choice((0, 1, 1, 2, 4, rng.randrange(16))), rng.randrange(2)
                    b[at + 1] = src << 4 | dst if bo == "<" else dst << 4 | src
                else:
                    struct.pack_into(bo + "i", b, at + 4, rng.choice(
                        (0, -1, 1, 2, 8, rng.randrange(-40, 40), 0x7FFFFFFF)))
            elif what < 0.55 and edges:
                # A reference near the end of its target (data offsets' bound).
                at, room = rng.choice(edges)
                struct.pack_into(bo + "i", b, at + 4, room + rng.choice((-1, 0, 1, 4, 8)))
            elif what < 0.7 and rels:
                rel = rng.choice(rels)
                entry = rel.offset + 16 * rng.randrange(rel.size // 16)
                if rng.random() < 0.5:
                    off = struct.unpack_from(bo + "Q", b, entry)[0]
                    struct.pack_into(bo + "Q", b, entry, max(0, off + rng.choice((-8, 8, 16, 4))))
                else:
                    info = struct.unpack_from(bo + "Q", b, entry + 8)[0]
                    sym = rng.randrange(symtab.size // elf.SYM_SIZE)
                    struct.pack_into(bo + "Q", b, entry + 8, sym << 32 | (info & 0xFFFFFFFF))
            elif what < 0.85 and in_progs:
                entry = symtab.offset + elf.SYM_SIZE * rng.choice(in_progs)
                field = rng.choice((4, 8, 16))
                if field == 4:
                    b[entry + 4] = rng.choice((0x12, 0x02, 0x10, 0x11, 0x22, 0x03, 0x01, 0x00,
                                               0x21))
                else:
                    old = struct.unpack_from(bo + "Q", b, entry + field)[0]
                    struct.pack_into(bo + "Q", b, entry + field,
                                     max(0, old + rng.choice((-16, -8, 8, 16, 4))))
            elif ext is not None and ext.size > 32:
                at = ext.offset + 4 * rng.randrange(6, ext.size // 4)
                old = struct.unpack_from(bo + "I", b, at)[0]
                struct.pack_into(bo + "I", b, at, (old + rng.choice((8, -8, 4, 16))) & 0xFFFFFFFF)
        yield bytes(b)


def _program_objects(corpus_objects):
    out = []
    for path in corpus_objects:
        data = path.read_bytes()
        if any(s.is_executable for s in elf.ELFFile(data).sections):
            out.append((path.name, data))
    assert out
    return out


def test_corpus_inline_equals_careful(corpus_objects):
    for name, data in _program_objects(corpus_objects):
        fast = _outcome(data)
        assert fast.startswith("OK"), name
        assert fast == _careful(data), name


@pytest.mark.parametrize("seed", range(4))
def test_mutants_inline_equal_careful(corpus_objects, seed):
    rng = random.Random(seed)
    outcomes = set()
    for name, data in _program_objects(corpus_objects):
        for i, mutant in enumerate(_mutants(data, rng, 20)):
            fast = _outcome(mutant)
            assert fast == _careful(mutant), f"{name} mutant {seed}/{i}"
            outcomes.add("OK" if fast.startswith("OK") else fast.split(":", 1)[0])
    assert "OK" in outcomes and len(outcomes) > 2


def _opened(data: bytes):
    ef = elf.ELFFile(data)
    btf, ext, packed = reader._load_btf(ef)
    obj = ObjectFile(ef, btf)
    maps: dict = {}
    load_legacy_maps(obj, maps)
    load_btf_maps(obj, maps)
    load_struct_ops(obj, maps)
    load_data_sections(obj, maps, {})
    externs: dict = {}
    load_externs(obj, maps, externs)
    return obj, Relocator(obj, maps, externs), ext, packed


def test_corpus_relocations_are_what_resolve_says(corpus_objects):
    # Every relocation recognised inline records what Relocator.resolve returns.
    seen = set()
    for name, data in _program_objects(corpus_objects):
        obj, relocator, ext, packed = _opened(data)
        functions = programs_mod.load_functions(obj, relocator, ext, packed)
        fixes = {}
        for fn in functions.values():
            fixes[fn.section] = dict(fn._code.fixes)
        bo = obj.elf.byte_order
        unpack = struct.Struct(bo + "BBhi").unpack_from
        for osec in obj.sections_of(Kind.PROGRAM):
            raw = bytes(osec.section.data())
            for off, sym in osec.relocations.items():
                opcode, regs, _, imm = unpack(raw, off)
                src = regs >> 4 if bo == "<" else regs & 0xF
                if opcode == 0x18:
                    imm = (imm & 0xFFFFFFFF) | (unpack(raw, off + 8)[3] << 32)
                want = relocator.resolve(osec, off, opcode, src, imm, sym)
                assert fixes[osec.name][off] == want, (name, osec.name, off)
                seen.add(obj.by_index[sym[7]].kind)
    assert {Kind.BTF_MAPS, Kind.DATA, Kind.PROGRAM, Kind.UNDEF} <= seen


def test_corpus_one_function_sections_match_split(corpus_objects):
    # The one-function shortcut builds what _split would.
    checked = 0
    for name, data in _program_objects(corpus_objects):
        obj, relocator, ext, packed = _opened(data)
        functions = programs_mod.load_functions(obj, relocator, ext, packed)
        for osec in obj.sections_of(Kind.PROGRAM):
            mine = [fn for fn in functions.values() if fn._code.symbols is osec.symbols]
            if (len(mine) != 1 or mine[0].section_offset
                    or mine[0].insn_slots * 8 != osec.section.size):
                continue
            code = mine[0]._code
            split, starts, ends, tiled = programs_mod._split(
                osec, code, osec.section.size, mine[0].license, mine[0].kernel_version)
            fields = ("name", "section", "type", "attach_type", "flags", "attach_to",
                      "license", "kernel_version", "insn_slots", "byte_order", "linked",
                      "section_offset", "autoload", "global_binding", "_index", "_callees")
            assert [getattr(split[0], f) for f in fields] == [
                getattr(mine[0], f) for f in fields if f != "_callees"] + [()], (name, osec.name)
            assert code.function_bounds() == [(0, len(code.decoded()))]
            assert (starts, ends, tiled) == ([0], [osec.section.size], True)
            checked += 1
    assert checked


def test_corpus_ld_slots_are_the_decoders(corpus_objects):
    # The slots made from the second halves found at open are the ld_imm64s the
    # decoder finds.
    checked = 0
    for _name, data in _program_objects(corpus_objects):
        obj, relocator, ext, packed = _opened(data)
        functions = programs_mod.load_functions(obj, relocator, ext, packed)
        for fn in functions.values():
            code = fn._code
            assert code.lds == decode_slots(code.raw, code.byte_order)[1]
            checked += bool(code.lds)
    assert checked


def _relative_calls_by_pattern(osec, code):
    # The reference: every match of the bpf2bpf call pattern over the raw
    # bytes, at a slot start, without a relocation, not a second half.
    pattern = programs_mod._PSEUDO_CALL_LE if code.byte_order == "<" else (
        programs_mod._PSEUDO_CALL_BE)
    i32 = struct.Struct(code.byte_order + "i").unpack_from
    out = []
    for match in pattern.finditer(code.raw):
        off = match.start()
        if off & 7 or off in osec.relocations or off in code.halves:
            continue
        imm = i32(code.raw, off + 4)[0]
        target = osec.symbols.get(off + (imm + 1) * 8)
        out.append((off, None if target is None else target[1]))
    return out


def test_relative_calls_are_the_patterns_slots(corpus_objects):
    # The relative-call finder walks the call opcodes of the slots: it finds
    # the slot-aligned matches of the bpf2bpf call pattern (mutants add and
    # remove calls, change src and imm), in order, and raises at the first
    # one with no function at its target.
    checked = 0
    for obj, osec, raw, halves, cut in _mutant_code(corpus_objects, random.Random(11), 40):
        if cut:
            continue  # an ld_imm64 without its second half
        code = programs_mod.SectionCode(raw, obj.elf.byte_order, halves, osec.symbols)
        want = _relative_calls_by_pattern(osec, code)
        calls: list = []
        bad = next((off for off, ref in want if ref is None), None)
        try:
            programs_mod._resolve_relative_calls(osec, raw, raw[0::8], code, calls)
        except RelocationError as exc:
            assert bad is not None and f"at offset {bad} " in str(exc)
            checked += 1
            continue
        assert bad is None
        assert calls == want
        checked += bool(want)
    assert checked > 5


def _mutant_code(corpus_objects, rng: random.Random, count: int):
    """(obj, osec, raw, halves, cut) for each code section of whole slots of each
    corpus program object and ``count`` of its mutants that open: ``halves`` the
    offsets of ld_imm64 second halves, ``cut`` whether the last slot starts an
    ld_imm64 with no second half."""
    for _name, data in _program_objects(corpus_objects):
        for mutant in [data, *_mutants(data, rng, count)]:
            try:
                obj, _relocator, _ext, _packed = _opened(mutant)
            except LoaderError:
                continue
            for osec in obj.sections_of(Kind.PROGRAM):
                raw = obj.elf.section_bytes(osec.section.index)
                if len(raw) % 8:
                    continue
                codes = raw[0::8]
                halves = set()
                ld = codes.find(0x18)
                while 0 <= ld < len(codes) - 1:
                    halves.add(8 * ld + 8)
                    ld = codes.find(0x18, ld + 2)
                yield obj, osec, raw, halves, ld >= 0


class _Fn:
    """What linker.link reads of a function's ProgramSpec."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._callees: list[str] = []
        self.section = name


def _random_graph(rng, most, calls, undefined, most_calls):
    """Up to ``most`` functions f0, f1, ...; each calls anything (itself, repeats)
    with probability ``calls``, up to ``most_calls`` times, naming up to
    ``undefined`` functions past the defined ones."""
    count = rng.randint(1, most)
    functions = {f"f{i}": _Fn(f"f{i}") for i in range(count)}
    for fn in functions.values():
        if rng.random() < calls:
            fn._callees = [f"f{rng.randrange(count + undefined)}"
                           for _ in range(rng.randint(1, most_calls))]
    return functions


def _reference_link(program, functions):
    # libbpf's order, walked recursively with the repeats: the first reference
    # to a function not yet appended appends it and walks it at once.
    seen = {program.name}
    order = []

    def walk(fn):
        for name in fn._callees:
            if name not in seen:
                seen.add(name)
                order.append(functions[name])
                walk(functions[name])

    walk(program)
    return order


def _reference_link_error(program, functions):
    # The error of the walk that checks each function's whole callee list
    # (deduplicated, in order) when the function is reached, before walking
    # any of it; None when every reached callee is defined.
    seen = {program.name}

    def walk(fn):
        for name in dict.fromkeys(fn._callees):
            if name not in functions:
                return (f"section {fn.section}: function {fn.name!r} calls {name!r}, "
                        f"which is not defined in this object")
        for name in fn._callees:
            if name not in seen:
                seen.add(name)
                found = walk(functions[name])
                if found is not None:
                    return found
        return None

    return walk(program)


def test_link_undefined_callee_error_is_the_list_walks(corpus_objects):
    # The linker walks the callee lists as collected and, on a name nothing
    # defines, hands over to the walk that checks each list before walking it:
    # the error is that walk's (the first undefined name of the first list
    # reached), not the first undefined name the lazy walk meets.
    rng = random.Random(7)
    raised = 0
    for _ in range(3000):
        # (Two names past the defined ones: calls to undefined functions.)
        functions = _random_graph(rng, 6, 0.7, 2, 4)
        for fn in functions.values():
            want = _reference_link_error(fn, functions)
            try:
                got = linker.link(fn, functions)
            except RelocationError as exc:
                assert str(exc) == want
                raised += 1
            else:
                assert want is None
                assert got == _reference_link(fn, functions)
    assert raised > 100


def test_link_order_matches_reference_walk(corpus_objects):
    # The linker's shortcut (callees that call nothing) and its explicit-stack
    # walk give libbpf's depth-first order, over random call graphs with
    # repeats, self-calls and cycles, and over the corpus.
    rng = random.Random(5)
    for _ in range(3000):
        functions = _random_graph(rng, 7, 0.6, 0, 5)
        for fn in functions.values():
            got = linker.link(fn, functions)
            assert got == _reference_link(fn, functions)
    for _name, data in _program_objects(corpus_objects):
        obj, relocator, ext, packed = _opened(data)
        functions = programs_mod.load_functions(obj, relocator, ext, packed)
        for fn in functions.values():
            assert linker.link(fn, functions) == _reference_link(fn, functions)


def _callees_by_range(fn):
    # The reference: the functions referenced (bpf2bpf calls, callbacks) from
    # inside fn's byte range, in offset order, as the fixes record them.
    code = fn._code
    start = fn.section_offset
    end = start + fn.insn_slots * 8
    found = sorted(
        (off, ref) for off, (src, _imm, ref) in code.fixes
        if (code.raw[off] == programs_mod._CALL and src == programs_mod._PSEUDO_CALL)
        or (code.raw[off] == programs_mod._LD_IMM64 and src == programs_mod._PSEUDO_FUNC))
    return [ref for off, ref in found if start <= off < end]


@pytest.mark.parametrize("seed", range(3))
def test_callees_are_the_calls_in_each_function(corpus_objects, seed):
    # In a section of several functions, each function's callees are the
    # calls within its range (the walk over the sorted calls looks a function
    # up once per run of calls; mutants move function symbols and calls).
    rng = random.Random(100 + seed)
    checked = 0
    for _name, data in _program_objects(corpus_objects):
        for mutant in [data, *_mutants(data, rng, 20)]:
            try:
                opened = _opened(mutant)
                functions = programs_mod.load_functions(*opened)
            except LoaderError:
                continue
            by_code: dict[int, list] = {}
            for fn in functions.values():
                by_code.setdefault(id(fn._code), []).append(fn)
            for fns in by_code.values():
                if len(fns) < 2:
                    continue
                for fn in fns:
                    assert list(fn._callees) == _callees_by_range(fn), fn.name
                    checked += bool(fn._callees)
    assert checked


@pytest.mark.parametrize("little", [True, False])
def test_lines_fit_is_the_record_by_record_check(little):
    # _lines_fit (column-wise: max, translated low bytes, one set operation)
    # says yes exactly when every insn_off is below the end, a multiple of 8
    # and not a second half.
    rng = random.Random(5 if little else 6)
    bo = "<" if little else ">"
    for _ in range(3000):
        end = 8 * rng.randrange(1, 40)
        count = rng.randrange(1, 12)
        offs = tuple(rng.choice((8 * rng.randrange(end // 8), rng.randrange(end + 16),
                                 end, end + 8, 0x100 + 8 * rng.randrange(4),
                                 0xFFFFFFF8, 0x7FFFFFFF)) for _ in range(count))
        packed = b"".join(struct.pack(bo + "IIII", off, 1, 2, 3) for off in offs)
        halves = frozenset(rng.sample(range(8, end + 8, 8), min(end // 8, rng.randrange(3))))
        want = all(off < end and not off % 8 and off not in halves for off in offs)
        assert programs_mod._lines_fit(offs, packed, end, halves, little) == want, (
            offs, end, halves)


@pytest.mark.parametrize("seed", range(3))
def test_relative_call_filter_misses_no_call(corpus_objects, seed):
    # The filter in front of the relative-call finder (a search for one match
    # when no call is relocated, else a count of matches) lets through every
    # section the finder would find something in: loading with a pattern that
    # matches everywhere (the finder always runs) gives the same outcome.
    anything = re.compile(b"(?s)..")
    rng = random.Random(200 + seed)
    for name, data in _program_objects(corpus_objects):
        for i, mutant in enumerate([data, *_mutants(data, rng, 20)]):
            with pytest.MonkeyPatch.context() as mp:
                mp.setattr(programs_mod, "_PSEUDO_CALL_LE", anything)
                mp.setattr(programs_mod, "_PSEUDO_CALL_BE", anything)
                want = _outcome(mutant)
            assert _outcome(mutant) == want, f"{name} mutant {seed}/{i}"


@pytest.mark.parametrize("seed", range(3))
def test_split_tiled_is_starts_at_ends(corpus_objects, seed):
    # _split's tiled (noted in its walk) is whether the first function starts
    # at 0 and each other where the one before ends; mutants move and resize
    # function symbols (gaps, overlaps, shared ends).
    seen = set()
    for obj, osec, raw, halves, _cut in _mutant_code(corpus_objects, random.Random(300 + seed),
                                                     30):
        if not osec.symbols:
            continue
        code = programs_mod.SectionCode(raw, obj.elf.byte_order, halves, osec.symbols)
        split = programs_mod._split(osec, code, len(raw))
        if split is None:
            seen.add(None)
            continue
        _funcs, starts, ends, tiled = split
        assert tiled == (not starts[0] and ends[:-1] == starts[1:])
        seen.add(tiled)
    assert seen == {None, True, False}
