"""The fast paths of the fixed per-load work (ELF symbols, the DATASEC fix-up,
the DATASEC index, Section building) give exactly what the careful paths give:
the same values, the same error, message and raising function.

Each test forces the other path (a threshold or a memo monkeypatched away) or
compares with a reference written the careful way, over the corpus and
deterministic mutants of the bytes the fast path reads.
"""

from __future__ import annotations

import random
import struct
import traceback

import pytest

from loader import elf as elf_mod
from loader.btf import elf as btf_elf_mod
from loader.btf.elf import btf_section_bytes, fixup_datasecs, parse_elf
from loader.btf.spec import open_raw
from loader.btf.strings import StringTable
from loader.elf import ELFFile
from loader.errors import ELFError, LoaderError

from .test_btf_fastpaths import _fixup_mutants, _reference_fixup


def _fast_and_careful(read, blob):
    """The outcome of ``read(blob)`` as the loader runs it, then with
    every ELF fast path switched off (``_CAREFUL``)."""
    fast = _outcome(read, blob)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(elf_mod, "_CAREFUL", True)
        careful = _outcome(read, blob)
    return fast, careful


def _outcome(fn, *args, **kwargs):
    """("OK", value) or ("ERR", class, message, function that raised)."""
    try:
        return ("OK", fn(*args, **kwargs))
    except LoaderError as exc:
        raiser = traceback.extract_tb(exc.__traceback__)[-1].name
        return ("ERR", type(exc).__name__, str(exc), raiser)


# -- ELF symbols ---------------------------------------------------------------------


def _symtab_mutants(data: bytes, rng: random.Random, count: int):
    """Mutants of the symbol records (names, st_info, st_shndx) and of the
    symbol table's header fields."""
    ef = ELFFile(data)
    if ef.symtab_index < 0:
        return
    bo = ef.byte_order
    symtab = ef.symtab
    assert symtab is not None
    nsyms = symtab.size // elf_mod.SYM_SIZE
    nsec = len(ef.section_names)
    strtab_size = ef.section_sizes[symtab.link]
    shdr = ef._shoff + elf_mod.SHDR_SIZE * symtab.index
    for _ in range(count):
        b = bytearray(data)
        what = rng.random()
        if what < 0.35:
            i = rng.randrange(nsyms)
            struct.pack_into(bo + "I", b, symtab.offset + 24 * i, rng.choice([
                0, 1, 4, strtab_size - 1, strtab_size, strtab_size + 7, rng.randrange(strtab_size),
            ]))
        elif what < 0.7:
            i = rng.randrange(nsyms)
            struct.pack_into(bo + "H", b, symtab.offset + 24 * i + 6, rng.choice([
                0, 1, nsec - 1, nsec, elf_mod.SHN_ABS, elf_mod.SHN_COMMON, elf_mod.SHN_XINDEX,
                elf_mod.SHN_LORESERVE, 0xFF00 - 1, rng.randrange(nsec + 2),
            ]))
        elif what < 0.8:
            i = rng.randrange(nsyms)
            b[symtab.offset + 24 * i + 4] = rng.randrange(256)
            b[symtab.offset + 24 * i + 5] = rng.randrange(256)
        else:
            # sh_link (u32 at 40), sh_info (u32 at 44), sh_size (u64 at 32),
            # sh_entsize (u64 at 56) of the symbol table.
            field, fmt, choices = rng.choice([
                (40, "I", [0, 1, symtab.link, nsec - 1, nsec, symtab.index]),
                (44, "I", [0, 1, nsyms, nsyms + 1, 0xFFFFFFFF]),
                (32, "Q", [0, 24, symtab.size - 1, symtab.size - 24, symtab.size + 24]),
                (56, "Q", [0, 16, 24, 25]),
            ])
            struct.pack_into(bo + fmt, b, shdr + field, rng.choice(choices))
        yield bytes(b)


