"""The fast paths of BTF opening, the DATASEC fix-up and .BTF.ext parsing give
exactly what the careful paths give: the same values, the same error and message.

Each fast path handles the common case and hands anything unusual to the
careful code; these tests force the careful code and compare, over the corpus
and deterministic mutants of it.
"""

from __future__ import annotations

import random
import struct
import time

import pytest

from loader.btf import ext as ext_mod
from loader.btf import spec as spec_mod
from loader.btf.elf import btf_section_bytes
from loader.btf.ext import parse_ext, parse_ext_packed
from loader.btf.header import parse_header
from loader.btf.spec import open_raw
from loader.btf.strings import StringTable
from loader.elf import ELFFile
from loader.errors import LoaderError


def _outcome(fn, *args):
    try:
        return "OK", fn(*args)
    except LoaderError as exc:
        return "ERR", f"{type(exc).__name__}: {exc}"


def _corpus_btf(corpus_objects):
    out = []
    for path in corpus_objects:
        elf = ELFFile(path.read_bytes())
        if elf.section_by_name(".BTF") is None:
            continue
        ext = elf.section_by_name(".BTF.ext")
        out.append((path.name, elf.byte_order, btf_section_bytes(elf),
                    bytes(ext.data()) if ext is not None else None))
    assert out
    return out


