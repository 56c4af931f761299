"""Instructions clang 14 never emits, checked against the ISA's documentation.

The only llvm-objdump here is LLVM 14's, which predates ISA v4 (sdiv/smod,
movsx, ldsx, bswap, gotol arrived with LLVM 17's -mcpu=v4) and may_goto and
load-acquire/store-release; Debian bookworm's newest, llvm-16, predates them
too.  So the expected opcodes below are composed from the tables of the
kernel's Documentation/bpf/standardization/instruction-set.rst (class, code,
source bit, size, mode, atomic imm values, ld_imm64 src values, offset 1 for
SDIV/SMOD and 8/16/32 for MOVSX), and for the two non-standardised encodings
from include/uapi/linux/bpf.h (BPF_JCOND 0xe0 with src BPF_MAY_GOTO 0;
BPF_LOAD_ACQ 0x100, BPF_STORE_REL 0x110).  The byte layout is checked against
the document's own encoding example and by an independent struct packing.
"""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loader import asm
from loader.asm import Instruction, decode, encode
from loader.asm.opcodes import (
    BPF_ADD,
    BPF_AND,
    BPF_B,
    BPF_DIV,
    BPF_DW,
    BPF_H,
    BPF_JSGE,
    BPF_MOD,
    BPF_OR,
    BPF_W,
    BPF_XOR,
)
from loader.errors import InstructionError, LoaderError

ORDERS = pytest.mark.parametrize("order", ["<", ">"], ids=["el", "eb"])


def _slot(order: str, opcode: int, dst: int, src: int, off: int, imm: int) -> bytes:
    """One slot per the document's 'Instruction encoding' figure and regs table."""
    regs = (src << 4 | dst) if order == "<" else (dst << 4 | src)
    return struct.pack(order + "BBhI", opcode, regs, off, imm & 0xFFFFFFFF)


@ORDERS
def test_document_encoding_example(order: str) -> None:
    # The document's example: `r1 += 0x11223344`, opcode 07, dst 1.
    want = {"<": bytes.fromhex("0701000044332211"), ">": bytes.fromhex("0710000011223344")}
    insn = asm.alu64_imm(BPF_ADD, 1, 0x11223344)
    assert encode([insn], order) == want[order]
    assert decode(want[order], order) == [insn]
    assert insn.text() == f"r1 += {0x11223344}"


