"""BTF from an ELF object's .BTF section, with the loader's DATASEC fix-up.

clang leaves DATASEC sizes and VAR offsets at 0 in .BTF: only the linker-side
tables know them.  With ``fixup`` (the default), as cilium/ebpf's loader does,
each DATASEC of size 0 takes the size of the ELF section of the same name and
each of its VARs the value of the symbol of the same name in that section;
``.ksyms`` is left alone and ``.kconfig`` (no ELF section) is laid out in order
with natural alignment, its extern VARs turned global.  Without ``fixup`` the
spec is the section as stored, which is what ``bpftool btf dump`` shows.
"""

from __future__ import annotations

from array import array

from loader.btf import records as r
from loader.btf import types as t
from loader.btf.spec import (
    INFO_UNUSED_MASK,
    MAX_RESOLVE_DEPTH,
    POINTER_SIZE,
    Spec,
    _open_plain,
    open_raw,
)
from loader.elf import ELFFile, SymbolRow
from loader.errors import BTFError

_U32_MAX = 0xFFFFFFFF
# DATASECs whose entries are not placed by symbols: .ksyms is left alone,
# .kconfig laid out.
_NOT_FROM_SYMBOLS = frozenset({".ksyms", ".kconfig"})
# Up to this many VARs, a DATASEC's symbols are looked up by name one at a time.
_FEW_VARS = 16
# Passes over the symbols (one per VAR looked up directly, one per section
# mapped) before fixup_datasecs maps every section's symbols in one.
_MAX_PASSES = 64

# From this many VARs in a DATASEC, its symbols are guessed (see _names_unique).
_GUESS_MIN_VARS = 5


def _names_unique(names: list[str]) -> bool:
    """Whether no two symbols share a name but "" (the null symbol's and section
    symbols'): then a symbol whose name matches a VAR's is the only one of that
    name (so the first in its section), and fixup_datasecs may guess that a
    DATASEC's next VAR is the next symbol (clang writes a section's symbols in
    the order of its DATASEC's VARs) and check the guess by name, rather than
    scan the names for it."""
    return len(set(names)) == len(names) - names.count("") + 1


def _symbols_by_section(symbols: list[SymbolRow]) -> dict[int, dict[str, int]]:
    """st_shndx -> name -> value of the symbols, the first of a name winning."""
    out: dict[int, dict[str, int]] = {}
    # (Symbol fields by position: 1 st_name, 2 st_value, 7 st_shndx.)
    for sym in reversed(symbols):
        names = out.get(sym[7])
        if names is None:
            names = out[sym[7]] = {}
        names[sym[1]] = sym[2]
    return out


def btf_section_bytes(elf: ELFFile, name: str = ".BTF") -> bytes:
    index = elf.section_index(name)
    if index < 0:
        raise BTFError(f"ELF object has no {name} section")
    return elf.section_bytes(index)


def parse_elf(
    data_or_elffile: bytes | bytearray | memoryview | ELFFile,
    *,
    fixup: bool = True,
    base: Spec | None = None,
) -> Spec:
    elf = (
        data_or_elffile if isinstance(data_or_elffile, ELFFile) else ELFFile(data_or_elffile)
    )
    if base is None and fixup:
        index = elf.section_index(".BTF")
        if index >= 0:
            return parse_elf_section(elf, index)
    raw = btf_section_bytes(elf)
    spec = open_raw(raw, base)
    if spec.byte_order != elf.byte_order:
        raise BTFError(
            f".BTF byte order {spec.byte_order!r} differs from the ELF's {elf.byte_order!r}"
        )
    if not fixup:
        return spec
    # (The spec is ours: patched in place, not copied.)
    return fixup_datasecs(spec, elf, in_place=True)


def parse_elf_section(elf: ELFFile, index: int) -> Spec:
    """``parse_elf(elf)`` for an ELF whose .BTF is section ``index`` (the caller
    looked it up already: a lookup is a scan of the section names)."""
    raw = elf.section_bytes(index)
    # (open_raw's first step, without its call: it reads anything else.)
    spec = _open_plain(raw)
    if spec is None:
        spec = open_raw(raw)
    if spec.byte_order != elf.byte_order:
        raise BTFError(
            f".BTF byte order {spec.byte_order!r} differs from the ELF's {elf.byte_order!r}"
        )
    # (The spec is ours: patched in place, not copied.)
    return fixup_datasecs(spec, elf, in_place=True)


