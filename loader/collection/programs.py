"""Functions of the program sections: relocated, with their .BTF.ext records,
before linking.

A program section (PROGBITS, executable, non-empty) is checked once at open;
every STT_FUNC symbol in it (and, for LLVM < 8, every non-local NOTYPE one) is
a function spanning ``[st_value, st_value + st_size)``.  As in libbpf, open
validates every relocation against the raw bytes (opcode, symbol kinds,
targets) and records what it does to the instruction, and checks where every
.BTF.ext record falls; decoding the section into :class:`Instruction`
objects, applying those records and building and placing the .BTF.ext record
objects (kept packed until then) wait for the first look at a function's
``instructions`` (:class:`SectionCode`).  Every error an object can raise is
raised at open.
"""

from __future__ import annotations

import functools
import re
import struct
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from typing import NoReturn

from loader import elf
from loader.asm import opcodes as op
from loader.asm.instruction import Instruction, decode_slots
from loader.btf.ext import (
    HOST_BYTE_ORDER,
    CoreRelo,
    ExtInfos,
    FuncInfo,
    LineInfo,
    PackedExtInfos,
    decode_core_relos,
    decode_func_infos,
    decode_line_infos,
)
from loader.btf.strings import StringTable
from loader.collection.objfile import KCONFIG_SEC, Kind, ObjectFile, ObjSection
from loader.collection.relocations import SLOT, Relocator
from loader.collection.spec import ExternSpec, MapSpec, ProgramBody, ProgramSpec
from loader.errors import CollectionError, InstructionError, RelocationError
from loader.sections import program_section

_SLOT_FMT = {"<": struct.Struct("<BBhi"), ">": struct.Struct(">BBhi")}
# The imm field of a slot, unsigned (data offsets) and signed (call offsets).
_U32 = {"<": struct.Struct("<I").unpack_from, ">": struct.Struct(">I").unpack_from}
_I32 = {"<": struct.Struct("<i").unpack_from, ">": struct.Struct(">i").unpack_from}
_CALL = op.CALL
_LD_IMM64 = op.LD_IMM64
_PSEUDO_CALL = op.BPF_PSEUDO_CALL
_PSEUDO_FUNC = op.BPF_PSEUDO_FUNC
_PSEUDO_MAP_FD = op.BPF_PSEUDO_MAP_FD
_PSEUDO_MAP_VALUE = op.BPF_PSEUDO_MAP_VALUE
_PSEUDO_KFUNC_CALL = op.BPF_PSEUDO_KFUNC_CALL
_LOCAL = elf.STB_LOCAL
_GLOBAL_OR_WEAK = (elf.STB_GLOBAL, elf.STB_WEAK)
_OBJECT = elf.STT_OBJECT
_OBJECT_OR_NOTYPE = (elf.STT_OBJECT, elf.STT_NOTYPE)
_SECTION_OR_NOTYPE = (elf.STT_SECTION, elf.STT_NOTYPE)
_FUNC_OR_NOTYPE = (elf.STT_FUNC, elf.STT_NOTYPE)
_PROGRAM_SECTION = Kind.PROGRAM
# The relocation targets recognised inline (an enum attribute read costs as much
# as the rest of a check); tests swap these for sentinels to force
# Relocator.resolve on every relocation.
_BTF_MAPS = Kind.BTF_MAPS
_LEGACY_MAPS = Kind.LEGACY_MAPS
_STRUCT_OPS = Kind.STRUCT_OPS
_DATA = Kind.DATA
_PROGRAM = Kind.PROGRAM
_UNDEF = Kind.UNDEF
# Whether the usual section shapes (one function spanning the section; .BTF.ext
# records at the usual places) are recognised inline; tests turn it off to
# compare with _split and _attach_ext.
_INLINE_SHAPES = True
_new_function = ProgramSpec.function
_new_object = object.__new__


# The second halves of a section without ld_imm64s.
_NO_HALVES: AbstractSet[int] = frozenset()