def _symbols(data: bytes):
    ef = ELFFile(data)
    rows = ef.symbol_rows
    symbols = ef.symbols
    # Plain tuples, the Symbols' fields in the same order.
    assert all(type(row) is tuple for row in rows)
    assert [tuple(s) for s in symbols] == rows and all(type(s) is elf_mod.Symbol for s in symbols)
    return symbols, ef.symbol_names


@pytest.mark.parametrize("seed", [1, 2])
def test_symbol_readers_agree(corpus_objects, seed):
    """The column reader and the careful per-record reader give the same
    symbols (and symbol rows and names) and the same errors."""
    rng = random.Random(seed)
    compared = errors = 0
    for path in corpus_objects:
        data = path.read_bytes()
        for blob in [data, *_symtab_mutants(data, rng, 40)]:
            try:
                ELFFile(blob)
            except ELFError:
                continue
            columns, careful = _fast_and_careful(_symbols, blob)
            assert columns == careful, (path.name, columns[1:], careful[1:])
            compared += 1
            errors += columns[0] == "ERR"
    assert compared > 500 and errors > 50


def _reference_symtab_checks(ef: ELFFile) -> None:
    """The symbol table header checks, field by field from the Section."""
    symtab = ef.symtab
    assert symtab is not None
    nsec = len(ef.section_names)
    where = f"section {symtab.index} ({symtab.name})"
    if symtab.entsize != elf_mod.SYM_SIZE:
        raise ELFError(f"{where}: sh_entsize {symtab.entsize} is not {elf_mod.SYM_SIZE}")
    if symtab.size % elf_mod.SYM_SIZE:
        raise ELFError(f"{where}: sh_size {symtab.size} is not a multiple of {elf_mod.SYM_SIZE}")
    count = symtab.size // elf_mod.SYM_SIZE
    if symtab.info > count:
        raise ELFError(f"{where}: sh_info {symtab.info} exceeds symbol count {count}")
    if symtab.link == 0 or symtab.link >= nsec:
        raise ELFError(f"{where}: sh_link {symtab.link} out of range ({nsec} sections)")
    link_type = ef.section_types[symtab.link]
    if link_type != elf_mod.SHT_STRTAB:
        raise ELFError(
            f"{where}: sh_link {symtab.link} names section of type {link_type}, not SHT_STRTAB"
        )


def test_symtab_header_checked_from_columns(corpus_objects):
    """The header checks made from the section table's columns raise what the
    field-by-field checks raise (and pass where they pass)."""
    rng = random.Random(7)
    faults = 0
    for path in corpus_objects:
        data = path.read_bytes()
        for blob in [data, *_symtab_mutants(data, rng, 60)]:
            try:
                ef = ELFFile(blob)
            except ELFError:
                continue
            try:
                _reference_symtab_checks(ELFFile(blob))
                want = None
            except ELFError as exc:
                want = str(exc)
                faults += 1
            got = _outcome(lambda ef=ef: ef.symbols)
            if want is None:
                assert got[0] == "OK" or "sh_" not in got[2], (path.name, got)
            else:
                assert got == ("ERR", "ELFError", want, "_read_symbols"), (path.name, got, want)
    assert faults > 20


# -- ELF section table ---------------------------------------------------------------


