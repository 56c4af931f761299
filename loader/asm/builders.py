"""Builders for hand-written programs, named after the kernel's BPF_* macros
(include/linux/filter.h) in lower case.  Each returns one Instruction."""

from __future__ import annotations

from loader.asm import opcodes as op
from loader.asm.instruction import Instruction
from loader.errors import InstructionError


def _size(size: int) -> int:
    if size not in op.SIZE_BYTES:
        raise InstructionError(
            f"size {size:#x} is not BPF_W, BPF_H, BPF_B or BPF_DW (0x00/0x08/0x10/0x18)"
        )
    return size


# --- ALU ------------------------------------------------------------------------------
def alu64_imm(code: int, dst: int, imm: int, off: int = 0) -> Instruction:
    return Instruction(op.BPF_ALU64 | code | op.BPF_K, dst, 0, off, imm)


def alu64_reg(code: int, dst: int, src: int, off: int = 0) -> Instruction:
    return Instruction(op.BPF_ALU64 | code | op.BPF_X, dst, src, off, 0)


def alu32_imm(code: int, dst: int, imm: int, off: int = 0) -> Instruction:
    return Instruction(op.BPF_ALU | code | op.BPF_K, dst, 0, off, imm)


def alu32_reg(code: int, dst: int, src: int, off: int = 0) -> Instruction:
    return Instruction(op.BPF_ALU | code | op.BPF_X, dst, src, off, 0)


def mov64_imm(dst: int, imm: int) -> Instruction:
    return alu64_imm(op.BPF_MOV, dst, imm)


def mov64_reg(dst: int, src: int) -> Instruction:
    return alu64_reg(op.BPF_MOV, dst, src)


def mov32_imm(dst: int, imm: int) -> Instruction:
    return alu32_imm(op.BPF_MOV, dst, imm)


def mov32_reg(dst: int, src: int) -> Instruction:
    return alu32_reg(op.BPF_MOV, dst, src)


def neg64(dst: int) -> Instruction:
    return Instruction(op.BPF_ALU64 | op.BPF_NEG, dst)


def movsx64_reg(dst: int, src: int, bits: int) -> Instruction:
    """ISA v4: dst = (s8/s16/s32)src."""
    if bits not in (8, 16, 32):
        raise InstructionError(f"movsx64: bits {bits} is not 8, 16 or 32")
    return alu64_reg(op.BPF_MOV, dst, src, off=bits)


def movsx32_reg(dst: int, src: int, bits: int) -> Instruction:
    """ISA v4: w_dst = (s8/s16)w_src."""
    if bits not in (8, 16):
        raise InstructionError(f"movsx32: bits {bits} is not 8 or 16")
    return alu32_reg(op.BPF_MOV, dst, src, off=bits)


def sdiv64_reg(dst: int, src: int) -> Instruction:
    """ISA v4 signed division: BPF_DIV with off=1."""
    return alu64_reg(op.BPF_DIV, dst, src, off=1)


def sdiv64_imm(dst: int, imm: int) -> Instruction:
    return alu64_imm(op.BPF_DIV, dst, imm, off=1)


def smod64_reg(dst: int, src: int) -> Instruction:
    """ISA v4 signed modulo: BPF_MOD with off=1."""
    return alu64_reg(op.BPF_MOD, dst, src, off=1)


def smod64_imm(dst: int, imm: int) -> Instruction:
    return alu64_imm(op.BPF_MOD, dst, imm, off=1)


def endian(dst: int, bits: int, to_be: bool) -> Instruction:
    """BPF_ALU | BPF_END: convert to little or big endian (le16/be32...)."""
    if bits not in (16, 32, 64):
        raise InstructionError(f"endian: bits {bits} is not 16, 32 or 64")
    source = op.BPF_TO_BE if to_be else op.BPF_TO_LE
    return Instruction(op.BPF_ALU | op.BPF_END | source, dst, 0, 0, bits)


def bswap(dst: int, bits: int) -> Instruction:
    """ISA v4 BPF_ALU64 | BPF_END: unconditional byte swap."""
    if bits not in (16, 32, 64):
        raise InstructionError(f"bswap: bits {bits} is not 16, 32 or 64")
    return Instruction(op.BPF_ALU64 | op.BPF_END | op.BPF_TO_LE, dst, 0, 0, bits)


# --- 64-bit immediates and legacy packet loads -----------------------------------------
def ld_imm64(dst: int, value: int, src: int = 0) -> Instruction:
    return Instruction(op.LD_IMM64, dst, src, 0, value)


def ld_map_fd(dst: int, fd: int) -> Instruction:
    return ld_imm64(dst, fd, op.BPF_PSEUDO_MAP_FD)


def ld_map_value(dst: int, fd: int, offset: int) -> Instruction:
    """BPF_PSEUDO_MAP_VALUE: the map fd in the low half, the value offset in the high."""
    return ld_imm64(dst, (fd & 0xFFFFFFFF) | (offset << 32), op.BPF_PSEUDO_MAP_VALUE)


