"""Functions of the program sections: relocated, with their .BTF.ext records,
before linking.

A program section (PROGBITS, executable, non-empty) is checked once at open;
every STT_FUNC symbol in it (and, for LLVM < 8, every non-local NOTYPE one) is
a function spanning ``[st_value, st_value + st_size)``.  As in libbpf, open
validates every relocation against the raw bytes (opcode, symbol kinds,
targets) and records what it does to the instruction; decoding the section
into :class:`Instruction` objects, applying those records and placing the
line_info records wait for the first look at a function's ``instructions``
(:class:`SectionCode`).  Every error an object can raise is raised at open.
"""

from __future__ import annotations

import struct
from array import array
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field

from loader import elf
from loader.asm import opcodes as op
from loader.asm.instruction import Instruction, decode_slots
from loader.btf.ext import (
    HOST_BYTE_ORDER,
    CoreRelo,
    ExtInfos,
    FuncInfo,
    LineInfo,
    decode_line_infos,
)
from loader.btf.strings import StringTable
from loader.collection.objfile import Kind, ObjectFile, ObjSection
from loader.collection.relocations import SLOT, Relocator
from loader.errors import CollectionError, InstructionError, RelocationError

_SLOT_FMT = {"<": struct.Struct("<BBhi"), ">": struct.Struct(">BBhi")}
_CALL = op.CALL
_LD_IMM64 = op.LD_IMM64
_PSEUDO_CALL = op.BPF_PSEUDO_CALL
_PSEUDO_FUNC = op.BPF_PSEUDO_FUNC


class SectionCode:
    """One program section's code as validated at open, decoded on demand.

    ``fixes`` are the relocations' (and old-LLVM relative calls') effects:
    ``(instruction index, src, imm, reference)``; ``lds`` the slot of every
    ld_imm64, which is all it takes to turn byte offsets into indices.
    """

    __slots__ = ("byte_order", "fixes", "functions", "insns", "lds", "line_records", "raw",
                 "strings")

    def __init__(self, raw: bytes, byte_order: elf.ByteOrder, lds: list[int]) -> None:
        self.raw = raw
        self.byte_order: elf.ByteOrder = byte_order
        self.lds = lds
        self.fixes: list[tuple[int, int, int, str]] = []
        # (byte offset, first index, name, line_infos list) of each function; not
        # the Function objects, which point here: no reference cycle, so a spec
        # is freed by reference counting rather than by the cyclic GC.
        self.functions: list[tuple[int, int, str, list[tuple[int, LineInfo]]]] = []
        # line_info records of this section: packed bytes or decoded, None if none.
        self.line_records: bytes | list[LineInfo] | None = None
        self.strings: StringTable | None = None
        self.insns: list[Instruction] | None = None

    def index(self, offset: int) -> int:
        """Instruction index of an instruction start (checked by the caller)."""
        lds = self.lds
        slot = offset // SLOT
        return slot - bisect_left(lds, slot) if lds else slot

    def decoded(self) -> list[Instruction]:
        insns = self.insns
        if insns is not None:
            return insns
        insns = decode_slots(self.raw, self.byte_order)[0]
        for i, src, imm, ref in self.fixes:
            ins = insns[i]
            ins.src = src
            ins.imm = imm
            ins.reference = ref
        funcs = self.functions
        for _, start, name, _ in funcs:
            insns[start].symbol = name
        records = self.line_records
        if records is not None:
            if isinstance(records, bytes):
                assert self.strings is not None
                records = decode_line_infos(records, self.byte_order, self.strings)
            starts = [fn[0] for fn in funcs]
            index = self.index
            for rec in records:
                off = rec.insn_off
                _, start, _, lines = funcs[bisect_right(starts, off) - 1]
                lines.append((index(off) - start, rec))
        self.insns = insns
        return insns


@dataclass(slots=True, eq=False)
class Function:
    name: str
    section: ObjSection
    offset: int
    slots: int
    global_binding: bool
    code: SectionCode
    # Section-wide indices of the first instruction and one past the last.
    start: int
    end: int
    # Functions referenced (calls, callbacks), in instruction order, repeats kept.
    callees: list[str] = field(default_factory=list)
    func_infos: list[tuple[int, FuncInfo]] = field(default_factory=list)
    # Filled when the section is decoded (see SectionCode.decoded).
    line_infos: list[tuple[int, LineInfo]] = field(default_factory=list)
    core_relos: list[tuple[int, CoreRelo]] = field(default_factory=list)

    @property
    def instructions(self) -> list[Instruction]:
        return self.code.decoded()[self.start:self.end]

    @property
    def count(self) -> int:
        """Number of instructions (ld_imm64 counts once), without decoding."""
        return self.end - self.start


