"""Functions of the program sections: decoded, relocated, with their .BTF.ext
records, before linking.

A program section (PROGBITS, executable, non-empty) is decoded once; every
STT_FUNC symbol in it (and, for LLVM < 8, every non-local NOTYPE one) is a
function spanning ``[st_value, st_value + st_size)``.  Relocations are applied
on the section's instruction list, then the list is cut into functions.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field

from loader import elf
from loader.asm import opcodes as op
from loader.asm.instruction import Instruction, decode_slots
from loader.btf.ext import CoreRelo, ExtInfos, FuncInfo, LineInfo
from loader.collection.objfile import Kind, ObjectFile, ObjSection
from loader.collection.relocations import SLOT, Relocator
from loader.errors import CollectionError, InstructionError, RelocationError


@dataclass(slots=True)
class Function:
    name: str
    section: ObjSection
    offset: int
    instructions: list[Instruction]
    slots: int
    global_binding: bool
    func_infos: list[tuple[int, FuncInfo]] = field(default_factory=list)
    line_infos: list[tuple[int, LineInfo]] = field(default_factory=list)
    core_relos: list[tuple[int, CoreRelo]] = field(default_factory=list)


def load_functions(
    obj: ObjectFile, relocator: Relocator, ext: ExtInfos | None
) -> dict[str, Function]:
    out: dict[str, Function] = {}
    bo = obj.elf.byte_order
    for osec in obj.sections_of(Kind.PROGRAM):
        for fn in _section_functions(osec, bo, relocator, ext):
            if fn.name in out:
                other = out[fn.name].section.name
                raise CollectionError(
                    f"section {osec.name}: function {fn.name!r} at offset {fn.offset} "
                    f"duplicates one in section {other}"
                )
            out[fn.name] = fn
    return out


def _section_functions(
    osec: ObjSection, bo: elf.ByteOrder, relocator: Relocator, ext: ExtInfos | None
) -> list[Function]:
    sec = osec.section
    name = sec.name
    if not osec.symbols:
        raise CollectionError(f"section {name}: executable section without function symbols")
    raw = sec.data()
    try:
        insns, lds = decode_slots(raw, bo)
    except InstructionError as exc:
        raise CollectionError(f"section {name}: {exc}") from None
    # Byte offset of each instruction start (and of the end), built from the
    # ld_imm64 positions by C-level list operations rather than a loop over insns.
    nslots = len(raw) // SLOT
    starts = list(range(0, (nslots + 1) * SLOT, SLOT))
    for slot in reversed(lds):
        del starts[slot + 1]  # the second half of an ld_imm64 starts nothing
    index_of = dict(zip(starts, range(len(starts)), strict=True))

    for off, sym in osec.relocations.items():
        idx = index_of.get(off)
        if idx is None:
            raise RelocationError(
                f"section {name}: relocation at offset {off} against {sym.name!r} points "
                f"into the second half of an ld_imm64"
            )
        relocator.apply(osec, off, insns[idx], sym)

    funcs: list[Function] = []
    first_index: list[int] = []
    end_prev = 0
    for off in sorted(osec.symbols):
        sym = osec.symbols[off]
        where = f"section {name}: function {sym.name!r} at offset {off}"
        if sym.size == 0 or sym.size % SLOT or off % SLOT:
            raise CollectionError(f"{where}: size {sym.size} or offset is not a whole "
                                  f"number of instructions")
        end = off + sym.size
        if end > sec.size:
            raise CollectionError(f"{where}: size {sym.size} runs past the section "
                                  f"({sec.size} bytes)")
        if off < end_prev:
            raise CollectionError(f"{where}: overlaps the previous function (ends at "
                                  f"{end_prev})")
        start_idx, end_idx = index_of.get(off), index_of.get(end)
        if start_idx is None or end_idx is None:
            raise CollectionError(f"{where}: starts or ends inside an ld_imm64")
        end_prev = end
        first_index.append(start_idx)
        body = insns[start_idx:end_idx]
        body[0].symbol = sym.name
        funcs.append(Function(sym.name, osec, off, body, sym.size // SLOT,
                              sym.bind != elf.STB_LOCAL))

    _resolve_relative_calls(osec, insns, bytes(raw[0::SLOT]), index_of)
    if ext is not None:
        _attach_ext(name, funcs, first_index, index_of, ext)
    return funcs


def _resolve_relative_calls(osec: ObjSection, insns: list[Instruction], codes: bytes,
                            index_of: dict[int, int]) -> None:
    """LLVM < 9 encodes calls within one section as relative jumps with no
    relocation; they point at the callee's first instruction.

    ``codes`` is the opcode byte of every slot: only slots holding a call opcode
    are looked at, not every instruction.
    """
    pseudo = op.BPF_PSEUDO_CALL
    slot = codes.find(op.CALL)
    while slot >= 0:
        off = slot * SLOT
        i = index_of.get(off)  # None: the second half of an ld_imm64
        slot = codes.find(op.CALL, slot + 1)
        if i is None:
            continue
        ins = insns[i]
        if ins.src != pseudo or ins.reference is not None:
            continue
        dest = off + (ins.imm + 1) * SLOT
        target = osec.symbols.get(dest)
        if target is None:
            raise RelocationError(
                f"section {osec.name}: bpf2bpf call at offset {off} (imm {ins.imm}) has "
                f"no relocation and no function at offset {dest}"
            )
        ins.reference = target.name
        ins.imm = -1


def _attach_ext(name: str, funcs: list[Function], first_index: list[int],
                index_of: dict[int, int], ext: ExtInfos) -> None:
    """.BTF.ext insn_off are byte offsets into the section; give each record to
    the function containing it, as an index into that function's instructions.

    ``funcs`` are sorted by offset and do not overlap; ``first_index`` is the
    section-wide index of each one's first instruction, ``index_of`` maps byte
    offsets of instruction starts to section-wide indices.
    """
    kinds: tuple[tuple[list[FuncInfo] | list[LineInfo] | list[CoreRelo], str], ...] = (
        (ext.func_infos.get(name, []), "func_infos"),
        (ext.line_infos.get(name, []), "line_infos"),
        (ext.core_relos.get(name, []), "core_relos"),
    )
    if not any(records for records, _ in kinds):
        return
    starts = [fn.offset for fn in funcs]
    ends = [fn.offset + fn.slots * SLOT for fn in funcs]
    for records, attr in kinds:
        if not records:
            continue
        # Each function's list for this kind, looked up once rather than per record.
        targets: list[list[tuple[int, FuncInfo | LineInfo | CoreRelo]]] = [
            getattr(fn, attr) for fn in funcs
        ]
        for rec in records:
            off = rec.insn_off
            k = bisect_right(starts, off) - 1
            if k < 0 or off >= ends[k]:
                raise CollectionError(
                    f"section {name}: .BTF.ext {attr} record at insn_off {off} "
                    f"is outside every function"
                )
            idx = index_of.get(off)
            if idx is None:
                raise CollectionError(
                    f"section {name}: .BTF.ext {attr} record at insn_off {off} "
                    f"is not at an instruction"
                )
            targets[k].append((idx - first_index[k], rec))