def _section_table_mutants(data: bytes, rng: random.Random, count: int):
    """Mutants of what ELFFile checks across the whole section table: section
    names (offsets into the string table, and its bytes), offsets and sizes,
    SHT_REL and SHT_SYMTAB types and the REL sections' targets."""
    ef = ELFFile(data)
    bo = ef.byte_order
    nsec = len(ef.section_names)
    strtab = ef.section(ef.shstrndx)
    offs = sorted(set(ef._words[0::16].tolist()))
    rels = [i for i, t in enumerate(ef.section_types) if t == elf_mod.SHT_REL]
    for _ in range(count):
        b = bytearray(data)
        for _k in range(rng.randint(1, 2)):
            index = rng.randrange(nsec)
            shdr = ef._shoff + elf_mod.SHDR_SIZE * index
            what = rng.random()
            if what < 0.35:
                # sh_name: another name, the tail of one, the table's end or past it.
                off = rng.choice(offs)
                struct.pack_into(bo + "I", b, shdr, rng.choice([
                    off, off + 1, off + 3, off + 4, off + 5, strtab.size - 1, strtab.size,
                    strtab.size + 9, rng.randrange(strtab.size), 0,
                ]))
            elif what < 0.5:
                # A string table byte: a NUL gone, a NUL more, a non-ASCII byte.
                pos = strtab.offset + rng.randrange(strtab.size)
                b[pos] = rng.choice([0, 0x41, 0xC3, 0xFF, 0x2E])
            elif what < 0.7:
                # sh_offset / sh_size: inside, at the end of, or past the file.
                field = rng.choice([24, 32])
                struct.pack_into(bo + "Q", b, shdr + field, rng.choice([
                    0, len(data) - 1, len(data), len(data) + 1, 1 << 63, rng.randrange(len(data)),
                ]))
                if rng.random() < 0.3:
                    struct.pack_into(bo + "I", b, shdr + 4, rng.choice([
                        elf_mod.SHT_NOBITS, elf_mod.SHT_NULL, elf_mod.SHT_PROGBITS,
                    ]))
            elif what < 0.85 and rels:
                # A REL section's sh_info: another target, 0, out of range, a duplicate.
                rel = rng.choice(rels)
                struct.pack_into(bo + "I", b, ef._shoff + elf_mod.SHDR_SIZE * rel + 44, rng.choice([
                    0, 1, nsec - 1, nsec, 0xFFFF, rng.randrange(nsec),
                    ef._words[16 * rng.choice(rels) + 11],
                ]))
            else:
                # sh_type: a second SHT_SYMTAB, a REL more or less.
                struct.pack_into(bo + "I", b, shdr + 4, rng.choice([
                    elf_mod.SHT_SYMTAB, elf_mod.SHT_REL, elf_mod.SHT_PROGBITS, elf_mod.SHT_STRTAB,
                ]))
        yield bytes(b)


def _section_table(data: bytes):
    ef = ELFFile(data)
    return (ef.section_names, ef.rel_sections, ef.symtab_index, ef.section_types,
            ef.section_sizes, [bytes(s.data()) for s in ef.sections])


@pytest.mark.parametrize("seed", [1, 2])
def test_section_table_paths_agree(corpus_objects, seed):
    """ELFFile's whole-table checks (names by one map and tails, bounds by one
    max, RELs and the symbol table by counts) accept and refuse exactly what
    the per-section walks do, with the same message and raising function."""
    rng = random.Random(seed)
    compared = errors = 0
    for path in corpus_objects:
        data = path.read_bytes()
        for blob in [data, *_section_table_mutants(data, rng, 40)]:
            fast, careful = _fast_and_careful(_section_table, blob)
            assert fast == careful, (path.name, fast[1:], careful[1:])
            compared += 1
            errors += fast[0] == "ERR"
    assert compared > 500 and errors > 100


# -- DATASEC fix-up ------------------------------------------------------------------


def _symbol_mutants(data: bytes, rng: random.Random, count: int):
    """Mutants that move a symbol to another section or give it another
    symbol's name: the by-name lookup of a DATASEC's VARs must still find the
    first symbol of that name in that section."""
    ef = ELFFile(data)
    symtab = ef.symtab
    if symtab is None or symtab.size < 48:
        return
    nsyms = symtab.size // 24
    nsec = len(ef.section_names)
    for _ in range(count):
        b = bytearray(data)
        for _k in range(rng.randint(1, 3)):
            i = rng.randrange(1, nsyms)
            if rng.random() < 0.5:
                struct.pack_into("<H", b, symtab.offset + 24 * i + 6, rng.randrange(1, nsec))
            else:
                j = rng.randrange(1, nsyms)
                b[symtab.offset + 24 * i: symtab.offset + 24 * i + 4] = (
                    data[symtab.offset + 24 * j: symtab.offset + 24 * j + 4])
        yield bytes(b)


def _words_of(spec):
    return spec.index[0].tobytes()