def load_functions(
    obj: ObjectFile, relocator: Relocator, ext: ExtInfos | None,
    packed_lines: dict[str, bytes] | None = None,
) -> dict[str, Function]:
    out: dict[str, Function] = {}
    bo = obj.elf.byte_order
    strings = obj.btf.strings if obj.btf is not None else None
    for osec in obj.sections_of(Kind.PROGRAM):
        for fn in _section_functions(osec, bo, relocator, ext, packed_lines, strings):
            if fn.name in out:
                other = out[fn.name].section.name
                raise CollectionError(
                    f"section {osec.name}: function {fn.name!r} at offset {fn.offset} "
                    f"duplicates one in section {other}"
                )
            out[fn.name] = fn
    return out


def _ld_slots(name: str, codes: bytes) -> list[int]:
    """Slots of the ld_imm64s, found as the decoder finds them (raising its error)."""
    lds: list[int] = []
    n = len(codes)
    ld = codes.find(_LD_IMM64)
    while ld >= 0:
        if ld + 1 >= n:
            raise CollectionError(
                f"section {name}: ld_imm64 at slot {ld} (offset {ld * SLOT}) is missing its "
                f"second half"
            )
        lds.append(ld)
        ld = codes.find(_LD_IMM64, ld + 2)
    return lds


