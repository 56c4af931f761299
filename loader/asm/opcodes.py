"""The eBPF opcode byte, declared once.

Names and values follow include/uapi/linux/bpf_common.h and bpf.h and the
kernel's Documentation/bpf/standardization/instruction-set.rst.
"""

from __future__ import annotations

from typing import Final

# Instruction classes (opcode & 0x07).
BPF_LD: Final = 0x00
BPF_LDX: Final = 0x01
BPF_ST: Final = 0x02
BPF_STX: Final = 0x03
BPF_ALU: Final = 0x04
BPF_JMP: Final = 0x05
BPF_JMP32: Final = 0x06
BPF_ALU64: Final = 0x07
CLASS_MASK: Final = 0x07

# Source operand of ALU and JMP (opcode & 0x08).
BPF_K: Final = 0x00
BPF_X: Final = 0x08
SOURCE_MASK: Final = 0x08
# BPF_END reuses the source bit for the byte order to convert to.
BPF_TO_LE: Final = 0x00
BPF_TO_BE: Final = 0x08

# ALU operations (opcode & 0xf0).
BPF_ADD: Final = 0x00
BPF_SUB: Final = 0x10
BPF_MUL: Final = 0x20
BPF_DIV: Final = 0x30
BPF_OR: Final = 0x40
BPF_AND: Final = 0x50
BPF_LSH: Final = 0x60
BPF_RSH: Final = 0x70
BPF_NEG: Final = 0x80
BPF_MOD: Final = 0x90
BPF_XOR: Final = 0xA0
BPF_MOV: Final = 0xB0
BPF_ARSH: Final = 0xC0
BPF_END: Final = 0xD0
OP_MASK: Final = 0xF0

# JMP operations (opcode & 0xf0).
BPF_JA: Final = 0x00
BPF_JEQ: Final = 0x10
BPF_JGT: Final = 0x20
BPF_JGE: Final = 0x30
BPF_JSET: Final = 0x40
BPF_JNE: Final = 0x50
BPF_JSGT: Final = 0x60
BPF_JSGE: Final = 0x70
BPF_CALL: Final = 0x80
BPF_EXIT: Final = 0x90
BPF_JLT: Final = 0xA0
BPF_JLE: Final = 0xB0
BPF_JSLT: Final = 0xC0
BPF_JSLE: Final = 0xD0
BPF_JCOND: Final = 0xE0  # may_goto (src=0, BPF_MAY_GOTO)

# Load/store size (opcode & 0x18) and mode (opcode & 0xe0).
BPF_W: Final = 0x00
BPF_H: Final = 0x08
BPF_B: Final = 0x10
BPF_DW: Final = 0x18
SIZE_MASK: Final = 0x18
BPF_IMM: Final = 0x00
BPF_ABS: Final = 0x20
BPF_IND: Final = 0x40
BPF_MEM: Final = 0x60
BPF_MEMSX: Final = 0x80
BPF_ATOMIC: Final = 0xC0
MODE_MASK: Final = 0xE0

SIZE_BYTES: Final = {BPF_W: 4, BPF_H: 2, BPF_B: 1, BPF_DW: 8}
SIZE_NAMES: Final = {BPF_W: "u32", BPF_H: "u16", BPF_B: "u8", BPF_DW: "u64"}
SIGNED_SIZE_NAMES: Final = {BPF_W: "s32", BPF_H: "s16", BPF_B: "s8", BPF_DW: "s64"}

# Atomic operations in imm of BPF_STX | BPF_ATOMIC.
BPF_FETCH: Final = 0x01
BPF_XCHG: Final = 0xE0 | BPF_FETCH
BPF_CMPXCHG: Final = 0xF0 | BPF_FETCH
BPF_LOAD_ACQ: Final = 0x100
BPF_STORE_REL: Final = 0x110

# src of the call instruction.
BPF_PSEUDO_CALL: Final = 1
BPF_PSEUDO_KFUNC_CALL: Final = 2

# src of ld_imm64 (BPF_LD | BPF_IMM | BPF_DW).
BPF_PSEUDO_MAP_FD: Final = 1
BPF_PSEUDO_MAP_VALUE: Final = 2
BPF_PSEUDO_BTF_ID: Final = 3
BPF_PSEUDO_FUNC: Final = 4
BPF_PSEUDO_MAP_IDX: Final = 5
BPF_PSEUDO_MAP_IDX_VALUE: Final = 6
PSEUDO_LD_IMM64_NAMES: Final = {
    0: "imm64",
    BPF_PSEUDO_MAP_FD: "map_fd",
    BPF_PSEUDO_MAP_VALUE: "map_value",
    BPF_PSEUDO_BTF_ID: "btf_id",
    BPF_PSEUDO_FUNC: "func",
    BPF_PSEUDO_MAP_IDX: "map_idx",
    BPF_PSEUDO_MAP_IDX_VALUE: "map_idx_value",
}

# Whole opcodes used often.
LD_IMM64: Final = BPF_LD | BPF_IMM | BPF_DW  # 0x18, the only two-slot instruction
CALL: Final = BPF_JMP | BPF_CALL  # 0x85
EXIT: Final = BPF_JMP | BPF_EXIT  # 0x95
JA32: Final = BPF_JMP32 | BPF_JA  # 0x06, gotol: the offset lives in imm
MAY_GOTO: Final = BPF_JMP | BPF_JCOND  # 0xe5

# Infix spelling of ALU operations, as llvm-objdump prints them (`r1 += r2`).
ALU_INFIX: Final = {
    BPF_ADD: "+",
    BPF_SUB: "-",
    BPF_MUL: "*",
    BPF_DIV: "/",
    BPF_OR: "|",
    BPF_AND: "&",
    BPF_LSH: "<<",
    BPF_RSH: ">>",
    BPF_MOD: "%",
    BPF_XOR: "^",
    BPF_MOV: "",
    BPF_ARSH: "s>>",
}
# Comparison spelling of conditional jumps (`if r1 s> r2 goto +3`).
JMP_INFIX: Final = {
    BPF_JEQ: "==",
    BPF_JGT: ">",
    BPF_JGE: ">=",
    BPF_JSET: "&",
    BPF_JNE: "!=",
    BPF_JSGT: "s>",
    BPF_JSGE: "s>=",
    BPF_JLT: "<",
    BPF_JLE: "<=",
    BPF_JSLT: "s<",
    BPF_JSLE: "s<=",
}
ATOMIC_INFIX: Final = {BPF_ADD: "+", BPF_OR: "|", BPF_AND: "&", BPF_XOR: "^"}
ATOMIC_FETCH_NAMES: Final = {BPF_ADD: "add", BPF_OR: "or", BPF_AND: "and", BPF_XOR: "xor"}
