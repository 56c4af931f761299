"""One eBPF instruction, and the byte codec for instruction streams.

An instruction is one 8-byte slot (opcode, dst:4, src:4, off:s16, imm:s32), except
ld_imm64 which takes two: its ``imm`` carries the whole 64-bit constant and the
second slot's other fields are kept so that encoding is byte-exact even when a
producer put garbage there.
"""

from __future__ import annotations

import struct
import sys
from array import array
from dataclasses import dataclass
from typing import Final, Literal

from loader.asm import opcodes as op
from loader.errors import InstructionError

ByteOrder = Literal["<", ">"]

SLOT_SIZE: Final = 8

# opcode, regs, off, imm: the regs byte's nibble order depends on the byte order
# (little-endian puts dst in the low nibble, big-endian in the high one).
_SLOT: Final = {"<": struct.Struct("<BBhi"), ">": struct.Struct(">BBhi")}
# Encoding takes imm as unsigned so that callers may pass either 0xffffffff or -1.
_SLOT_U: Final = {"<": struct.Struct("<BBhI"), ">": struct.Struct(">BBhI")}


@dataclass(slots=True)
class Instruction:
    """A decoded instruction.

    ``symbol`` names a function starting here and ``reference`` the symbol a
    relocation makes this instruction point to; both are filled by the collection
    loader, not by the decoder.  For ld_imm64, ``imm`` is the signed 64-bit constant
    and ``next_*`` are the second slot's opcode, registers and offset (zero in any
    sane program).
    """

    opcode: int
    dst: int = 0
    src: int = 0
    off: int = 0
    imm: int = 0
    next_opcode: int = 0
    next_dst: int = 0
    next_src: int = 0
    next_off: int = 0
    symbol: str | None = None
    reference: str | None = None

    def copy(self) -> Instruction:
        """A shallow copy (cheaper than copy.copy, which goes through __reduce_ex__)."""
        return Instruction(
            self.opcode, self.dst, self.src, self.off, self.imm, self.next_opcode,
            self.next_dst, self.next_src, self.next_off, self.symbol, self.reference,
        )

    # --- opcode fields -----------------------------------------------------------
    @property
    def cls(self) -> int:
        return self.opcode & op.CLASS_MASK

    @property
    def slots(self) -> int:
        return 2 if self.opcode == op.LD_IMM64 else 1

    @property
    def size_bytes(self) -> int:
        """Access width of a load/store."""
        return op.SIZE_BYTES[self.opcode & op.SIZE_MASK]

    @property
    def mode(self) -> int:
        return self.opcode & op.MODE_MASK

    # --- predicates ----------------------------------------------------------------
    @property
    def is_ld_imm64(self) -> bool:
        return self.opcode == op.LD_IMM64

    @property
    def is_call(self) -> bool:
        return self.opcode == op.CALL

    @property
    def is_helper_call(self) -> bool:
        return self.opcode == op.CALL and self.src == 0

    @property
    def is_pseudo_call(self) -> bool:
        """A bpf-to-bpf call: ``imm`` is the callee's offset in slots minus one."""
        return self.opcode == op.CALL and self.src == op.BPF_PSEUDO_CALL

    @property
    def is_kfunc_call(self) -> bool:
        return self.opcode == op.CALL and self.src == op.BPF_PSEUDO_KFUNC_CALL

    @property
    def is_pseudo_func(self) -> bool:
        """ld_imm64 of a function address (callbacks)."""
        return self.opcode == op.LD_IMM64 and self.src == op.BPF_PSEUDO_FUNC

    @property
    def is_exit(self) -> bool:
        return self.opcode == op.EXIT

    @property
    def is_jump(self) -> bool:
        """A branch with a target inside the program (not call/exit)."""
        cls = self.opcode & op.CLASS_MASK
        if cls != op.BPF_JMP and cls != op.BPF_JMP32:
            return False
        code = self.opcode & op.OP_MASK
        if code == op.BPF_CALL or code == op.BPF_EXIT:
            return False
        if cls == op.BPF_JMP32 and code == op.BPF_JCOND:
            return False
        return code in op.JMP_INFIX or code == op.BPF_JA or self.opcode == op.MAY_GOTO

    @property
    def jump_offset(self) -> int:
        """Slots to skip after this one; gotol (JMP32|JA) keeps it in ``imm``."""
        return self.imm if self.opcode == op.JA32 else self.off

    def jump_target(self, slot: int) -> int | None:
        """Target slot of a jump at ``slot``, or of a bpf-to-bpf call; else None."""
        if self.is_jump:
            return slot + 1 + self.jump_offset
        if self.is_pseudo_call:
            return slot + 1 + self.imm
        return None

    # --- text ------------------------------------------------------------------------
    def text(self) -> str:
        """Disassembly in a syntax close to llvm-objdump's."""
        from loader.asm.text import format_instruction

        return format_instruction(self)

    def __str__(self) -> str:
        return self.text()