def ld_abs(size: int, imm: int) -> Instruction:
    return Instruction(op.BPF_LD | _size(size) | op.BPF_ABS, 0, 0, 0, imm)


def ld_ind(size: int, src: int, imm: int) -> Instruction:
    return Instruction(op.BPF_LD | _size(size) | op.BPF_IND, 0, src, 0, imm)


# --- memory ------------------------------------------------------------------------------
def ldx_mem(size: int, dst: int, src: int, off: int) -> Instruction:
    return Instruction(op.BPF_LDX | _size(size) | op.BPF_MEM, dst, src, off)


def ldsx_mem(size: int, dst: int, src: int, off: int) -> Instruction:
    """ISA v4 sign-extending load (BPF_MEMSX); BPF_DW does not exist."""
    if size == op.BPF_DW:
        raise InstructionError("ldsx: BPF_DW has no sign-extending form")
    return Instruction(op.BPF_LDX | _size(size) | op.BPF_MEMSX, dst, src, off)


def st_mem(size: int, dst: int, off: int, imm: int) -> Instruction:
    return Instruction(op.BPF_ST | _size(size) | op.BPF_MEM, dst, 0, off, imm)


def stx_mem(size: int, dst: int, src: int, off: int) -> Instruction:
    return Instruction(op.BPF_STX | _size(size) | op.BPF_MEM, dst, src, off)


def _atomic_size(size: int) -> int:
    if size not in (op.BPF_W, op.BPF_DW):
        raise InstructionError(f"atomic: size {size:#x} is not BPF_W or BPF_DW")
    return size


def atomic_op(
    size: int, code: int, dst: int, src: int, off: int, fetch: bool = False
) -> Instruction:
    """add/and/or/xor at *(dst + off) with src, optionally returning the old value."""
    if code not in op.ATOMIC_INFIX:
        raise InstructionError(f"atomic: operation {code:#x} is not ADD, AND, OR or XOR")
    imm = code | (op.BPF_FETCH if fetch else 0)
    return Instruction(op.BPF_STX | _atomic_size(size) | op.BPF_ATOMIC, dst, src, off, imm)


def atomic_xchg(size: int, dst: int, src: int, off: int) -> Instruction:
    return Instruction(op.BPF_STX | _atomic_size(size) | op.BPF_ATOMIC, dst, src, off, op.BPF_XCHG)


def atomic_cmpxchg(size: int, dst: int, src: int, off: int) -> Instruction:
    """Compare *(dst + off) with r0, store src if equal; r0 gets the old value."""
    return Instruction(
        op.BPF_STX | _atomic_size(size) | op.BPF_ATOMIC, dst, src, off, op.BPF_CMPXCHG
    )


def load_acquire(size: int, dst: int, src: int, off: int) -> Instruction:
    return Instruction(op.BPF_STX | _size(size) | op.BPF_ATOMIC, dst, src, off, op.BPF_LOAD_ACQ)


def store_release(size: int, dst: int, src: int, off: int) -> Instruction:
    return Instruction(op.BPF_STX | _size(size) | op.BPF_ATOMIC, dst, src, off, op.BPF_STORE_REL)


# --- jumps and calls -------------------------------------------------------------------
def jmp_imm(code: int, dst: int, imm: int, off: int) -> Instruction:
    return Instruction(op.BPF_JMP | code | op.BPF_K, dst, 0, off, imm)


def jmp_reg(code: int, dst: int, src: int, off: int) -> Instruction:
    return Instruction(op.BPF_JMP | code | op.BPF_X, dst, src, off)


def jmp32_imm(code: int, dst: int, imm: int, off: int) -> Instruction:
    return Instruction(op.BPF_JMP32 | code | op.BPF_K, dst, 0, off, imm)


def jmp32_reg(code: int, dst: int, src: int, off: int) -> Instruction:
    return Instruction(op.BPF_JMP32 | code | op.BPF_X, dst, src, off)


def ja(off: int) -> Instruction:
    return Instruction(op.BPF_JMP | op.BPF_JA, 0, 0, off)


def gotol(offset: int) -> Instruction:
    """ISA v4 long jump: BPF_JMP32 | BPF_JA with the offset in imm."""
    return Instruction(op.JA32, 0, 0, 0, offset)


def may_goto(off: int) -> Instruction:
    return Instruction(op.MAY_GOTO, 0, 0, off)


def call_helper(helper_id: int) -> Instruction:
    return Instruction(op.CALL, 0, 0, 0, helper_id)


def call_pseudo(off: int) -> Instruction:
    """bpf-to-bpf call: ``off`` is the callee's slot minus this slot minus one."""
    return Instruction(op.CALL, 0, op.BPF_PSEUDO_CALL, 0, off)


def call_kfunc(btf_id: int) -> Instruction:
    return Instruction(op.CALL, 0, op.BPF_PSEUDO_KFUNC_CALL, 0, btf_id)


def exit_insn() -> Instruction:
    return Instruction(op.EXIT)