class SectionCode:
    """One program section's code as validated at open, decoded on demand.

    ``fixes`` are the relocations' (and old-LLVM relative calls') effects:
    ``(byte offset, (src, imm, reference))``; ``halves`` the byte offsets of
    the ld_imm64s' second halves, where no instruction starts, and ``lds``
    (made from them when first asked for) the slot of every ld_imm64, which is
    all it takes to turn slots and byte offsets into indices (done when
    decoding, for fixes).  ``offsets`` and ``ends`` are where
    the functions start and end (bytes, by offset), ``symbols`` the section's
    function symbols by offset: not the functions' ProgramSpecs, which point
    here (no reference cycle, so a spec is freed by reference counting rather
    than by the cyclic GC).

    The .BTF.ext records of each function (``infos``: func_infos, line_infos,
    core_relos) are built when the section is decoded, from the packed records
    checked at open (``func_records``: one at the start of each function;
    ``core_records``; ``line_records``), except where open had to place them
    one by one (then ``infos`` holds the func_infos and core_relos already).
    """

    # No __slots__: what most sections never set stays a class attribute
    # (a section is opened far more often than decoded).
    offsets: Sequence[int] = ()
    ends: Sequence[int] = ()
    bounds: list[tuple[int, int]] | None = None
    infos: list[_Infos] | None = None
    func_records: bytes | None = None
    core_records: bytes | None = None
    # line_info records of this section: packed bytes or decoded, None if none.
    line_records: bytes | list[LineInfo] | None = None
    strings: StringTable | None = None
    insns: list[Instruction] | None = None
    _lds: list[int] | None = None

    def __init__(self, raw: bytes, byte_order: elf.ByteOrder, halves: AbstractSet[int],
                 symbols: dict[int, elf.SymbolRow]) -> None:
        self.raw = raw
        self.byte_order: elf.ByteOrder = byte_order
        self.halves = halves
        self.symbols = symbols
        self.fixes: list[tuple[int, tuple[int, int, str]]] = []

    @property
    def lds(self) -> list[int]:
        lds = self._lds
        if lds is None:
            lds = self._lds = sorted([half // SLOT - 1 for half in self.halves])
        return lds

    def index(self, offset: int) -> int:
        """Instruction index of an instruction start (checked by the caller)."""
        lds = self.lds
        slot = offset // SLOT
        return slot - bisect_left(lds, slot) if lds else slot

    def function_bounds(self) -> list[tuple[int, int]]:
        """Section-wide indices of each function's first instruction and one
        past its last."""
        bounds = self.bounds
        if bounds is None:
            index = self.index
            bounds = self.bounds = [(index(start), index(end))
                                    for start, end in zip(self.offsets, self.ends, strict=True)]
        return bounds

    def decoded(self) -> list[Instruction]:
        insns = self.insns
        if insns is not None:
            return insns
        bo = self.byte_order
        insns = decode_slots(self.raw, bo)[0]
        lds = self.lds
        for off, (src, imm, ref) in self.fixes:
            slot = off >> 3
            ins = insns[slot - bisect_left(lds, slot) if lds else slot]
            ins.src = src
            ins.imm = imm
            ins.reference = ref
        index = self.index
        offsets = self.offsets
        symbols = self.symbols
        firsts = [first for first, _ in self.function_bounds()]
        for first, off in zip(firsts, offsets, strict=True):
            insns[first].symbol = symbols[off][1]
        infos = self.infos
        if infos is None:
            infos = self.infos = [([], [], []) for _ in firsts]
        records = self.func_records
        if records is not None:
            # Checked at open: one at the start of each function, in order.
            for (func_infos, _, _), frec in zip(infos, decode_func_infos(records, bo),
                                                strict=True):
                func_infos.append((0, frec))
        records = self.core_records
        if records is not None:
            assert self.strings is not None
            for crec in decode_core_relos(records, bo, self.strings):
                off = crec.insn_off
                k = bisect_right(offsets, off) - 1
                infos[k][2].append((index(off) - firsts[k], crec))
        lines = self.line_records
        if lines is not None:
            if isinstance(lines, bytes):
                assert self.strings is not None
                lines = decode_line_infos(lines, bo, self.strings)
            for rec in lines:
                off = rec.insn_off
                k = bisect_right(offsets, off) - 1
                infos[k][1].append((index(off) - firsts[k], rec))
        self.insns = insns
        return insns

    def instructions_of(self, index: int) -> list[Instruction]:
        """The instructions of function ``index`` (section-wide Instruction
        objects, decoding the section first)."""
        insns = self.decoded()
        first, last = self.function_bounds()[index]
        return insns[first:last]

    def infos_of(self, index: int) -> _Infos:
        """The .BTF.ext records of function ``index`` (placed when the section
        is decoded)."""
        self.decoded()
        assert self.infos is not None
        return self.infos[index]

    def program_body(self, index: int) -> ProgramBody:
        """The code and .BTF.ext lists of function ``index`` as a program that
        links nothing (the body of the ProgramSpec of that function)."""
        insns = self.instructions_of(index)  # decodes first: records are placed then
        assert self.infos is not None
        func_infos, line_infos, core_relos = self.infos[index]
        return insns, list(func_infos), list(line_infos), list(core_relos)


# A function's .BTF.ext records, each at an index into its instructions:
# (func_infos, line_infos, core_relos).
_Infos = tuple[list[tuple[int, FuncInfo]], list[tuple[int, LineInfo]],
               list[tuple[int, CoreRelo]]]


def load_functions(
    obj: ObjectFile, relocator: Relocator, ext: ExtInfos | None,
    packed_lines: dict[str, bytes] | None = None, license_text: str = "", version: int = 0,
    programs: dict[str, ProgramSpec] | None = None, hidden: dict[str, ProgramSpec] | None = None,
) -> dict[str, ProgramSpec]:
    """Every function of the program sections, by name: the ProgramSpec of
    each, unlinked (``reader._link`` links the programs that call anything).
    The functions of ``.text`` also go to ``hidden``, the others (programs) to
    ``programs``, in order."""
    out: dict[str, ProgramSpec] = {}
    if programs is None:
        programs = {}
    if hidden is None:
        hidden = {}
    bo = obj.elf.byte_order
    little = bo == "<"
    packed = ext if isinstance(ext, PackedExtInfos) else None
    # What every section needs, worked out once.
    ctx: _Context = (
        bo, little, relocator, obj.by_index, relocator.maps, relocator.externs, _U32[bo],
        _I32[bo], obj.btf.strings if obj.btf is not None else None,
        packed, None if packed is not None else ext, packed_lines, _LINE_STRUCTS[bo],
        _PSEUDO_CALL_LE if little else _PSEUDO_CALL_BE, obj.elf.section_bytes,
        license_text, version,
    )
    text_index = obj.text_index
    for index, osec in obj.by_index.items():
        if osec.kind is not _PROGRAM_SECTION:
            continue
        dest = hidden if index == text_index else programs
        for fn in _section_functions(osec, ctx):
            name = fn.name
            if name in out:
                other = out[name].section
                raise CollectionError(
                    f"section {osec.name}: function {name!r} at offset {fn.section_offset} "
                    f"duplicates one in section {other}"
                )
            out[name] = dest[name] = fn
    return out


# The table walk is linear in libbpf's 116 entries; objects repeat a handful of
# names, so remember them (bounded: fuzzers make up endless names).
@functools.lru_cache(maxsize=1024)
def _section_def(name: str) -> tuple[int, int, int, str, bool]:
    """(program type, expected attach type, load flags, attach target, autoload)."""
    ps = program_section(name)
    atype = ps.expected_attach_type
    return (int(ps.prog_type), int(atype) if atype is not None else 0, int(ps.load_flags),
            ps.attach_target or "", ps.autoload)


# (byte order, little-endian?, relocator, sections by index, maps, externs,
# u32 and s32 readers, BTF strings,
# .BTF.ext all packed, .BTF.ext otherwise, packed line records, line record
# Structs, bpf2bpf call pattern, section contents by index, license,
# kernel version)
_Context = tuple[
    elf.ByteOrder, bool, Relocator, dict[int, ObjSection], dict[str, MapSpec],
    dict[str, ExternSpec], Callable[[bytes, int], tuple[int]],
    Callable[[bytes, int], tuple[int]], StringTable | None,
    PackedExtInfos | None, ExtInfos | None, dict[str, bytes] | None,
    dict[int, Callable[[bytes], tuple[int, ...]]], re.Pattern[bytes],
    Callable[[int], bytes], str, int,
]


def _section_functions(osec: ObjSection, ctx: _Context) -> list[ProgramSpec]:
    (bo, little, relocator, by_index, maps, externs, u32, i32, strings, packed_ext,
     ext, packed_lines, line_structs, pseudo_call, section_bytes, license_text,
     version) = ctx
    sec = osec.section
    name = sec.name
    symbols = osec.symbols
    if not symbols:
        raise CollectionError(f"section {name}: executable section without function symbols")
    raw = section_bytes(sec.index)
    size = len(raw)
    if size % SLOT:
        exc = InstructionError(
            f"instruction stream of {size} bytes is not a multiple of {SLOT} "
            f"({size % SLOT} trailing bytes at offset {size - size % SLOT})"
        )
        raise CollectionError(f"section {name}: {exc}")
    codes = raw[0::SLOT]
    # The byte offsets of the ld_imm64s' second halves, which start no
    # instruction, found as the decoder finds the ld_imm64s (raising its error).
    halves: AbstractSet[int] = _NO_HALVES
    ld = codes.find(_LD_IMM64)
    if ld >= 0:
        last = len(codes) - 1
        found: set[int] = set()
        halves = found
        add = found.add
        while ld >= 0:
            if ld >= last:
                _ld_slots(name, ld)
            add(ld * SLOT + SLOT)
            ld = codes.find(_LD_IMM64, ld + 2)
    # (SectionCode(raw, bo, halves, symbols), its fields stored here: a class
    # call runs __init__ in a frame of its own in 3.11, ~1K instructions.)
    code = _new_object(SectionCode)
    code.raw = raw
    code.byte_order = bo
    code.halves = halves
    code.symbols = symbols
    fixes: list[tuple[int, tuple[int, int, str]]] = []
    code.fixes = fixes
    # (byte offset, function) of every reference to a function, for callees.
    calls: list[tuple[int, str]] = []
    # How many bpf2bpf call instructions carry a relocation (counted where
    # recognised inline).
    relocated_calls = 0

    relocs = osec.relocations
    if relocs:
        # The usual relocations (a map, a data section, an extern, a bpf2bpf
        # call or callback, each as Relocator.resolve would accept it) are
        # recognised inline from the raw bytes; anything else goes through
        # Relocator.resolve, which also builds every error.  One set operation
        # says whether any relocation is at a second half; only then is each
        # looked at, in order (an earlier relocation's own error comes first).
        # (Symbol fields by position: name 1, value 2, bind 4, type 5, shndx 7;
        # a namedtuple attribute is a call each.)
        careful = halves and not halves.isdisjoint(relocs)
        for off, sym in relocs.items():
            if careful and off in halves:
                raise RelocationError(
                    f"section {name}: relocation at offset {off} against {sym[1]!r} "
                    f"points into the second half of an ld_imm64"
                )
            opcode = raw[off]
            target = by_index[sym[7]]
            kind = target.kind
            if opcode == _LD_IMM64:
                if kind is _BTF_MAPS or kind is _LEGACY_MAPS or kind is _STRUCT_OPS:
                    ref = sym[1]
                    if sym[4] != _LOCAL and sym[5] in _OBJECT_OR_NOTYPE and ref in maps:
                        fixes.append((off, (_PSEUDO_MAP_FD, 0, ref)))
                        continue
                elif kind is _DATA:
                    t = sym[5]
                    if t == _OBJECT or (sym[4] == _LOCAL and t in _SECTION_OR_NOTYPE):
                        value = sym[2] + u32(raw, off + 4)[0]
                        ref = target.section.name
                        if value <= target.section.size and ref in maps:
                            fixes.append((off, (_PSEUDO_MAP_VALUE, value << 32, ref)))
                            continue
                elif kind is _UNDEF:
                    if sym[4] in _GLOBAL_OR_WEAK:
                        ref = sym[1]
                        extern = externs.get(ref)
                        if extern is not None:
                            if extern.kind == "kconfig":
                                fixes.append(
                                    (off, (_PSEUDO_MAP_VALUE, extern.offset << 32, KCONFIG_SEC)))
                                continue
                            # A ksym: the kernel wants its BTF id at load time.
                            regs = raw[off + 1]
                            src = regs >> 4 if little else regs & 0xF
                            if src != _PSEUDO_FUNC:  # (which would make it a callee)
                                fixes.append((off, (src, 0, ref)))
                                continue
                elif kind is _PROGRAM:
                    # A callback: the 64-bit imm is the offset from the symbol.
                    func = target.symbols.get(
                        sym[2] + (u32(raw, off + 4)[0] | (i32(raw, off + 12)[0] << 32)))
                    if func is not None and func[5] in _FUNC_OR_NOTYPE:
                        ref = func[1]
                        fixes.append((off, (_PSEUDO_FUNC, 0, ref)))
                        calls.append((off, ref))
                        continue
            elif opcode == _CALL:
                if kind is _PROGRAM:
                    regs = raw[off + 1]
                    if (regs >> 4 if little else regs & 0xF) == _PSEUDO_CALL:
                        func = target.symbols.get(sym[2] + (i32(raw, off + 4)[0] + 1) * SLOT)
                        if func is not None and func[5] in _FUNC_OR_NOTYPE:
                            ref = func[1]
                            fixes.append((off, (_PSEUDO_CALL, -1, ref)))
                            calls.append((off, ref))
                            relocated_calls += 1
                            continue
                elif kind is _UNDEF and sym[4] in _GLOBAL_OR_WEAK:
                    ref = sym[1]
                    extern = externs.get(ref)
                    if extern is not None and extern.kind != "kconfig" and extern.what == "func":
                        fixes.append((off, (_PSEUDO_KFUNC_CALL, -1, ref)))
                        continue
            opcode, regs, _, imm = _SLOT_FMT[bo].unpack_from(raw, off)
            src = regs >> 4 if little else regs & 0xF
            if opcode == _LD_IMM64:
                imm = (imm & 0xFFFFFFFF) | (_SLOT_FMT[bo].unpack_from(raw, off + SLOT)[3] << 32)
            effect = relocator.resolve(osec, off, opcode, src, imm, sym)
            fixes.append((off, effect))
            src = effect[0]
            if (src == _PSEUDO_CALL and opcode == _CALL) or (
                src == _PSEUDO_FUNC and opcode == _LD_IMM64
            ):
                calls.append((off, effect[2]))

    starts: Sequence[int]
    if len(symbols) == 1 and 0 in symbols and _INLINE_SHAPES:
        sym = symbols[0]
        fsize = sym[3]
    else:
        fsize = -1
    if fsize == size:
        # The usual shape: one function, the whole section.  It passes every
        # check _split makes: whole instructions, and neither its start nor its
        # end (slot 0, one past the last) can be the second half of an ld_imm64.
        ptype, atype, flags, attach_to, autoload = _section_def(name)
        funcs = [_new_function(sym[1], name, ptype, atype, flags, attach_to, license_text,
                               version, size >> 3, bo, 0, autoload, sym[4] != _LOCAL, code, 0)]
        starts = _AT_ZERO
        ends = [size]
        tiled = True
        code.offsets = _AT_ZERO
        code.ends = ends
    else:
        split = _split(osec, code, size, license_text, version)
        if split is None:
            # (Raised here, as before _split: fuzz findings are keyed by the
            # raising function.)
            raise _bad_function(osec, code, size)
        funcs, starts, ends, tiled = split

    if _CALL in codes and (
        pseudo_call.search(raw) is not None if not relocated_calls
        else codes.count(_CALL) > relocated_calls
        and len(pseudo_call.findall(raw)) > relocated_calls
    ):
        # Most calls are helper calls, most bpf2bpf calls have relocations:
        # only when there are more call instructions than relocated calls,
        # and the pattern matches more often than that, is there anything to
        # look at.  (The count, a cheaper pass than the pattern's, settles the
        # usual section with calls: all of them relocated.  With none
        # relocated, one match is enough: the search stops at the first, which
        # in a section of relative calls is near its start.)
        _resolve_relative_calls(osec, raw, codes, code, calls)
    if calls:
        calls.sort()
        if len(funcs) == 1:
            funcs[0]._callees = [ref for _, ref in calls]
        else:
            # The functions do not overlap and the calls are sorted, so each
            # function's calls are a run: only the first call of a run looks
            # its function up (a call in none makes the next one look again).
            end = -1
            refs: list[str] = []
            for off, ref in calls:
                if off < end:
                    refs.append(ref)
                    continue
                k = bisect_right(starts, off) - 1
                if k >= 0 and off < ends[k]:
                    end = ends[k]
                    refs = funcs[k]._callees = [ref]
                else:
                    end = -1
    lines: bytes | list[LineInfo] | None
    if packed_ext is not None:
        frecs = packed_ext.func_records.get(name)
        lines = packed_ext.line_records.get(name)
        crecs = packed_ext.core_records.get(name)
        if frecs is None and lines is None and crecs is None:
            return funcs
        count = len(funcs)
        if (frecs is not None and tiled and _INLINE_SHAPES and len(frecs) == count << 3
                and (frecs[:4] == _ZERO_U32 if count == 1
                     else _func_offsets(frecs, bo) == starts)):
            # The usual shape, without _attach_ext: functions from offset 0
            # on without gaps, one func_info at the start of each, line and
            # CO-RE records that check at once (else _check_packed finds the
            # first bad one), all placed when the section is decoded.
            code.func_records = frecs
            end = ends[-1]
            for records, attr in ((lines, "line_infos"), (crecs, "core_relos")):
                if records is None:
                    continue
                # Each insn_off below the end, a multiple of 8, not a second
                # half: record by record for a few (most sections), else
                # column-wise; either way _check_packed finds a bad one.
                unpack = line_structs.get(len(records))
                if unpack is None:
                    _check_packed(name, funcs, records, code, starts, ends, attr)
                    continue
                offs = unpack(records)
                if len(offs) <= _FEW_RECORDS:
                    for off in offs:
                        if off >= end or off & 7 or off in halves:
                            _check_packed(name, funcs, records, code, starts, ends, attr)
                            break
                elif not _lines_fit(offs, records, end, halves, little):
                    _check_packed(name, funcs, records, code, starts, ends, attr)
            code.core_records = crecs
        else:
            assert strings is not None
            _attach_ext(name, funcs, starts, ends, code,
                        None if frecs is None else decode_func_infos(frecs, bo), lines,
                        None if crecs is None else decode_core_relos(crecs, bo, strings))
    elif ext is not None:
        # (Unusual record sizes: the records are objects already, but for
        # line records of the usual size.)
        lines = packed_lines.get(name) if packed_lines is not None else None
        if lines is None:
            lines = ext.line_infos.get(name)
        _attach_ext(name, funcs, starts, ends, code, ext.func_infos.get(name), lines,
                    ext.core_relos.get(name))
    else:
        return funcs
    code.line_records = lines
    code.strings = strings
    return funcs


# Up to this many line (or CO-RE) records of a section are checked one by one.
_FEW_RECORDS = 4
# The function offsets of a one-function section.
_AT_ZERO: Sequence[int] = (0,)
_ZERO_U32 = bytes(4)
# By byte order, then by the records' total size: the insn_offs of packed
# func_info records (8 bytes each).
_FUNC_STRUCTS: dict[str, dict[int, Callable[[bytes], tuple[int, ...]]]] = {"<": {}, ">": {}}


def _func_offsets(records: bytes, bo: elf.ByteOrder) -> list[int]:
    """The insn_offs of packed func_info records."""
    structs = _FUNC_STRUCTS[bo]
    unpack = structs.get(len(records))
    if unpack is None:
        count = len(records) >> 3
        if count > _LINE_STRUCTS_MAX:
            return [insn for insn, _ in _FUNC_INFO[bo].iter_unpack(records)]
        unpack = structs[len(records)] = struct.Struct(bo + "I4x" * count).unpack
    return list(unpack(records))


_FUNC_INFO = {"<": struct.Struct("<II"), ">": struct.Struct(">II")}


def _ld_slots(name: str, ld: int) -> NoReturn:
    """Raise the decoder's error for the ld_imm64 at slot ``ld``, the last one,
    which has no second half (from here, the function that found the ld_imm64s
    before they were found inline: fuzz findings are keyed by the raising
    function)."""
    raise CollectionError(
        f"section {name}: ld_imm64 at slot {ld} (offset {ld * SLOT}) is missing "
        f"its second half"
    )


def _split(osec: ObjSection, code: SectionCode, size: int, license_text: str = "",
           version: int = 0) -> tuple[list[ProgramSpec], list[int], list[int], bool] | None:
    """The functions of a section (sorted by offset), checked; where each
    starts and ends (byte offsets); whether they tile ``[0, last end)``.  None
    if a function is bad (:func:`_bad_function` says which and how)."""
    symbols = osec.symbols
    halves = code.halves
    funcs: list[ProgramSpec] = []
    name = osec.section.name
    bo = code.byte_order
    new = _new_function
    ptype, atype, flags, attach_to, autoload = _section_def(name)
    ends: list[int] = []
    starts = sorted(symbols)
    end_prev = 0
    # Whether each function starts where the one before ends (the first at
    # 0): noted as the overlap check compares the two anyway.
    tiled = True
    for k, off in enumerate(starts):
        sym = symbols[off]
        fsize = sym[3]
        end = off + fsize
        if off != end_prev:
            if off < end_prev:
                return None
            tiled = False
        if not fsize or (fsize | off) & 7 or end > size or (
            halves and (off in halves or end in halves)
        ):
            return None
        end_prev = end
        funcs.append(new(sym[1], name, ptype, atype, flags, attach_to, license_text, version,
                         fsize >> 3, bo, off, autoload, sym[4] != _LOCAL, code, k))
        ends.append(end)
    code.offsets = starts
    code.ends = ends
    return funcs, starts, ends, tiled


def _bad_function(osec: ObjSection, code: SectionCode, size: int) -> CollectionError:
    """What is wrong with the first bad function of a section that :func:`_split`
    refused (one is), for the caller to raise."""
    symbols = osec.symbols
    halves = code.halves
    end_prev = 0
    for off in sorted(symbols):
        sym = symbols[off]
        end = off + sym[3]
        where = f"section {osec.name}: function {sym[1]!r} at offset {off}"
        if sym[3] == 0 or sym[3] % SLOT or off % SLOT:
            return CollectionError(f"{where}: size {sym[3]} or offset is not a whole "
                                   f"number of instructions")
        if end > size:
            return CollectionError(f"{where}: size {sym[3]} runs past the section "
                                   f"({size} bytes)")
        if off < end_prev:
            return CollectionError(f"{where}: overlaps the previous function (ends at "
                                   f"{end_prev})")
        if halves and (off in halves or end in halves):
            return CollectionError(f"{where}: starts or ends inside an ld_imm64")
        end_prev = end
    return CollectionError(f"section {osec.name}: no bad function found")  # (unreachable)


def _resolve_relative_calls(osec: ObjSection, raw: bytes, codes: bytes, code: SectionCode,
                            calls: list[tuple[int, str]]) -> None:
    """LLVM < 9 encodes calls within one section as relative jumps with no
    relocation; they point at the callee's first instruction.

    Only call instructions are looked at, found in ``codes`` (the opcode of
    every slot: a C search skips the rest), and of those only bpf2bpf calls
    (src 1) that carry no relocation and are not the second half of an
    ld_imm64.
    """
    relocated = osec.relocations
    halves = code.halves
    bo = code.byte_order
    little = bo == "<"
    i32 = _I32[bo]
    symbols = osec.symbols
    fix = code.fixes.append
    call = calls.append
    slot = codes.find(_CALL)
    while slot >= 0:
        off = slot * SLOT
        slot = codes.find(_CALL, slot + 1)
        regs = raw[off + 1]
        if ((regs >> 4 if little else regs & 0xF) != _PSEUDO_CALL or off in relocated
                or off in halves):
            continue  # a helper or kfunc call, relocated, or not an instruction
        imm = i32(raw, off + 4)[0]
        dest = off + (imm + 1) * SLOT
        target = symbols.get(dest)
        if target is None:
            raise RelocationError(
                f"section {osec.name}: bpf2bpf call at offset {off} (imm {imm}) has "
                f"no relocation and no function at offset {dest}"
            )
        ref = target[1]  # (the name: a namedtuple attribute is a call)
        fix((off, (_PSEUDO_CALL, -1, ref)))
        call((off, ref))


# A call opcode followed by a register byte with src BPF_PSEUDO_CALL (the high
# nibble in little-endian objects, the low one in big-endian ones): what every
# bpf2bpf call looks like, and a few other byte pairs (an unaligned match, the
# second half of an ld_imm64), so only a bound on how many there are.
_PSEUDO_CALL_LE = re.compile(b"\\x%02x[\\x10-\\x1f]" % _CALL)
_PSEUDO_CALL_BE = re.compile(
    b"\\x%02x[%b]" % (_CALL, b"".join(b"\\x%02x" % b for b in range(0x01, 0x100, 0x10))))


def _attach_ext(name: str, funcs: list[ProgramSpec], starts: Sequence[int], ends: list[int],
                code: SectionCode, func_infos: list[FuncInfo] | None,
                lines: bytes | list[LineInfo] | None,
                core_relos: list[CoreRelo] | None) -> None:
    """.BTF.ext insn_off are byte offsets into the section; give each record to
    the function containing it, as an index into that function's instructions.

    ``funcs`` are sorted by offset and do not overlap; ``starts`` and ``ends``
    are their byte ranges.  Line records are only checked here (all at once
    when they are packed); SectionCode places them.  Records are handled kind
    by kind (func_infos, line_infos, core_relos), so the first bad record of
    the first kind is the one reported.
    """
    infos: list[_Infos] = [([], [], []) for _ in funcs]
    code.infos = infos
    if func_infos:
        # The usual shape: one record at the start of each function (a
        # function's first instruction is always a valid place: index 0).
        if len(funcs) == 1:
            if len(func_infos) == 1 and func_infos[0].insn_off == starts[0]:
                infos[0][0].append((0, func_infos[0]))
                func_infos = None
        elif len(func_infos) == len(funcs) and [rec.insn_off for rec in func_infos] == starts:
            for fn_infos, frec in zip(infos, func_infos, strict=True):
                fn_infos[0].append((0, frec))
            func_infos = None
        if func_infos:
            for frec in func_infos:
                k, i = place(name, funcs, code, starts, ends, frec.insn_off, "func_infos")
                infos[k][0].append((i, frec))
    if isinstance(lines, bytes):
        _check_packed(name, funcs, lines, code, starts, ends, "line_infos")
    elif lines:
        for lrec in lines:
            place(name, funcs, code, starts, ends, lrec.insn_off, "line_infos")
    if core_relos:
        for crec in core_relos:
            k, i = place(name, funcs, code, starts, ends, crec.insn_off, "core_relos")
            infos[k][2].append((i, crec))


def place(name: str, funcs: list[ProgramSpec], code: SectionCode, starts: Sequence[int],
          ends: list[int], off: int, attr: str) -> tuple[int, int]:
    """(function, index in it) of a .BTF.ext record at byte offset ``off``."""
    k = bisect_right(starts, off) - 1
    if k < 0 or off >= ends[k]:
        raise CollectionError(
            f"section {name}: .BTF.ext {attr} record at insn_off {off} "
            f"is outside every function"
        )
    slot = off // SLOT
    lds = code.lds
    before = bisect_left(lds, slot) if lds else 0
    if off % SLOT or (before and lds[before - 1] == slot - 1):
        raise CollectionError(
            f"section {name}: .BTF.ext {attr} record at insn_off {off} "
            f"is not at an instruction"
        )
    return k, slot - before - code.index(starts[k])


# A packed line_info or core_relo record: insn_off and three more words.
_LINE_SIZE = 16
# Up to this many records, a section's insn_offs are read by a Struct made for
# that many (and kept); more go through an array.
_LINE_STRUCTS_MAX = 256
# By byte order, then by the records' total size.
_LINE_STRUCTS: dict[str, dict[int, Callable[[bytes], tuple[int, ...]]]] = {"<": {}, ">": {}}


def _check_packed(name: str, funcs: list[ProgramSpec], packed: bytes, code: SectionCode,
                  starts: Sequence[int], ends: list[int], attr: str) -> None:
    """Every packed (16-byte) line or CO-RE record's insn_off is an instruction
    start inside a function: checked column-wise (C loops, not one Python step
    per record) when the functions tile the section; else, or on failure,
    record by record, which raises the first bad record's error."""
    bo = code.byte_order
    size = len(packed)
    structs = _LINE_STRUCTS[bo]
    unpack = structs.get(size)
    if unpack is None:
        count = size // _LINE_SIZE
        if count <= _LINE_STRUCTS_MAX and not size % _LINE_SIZE:
            unpack = structs[size] = struct.Struct(bo + "I12x" * count).unpack
    offs: Sequence[int]
    if unpack is not None:
        offs = unpack(packed)
    else:
        words = array("I", packed)
        if bo != HOST_BYTE_ORDER:
            words.byteswap()
        offs = words[0::4]
    if starts[0] == 0 and (len(starts) == 1 or ends[:-1] == starts[1:]) and _lines_fit(
        offs, packed, ends[-1], code.halves, bo == "<"
    ):
        return
    for off in offs:
        place(name, funcs, code, starts, ends, off, attr)


def _lines_fit(offs: Sequence[int], packed: bytes, end: int, halves: AbstractSet[int],
               little: bool) -> bool:
    """Whether every line record (insn_off ``offs``, records ``packed``) is at
    an instruction start of ``[0, end)`` (functions that tile it), checked
    column-wise: below ``end``; a multiple of 8 (the low byte of insn_off,
    whichever the byte order); not the second half of an ld_imm64."""
    if max(offs) >= end or not (
        packed[0::_LINE_SIZE] if little else packed[3::_LINE_SIZE]
    ).translate(_MOD8_ALPHA).isalpha():
        return False
    return not halves or halves.isdisjoint(offs)


# Each byte that is a multiple of 8 to a letter, any other to a digit: the low
# bytes are all aligned when their translation is all letters (``offs`` is not
# empty, so neither is it).  A plain table and one C pass: translate with
# deleted bytes builds a table of its own each call (~1K instructions more).
_MOD8_ALPHA = bytes(b"a"[0] if not byte % SLOT else b"0"[0] for byte in range(256))