def _alignment(spec: Spec, type_id: int, memo: dict[int, int], depth: int = 0) -> int:
    """Natural alignment of ``type_id`` (libbpf's btf__align_of, without packing).

    ``memo`` is shared across one DATASEC: a hostile blob can nest structs as a DAG
    whose unfolding is exponential.  Nesting is bounded like the kernel's resolve
    stack, which also turns a struct that contains itself into an error.
    """
    found = memo.get(type_id)
    if found is not None:
        return found
    if depth > MAX_RESOLVE_DEPTH:
        raise BTFError(f"type id {type_id}: nested deeper than {MAX_RESOLVE_DEPTH} levels")
    typ = spec.type_by_id(spec.resolve(type_id))
    align = 1
    if isinstance(typ, t.Int | t.Enum | t.Enum64 | t.Float):
        align = max(1, min(typ.size, 8))
    elif isinstance(typ, t.Pointer):
        align = POINTER_SIZE
    elif isinstance(typ, t.Array):
        align = _alignment(spec, typ.type, memo, depth + 1)
    elif isinstance(typ, t.Struct | t.Union):
        align = max((_alignment(spec, m.type, memo, depth + 1) for m in typ.members), default=1)
    memo[type_id] = align
    return align


def _layout_kconfig(spec: Spec, ds_id: int, words: array[int]) -> None:
    """Lay out .kconfig's VARs as libbpf does, and turn their extern linkage into
    allocated (patching ``words``).

    libbpf places kconfig externs by descending alignment, then ascending size,
    then name (not in DATASEC order) and writes those offsets into the DATASEC;
    loader.collection.externs places them the same way, so instructions and the
    map's value type agree.
    """
    _, pos = spec.raw_type(ds_id)
    vlen = words[pos + 1] & 0xFFFF
    memo: dict[int, int] = {}
    entries: list[tuple[int, int, str, int]] = []  # (-align, size, name, word index)
    for j in range(pos + 3, pos + 3 + 3 * vlen, 3):
        vid = words[j]
        var = spec.type_by_id(vid)
        if not isinstance(var, t.Var):
            raise BTFError(f"DATASEC .kconfig: entry type id {vid} is not a VAR")
        size = spec.size_of(var.type)
        entries.append((-_alignment(spec, var.type, memo), size, var.name, j))
        if var.linkage == r.BTF_VAR_GLOBAL_EXTERN and vid >= spec.first_type_id:
            _, var_pos = spec.raw_type(vid)
            words[var_pos + 3] = r.BTF_VAR_GLOBAL_ALLOCATED
    # Then, like libbpf's btf_fixup_datasec, the entries are sorted by offset:
    # the kernel refuses a DATASEC whose offsets go backwards.
    placed: list[tuple[int, int, int]] = []
    offset = 0
    for neg_align, size, _name, j in sorted(entries):
        offset = (offset - neg_align - 1) // -neg_align * -neg_align
        placed.append((words[j], offset, size))
        offset += size
    for k, triple in enumerate(placed):
        words[pos + 3 + 3 * k:pos + 6 + 3 * k] = array("I", triple)
    words[pos + 2] = offset