# (builder result, opcode composed from the document's tables, dst, src, off, imm, text)
CASES: list[tuple[Instruction, int, int, int, int, int, str]] = [
    # ALU64 (0x7) | SDIV code 0x3 (0x30) | X (0x08), offset 1
    (asm.sdiv64_reg(1, 2), 0x07 | 0x30 | 0x08, 1, 2, 1, 0, "r1 s/= r2"),
    (asm.sdiv64_imm(4, -3), 0x07 | 0x30, 4, 0, 1, -3, "r4 s/= -3"),
    (asm.smod64_reg(5, 6), 0x07 | 0x90 | 0x08, 5, 6, 1, 0, "r5 s%= r6"),
    (asm.smod64_imm(3, 7), 0x07 | 0x90, 3, 0, 1, 7, "r3 s%= 7"),
    (asm.alu32_reg(BPF_DIV, 1, 2, off=1), 0x04 | 0x30 | 0x08, 1, 2, 1, 0, "w1 s/= w2"),
    (asm.alu32_imm(BPF_MOD, 1, 9, off=1), 0x04 | 0x90, 1, 0, 1, 9, "w1 s%= 9"),
    # MOVSX: MOV code 0xb, X, offset 8/16/32
    (asm.movsx64_reg(1, 2, 8), 0x07 | 0xB0 | 0x08, 1, 2, 8, 0, "r1 = (s8)r2"),
    (asm.movsx64_reg(1, 2, 16), 0xBF, 1, 2, 16, 0, "r1 = (s16)r2"),
    (asm.movsx64_reg(3, 9, 32), 0xBF, 3, 9, 32, 0, "r3 = (s32)r9"),
    (asm.movsx32_reg(1, 2, 8), 0x04 | 0xB0 | 0x08, 1, 2, 8, 0, "w1 = (s8)w2"),
    (asm.movsx32_reg(1, 2, 16), 0xBC, 1, 2, 16, 0, "w1 = (s16)w2"),
    # END code 0xd: ALU with LE (0) / BE (1) source; ALU64 with source 0 = bswap
    (asm.endian(2, 16, to_be=False), 0x04 | 0xD0, 2, 0, 0, 16, "r2 = le16 r2"),
    (asm.endian(2, 32, to_be=True), 0x04 | 0xD0 | 0x08, 2, 0, 0, 32, "r2 = be32 r2"),
    (asm.bswap(1, 16), 0x07 | 0xD0, 1, 0, 0, 16, "r1 = bswap16 r1"),
    (asm.bswap(1, 32), 0xD7, 1, 0, 0, 32, "r1 = bswap32 r1"),
    (asm.bswap(7, 64), 0xD7, 7, 0, 0, 64, "r7 = bswap64 r7"),
    (asm.neg64(3), 0x07 | 0x80, 3, 0, 0, 0, "r3 = -r3"),
    # LDX (0x1) | size | MEMSX (4 << 5 = 0x80)
    (asm.ldsx_mem(BPF_B, 1, 2, -4), 0x01 | 0x10 | 0x80, 1, 2, -4, 0, "r1 = *(s8 *)(r2 - 4)"),
    (asm.ldsx_mem(BPF_H, 1, 2, 6), 0x01 | 0x08 | 0x80, 1, 2, 6, 0, "r1 = *(s16 *)(r2 + 6)"),
    (asm.ldsx_mem(BPF_W, 0, 10, -8), 0x01 | 0x00 | 0x80, 0, 10, -8, 0, "r0 = *(s32 *)(r10 - 8)"),
    (asm.ldx_mem(BPF_DW, 0, 1, 16), 0x01 | 0x18 | 0x60, 0, 1, 16, 0, "r0 = *(u64 *)(r1 + 16)"),
    (asm.st_mem(BPF_W, 10, -4, 7), 0x02 | 0x00 | 0x60, 10, 0, -4, 7, "*(u32 *)(r10 - 4) = 7"),
    (asm.stx_mem(BPF_H, 1, 2, 2), 0x03 | 0x08 | 0x60, 1, 2, 2, 0, "*(u16 *)(r1 + 2) = r2"),
    # JMP32 (0x6) | JA (0x0): gotol, offset in imm
    (asm.gotol(100000), 0x06, 0, 0, 0, 100000, "gotol +100000"),
    (asm.gotol(-70000), 0x06, 0, 0, 0, -70000, "gotol -70000"),
    (asm.ja(-2), 0x05, 0, 0, -2, 0, "goto -2"),
    (asm.jmp32_reg(BPF_JSGE, 1, 2, 3), 0x06 | 0x70 | 0x08, 1, 2, 3, 0, "if w1 s>= w2 goto +3"),
    (asm.jmp_imm(BPF_JSGE, 1, -1, 0), 0x05 | 0x70, 1, 0, 0, -1, "if r1 s>= -1 goto +0"),
    # bpf.h: BPF_JMP | BPF_JCOND (0xe0), src BPF_MAY_GOTO (0)
    (asm.may_goto(3), 0x05 | 0xE0, 0, 0, 3, 0, "may_goto +3"),
    # CALL code 0x8 with src 0 (helper id), 1 (PC += imm), 2 (BTF id)
    (asm.call_helper(1), 0x85, 0, 0, 0, 1, "call 1"),
    (asm.call_pseudo(-5), 0x85, 0, 1, 0, -5, "call -5"),
    (asm.call_kfunc(1234), 0x85, 0, 2, 0, 1234, "call 1234"),
    (asm.exit_insn(), 0x95, 0, 0, 0, 0, "exit"),
    # STX (0x3) | W/DW | ATOMIC (6 << 5 = 0xc0); imm from the atomic tables
    (asm.atomic_op(BPF_DW, BPF_ADD, 1, 2, 0), 0xDB, 1, 2, 0, 0x00, "lock *(u64 *)(r1 + 0) += r2"),
    (asm.atomic_op(BPF_DW, BPF_AND, 1, 2, -8), 0xDB, 1, 2, -8, 0x50,
     "lock *(u64 *)(r1 - 8) &= r2"),
    (asm.atomic_op(BPF_W, BPF_OR, 1, 2, 4), 0x03 | 0xC0, 1, 2, 4, 0x40,
     "lock *(u32 *)(r1 + 4) |= r2"),
    (asm.atomic_op(BPF_W, BPF_XOR, 1, 2, 0), 0xC3, 1, 2, 0, 0xA0, "lock *(u32 *)(r1 + 0) ^= r2"),
    (asm.atomic_op(BPF_DW, BPF_ADD, 1, 3, 0, fetch=True), 0xDB, 1, 3, 0, 0x01,
     "r3 = atomic_fetch_add((u64 *)(r1 + 0), r3)"),
    (asm.atomic_op(BPF_DW, BPF_AND, 1, 3, 0, fetch=True), 0xDB, 1, 3, 0, 0x51,
     "r3 = atomic_fetch_and((u64 *)(r1 + 0), r3)"),
    (asm.atomic_op(BPF_W, BPF_OR, 1, 3, 0, fetch=True), 0xC3, 1, 3, 0, 0x41,
     "w3 = atomic_fetch_or((u32 *)(r1 + 0), w3)"),
    (asm.atomic_op(BPF_W, BPF_XOR, 1, 3, 8, fetch=True), 0xC3, 1, 3, 8, 0xA1,
     "w3 = atomic_fetch_xor((u32 *)(r1 + 8), w3)"),
    (asm.atomic_xchg(BPF_DW, 1, 2, 0), 0xDB, 1, 2, 0, 0xE0 | 0x01, "r2 = xchg_64(r1 + 0, r2)"),
    (asm.atomic_xchg(BPF_W, 1, 2, 0), 0xC3, 1, 2, 0, 0xE1, "w2 = xchg32_32(r1 + 0, w2)"),
    (asm.atomic_cmpxchg(BPF_DW, 1, 2, 0), 0xDB, 1, 2, 0, 0xF0 | 0x01,
     "r0 = cmpxchg_64(r1 + 0, r0, r2)"),
    (asm.atomic_cmpxchg(BPF_W, 1, 2, 0), 0xC3, 1, 2, 0, 0xF1,
     "w0 = cmpxchg32_32(r1 + 0, w0, w2)"),
    (asm.load_acquire(BPF_DW, 0, 1, 0), 0xDB, 0, 1, 0, 0x100,
     "r0 = load_acquire((u64 *)(r1 + 0))"),
    (asm.store_release(BPF_W, 1, 2, 0), 0xC3, 1, 2, 0, 0x110,
     "store_release((u32 *)(r1 + 0), w2)"),
    # LD (0x0) | size | ABS (1 << 5) / IND (2 << 5): legacy packet access
    (asm.ld_abs(BPF_H, 12), 0x00 | 0x08 | 0x20, 0, 0, 0, 12, "r0 = *(u16 *)skb[12]"),
    (asm.ld_abs(BPF_B, 23), 0x30, 0, 0, 0, 23, "r0 = *(u8 *)skb[23]"),
    (asm.ld_ind(BPF_W, 3, 4), 0x00 | 0x00 | 0x40, 0, 3, 0, 4, "r0 = *(u32 *)skb[r3 + 4]"),
]


