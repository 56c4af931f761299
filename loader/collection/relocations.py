"""Applying one ELF relocation to one instruction of a program section.

The result is symbolic: an instruction gets a ``reference`` (a map, a data
section, a function, an extern) and the pseudo source register the kernel
expects; fds and final call offsets are filled in at load time.  Target offsets
follow libbpf's arithmetic, which covers every LLVM generation at once:

- data: ``offset = symbol value + imm`` (section symbols for statics carry the
  offset in imm, object symbols in st_value), stored as ``offset << 32``;
- calls: the callee starts at ``symbol value + (imm + 1) * 8`` in the target
  section (global functions: imm -1; static ones via the section symbol);
- function pointers (ld_imm64, callbacks): at ``symbol value + imm``.
"""

from __future__ import annotations

from loader import elf
from loader.asm import opcodes as op
from loader.asm.instruction import Instruction
from loader.collection.objfile import KCONFIG_SEC, Kind, ObjectFile, ObjSection
from loader.collection.spec import ExternSpec, MapSpec
from loader.errors import RelocationError

SLOT = 8
_BIND_NAMES = {elf.STB_LOCAL: "local", elf.STB_GLOBAL: "global", elf.STB_WEAK: "weak"}


_Where = tuple[ObjSection, int, elf.SymbolRow]


def _at(where: _Where) -> str:
    osec, offset, sym = where
    return f"section {osec.name}: relocation at offset {offset} against {sym[1]!r}"


class Relocator:
    """Resolves relocations of program sections against the object's maps,
    data, functions and externs (all loaded before programs)."""

    __slots__ = ("externs", "maps", "obj")

    def __init__(
        self, obj: ObjectFile, maps: dict[str, MapSpec], externs: dict[str, ExternSpec]
    ) -> None:
        self.obj = obj
        self.maps = maps
        self.externs = externs

    def apply(self, osec: ObjSection, offset: int, ins: Instruction, sym: elf.SymbolRow) -> None:
        ins.src, ins.imm, ins.reference = self.resolve(osec, offset, ins.opcode, ins.src,
                                                       ins.imm, sym)

    def resolve(self, osec: ObjSection, offset: int, opcode: int, src: int, imm: int,
                sym: elf.SymbolRow) -> tuple[int, int, str]:
        """What the relocation at ``offset`` (against ``sym``) makes of the
        instruction there, given its raw opcode, src and imm (the 64-bit value
        for ld_imm64): ``(src, imm, reference)``.  Works on values so that open
        validates every relocation without decoding the section."""
        target = self.obj.by_index[sym[7]]
        kind = target.kind
        # The error context is built only when an error is raised.
        where = (osec, offset, sym)
        if kind is Kind.LEGACY_MAPS or kind is Kind.BTF_MAPS or kind is Kind.STRUCT_OPS:
            if opcode != op.LD_IMM64:
                raise RelocationError(f"{_at(where)}: map reference on opcode {opcode:#04x}, "
                                      f"not ld_imm64")
            if sym[4] == elf.STB_LOCAL:
                raise RelocationError(f"{_at(where)}: map symbol is static (local binding)")
            if sym[5] not in (elf.STT_OBJECT, elf.STT_NOTYPE):
                raise RelocationError(
                    f"{_at(where)}: map symbol has type {sym[5]}, not OBJECT/NOTYPE"
                )
            if sym[1] not in self.maps:
                raise RelocationError(f"{_at(where)}: no map named {sym[1]!r}")
            return op.BPF_PSEUDO_MAP_FD, 0, sym[1]
        if kind is Kind.DATA:
            return self._data(where, opcode, imm, sym, target)
        if kind is Kind.PROGRAM:
            return self._code(where, opcode, src, imm, sym, target)
        return self._extern(where, opcode, src, sym)

    def _data(self, where: _Where, opcode: int, imm: int, sym: elf.SymbolRow,
              target: ObjSection) -> tuple[int, int, str]:
        if opcode != op.LD_IMM64:
            raise RelocationError(f"{_at(where)}: data reference on opcode {opcode:#04x}, "
                                  f"not ld_imm64")
        if sym[5] == elf.STT_SECTION or sym[5] == elf.STT_NOTYPE:
            if sym[4] != elf.STB_LOCAL:
                raise RelocationError(
                    f"{_at(where)}: {_BIND_NAMES.get(sym[4], sym[4])} binding on a "
                    f"section/notype data symbol"
                )
        elif sym[5] != elf.STT_OBJECT:
            raise RelocationError(f"{_at(where)}: data symbol has type {sym[5]}")
        offset = sym[2] + (imm & 0xFFFFFFFF)
        if offset > target.section.size:
            raise RelocationError(
                f"{_at(where)}: offset {offset} is past the end of {target.name} "
                f"({target.section.size} bytes)"
            )
        if target.name not in self.maps:
            raise RelocationError(f"{_at(where)}: data section {target.name} has no map")
        return op.BPF_PSEUDO_MAP_VALUE, offset << 32, target.name

    def _code(self, where: _Where, opcode: int, src: int, imm: int, sym: elf.SymbolRow,
              target: ObjSection) -> tuple[int, int, str]:
        if opcode == op.CALL:
            if src != op.BPF_PSEUDO_CALL:
                raise RelocationError(f"{_at(where)}: call with src {src}, not a bpf2bpf call")
            dest = sym[2] + (imm + 1) * SLOT
        elif opcode == op.LD_IMM64:
            dest = sym[2] + imm
            src = op.BPF_PSEUDO_FUNC
        else:
            raise RelocationError(
                f"{_at(where)}: code reference on opcode {opcode:#04x}, neither a call "
                f"nor ld_imm64"
            )
        func = target.symbols.get(dest)
        if func is None or func[5] not in (elf.STT_FUNC, elf.STT_NOTYPE):
            raise RelocationError(
                f"{_at(where)}: no function at offset {dest} of section {target.name}"
            )
        return src, -1 if opcode == op.CALL else 0, func[1]

    def _extern(self, where: _Where, opcode: int, src: int,
                sym: elf.SymbolRow) -> tuple[int, int, str]:
        if sym[4] not in (elf.STB_GLOBAL, elf.STB_WEAK):
            raise RelocationError(f"{_at(where)}: undefined symbol with local binding")
        ext = self.externs.get(sym[1])
        if ext is None:
            what = "call to undefined function" if opcode == op.CALL else "unknown extern"
            raise RelocationError(
                f"{_at(where)}: {what} {sym[1]!r} (no .kconfig/.ksyms BTF declares it)"
            )
        if ext.kind == "kconfig":
            if opcode != op.LD_IMM64:
                raise RelocationError(f"{_at(where)}: kconfig read on opcode {opcode:#04x}")
            return op.BPF_PSEUDO_MAP_VALUE, ext.offset << 32, KCONFIG_SEC
        if opcode == op.CALL:
            if ext.what != "func":
                raise RelocationError(f"{_at(where)}: call to ksym variable {sym[1]!r}")
            return op.BPF_PSEUDO_KFUNC_CALL, -1, sym[1]
        if opcode == op.LD_IMM64:
            # The kernel wants BPF_PSEUDO_BTF_ID with the target's id at load time.
            return src, 0, sym[1]
        raise RelocationError(f"{_at(where)}: ksym reference on opcode {opcode:#04x}")