def _place_vars(spec: Spec, name: str, shndx: int, pos: int, stop: int,
                patched: array[int], in_section: dict[str, int] | None,
                symbols: list[SymbolRow], symbol_names: list[str]) -> str | None:
    """Patch the offsets of the VARs of the DATASEC at word ``pos`` (entries up to
    ``stop``) to their symbols' values, one by one: the careful path of
    :func:`fixup_datasecs`.  Returns the message of the first fault, for
    fixup_datasecs to raise (its errors are raised there); a name that does
    not read raises here, in the string table, as it did there."""
    words, offsets = spec.index
    first = spec.first_type_id
    get = spec.strings.get
    # VAR names read inline (as get() reads and memoises them) when it can.
    memo, raw_strings = spec.strings.memo(), spec.strings.raw
    for j in range(pos + 3, stop, 3):
        vt = words[j]
        if vt < first:
            var_name = spec.name_of(vt)
        elif memo is not None and (
                stop_at := raw_strings.find(b"\0", off := words[offsets[vt - first]])) >= 0:
            # What get() reads and memoises (a name met before reads the same).
            try:
                var_name = memo[off] = raw_strings[off:stop_at].decode()
            except UnicodeDecodeError:
                var_name = memo[off] = raw_strings[off:stop_at].decode(
                    "utf-8", "surrogateescape")
        else:
            var_name = get(words[offsets[vt - first]])
        if in_section is not None:
            value = in_section.get(var_name)
        else:
            # The first symbol of that name in the section.
            value = None
            try:
                found = symbol_names.index(var_name)
                while symbols[found][7] != shndx:  # st_shndx
                    found = symbol_names.index(var_name, found + 1)
                value = symbols[found][2]  # st_value
            except ValueError:
                pass  # none (left)
        if value is None:
            return f"DATASEC {name!r}: no symbol for VAR {var_name!r} (type id {vt})"
        if value > _U32_MAX:
            return (f"DATASEC {name!r}: symbol {var_name!r} value {value} does not fit "
                    f"a VAR offset (u32)")
        patched[j + 1] = value
    return None