def test_fixup_paths_match_reference(corpus_objects):
    """Patched in place or in a copy, VARs found by name or through a dict per
    section: the words and the errors of the decoding reference."""
    rng = random.Random(43)
    compared = errors = 0
    for path in corpus_objects:
        data = path.read_bytes()
        ef = ELFFile(data)
        if ef.section_by_name(".BTF") is None or ef.byte_order != "<":
            continue
        blobs = [data, *_fixup_mutants(data, rng, 25), *_symbol_mutants(data, rng, 25)]
        for blob in blobs:
            def run(in_place, blob=blob):
                elf = ELFFile(blob)
                return _words_of(fixup_datasecs(open_raw(btf_section_bytes(elf)), elf,
                                                in_place=in_place))

            def reference(blob=blob):
                elf = ELFFile(blob)
                return _reference_fixup(open_raw(btf_section_bytes(elf)), elf)

            want = _outcome(reference)
            want = want[:3] if want[0] == "ERR" else want
            for in_place in (False, True):
                got = _outcome(run, in_place)
                assert (got[:3] if got[0] == "ERR" else got) == want, (path.name, in_place)
                with pytest.MonkeyPatch.context() as mp:
                    mp.setattr(btf_elf_mod, "_FEW_VARS", -1)
                    by_dict = _outcome(run, in_place)
                assert by_dict == got, (path.name, in_place)
            compared += 1
            errors += want[0] == "ERR"
    assert compared > 200 and errors > 20


def test_parse_elf_in_place_is_a_fresh_spec(corpus_objects):
    """parse_elf patches its own spec: same words as a copy, and no type
    decoded before the patch survives it."""
    for path in corpus_objects:
        data = path.read_bytes()
        ef = ELFFile(data)
        if ef.section_by_name(".BTF") is None:
            continue
        spec = parse_elf(ELFFile(data))
        copy = fixup_datasecs(open_raw(btf_section_bytes(ef)), ef)
        assert _words_of(spec) == _words_of(copy)
        assert spec.types() == copy.types()


# -- DATASEC index, Sections -----------------------------------------------------------


def test_datasec_names_inline_match_get(corpus_objects, monkeypatch):
    """DATASEC names read inline into the string memo are what get() reads."""
    fast = {}
    for path in corpus_objects:
        ef = ELFFile(path.read_bytes())
        if ef.section_by_name(".BTF") is not None:
            spec = open_raw(btf_section_bytes(ef))
            fast[path.name] = (spec.datasec_order(), spec.datasecs(),
                               [spec.strings.get(o) for o in spec.strings.memo() or {}])
    monkeypatch.setattr(StringTable, "memo", lambda self: None)
    for path in corpus_objects:
        ef = ELFFile(path.read_bytes())
        if ef.section_by_name(".BTF") is not None:
            spec = open_raw(btf_section_bytes(ef))
            assert (spec.datasec_order(), spec.datasecs()) == fast[path.name][:2]
    assert fast


def test_sections_at_matches_section(corpus_objects):
    for path in corpus_objects:
        data = path.read_bytes()
        ef, other = ELFFile(data), ELFFile(data)
        indices = list(range(len(ef.section_names)))[::-1]
        built = ef.sections_at(indices)
        for index, sec in zip(indices, built, strict=True):
            assert sec is ef.section(index)
            ref = other.section(index)
            assert (sec.index, sec.name, sec.type, sec.flags, sec.addr, sec.offset, sec.size,
                    sec.link, sec.info, sec.addralign, sec.entsize) == (
                ref.index, ref.name, ref.type, ref.flags, ref.addr, ref.offset, ref.size,
                ref.link, ref.info, ref.addralign, ref.entsize)
            assert bytes(sec.data()) == ef.section_bytes(index)