@ORDERS
@pytest.mark.parametrize("case", CASES, ids=[c[6] for c in CASES])
def test_instruction_fields_bytes_and_text(
    case: tuple[Instruction, int, int, int, int, int, str], order: str
) -> None:
    insn, opcode, dst, src, off, imm, text = case
    assert (insn.opcode, insn.dst, insn.src, insn.off, insn.imm) == (opcode, dst, src, off, imm)
    raw = _slot(order, opcode, dst, src, off, imm)
    assert encode([insn], order) == raw
    assert decode(raw, order) == [insn]
    assert insn.slots == 1
    assert insn.text() == text


@ORDERS
@pytest.mark.parametrize("pseudo", range(7))
def test_ld_imm64_every_pseudo_src(order: str, pseudo: int) -> None:
    """{IMM, DW, LD} = 0x18 with src 0..6 (the 64-bit immediate table)."""
    value = -0x123456789ABCDEF
    insn = asm.ld_imm64(2, value, src=pseudo)
    raw = encode([insn], order)
    assert len(raw) == 16 and insn.slots == 2 and insn.is_ld_imm64
    lo, hi = value & 0xFFFFFFFF, (value >> 32) & 0xFFFFFFFF
    assert raw == _slot(order, 0x18, 2, pseudo, 0, lo) + _slot(order, 0, 0, 0, 0, hi)
    assert decode(raw, order) == [insn]
    assert insn.text() == f"r2 = {value} ll"
    assert insn.is_pseudo_func == (pseudo == 4)


@ORDERS
def test_ld_map_builders(order: str) -> None:
    fd = asm.ld_map_fd(1, 7)
    assert (fd.opcode, fd.src, fd.imm) == (0x18, 1, 7)
    mv = asm.ld_map_value(1, 7, 24)
    assert (mv.src, mv.imm & 0xFFFFFFFF, mv.imm >> 32) == (2, 7, 24)
    assert decode(encode([fd, mv], order), order) == [fd, mv]