def fixup_datasecs(spec: Spec, elf: ELFFile, *, in_place: bool = False) -> Spec:
    """The spec with DATASEC sizes and VAR offsets filled in from the ELF.

    Patched in a copy of the spec's word array: no type is decoded (a DATASEC's
    entries and its VARs' names are read from the words, with the checks the
    decoder would make) and nothing is re-encoded.  With ``in_place``, for a
    spec nobody else holds, ``spec`` itself is patched and returned (a copy
    still when .kconfig is laid out: that reads decoded types, which must see
    the words as stored).
    """
    order = spec.datasec_order()
    if not order:
        return spec
    # (spec.index, spec.datasecs() -- built by datasec_order -- and
    # spec.end_type_id without their calls: this runs on every load.)
    words, offsets = spec._words, spec._offsets
    if in_place and ".kconfig" in spec._datasecs:  # type: ignore[operator]
        in_place = False
    first = spec.first_type_id
    end = spec._end_id
    # The fixed-up spec reads patched words, but the lookups below run on the
    # original (unpatched) spec: each reads only types the patches do not touch
    # (VAR names, the types of .kconfig VARs), or the DATASEC being patched.
    patched: array[int] | None = None
    # Name -> value of a section's symbols, the first of a name winning: built
    # for the sections whose DATASECs have many VARs, on first use (a few VARs
    # are looked up in the symbol names directly).  Each costs a pass over the
    # symbols: past _MAX_PASSES, one pass maps every section's symbols, so the
    # work stays linear however many DATASECs there are.
    by_section: dict[int, dict[str, int]] = {}
    passes = 0
    every = False
    strings = spec.strings
    # VAR names read inline (as get() reads and memoises them) when it can.
    memo, raw_strings = strings.memo(), strings.raw
    name_end = raw_strings.index
    # Read at the first DATASEC to patch (a bad symbol table is reported there,
    # after a DATASEC without a section).
    symbols: list[SymbolRow] | None = None
    symbol_names: list[str] = []
    # Whether symbols may be guessed (_names_unique); None until a DATASEC
    # has enough VARs for a guess to pay.
    unique: bool | None = None
    section_sizes = elf.section_sizes
    section_index = elf.section_names.index
    for tid, name in order:
        if name in _NOT_FROM_SYMBOLS:
            if name == ".kconfig":
                if patched is None:
                    patched = words[:]
                _layout_kconfig(spec, tid, patched)
            continue
        pos = offsets[tid - first]
        if words[pos + 2] != 0:
            continue
        # (elf.section_index without the call.)
        try:
            shndx = section_index(name)
        except ValueError:
            raise BTFError(f"DATASEC {name!r} (type id {tid}): no ELF section") from None
        info = words[pos + 1]
        vlen = info & 0xFFFF
        stop = pos + 3 + 3 * vlen
        # (by_section is empty until a DATASEC of many VARs, or many passes.)
        in_section = by_section.get(shndx) if by_section else None
        if in_section is None:
            if passes >= _MAX_PASSES:
                if not every:
                    every = True
                    by_section = _symbols_by_section(elf.symbol_rows)
                in_section = by_section.setdefault(shndx, {})
            elif vlen > _FEW_VARS:
                # First of a name winning, hence reversed.
                in_section = by_section[shndx] = {
                    sym[1]: sym[2] for sym in reversed(elf.symbol_rows) if sym[7] == shndx
                }
                passes += 1
            else:
                passes += vlen
        if symbols is None:
            symbols = elf.symbol_rows
            symbol_names = elf.symbol_names
            symbol_index = symbol_names.index
        # The lowest and highest entry type ids.
        if vlen == 1:
            low = high = words[pos + 3]
        elif vlen:
            entries = words[pos + 3:stop:3]
            low, high = min(entries), max(entries)
            if vlen >= _GUESS_MIN_VARS and unique is None:
                unique = _names_unique(symbol_names)
        else:
            low = high = first
        if info & INFO_UNUSED_MASK or high >= end:
            # What decoding the DATASEC reports: it checks every entry's type id
            # before any is used.
            spec.type_by_id(tid)
            raise AssertionError(f"type id {tid}: the decoder accepted a bad DATASEC")
        if patched is None:
            # In place, the reads below still see the stored values: a patch
            # writes only DATASEC sizes and entry offsets, and no read is of those.
            patched = words if in_place else words[:]
        placed = False
        if in_section is None and memo is not None and low >= first:
            # The usual DATASEC: every VAR is one of this blob's, its name reads
            # from the table (stored in the memo as get() stores it), and the
            # first symbol of that name is in the section, at a u32 offset.
            # Anything else (a ValueError: no NUL after the name, not UTF-8, no
            # symbol of the name; an OverflowError: a value past u32; or a first
            # symbol in another section) is left to _place_vars, from the first VAR.
            # (An IndexError: a guess past the last symbol, or no symbols.)
            try:
                if unique:
                    # The next symbol is guessed (the first VAR's: the last
                    # symbol), and a name that differs (or is "", not unique)
                    # looked up.  A guess is checked on the table's bytes: the
                    # name at off is the guess iff its bytes decode to it and a
                    # NUL follows them (a guess is NUL-free; a non-ASCII one
                    # decodes to fewer characters and is looked up), which
                    # spares the search for the NUL.
                    k = -2
                    for j in range(pos + 3, stop, 3):
                        off = words[offsets[words[j] - first]]
                        k += 1
                        guess = symbol_names[k]
                        at = off + len(guess)
                        if (raw_strings[off:at].decode() == guess and guess
                                and not raw_strings[at]):
                            memo[off] = guess
                        else:
                            var_name = memo[off] = (
                                raw_strings[off:name_end(b"\0", off)].decode())
                            k = symbol_index(var_name)
                        sym = symbols[k]
                        if sym[7] != shndx:  # st_shndx
                            break
                        patched[j + 1] = sym[2]  # st_value
                    else:
                        placed = True
                else:
                    # (A while loop: a DATASEC here has a few VARs, mostly one,
                    # and a range object costs more than the adds.)
                    j = pos + 3
                    while j < stop:
                        off = words[offsets[words[j] - first]]
                        var_name = memo[off] = raw_strings[off:name_end(b"\0", off)].decode()
                        sym = symbols[symbol_index(var_name)]
                        if sym[7] != shndx:  # st_shndx
                            break
                        patched[j + 1] = sym[2]  # st_value
                        j += 3
                    else:
                        placed = True
            except (ValueError, OverflowError, IndexError):
                pass
        if not placed:
            fault = _place_vars(spec, name, shndx, pos, stop, patched, in_section, symbols,
                                symbol_names)
            if fault is not None:
                raise BTFError(fault)
        size = section_sizes[shndx]
        if size > _U32_MAX:
            raise BTFError(f"DATASEC {name!r}: section size {size} does not fit a u32")
        patched[pos + 2] = size
    if patched is None:
        return spec
    if patched is words:
        # What with_words does for a spec patched in place, without the call.
        spec._cache = [None] * len(offsets)
        return spec
    return spec.with_words(patched)