def _mutants(blob, rng, count, start=0):
    u32 = struct.Struct("<I")
    for _ in range(count):
        b = bytearray(blob)
        for _k in range(rng.randint(1, 2)):
            off = start + rng.randrange(0, (len(b) - start) // 4) * 4
            if off + 4 > len(b):
                continue
            u32.pack_into(b, off, rng.choice([
                0, 1, 2, 7, 8, 15, 16, 17, 0xFFFF, 0x10000, 0xFFFFFFFF,
                rng.getrandbits(32), rng.randrange(0, 4096),
            ]))
        yield bytes(b)


# -- .BTF.ext ------------------------------------------------------------------------


def _describe_ext(blob, strings, packed):
    # A fresh copy of the table each time: its memo must not carry over.
    fresh = type(strings)(strings.raw)
    if packed:
        got = _outcome(parse_ext_packed, blob, "<", fresh)
        if got[0] == "OK":
            # Whatever stayed packed, decoded: what parse_ext gives.
            infos, lines = got[1]
            if isinstance(infos, ext_mod.PackedExtInfos):
                assert lines is infos.line_records
                infos = infos.unpacked("<")
            else:
                for name, records in lines.items():
                    assert name not in infos.line_infos
                    infos.line_infos[name] = ext_mod.decode_line_infos(records, "<", fresh)
            return ("OK", infos)
        return got
    return _outcome(parse_ext, blob, "<", fresh)


def _ext_cases(corpus_objects, per_object):
    rng = random.Random(2024)
    for _name, bo, btf, ext in _corpus_btf(corpus_objects):
        if ext is None or bo != "<":
            continue
        strings = open_raw(btf).strings
        yield ext, strings
        for blob in _mutants(ext, rng, per_object):
            yield blob, strings


@pytest.mark.parametrize("packed", [False, True])
def test_ext_fast_paths_match_careful(corpus_objects, monkeypatch, packed):
    cases = list(_ext_cases(corpus_objects, 60))
    fast = [_describe_ext(blob, strings, packed) for blob, strings in cases]
    # Every block through _blocks, every record decoded one by one.
    monkeypatch.setattr(ext_mod, "_packed", lambda *args: None)
    monkeypatch.setattr(ext_mod, "_walk", lambda *args: None)
    careful = [_describe_ext(blob, strings, packed) for blob, strings in cases]
    assert len(fast) > 100
    assert sum(f[0] == "ERR" for f in fast) > 20  # the mutants reach the error paths
    for i, (f, c) in enumerate(zip(fast, careful, strict=True)):
        assert f == c, i


def test_ext_column_checks_match_careful(corpus_objects, monkeypatch):
    # The byte-column check of line records, taken from any record count.
    cases = list(_ext_cases(corpus_objects, 30))
    monkeypatch.setattr(ext_mod, "_COLUMNS_MIN_RECORDS", 1)
    fast = [_describe_ext(blob, strings, True) for blob, strings in cases]
    monkeypatch.setattr(ext_mod, "_packed", lambda *args: None)
    monkeypatch.setattr(ext_mod, "_walk", lambda *args: None)
    # (The careful path shares _strings_ok: it takes max over the words there.)
    monkeypatch.setattr(ext_mod, "_COLUMNS_MIN_RECORDS", 1 << 30)
    careful = [_describe_ext(blob, strings, True) for blob, strings in cases]
    assert sum(f[0] == "ERR" for f in fast) > 10
    for i, (f, c) in enumerate(zip(fast, careful, strict=True)):
        assert f == c, i


def test_ext_packed_unless_unusual(corpus_objects):
    # Every corpus object takes the all-packed path.
    seen = 0
    for _name, bo, btf, ext in _corpus_btf(corpus_objects):
        if ext is None:
            continue
        infos, _ = parse_ext_packed(ext, bo, open_raw(btf).strings)
        assert isinstance(infos, ext_mod.PackedExtInfos), _name
        seen += 1
    assert seen


def _max_below(packed, limit, byte_order):
    fmt = struct.Struct(byte_order + "IIII")
    cols = [(w1, w2) for _, w1, w2, _ in fmt.iter_unpack(packed)]
    return all(w1 < limit and w2 < limit for w1, w2 in cols)


@pytest.mark.parametrize("byte_order", ["<", ">"])
def test_line_offset_columns_check(byte_order):
    rng = random.Random(7)
    fmt = struct.Struct(byte_order + "IIII")
    for _ in range(3000):
        limit = rng.choice([0, 1, 255, 256, 257, rng.randrange(0, 0x10000), 0xFFFF])
        near = [limit - 1, limit, limit + 1, limit + 255, limit + 256, limit ^ 0x10000,
                (limit & ~0xFF) | 0xFF, 0, 0xFFFFFFFF, rng.getrandbits(32)]
        recs = b"".join(
            fmt.pack(rng.getrandbits(32),
                     rng.choice(near + [rng.randrange(0, max(limit, 1))] * 6) & 0xFFFFFFFF,
                     rng.choice(near + [rng.randrange(0, max(limit, 1))] * 6) & 0xFFFFFFFF,
                     rng.getrandbits(32))
            for _ in range(rng.randint(1, 40)))
        assert ext_mod._columns_below(recs, limit, byte_order) == \
            _max_below(recs, limit, byte_order)


# -- opening -----------------------------------------------------------------------


def _open_outcome(blob):
    got = _outcome(open_raw, blob)
    if got[0] == "ERR":
        return got
    spec = got[1]
    words, offsets = spec.index
    return ("OK", spec.header, list(offsets), spec.datasec_order(), words.tobytes())


def test_index_walk_memo_is_invisible(corpus_objects, monkeypatch):
    rng = random.Random(99)
    blobs = []
    for _name, _bo, btf, _ext in _corpus_btf(corpus_objects):
        blobs.append(btf)
        blobs.extend(_mutants(btf, rng, 40, start=24))
    warm = [_open_outcome(b) for b in blobs]
    # Cold: every walk starts with empty memos.
    cold = []
    for b in blobs:
        monkeypatch.setattr(spec_mod, "_STEPS", {})
        monkeypatch.setattr(spec_mod, "_STEPS_NOTING", {})
        cold.append(_open_outcome(b))
    assert sum(w[0] == "ERR" for w in warm) > 10
    assert warm == cold


def test_index_walk_notes_every_datasec(corpus_objects):
    for _name, _bo, btf, _ext in _corpus_btf(corpus_objects):
        spec = open_raw(btf)
        words, offsets = spec.index
        scanned = [i for i, pos in enumerate(offsets) if (words[pos + 1] >> 24) & 0x1F == 15]
        assert list(spec._datasec_idx) == scanned


def test_index_walk_without_noting_finds_the_same_datasecs(corpus_objects, monkeypatch):
    # Past NOTE_MAX_WORDS a walk notes no DATASECs (they are found by a scan).
    noted = [_open_outcome(btf) for _name, _bo, btf, _ext in _corpus_btf(corpus_objects)]
    monkeypatch.setattr(spec_mod, "NOTE_MAX_WORDS", 0)
    scanned = []
    for _name, _bo, btf, _ext in _corpus_btf(corpus_objects):
        assert open_raw(btf)._datasec_idx is None
        scanned.append(_open_outcome(btf))
    assert noted == scanned


def test_plain_header_fast_path_matches_checked_path(corpus_objects):
    for _name, _bo, btf, _ext in _corpus_btf(corpus_objects):
        fast = parse_header(btf)
        # The same blob with hdr_len 32 and zero layout fields takes the careful path.
        bo = fast.byte_order
        longer = bytearray(btf[:24] + bytes(8) + btf[24:])
        struct.pack_into(bo + "I", longer, 4, 32)
        careful = parse_header(bytes(longer))
        assert careful.hdr_len == 32
        assert (fast.byte_order, fast.type_off, fast.type_len, fast.str_off, fast.str_len,
                fast.layout_off, fast.layout_len) == \
            (careful.byte_order, careful.type_off, careful.type_len, careful.str_off,
             careful.str_len, careful.layout_off, careful.layout_len)


# -- DATASEC fix-up --------------------------------------------------------------------


def _reference_fixup(spec, elf):
    """The fix-up as the decoder sees it: each DATASEC decoded, each VAR's name
    looked up among its section's symbols (the first of a name winning)."""
    from array import array

    from loader.btf import types as t
    from loader.btf.elf import _layout_kconfig
    from loader.errors import BTFError

    words, offsets = spec.index
    patched = array("I", words)
    changed = False
    by_section = None
    for tid in sorted(i for ids in spec.datasecs().values() for i in ids):
        name = spec.name_of(tid)
        if name == ".ksyms":
            continue
        if name == ".kconfig":
            _layout_kconfig(spec, tid, patched)
            changed = True
            continue
        pos = offsets[tid - spec.first_type_id]
        if words[pos + 2] != 0:
            continue
        sec = elf.section_by_name(name)
        if sec is None:
            raise BTFError(f"DATASEC {name!r} (type id {tid}): no ELF section")
        if by_section is None:
            by_section = {}
            for sym in reversed(elf.symbols):
                by_section.setdefault(sym.shndx, {})[sym.name] = sym.value
        in_section = by_section.get(sec.index, {})
        ds = spec.type_by_id(tid)
        assert isinstance(ds, t.Datasec)
        for j, vsi in enumerate(ds.vars):
            var_name = spec.name_of(vsi.type)
            value = in_section.get(var_name)
            if value is None:
                raise BTFError(
                    f"DATASEC {name!r}: no symbol for VAR {var_name!r} (type id {vsi.type})")
            if value > 0xFFFFFFFF:
                raise BTFError(f"DATASEC {name!r}: symbol {var_name!r} value {value} does "
                               f"not fit a VAR offset (u32)")
            patched[pos + 4 + 3 * j] = value
        if sec.size > 0xFFFFFFFF:
            raise BTFError(f"DATASEC {name!r}: section size {sec.size} does not fit a u32")
        patched[pos + 2] = sec.size
        changed = True
    return patched.tobytes() if changed else words.tobytes()


def _fixup_mutants(data, rng, count):
    """Mutants of the DATASEC and VAR words of .BTF, of the VAR names' bytes and
    of the symbols' values, sections and names."""
    elf = ELFFile(data)
    sec = elf.section_by_name(".BTF")
    spec = open_raw(btf_section_bytes(elf))
    words, offsets = spec.index
    start = sec.offset + spec.header.hdr_len + spec.header.type_off
    str_start = sec.offset + spec.header.hdr_len + spec.header.str_off
    targets = []
    name_bytes = []
    for tid, _name in spec.datasec_order():
        pos = offsets[tid - 1]
        vlen = words[pos + 1] & 0xFFFF
        targets += range(pos, pos + 3 + 3 * vlen)
        for j in range(pos + 3, pos + 3 + 3 * vlen, 3):
            if 1 <= words[j] < spec.end_type_id:
                targets.append(offsets[words[j] - 1])
                name_off = words[offsets[words[j] - 1]]
                name_bytes += range(str_start + name_off,
                                    str_start + name_off + len(spec.name_of(words[j])) + 1)
    symtab = elf.symtab
    nsyms = symtab.size // 24 if symtab is not None else 0
    end, strl = spec.end_type_id, spec.header.str_len
    for _ in range(count):
        b = bytearray(data)
        roll = rng.random()
        if targets and roll < 0.6:
            w = rng.choice(targets)
            struct.pack_into("<I", b, start + 4 * w, rng.choice(
                [0, 1, end - 1, end, strl - 1, strl, 0x80000000, 0x0F000001,
                 rng.randrange(0, strl + 2), rng.randrange(0, end + 2), rng.getrandbits(32)]))
        elif name_bytes and roll < 0.7:
            # A name that is not UTF-8, cut short, or another name.
            b[rng.choice(name_bytes)] = rng.choice([0xFF, 0xC3, 0, ord("m"), ord("_")])
        elif nsyms >= 2 and roll < 0.85:
            # A symbol moved to another section, or named as another one is.
            i = rng.randrange(1, nsyms)
            if rng.random() < 0.5:
                struct.pack_into("<H", b, symtab.offset + 24 * i + 6,
                                 rng.randrange(1, len(elf.section_names)))
            else:
                other = symtab.offset + 24 * rng.randrange(1, nsyms)
                b[symtab.offset + 24 * i:symtab.offset + 24 * i + 4] = b[other:other + 4]
        elif nsyms >= 2:
            i = rng.randrange(1, nsyms)
            struct.pack_into("<Q", b, symtab.offset + 24 * i + 8, rng.choice(
                [0, 8, 0xFFFFFFFF, 0x100000000, rng.randrange(64)]))
        yield bytes(b)


def _type_names(spec):
    """Every type's name (None where it does not read)."""
    from loader.errors import BTFError

    out = []
    for tid in range(1, spec.end_type_id):
        try:
            out.append(spec.name_of(tid))
        except BTFError:
            out.append(None)
    return out


def test_fixup_matches_decoding_reference(corpus_objects):
    from loader.btf.elf import fixup_datasecs

    rng = random.Random(31)
    compared = errors = 0
    for path in corpus_objects:
        data = path.read_bytes()
        elf = ELFFile(data)
        if elf.section_by_name(".BTF") is None or elf.byte_order != "<":
            continue
        for blob in [data, *_fixup_mutants(data, rng, 80)]:
            # The names too: the fix-up stores the VAR names it reads in the
            # string table's memo, where later lookups find them.
            def ours(blob=blob):
                elf = ELFFile(blob)
                fixed = fixup_datasecs(open_raw(btf_section_bytes(elf)), elf)
                return fixed.index[0].tobytes(), _type_names(fixed)

            def reference(blob=blob):
                elf = ELFFile(blob)
                return (_reference_fixup(open_raw(btf_section_bytes(elf)), elf),
                        _type_names(open_raw(btf_section_bytes(elf))))

            got, want = _outcome(ours), _outcome(reference)
            assert got == want, (path.name, got[1] if got[0] == "ERR" else "",
                                 want[1] if want[0] == "ERR" else "")
            compared += 1
            errors += got[0] == "ERR"
    assert compared > 200 and errors > 20


def _fixup_object(types, symbols):
    """An object of a .data section (16 bytes), the given symbols and a .BTF of ``types``."""
    from loader.btf.encode import encode_types
    from loader.elfwrite import ObjectModel, SectionModel, SymbolModel, write_elf

    model = ObjectModel(
        sections=[SectionModel(".data", data=bytes(16)), SectionModel(".rodata", data=bytes(8)),
                  SectionModel(".BTF", flags=0, data=encode_types(types))],
        symbols=[SymbolModel(name, sec, value, 4) for name, sec, value in symbols])
    return write_elf(model)


@pytest.mark.parametrize("entry", [0, 2])
@pytest.mark.parametrize("symbols", [
    [("w", ".data", 4), ("v", ".data", 8)],
    [("", ".data", 12), ("w", ".data", 4), ("v", ".data", 8)],
    [("v", ".rodata", 4), ("v", ".data", 8), ("w", ".data", 4)],
    [("w", ".data", 4), ("v", ".data", 8), ("v", ".data", 12)],
    [("v", ".data", 0x100000000), ("w", ".data", 4)],
])
def test_fixup_entries_the_fast_loop_leaves_to_the_careful_one(entry, symbols):
    # Entry type id 0 (its name, "", is the careful path's to look up: as an
    # index into the own types it would read the last type's, "w"), a first
    # symbol of a name in another section, a later one of a name, a value past u32.
    from loader.btf import types as t
    from loader.btf.elf import fixup_datasecs

    types = [t.Int("int", 4, 1, 0, 32), t.Var("v", 1, 1),
             t.Datasec(".data", 0, (t.VarSecinfo(entry, 0, 4), t.VarSecinfo(2, 0, 4))),
             t.Var("w", 1, 1)]
    blob = _fixup_object(types, symbols)

    def ours():
        elf = ELFFile(blob)
        return fixup_datasecs(open_raw(btf_section_bytes(elf)), elf).index[0].tobytes()

    def reference():
        elf = ELFFile(blob)
        return _reference_fixup(open_raw(btf_section_bytes(elf)), elf)

    assert _outcome(ours) == _outcome(reference)


_SIX = ["v0", "v1", "v2", "v3", "v4", "v5"]
# Names that are prefixes of one another, and a non-ASCII one: a guess is
# checked on the table's bytes (the guess's length of them, then a NUL).
_PREFIXED = ["v0", "v1", "v22", "v3", "v\u00e94", "v5"]


@pytest.mark.parametrize("var_names", [_SIX, ["v0", "v1", "", "v3", "v4", "v5"], _PREFIXED])
@pytest.mark.parametrize("symbols", [
    [(n, ".data", 2 + i) for i, n in enumerate(_SIX)],  # every guess right
    [(n, ".data", 2 + i) for i, n in enumerate(reversed(_SIX))],  # every guess wrong
    [("v5", ".data", 9), *((n, ".data", 2 + i) for i, n in enumerate(_SIX[:5]))],
    # The first VAR's guess is the last symbol; a guess past the last symbol.
    [*((n, ".data", 2 + i) for i, n in enumerate(_SIX[1:])), ("v0", ".data", 11)],
    [("", ".data", 12), *((n, ".data", 2 + i) for i, n in enumerate(_SIX)), ("", ".data", 1)],
    # A guess of a "" symbol for a VAR named "", not the section's first "".
    [("", ".data", 12), ("v0", ".data", 2), ("v1", ".data", 3), ("", ".data", 5),
     ("v2", ".data", 4),
     *((n, ".data", 5 + i) for i, n in enumerate(_SIX[3:]))],
    # Names not unique: the first of a name is elsewhere, or earlier in the section.
    [("v2", ".rodata", 4), *((n, ".data", 2 + i) for i, n in enumerate(_SIX))],
    [("v3", ".data", 7), *((n, ".data", 2 + i) for i, n in enumerate(_SIX))],
    [*((n, ".data", 2 + i) for i, n in enumerate(_SIX)), ("v3", ".data", 7)],
    [*((n, ".data", 2 + i) for i, n in enumerate(_SIX[:3])), ("v3", ".data", 0x100000000),
     *((n, ".data", 2 + i) for i, n in enumerate(_SIX[4:]))],
    [*((n, ".data", 2 + i) for i, n in enumerate(_SIX[:3])),
     *((n, ".data", 2 + i) for i, n in enumerate(_SIX[4:]))],
    [(n, ".data", 2 + i) for i, n in enumerate(_PREFIXED)],
    # Guesses one longer or shorter than the VAR's name, or the name with
    # another last character.
    [("v0", ".data", 2), ("v1v", ".data", 3), ("v1", ".data", 4), ("v2", ".data", 5),
     ("v22", ".data", 6), ("v3", ".data", 7), ("v\u00e9", ".data", 8),
     ("v\u00e94", ".data", 9), ("v4", ".data", 10), ("v5", ".data", 11)],
    [("v0", ".data", 2), ("v", ".data", 3), ("v1", ".data", 4), ("v23", ".data", 5),
     ("v22", ".data", 6), ("v2", ".data", 7), ("v3", ".data", 8), ("v\u00e95", ".data", 9),
     ("v\u00e94", ".data", 10), ("v4", ".data", 11), ("v5", ".data", 12)],
])
def test_fixup_guessed_symbols_match_the_careful_loop(var_names, symbols):
    # A DATASEC of _GUESS_MIN_VARS or more VARs guesses each VAR's symbol is
    # the next one when no two symbols share a name (but ""): right or wrong
    # guesses, names not unique, a VAR named "" (section symbols are too), a
    # value past u32 and a missing symbol must all come out as the reference.
    from loader.btf import types as t
    from loader.btf.elf import _GUESS_MIN_VARS, fixup_datasecs

    assert len(var_names) >= _GUESS_MIN_VARS
    types = [t.Int("int", 1, 1, 0, 8),
             *(t.Var(n, 1, 1) for n in var_names),
             t.Datasec(".data", 0, tuple(t.VarSecinfo(2 + i, 0, 1)
                                         for i in range(len(var_names))))]
    blob = _fixup_object(types, symbols)

    def ours():
        elf = ELFFile(blob)
        fixed = fixup_datasecs(open_raw(btf_section_bytes(elf)), elf)
        return fixed.index[0].tobytes(), _type_names(fixed)

    def reference():
        elf = ELFFile(blob)
        return (_reference_fixup(open_raw(btf_section_bytes(elf)), elf),
                _type_names(open_raw(btf_section_bytes(elf))))

    assert _outcome(ours) == _outcome(reference)


@pytest.mark.parametrize("offset", [1, 6, 7, 9, 10, 11])
@pytest.mark.parametrize("core", [False, True])
def test_ext_offsets_in_a_table_without_a_final_nul(offset, core):
    # A table not read by open_raw may end without NUL: offsets into its last
    # piece read no string (the fast check's limit is then one past the last NUL).
    strings = StringTable(b"\0.text\0abc")
    line = struct.pack("<IIIIIII", 16, 1, 1, 0, 1 if core else offset, offset, 5 << 10)
    relo = struct.pack("<IIIIIII", 16, 1, 1, 0, 2, offset if core else 1, 0)
    head = struct.pack("<HBBIIIIIII", 0xEB9F, 1, 0, 32, 0, 0, 0, len(line), len(line),
                       len(relo))
    blob = head + line + relo
    packed = _describe_ext(blob, strings, True)
    assert packed == _describe_ext(blob, strings, False)
    assert packed[0] == ("OK" if offset < 7 else "ERR")


@pytest.mark.parametrize("func_size", [8, 12])
@pytest.mark.parametrize("packed", [False, True])
def test_ext_blocks_of_only_a_record_size(func_size, packed):
    # Blocks that hold their record size and no section: nothing to read (the
    # careful path is taken for the unusual func_info size).
    strings = StringTable(b"\0.text\0")
    head = struct.pack("<HBBIIIIIII", 0xEB9F, 1, 0, 32, 0, 4, 4, 4, 8, 4)
    blob = head + struct.pack("<III", func_size, 16, 16)
    fast = _describe_ext(blob, strings, packed)
    assert fast[0] == "OK"
    infos = fast[1]
    assert (infos.func_infos, infos.line_infos, infos.core_relos) == ({}, {}, {})
    assert (infos.func_info_rec_size, infos.line_info_rec_size,
            infos.core_relo_rec_size) == (func_size, 16, 16)


@pytest.mark.parametrize("length", range(4, 30))
@pytest.mark.parametrize("rec_size", [8, 12])
def test_ext_block_record_size_and_first_header_as_careful(length, rec_size, monkeypatch):
    # _packed reads a block's record size and its first section header at
    # once: blocks too short for a whole header (cut), of an unusual record
    # size, of one section or of one then a cut header must come out as the
    # careful path's (the bytes past the block are the line block's).
    strings = StringTable(b"\0.text\0")
    func = (struct.pack("<IIIII", rec_size, 1, 1, 0, 3) + struct.pack("<II", 1, 1))[:length]
    line = struct.pack("<IIIIIII", 16, 1, 1, 0, 1, 1, 5 << 10)
    head = struct.pack("<HBBIIIIIII", 0xEB9F, 1, 0, 32, 0, len(func), len(func), len(line),
                       len(func) + len(line), 0)
    blob = head + func + line
    fast = _describe_ext(blob, strings, True)
    monkeypatch.setattr(ext_mod, "_packed", lambda *args: None)
    monkeypatch.setattr(ext_mod, "_walk", lambda *args: None)
    assert fast == _describe_ext(blob, strings, True)


@pytest.mark.parametrize("packed", [False, True])
def test_ext_section_named_many_times(packed):
    # Every record under a section header of its own, all naming one section:
    # the pieces are read in order and in linear time (each piece added to the
    # bytes so far copied them all again: 300,000 pieces took over a minute).
    n = 300_000
    strings = StringTable(b"\0.text\0a\0")
    func = struct.pack("<I", 8) + b"".join(
        struct.pack("<IIII", 1, 1, 8 * i, 3) for i in range(n))
    line = struct.pack("<I", 16) + b"".join(
        struct.pack("<IIIIII", 1, 1, 8 * i, 7, 7, i << 10 | 5) for i in range(n))
    core = struct.pack("<I", 16) + b"".join(
        struct.pack("<IIIIII", 1, 1, 8 * i, 2, 7, 0) for i in range(n))
    head = struct.pack("<HBBIIIIIII", 0xEB9F, 1, 0, 32, 0, len(func), len(func), len(line),
                       len(func) + len(line), len(core))
    start = time.perf_counter()
    got = _describe_ext(head + func + line + core, strings, packed)
    elapsed = time.perf_counter() - start
    assert got[0] == "OK", got
    infos = got[1]
    offsets = list(range(0, 8 * n, 8))
    assert [rec.insn_off for rec in infos.func_infos[".text"]] == offsets
    assert [rec.insn_off for rec in infos.line_infos[".text"]] == offsets
    assert [rec.line for rec in infos.line_infos[".text"]] == list(range(n))
    assert [rec.insn_off for rec in infos.core_relos[".text"]] == offsets
    assert {rec.access_str for rec in infos.core_relos[".text"]} == {"a"}
    assert elapsed < 15, f"{elapsed:.1f} s"


class _CountedNames(list[str]):
    """A symbol-name list that counts the searches made in it."""

    searches = 0

    def index(self, *args):  # type: ignore[no-untyped-def, override]
        self.searches += 1
        return super().index(*args)


@pytest.mark.parametrize(("vars_per_datasec", "nsections"), [(1, 1), (17, 1), (17, 80)])
def test_fixup_many_datasecs_in_linear_work(vars_per_datasec, nsections):
    # Thousands of DATASECs to patch (fuzzed objects repeat them) over thousands
    # of symbols: each one searched the symbols again (a few VARs by name, many
    # by a map of the section's symbols), 20,000 of them a second per MB of
    # input; past a few passes, one map of every section's symbols serves the
    # rest.  The values are still the first symbol of a name in the section.
    from loader import elf as elf_mod
    from loader.btf import types as t
    from loader.btf.elf import fixup_datasecs
    from loader.btf.encode import encode_types
    from loader.elfwrite import ObjectModel, SectionModel, SymbolModel, write_elf

    nvars, ndatasecs = 40, 3000
    secs = [f".data.{k}" for k in range(nsections)]
    types: list[t.Type] = [t.Int("int", 4, 1, 0, 32)]
    types += [t.Var(f"v{v}", 1, 1) for v in range(nvars)]
    for d in range(ndatasecs):
        entries = [(d + k) % nvars for k in range(vars_per_datasec)]
        types.append(t.Datasec(secs[d % nsections], 0,
                               tuple(t.VarSecinfo(2 + v, 0, 4) for v in entries)))
    glob, obj = elf_mod.STB_GLOBAL, elf_mod.STT_OBJECT
    symbols = [SymbolModel(f"f{i}", secs[0], 4 * i, 4, glob, obj) for i in range(3000)]
    symbols.append(SymbolModel("v0", ".rodata", 4, 4, glob, obj))  # another section's
    symbols += [SymbolModel(f"v{v}", sec, 8 * v, 4, glob, obj)
                for sec in secs for v in range(nvars)]
    symbols.append(SymbolModel("v1", secs[0], 4, 4, glob, obj))  # a later one of a name
    model = ObjectModel(
        sections=[*(SectionModel(sec, data=bytes(8 * nvars)) for sec in secs),
                  SectionModel(".rodata", data=bytes(8)),
                  SectionModel(".BTF", flags=0, data=encode_types(types))],
        symbols=symbols)
    blob = write_elf(model)
    elf = ELFFile(blob)
    names = elf._symbol_names = _CountedNames(elf.symbol_names)
    start = time.perf_counter()
    got = fixup_datasecs(open_raw(btf_section_bytes(elf)), elf)
    elapsed = time.perf_counter() - start
    assert got.index[0].tobytes() == _reference_fixup(
        open_raw(btf_section_bytes(ELFFile(blob))), ELFFile(blob))
    datasecs = [typ for typ in got.types() if isinstance(typ, t.Datasec)]
    assert len(datasecs) == ndatasecs
    assert {vsi.offset for ds in datasecs for vsi in ds.vars} == {8 * v for v in range(nvars)}
    assert names.searches < 100  # (64 VARs looked up, a search more past the decoy)
    assert elapsed < 10, f"{elapsed:.1f} s"


def _slots(obj):
    names = [n for cls in type(obj).__mro__ for n in getattr(cls, "__slots__", ())]
    return {n: getattr(obj, n) for n in names if not n.startswith("__")}


def test_plain_constructors_set_what_the_class_constructors_set():
    """StringTable.plain, Spec.plain and PackedExtInfos.plain skip the class call
    (each runs on every load): they must fill every slot as the constructor does."""
    raw = b"\0int\0.maps\0"
    assert _slots(StringTable.plain(raw)) == _slots(StringTable(raw))

    words, offsets = spec_mod.array("I", [1, 2, 3]), spec_mod.array("I", [0])
    strings = StringTable(raw)
    fast = spec_mod.Spec.plain("<", words, offsets, strings, None)
    header = fast.header  # built on first use for a plain spec
    slow = spec_mod.Spec(byte_order="<", header=header, words=words, offsets=offsets,
                         strings=strings, layout=None, base=None)
    assert _slots(fast) == _slots(slow)

    fields = (8, 16, None, 32, {"s": b"f"}, {"s": b"l"}, {}, strings)
    fast_ext = ext_mod.PackedExtInfos.plain(*fields)
    slow_ext = ext_mod.PackedExtInfos(
        func_info_rec_size=8, line_info_rec_size=16, core_relo_rec_size=None, hdr_len=32,
        func_records={"s": b"f"}, line_records={"s": b"l"}, core_records={}, strings=strings)
    assert _slots(fast_ext) == _slots(slow_ext)