def decode(data: bytes | bytearray | memoryview, byte_order: ByteOrder) -> list[Instruction]:
    """Decode an instruction stream; raises InstructionError when truncated."""
    return decode_slots(data, byte_order)[0]


# Register nibbles of every possible regs byte, for bytes.translate.
_LOW_NIBBLE: Final = bytes(b & 0xF for b in range(256))
_HIGH_NIBBLE: Final = bytes(b >> 4 for b in range(256))
_HOST_LITTLE: Final = sys.byteorder == "little"


def decode_slots(
    data: bytes | bytearray | memoryview, byte_order: ByteOrder
) -> tuple[list[Instruction], list[int]]:
    """:func:`decode`, also returning the slot number of every ld_imm64 (ascending).

    Fields are split column-wise by C code (strided slices, ``bytes.translate``,
    ``array``) and the objects built by ``map``: a Python loop over the slots
    costs about as much as everything else an object loader does with them.
    """
    size = len(data)
    if size % SLOT_SIZE:
        raise InstructionError(
            f"instruction stream of {size} bytes is not a multiple of {SLOT_SIZE} "
            f"({size % SLOT_SIZE} trailing bytes at offset {size - size % SLOT_SIZE})"
        )
    if byte_order != "<" and byte_order != ">":
        raise InstructionError(f"byte order {byte_order!r} is neither '<' nor '>'")
    n = size // SLOT_SIZE
    if n <= _SMALL:
        return _decode_loop(data, byte_order)
    raw = bytes(data)
    codes = raw[0::SLOT_SIZE]
    regs = raw[1::SLOT_SIZE]
    low, high = regs.translate(_LOW_NIBBLE), regs.translate(_HIGH_NIBBLE)
    # Little-endian puts dst in the low nibble, big-endian in the high one.
    dst, src = (low, high) if byte_order == "<" else (high, low)
    halves = array("h", raw)
    words = array("i", raw)
    if (byte_order == "<") != _HOST_LITTLE:
        halves.byteswap()
        words.byteswap()
    insns = list(map(Instruction, codes, dst, src, halves[1::4], words[1::2]))
    ld = codes.find(op.LD_IMM64)
    if ld < 0:
        return insns, []
    lds: list[int] = []
    out: list[Instruction] = []
    prev = 0
    while ld >= 0:
        if ld + 1 >= n:
            raise InstructionError(
                f"ld_imm64 at slot {ld} (offset {ld * SLOT_SIZE}) is missing its second half"
            )
        out += insns[prev:ld]
        first, second = insns[ld], insns[ld + 1]
        first.imm = (first.imm & 0xFFFFFFFF) | (second.imm << 32)
        first.next_opcode = second.opcode
        first.next_dst = second.dst
        first.next_src = second.src
        first.next_off = second.off
        out.append(first)
        lds.append(ld)
        prev = ld + 2
        ld = codes.find(op.LD_IMM64, prev)
    out += insns[prev:]
    return out, lds


