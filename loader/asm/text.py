"""Disassembly text in a syntax close to llvm-objdump's (LLVM 14, plus the
spellings newer LLVM uses for ISA v4 instructions LLVM 14 does not know)."""

from __future__ import annotations

from collections.abc import Iterable

from loader.asm import opcodes as op
from loader.asm.instruction import Instruction

UNKNOWN = "<unknown>"


def _rel(offset: int) -> str:
    return f"+{offset}" if offset >= 0 else str(offset)


def _mem(base: int, off: int) -> str:
    return f"r{base} + {off}" if off >= 0 else f"r{base} - {-off}"


def _alu(insn: Instruction) -> str:
    reg = "w" if insn.opcode & op.CLASS_MASK == op.BPF_ALU else "r"
    code = insn.opcode & op.OP_MASK
    x = insn.opcode & op.SOURCE_MASK == op.BPF_X
    d = f"{reg}{insn.dst}"
    if code == op.BPF_NEG:
        return f"{d} = -{d}"
    if code == op.BPF_END:
        if reg == "r":  # BPF_ALU64 | BPF_END: unconditional byte swap (ISA v4)
            return f"r{insn.dst} = bswap{insn.imm} r{insn.dst}"
        order = "be" if x else "le"
        return f"r{insn.dst} = {order}{insn.imm} r{insn.dst}"
    infix = op.ALU_INFIX.get(code)
    if infix is None:
        return UNKNOWN
    operand = f"{reg}{insn.src}" if x else str(insn.imm)
    if code == op.BPF_MOV and insn.off in (8, 16, 32) and x:
        return f"{d} = (s{insn.off}){reg}{insn.src}"
    if code in (op.BPF_DIV, op.BPF_MOD) and insn.off == 1:
        infix = "s" + infix
    return f"{d} {infix}= {operand}" if infix else f"{d} = {operand}"


def _jmp(insn: Instruction) -> str:
    opcode = insn.opcode
    if opcode == op.CALL:
        return f"call {insn.imm}"
    if opcode == op.EXIT:
        return "exit"
    if opcode == op.MAY_GOTO:
        return f"may_goto {_rel(insn.off)}"
    if opcode == op.BPF_JMP | op.BPF_JA:
        return f"goto {_rel(insn.off)}"
    if opcode == op.JA32:
        return f"gotol {_rel(insn.imm)}"
    cond = op.JMP_INFIX.get(opcode & op.OP_MASK)
    if cond is None:
        return UNKNOWN
    reg = "w" if opcode & op.CLASS_MASK == op.BPF_JMP32 else "r"
    x = opcode & op.SOURCE_MASK == op.BPF_X
    operand = f"{reg}{insn.src}" if x else str(insn.imm)
    return f"if {reg}{insn.dst} {cond} {operand} goto {_rel(insn.off)}"


def _atomic(insn: Instruction) -> str:
    size = insn.opcode & op.SIZE_MASK
    if size not in (op.BPF_W, op.BPF_DW):
        return UNKNOWN
    reg = "r" if size == op.BPF_DW else "w"
    ty = op.SIZE_NAMES[size]
    addr = _mem(insn.dst, insn.off)
    s = f"{reg}{insn.src}"
    imm = insn.imm
    if imm in op.ATOMIC_INFIX:
        # LLVM 14 names the source register r even for 32-bit atomics.
        return f"lock *({ty} *)({addr}) {op.ATOMIC_INFIX[imm]}= r{insn.src}"
    if imm & op.BPF_FETCH and imm & ~op.BPF_FETCH in op.ATOMIC_FETCH_NAMES:
        name = op.ATOMIC_FETCH_NAMES[imm & ~op.BPF_FETCH]
        return f"{s} = atomic_fetch_{name}(({ty} *)({addr}), {s})"
    if imm == op.BPF_XCHG:
        name = "xchg_64" if reg == "r" else "xchg32_32"
        return f"{s} = {name}({addr}, {s})"
    if imm == op.BPF_CMPXCHG:
        name = "cmpxchg_64" if reg == "r" else "cmpxchg32_32"
        return f"{reg}0 = {name}({addr}, {reg}0, {s})"
    if imm == op.BPF_LOAD_ACQ:
        return f"{reg}{insn.dst} = load_acquire(({ty} *)({_mem(insn.src, insn.off)}))"
    if imm == op.BPF_STORE_REL:
        return f"store_release(({ty} *)({addr}), {s})"
    return UNKNOWN


def format_instruction(insn: Instruction) -> str:
    """One instruction as text; ``<unknown>`` for opcodes outside the ISA."""
    opcode = insn.opcode
    cls = opcode & op.CLASS_MASK
    if cls in (op.BPF_ALU, op.BPF_ALU64):
        return _alu(insn)
    if cls in (op.BPF_JMP, op.BPF_JMP32):
        return _jmp(insn)
    size = opcode & op.SIZE_MASK
    mode = opcode & op.MODE_MASK
    ty = op.SIZE_NAMES[size]
    if cls == op.BPF_LD:
        if opcode == op.LD_IMM64:
            return f"r{insn.dst} = {insn.imm} ll"
        if mode == op.BPF_ABS and size != op.BPF_DW:
            return f"r0 = *({ty} *)skb[{insn.imm}]"
        if mode == op.BPF_IND and size != op.BPF_DW:
            return f"r0 = *({ty} *)skb[r{insn.src} + {insn.imm}]"
        return UNKNOWN
    if cls == op.BPF_LDX:
        if mode == op.BPF_MEM:
            return f"r{insn.dst} = *({ty} *)({_mem(insn.src, insn.off)})"
        if mode == op.BPF_MEMSX and size != op.BPF_DW:
            sty = op.SIGNED_SIZE_NAMES[size]
            return f"r{insn.dst} = *({sty} *)({_mem(insn.src, insn.off)})"
        return UNKNOWN
    if cls == op.BPF_ST:
        if mode == op.BPF_MEM:
            return f"*({ty} *)({_mem(insn.dst, insn.off)}) = {insn.imm}"
        return UNKNOWN
    # BPF_STX
    if mode == op.BPF_MEM:
        return f"*({ty} *)({_mem(insn.dst, insn.off)}) = r{insn.src}"
    if mode == op.BPF_ATOMIC:
        return _atomic(insn)
    return UNKNOWN


def disassemble(insns: Iterable[Instruction]) -> str:
    """A listing: slot number, function labels from ``symbol``, text, reference."""
    lines: list[str] = []
    slot = 0
    for insn in insns:
        if insn.symbol is not None:
            if lines:
                lines.append("")
            lines.append(f"<{insn.symbol}>:")
        line = f"{slot:8}:\t{format_instruction(insn)}"
        if insn.reference is not None:
            line += f"  <{insn.reference}>"
        lines.append(line)
        slot += insn.slots
    return "\n".join(lines)
