"""Code of generated objects: .text functions, program bodies and what they refer
to, and the .BTF.ext records that describe them.

Every reference is written the way clang 14 writes it, so that a loader has to
do libbpf's arithmetic to find the target:

- maps, data, kconfig and ksym variables: ``ld_imm64`` with R_BPF_64_64 against
  the object's (or the undefined extern's) symbol;
- global functions: ``call -1`` with R_BPF_64_32 against the function's symbol;
- static functions: R_BPF_64_32 against the ``.text`` section symbol, the callee's
  slot in ``imm`` as ``slot - 1``;
- callbacks: ``ld_imm64`` with src ``BPF_PSEUDO_FUNC``, R_BPF_64_64 against the
  section symbol with the byte offset in ``imm`` (static) or against the
  function's own symbol with ``imm`` 0 (global);
- kfuncs: ``call -1`` (src ``BPF_PSEUDO_CALL``) with R_BPF_64_32 against the
  undefined extern, as libbpf expects before it rewrites src;
- CO-RE: a ``mov`` whose immediate is the local answer (byte offset of the
  field, 1 for "exists", the size) with a ``bpf_core_relo`` on it.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.generators._draw import Draw
from loader import asm
from loader.asm import builders as b
from loader.asm import opcodes as op
from loader.btf import records as r
from loader.btf.ext import CoreRelo, LineInfo
from loader.elfwrite import R_BPF_64_32, R_BPF_64_64

SOURCE_FILE = "gen.c"


@dataclass(frozen=True, slots=True)
class Ref:
    """One relocated instruction: what the relocation names and what the loader
    must resolve it to."""

    symbol: str  # the relocation's symbol (a section name for section symbols)
    reference: str  # the expected Instruction.reference after relocation
    kind: int  # R_BPF_*


@dataclass(frozen=True, slots=True)
class CoreSite:
    """A struct a program's CO-RE relocations may ask about: its BTF id, size and
    the byte offset of each member."""

    type_id: int
    size: int
    member_offsets: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Callee:
    name: str
    offset: int  # byte offset in .text
    is_global: bool


@dataclass(slots=True)
class Body:
    instructions: list[asm.Instruction]
    refs: list[Ref | None]
    calls: list[str]  # functions reached, in order of first reference
    core: list[tuple[int, CoreRelo]]  # (instruction index, record)


def _reach(body: Body, name: str) -> None:
    if name not in body.calls:
        body.calls.append(name)


def program_body(
    draw: Draw, *, targets: list[tuple[str, str]], callees: list[Callee],
    kconfig: list[str], ksym_vars: list[str], kfuncs: list[str], core: CoreSite | None,
) -> Body:
    """A straight-line body ending in ``r0 = n; exit``.

    ``targets`` are (symbol, expected reference) pairs for ld_imm64 of maps and
    data; the others are names of functions and externs the body may use.
    """
    body = Body([], [], [], [])
    kinds = ["target"] * bool(targets) + ["call", "callback"] * bool(callees) \
        + ["kconfig"] * bool(kconfig) + ["ksym"] * bool(ksym_vars) \
        + ["kfunc"] * bool(kfuncs) + ["core"] * (core is not None)
    for _ in range(draw.int(0, 5) if kinds else 0):
        kind = draw.choice(kinds)
        dst = draw.int(1, 5)
        ins: asm.Instruction
        ref: Ref | None
        if kind == "target":
            sym, want = draw.choice(targets)
            ins, ref = b.ld_imm64(dst, 0), Ref(sym, want, R_BPF_64_64)
        elif kind in ("call", "callback"):
            fn = draw.choice(callees)
            _reach(body, fn.name)
            if kind == "call":
                imm = -1 if fn.is_global else fn.offset // 8 - 1
                ins = b.call_pseudo(imm)
                ref = Ref(fn.name if fn.is_global else ".text", fn.name, R_BPF_64_32)
            else:
                imm = 0 if fn.is_global else fn.offset
                ins = b.ld_imm64(dst, imm, op.BPF_PSEUDO_FUNC)
                ref = Ref(fn.name if fn.is_global else ".text", fn.name, R_BPF_64_64)
        elif kind == "kconfig":
            name = draw.choice(kconfig)
            ins, ref = b.ld_imm64(dst, 0), Ref(name, ".kconfig", R_BPF_64_64)
        elif kind == "ksym":
            name = draw.choice(ksym_vars)
            ins, ref = b.ld_imm64(dst, 0), Ref(name, name, R_BPF_64_64)
        elif kind == "kfunc":
            name = draw.choice(kfuncs)
            ins, ref = b.call_pseudo(-1), Ref(name, name, R_BPF_64_32)
        else:
            assert core is not None
            ins, rec = _core(draw, dst, core, len(body.instructions))
            body.core.append((len(body.instructions), rec))
            ref = None
        body.instructions.append(ins)
        body.refs.append(ref)
    body.instructions += [b.mov64_imm(0, draw.int(0, 2)), b.exit_insn()]
    body.refs += [None, None]
    return body


def _core(draw: Draw, dst: int, site: CoreSite, index: int) -> tuple[asm.Instruction, CoreRelo]:
    # insn_off is filled in when the body is placed in its section.
    what = draw.int(0, 2)
    if what == 0:
        member = draw.int(0, len(site.member_offsets) - 1)
        return (b.mov64_imm(dst, site.member_offsets[member]),
                CoreRelo(index, site.type_id, f"0:{member}", r.BPF_CORE_FIELD_BYTE_OFFSET))
    if what == 1:
        return b.mov64_imm(dst, 1), CoreRelo(index, site.type_id, "0", r.BPF_CORE_TYPE_EXISTS)
    return b.mov64_imm(dst, site.size), CoreRelo(index, site.type_id, "0", r.BPF_CORE_TYPE_SIZE)


def byte_offsets(instructions: list[asm.Instruction]) -> list[int]:
    out, pos = [], 0
    for ins in instructions:
        out.append(pos)
        pos += 8 * ins.slots
    return out


def line_records(draw: Draw, name: str, instructions: list[asm.Instruction],
                 first_line: int) -> list[tuple[int, LineInfo]]:
    """clang's shape: a record at the first instruction, then a few more at
    increasing instructions and lines.  insn_off is relative to the function."""
    offs = byte_offsets(instructions)
    picks = sorted({0} | {draw.int(0, len(offs) - 1) for _ in range(draw.int(0, 2))})
    return [(i, LineInfo(offs[i], SOURCE_FILE, f"{name}: line {k}", first_line + k,
                         draw.int(0, 40)))
            for k, i in enumerate(picks)]