# Below this many slots the column set-up costs more than it saves (measured).
_SMALL: Final = 16


def _decode_loop(
    data: bytes | bytearray | memoryview, byte_order: ByteOrder
) -> tuple[list[Instruction], list[int]]:
    little = byte_order == "<"
    out: list[Instruction] = []
    lds: list[int] = []
    append = out.append
    it = _SLOT[byte_order].iter_unpack(data)
    slot = 0
    for code, regs, off, imm in it:
        if little:
            dst, src = regs & 0xF, regs >> 4
        else:
            dst, src = regs >> 4, regs & 0xF
        if code == op.LD_IMM64:
            second = next(it, None)
            if second is None:
                raise InstructionError(
                    f"ld_imm64 at slot {slot} (offset {slot * SLOT_SIZE}) is missing its "
                    f"second half"
                )
            code2, regs2, off2, imm2 = second
            if little:
                dst2, src2 = regs2 & 0xF, regs2 >> 4
            else:
                dst2, src2 = regs2 >> 4, regs2 & 0xF
            value = (imm & 0xFFFFFFFF) | (imm2 << 32)
            append(Instruction(code, dst, src, off, value, code2, dst2, src2, off2))
            lds.append(slot)
            slot += 2
        else:
            append(Instruction(code, dst, src, off, imm))
            slot += 1
    return out, lds


def _check(insn: Instruction, index: int) -> None:
    for name in ("opcode", "next_opcode"):
        value = getattr(insn, name)
        if not 0 <= value <= 0xFF:
            raise InstructionError(f"instruction {index}: {name} {value} does not fit in a byte")
    for name in ("dst", "src", "next_dst", "next_src"):
        value = getattr(insn, name)
        if not 0 <= value <= 0xF:
            raise InstructionError(f"instruction {index}: register {name}={value} is not 0..15")
    for name in ("off", "next_off"):
        value = getattr(insn, name)
        if not -0x8000 <= value <= 0x7FFF:
            raise InstructionError(f"instruction {index}: {name} {value} does not fit in s16")
    if insn.opcode == op.LD_IMM64:
        if not -(1 << 63) <= insn.imm < (1 << 64):
            raise InstructionError(f"instruction {index}: imm {insn.imm} does not fit in 64 bits")
    elif not -(1 << 31) <= insn.imm < (1 << 32):
        raise InstructionError(f"instruction {index}: imm {insn.imm} does not fit in 32 bits")


def encode(insns: list[Instruction], byte_order: ByteOrder) -> bytes:
    """Encode instructions; every field is range-checked (InstructionError)."""
    try:
        layout = _SLOT_U[byte_order]
    except KeyError:
        raise InstructionError(f"byte order {byte_order!r} is neither '<' nor '>'") from None
    little = byte_order == "<"
    out = bytearray()
    pack = layout.pack
    for index, insn in enumerate(insns):
        _check(insn, index)
        regs = (insn.src << 4 | insn.dst) if little else (insn.dst << 4 | insn.src)
        if insn.opcode == op.LD_IMM64:
            value = insn.imm & 0xFFFFFFFFFFFFFFFF
            out += pack(insn.opcode, regs, insn.off, value & 0xFFFFFFFF)
            regs2 = (
                (insn.next_src << 4 | insn.next_dst)
                if little
                else (insn.next_dst << 4 | insn.next_src)
            )
            out += pack(insn.next_opcode, regs2, insn.next_off, value >> 32)
        else:
            out += pack(insn.opcode, regs, insn.off, insn.imm & 0xFFFFFFFF)
    return bytes(out)


def slot_count(insns: list[Instruction]) -> int:
    """Number of 8-byte slots the instructions occupy."""
    return sum(2 if i.opcode == op.LD_IMM64 else 1 for i in insns)


__all__ = [
    "SLOT_SIZE", "ByteOrder", "Instruction", "decode", "decode_slots", "encode", "slot_count",
]