@ORDERS
def test_ld_imm64_second_slot_kept_byte_exact(order: str) -> None:
    raw = _slot(order, 0x18, 1, 0, 0, 5) + _slot(order, 0xAB, 3, 4, -7, 9)
    (insn,) = decode(raw, order)
    assert (insn.next_opcode, insn.next_dst, insn.next_src, insn.next_off) == (0xAB, 3, 4, -7)
    assert insn.imm == 5 | 9 << 32
    assert encode([insn], order) == raw


@ORDERS
def test_truncated_streams(order: str) -> None:
    with pytest.raises(InstructionError, match="13 bytes"):
        decode(bytes(13), order)
    half = _slot(order, 0x18, 1, 0, 0, 0)
    with pytest.raises(InstructionError, match=r"slot 0 .*second half"):
        decode(half, order)
    stream = encode([asm.mov64_imm(0, 0), asm.exit_insn()], order) + half
    with pytest.raises(InstructionError, match=r"slot 2 \(offset 16\)"):
        decode(stream, order)


@pytest.mark.parametrize(
    ("insn", "message"),
    [
        (Instruction(0x07, dst=16), "dst=16"),
        (Instruction(0x07, src=-1), "src=-1"),
        (Instruction(0x07, off=40000), "off 40000"),
        (Instruction(0x07, imm=1 << 33), f"imm {1 << 33}"),
        (Instruction(0x18, imm=1 << 64), f"imm {1 << 64}"),
        (Instruction(0x100), "opcode 256"),
    ],
)
def test_encode_rejects_out_of_range_fields(insn: Instruction, message: str) -> None:
    with pytest.raises(InstructionError, match=message):
        encode([insn], "<")


def test_builders_reject_invalid_forms() -> None:
    with pytest.raises(InstructionError, match="BPF_DW"):
        asm.ldsx_mem(BPF_DW, 1, 2, 0)
    with pytest.raises(InstructionError, match="bits 4"):
        asm.movsx64_reg(1, 2, 4)
    with pytest.raises(InstructionError, match="bits 32"):
        asm.movsx32_reg(1, 2, 32)
    with pytest.raises(InstructionError, match="0x10"):
        asm.atomic_op(BPF_B, BPF_ADD, 1, 2, 0)
    with pytest.raises(InstructionError, match="0x99"):
        asm.ldx_mem(0x99, 1, 2, 0)


def test_jump_targets_and_predicates() -> None:
    assert asm.ja(5).jump_target(10) == 16
    assert asm.gotol(-3).jump_target(10) == 8
    assert asm.may_goto(2).jump_target(0) == 3
    assert asm.jmp_imm(BPF_JSGE, 1, 0, -4).jump_target(4) == 1
    assert asm.call_pseudo(4).jump_target(0) == 5
    assert asm.call_helper(4).jump_target(0) is None
    assert asm.exit_insn().jump_target(0) is None and asm.exit_insn().is_exit
    assert asm.call_pseudo(1).is_pseudo_call and not asm.call_helper(1).is_pseudo_call
    assert asm.call_kfunc(1).is_kfunc_call and asm.call_helper(1).is_helper_call
    prog = [asm.ld_imm64(1, 1), asm.ja(1), asm.mov64_imm(0, 0), asm.exit_insn()]
    assert asm.slot_count(prog) == 5
    listing = asm.disassemble(prog)
    assert "       2:\tgoto +1" in listing and "       4:\texit" in listing


@settings(max_examples=300, deadline=None)
@given(
    data=st.builds(
        lambda slots, tail: b"".join(slots) + tail,
        st.lists(st.binary(min_size=8, max_size=8), max_size=32),
        st.one_of(st.just(b""), st.binary(max_size=9)),
    ),
    order=st.sampled_from(["<", ">"]),
)
def test_any_bytes_decode_or_raise_instruction_error(data: bytes, order: str) -> None:
    try:
        insns = decode(data, order)  # type: ignore[arg-type]
    except InstructionError:
        return
    except LoaderError as exc:  # pragma: no cover - a wrong subclass is a bug too
        raise AssertionError(f"unexpected {type(exc).__name__}") from exc
    assert encode(insns, order) == data  # type: ignore[arg-type]
    for insn in insns:
        assert insn.text()