def test_section_executable_matches_flags(corpus_objects):
    """section_executable (one byte per section, from sh_flags' lowest byte)
    says SHF_EXECINSTR exactly where the sh_flags column has it, in both byte
    orders, whatever else the flags hold."""
    rng = random.Random(3)
    for path in corpus_objects:
        data = path.read_bytes()
        ef = ELFFile(data)
        nsec = len(ef.section_names)
        for _ in range(20):
            b = bytearray(data)
            for _k in range(rng.randint(1, 4)):
                shdr = ef._shoff + elf_mod.SHDR_SIZE * rng.randrange(nsec)
                struct.pack_into(ef.byte_order + "Q", b, shdr + 8, rng.choice([
                    0, elf_mod.SHF_EXECINSTR, 0x6, 0x3, 0xFB, 0x4 << 8, 0x4 << 56,
                    rng.randrange(1 << 64),
                ]))
            mutant = ELFFile(bytes(b))
            assert list(mutant.section_executable) == [
                1 if flags & elf_mod.SHF_EXECINSTR else 0 for flags in mutant.section_flags
            ]

# -- section classification --------------------------------------------------------------


class _Everything(frozenset):
    def __contains__(self, item):
        return True


_NAMES = ["license", "version", "versions", "maps", "maps/m", "mapsx", ".maps", ".maps.x",
          ".struct_ops", ".struct_ops.link", ".strtab", ".addr_space.1", ".data", ".data.x",
          ".datax", ".rodata", ".rodata.str1.1", ".bss", ".bss.x", ".bssx", "lic", ".text",
          ".debug_info", ".BTF", ".symtab"]


def _renamed(data: bytes, rng: random.Random, count: int):
    """Mutants whose section names are overwritten in place with names the
    classification acts on (or nearly so)."""
    ef = ELFFile(data)
    strtab = ef.section(ef.shstrndx)
    offs = sorted({ef._words[16 * i] for i in range(1, len(ef.section_names))})
    for _ in range(count):
        b = bytearray(data)
        for _k in range(rng.randint(1, 3)):
            off = rng.choice(offs)
            room = data.find(b"\0", strtab.offset + off) - (strtab.offset + off)
            name = rng.choice([n for n in _NAMES if len(n) <= room] or [""]).encode()
            start = strtab.offset + off
            b[start:start + room] = name + bytes(room - len(name))
        yield bytes(b)


def _classified(data: bytes):
    from loader.collection.objfile import ObjectFile

    ef = ELFFile(data)
    obj = ObjectFile(ef, None)
    return ([(i, o.kind, o.section.name) for i, o in obj.by_index.items()],
            obj.license_index, obj.version_index, obj.text_index)


def test_name_heads_prefilter_is_invisible(corpus_objects, monkeypatch):
    """Looking only at sections whose first five characters are a head (and
    whose name is not one of the usual debug names) gives the classification
    (and the errors) of looking at every section."""
    from loader.collection import objfile

    rng = random.Random(5)
    blobs = [b for path in corpus_objects for b in [path.read_bytes(),
             *_renamed(path.read_bytes(), rng, 30)]]
    fast = [_outcome(_classified, b) for b in blobs]
    monkeypatch.setattr(objfile, "_NAME_HEADS", _Everything())
    monkeypatch.setattr(objfile, "_PLAIN_NAMES", frozenset())
    every = [_outcome(_classified, b) for b in blobs]
    assert fast == every
    kinds = {k for o in fast if o[0] == "OK" for _i, k, _n in o[1][0]}
    assert len(kinds) >= 5 and any(o[0] == "ERR" for o in fast)


def test_name_rules_memo_is_invisible(corpus_objects, monkeypatch):
    """Classifying with each name's rule remembered (objfile._RULES, warm from
    earlier loads) gives what working every rule out afresh gives, and a full
    memo (fuzzers' endless names) stops growing but still answers."""
    from loader.collection import objfile

    rng = random.Random(11)
    blobs = [b for path in corpus_objects for b in [path.read_bytes(),
             *_renamed(path.read_bytes(), rng, 10)]]
    warm = [_outcome(_classified, b) for b in blobs]
    monkeypatch.setattr(objfile, "_RULES", {})
    monkeypatch.setattr(objfile, "_RULES_MAX", 0)
    fresh = [_outcome(_classified, b) for b in blobs]
    assert objfile._RULES == {}
    assert fresh == warm
    assert any(o[0] == "ERR" for o in warm)