def _section_functions(
    osec: ObjSection, bo: elf.ByteOrder, relocator: Relocator, ext: ExtInfos | None,
    packed_lines: dict[str, bytes] | None, strings: StringTable | None,
) -> list[Function]:
    sec = osec.section
    name = sec.name
    if not osec.symbols:
        raise CollectionError(f"section {name}: executable section without function symbols")
    raw = bytes(sec.data())
    size = len(raw)
    if size % SLOT:
        exc = InstructionError(
            f"instruction stream of {size} bytes is not a multiple of {SLOT} "
            f"({size % SLOT} trailing bytes at offset {size - size % SLOT})"
        )
        raise CollectionError(f"section {name}: {exc}")
    codes = raw[0::SLOT]
    lds = _ld_slots(name, codes)
    # Slots holding the second half of an ld_imm64: they start no instruction.
    halves = {s + 1 for s in lds}
    code = SectionCode(raw, bo, lds)
    index = code.index
    little = bo == "<"
    unpack = _SLOT_FMT[bo].unpack_from
    fixes = code.fixes
    # (byte offset, function) of every reference to a function, for callees.
    calls: list[tuple[int, str]] = []

    resolve = relocator.resolve
    for off, sym in osec.relocations.items():
        slot = off // SLOT
        if slot in halves:
            raise RelocationError(
                f"section {name}: relocation at offset {off} against {sym.name!r} points "
                f"into the second half of an ld_imm64"
            )
        opcode, regs, _, imm = unpack(raw, off)
        src = regs >> 4 if little else regs & 0xF
        if opcode == _LD_IMM64:
            imm = (imm & 0xFFFFFFFF) | (unpack(raw, off + SLOT)[3] << 32)
        src, imm, ref = resolve(osec, off, opcode, src, imm, sym)
        fixes.append((index(off), src, imm, ref))
        if (src == _PSEUDO_CALL and opcode == _CALL) or (
            src == _PSEUDO_FUNC and opcode == _LD_IMM64
        ):
            calls.append((off, ref))

    funcs: list[Function] = []
    end_prev = 0
    symbols = osec.symbols
    for off in sorted(symbols) if len(symbols) > 1 else symbols:
        sym = symbols[off]
        fsize = sym.size
        end = off + fsize
        if (not fsize or fsize % SLOT or off % SLOT or end > size or off < end_prev
                or (halves and (off // SLOT in halves or end // SLOT in halves))):
            # Messages only when something is wrong; raised here, not in a
            # helper: fuzz findings are keyed by the raising function.
            where = f"section {name}: function {sym.name!r} at offset {off}"
            if sym.size == 0 or sym.size % SLOT or off % SLOT:
                raise CollectionError(f"{where}: size {sym.size} or offset is not a whole "
                                      f"number of instructions")
            if end > size:
                raise CollectionError(f"{where}: size {sym.size} runs past the section "
                                      f"({size} bytes)")
            if off < end_prev:
                raise CollectionError(f"{where}: overlaps the previous function (ends at "
                                      f"{end_prev})")
            raise CollectionError(f"{where}: starts or ends inside an ld_imm64")
        end_prev = end
        funcs.append(Function(sym.name, osec, off, fsize // SLOT,
                              sym.bind != elf.STB_LOCAL, code, index(off), index(end)))
    code.functions = [(fn.offset, fn.start, fn.name, fn.line_infos) for fn in funcs]

    _resolve_relative_calls(osec, raw, codes, halves, code, calls, little)
    if calls:
        calls.sort()
        starts = [fn.offset for fn in funcs]
        for off, ref in calls:
            k = bisect_right(starts, off) - 1
            if k >= 0 and off < funcs[k].offset + funcs[k].slots * SLOT:
                funcs[k].callees.append(ref)
    if ext is not None:
        lines = packed_lines.get(name) if packed_lines is not None else None
        _attach_ext(name, funcs, code, halves, ext, lines)
        if lines is not None:
            code.line_records = lines
            code.strings = strings
    return funcs


def _resolve_relative_calls(osec: ObjSection, raw: bytes, codes: bytes, halves: set[int],
                            code: SectionCode, calls: list[tuple[int, str]],
                            little: bool) -> None:
    """LLVM < 9 encodes calls within one section as relative jumps with no
    relocation; they point at the callee's first instruction.

    ``codes`` is the opcode byte of every slot: only slots holding a call opcode
    are looked at, not every instruction.
    """
    relocated = osec.relocations
    slot = codes.find(_CALL)
    while slot >= 0:
        off = slot * SLOT
        this = slot
        slot = codes.find(_CALL, slot + 1)
        if this in halves or off in relocated:
            continue
        regs = raw[off + 1]
        if (regs >> 4 if little else regs & 0xF) != _PSEUDO_CALL:
            continue
        imm = int.from_bytes(raw[off + 4:off + 8], "little" if little else "big", signed=True)
        dest = off + (imm + 1) * SLOT
        target = osec.symbols.get(dest)
        if target is None:
            raise RelocationError(
                f"section {osec.name}: bpf2bpf call at offset {off} (imm {imm}) has "
                f"no relocation and no function at offset {dest}"
            )
        code.fixes.append((code.index(off), _PSEUDO_CALL, -1, target.name))
        calls.append((off, target.name))


def _attach_ext(name: str, funcs: list[Function], code: SectionCode, halves: set[int],
                ext: ExtInfos, packed: bytes | None) -> None:
    """.BTF.ext insn_off are byte offsets into the section; give each record to
    the function containing it, as an index into that function's instructions.

    ``funcs`` are sorted by offset and do not overlap.  Line records are only
    checked here (all at once when they are packed); SectionCode places them.
    Records are handled kind by kind (func_infos, line_infos, core_relos), so
    the first bad record of the first kind is the one reported.
    """
    func_infos = ext.func_infos.get(name)
    lines = ext.line_infos.get(name) if packed is None else None
    core_relos = ext.core_relos.get(name)
    if packed is None and not func_infos and not lines and not core_relos:
        return
    starts = [fn.offset for fn in funcs]
    ends = [fn.offset + fn.slots * SLOT for fn in funcs]
    if func_infos:
        if len(func_infos) == len(funcs) and [rec.insn_off for rec in func_infos] == starts:
            # The usual shape: one record at the start of each function (a
            # function's first instruction is always a valid place: index 0).
            for fn, frec in zip(funcs, func_infos, strict=True):
                fn.func_infos.append((0, frec))
        else:
            for frec in func_infos:
                k, i = place(name, funcs, code, halves, starts, ends, frec.insn_off,
                              "func_infos")
                funcs[k].func_infos.append((i, frec))
    if packed is not None:
        _check_packed_lines(name, funcs, packed, code, halves, starts, ends)
    elif lines:
        code.line_records = list(lines)
        for lrec in lines:
            place(name, funcs, code, halves, starts, ends, lrec.insn_off, "line_infos")
    if core_relos:
        for crec in core_relos:
            k, i = place(name, funcs, code, halves, starts, ends, crec.insn_off, "core_relos")
            funcs[k].core_relos.append((i, crec))


def place(name: str, funcs: list[Function], code: SectionCode, halves: set[int],
           starts: list[int], ends: list[int], off: int, attr: str) -> tuple[int, int]:
    """(function, index in it) of a .BTF.ext record at byte offset ``off``."""
    k = bisect_right(starts, off) - 1
    if k < 0 or off >= ends[k]:
        raise CollectionError(
            f"section {name}: .BTF.ext {attr} record at insn_off {off} "
            f"is outside every function"
        )
    if off % SLOT or off // SLOT in halves:
        raise CollectionError(
            f"section {name}: .BTF.ext {attr} record at insn_off {off} "
            f"is not at an instruction"
        )
    return k, code.index(off) - funcs[k].start


def _check_packed_lines(name: str, funcs: list[Function], packed: bytes, code: SectionCode,
                        halves: set[int], starts: list[int], ends: list[int]) -> None:
    """Every packed line record's insn_off is an instruction start inside a
    function: checked column-wise (C loops, not one Python step per record)
    when the functions tile the section; else, or on failure, record by record,
    which raises the first bad record's error."""
    words = array("I", packed)
    if code.byte_order != HOST_BYTE_ORDER:
        words.byteswap()
    offs = words[0::4]
    tiled = starts[0] == 0 and (
        len(starts) == 1 or all(e == s for e, s in zip(ends, starts[1:], strict=False))
    )
    if tiled and max(offs) < ends[-1]:
        raw = offs.tobytes()
        low = raw[0::4] if HOST_BYTE_ORDER == "<" else raw[3::4]
        if not max(low.translate(_MOD8)) and (
            not halves or set(offs).isdisjoint([s * SLOT for s in halves])
        ):
            return
    for off in offs:
        place(name, funcs, code, halves, starts, ends, off, "line_infos")


_MOD8 = bytes(b % SLOT for b in range(256))
