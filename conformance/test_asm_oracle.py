"""loader.asm against `llvm-objdump -d` (LLVM 14) on every corpus object.

For every executable section of every corpus object, both byte orders: the slots
llvm-objdump lists must be the slots we decode; the fields we decode must equal
the fields read from the raw bytes llvm-objdump prints (decoded here by a tiny
independent reader, not by loader.asm); our text must equal llvm-objdump's
after normalising the spots where the syntaxes legitimately differ; and
encode(decode(code)) must give back the section byte for byte.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from loader.asm import decode, encode
from loader.elf import ELFFile

OBJDUMP = shutil.which("llvm-objdump-14") or shutil.which("llvm-objdump")

pytestmark = pytest.mark.oracle

_SECTION = re.compile(r"^Disassembly of section (.+):$")
_LINE = re.compile(r"^\s*(\d+):\t([0-9a-f]{2}(?: [0-9a-f]{2})*)\s*\t(.*)$")
_LABEL = re.compile(r"\s*<[^>]*>$")
_WREG = re.compile(r"\bw(\d+)\b")


def _objdump(path: Path) -> dict[str, dict[int, tuple[bytes, str]]]:
    """Section name -> slot -> (raw bytes, mnemonic text), as llvm-objdump prints them."""
    assert OBJDUMP is not None
    out = subprocess.run([OBJDUMP, "-d", str(path)], capture_output=True, text=True, check=True)
    listing: dict[str, dict[int, tuple[bytes, str]]] = {}
    current: dict[int, tuple[bytes, str]] | None = None
    for line in out.stdout.splitlines():
        m = _SECTION.match(line)
        if m:
            current = listing.setdefault(m.group(1), {})
            continue
        m = _LINE.match(line)
        if m and current is not None:
            raw = bytes.fromhex(m.group(2).replace(" ", ""))
            current[int(m.group(1))] = (raw, m.group(3).strip())
    return listing


def _fields(raw: bytes, order: str) -> tuple[int, int, int, int, int]:
    """opcode, dst, src, off, imm of one 8-byte slot, per the ISA's encoding."""
    code, regs, off, imm = struct.unpack(order + "BBhi", raw[:8])
    if order == "<":
        return code, regs & 0xF, regs >> 4, off, imm
    return code, regs >> 4, regs & 0xF, off, imm


def _normalise(text: str) -> str:
    # Labels are llvm-objdump's own annotations; LLVM picks r or w for the
    # same encoding depending on the subtarget it guessed, so compare registers by number.
    return _WREG.sub(r"r\1", _LABEL.sub("", text))


def test_decode_matches_llvm_objdump(corpus_object: Path) -> None:
    if OBJDUMP is None:
        pytest.fail("llvm-objdump is not installed (apt-get install llvm)")
    elf = ELFFile(corpus_object.read_bytes())
    order = elf.byte_order
    listing = _objdump(corpus_object)
    code_sections = [s for s in elf.sections if s.is_executable and s.size > 0]
    assert {s.name for s in code_sections} == set(listing)
    compared_text = 0
    for sec in code_sections:
        code = bytes(sec.data())
        insns = decode(code, order)
        assert encode(insns, order) == code, f"{sec.name}: round trip"
        theirs = listing[sec.name]
        slot = 0
        ours_slots = []
        for insn in insns:
            ours_slots.append(slot)
            raw, text = theirs[slot]
            assert len(raw) == 8 * insn.slots, f"{sec.name}+{slot}: slot count"
            assert encode([insn], order) == raw
            code_, dst, src, off, imm = _fields(raw, order)
            assert (insn.opcode, insn.dst, insn.src, insn.off) == (code_, dst, src, off)
            if insn.is_ld_imm64:
                _, dst2, src2, off2, imm2 = _fields(raw[8:], order)
                assert insn.imm == (imm & 0xFFFFFFFF) | (imm2 << 32)
                assert (insn.next_opcode, insn.next_dst, insn.next_src, insn.next_off) == (
                    raw[8], dst2, src2, off2)
            else:
                assert insn.imm == imm
            if text != "<unknown>":  # LLVM 14 does not know 32-bit atomic fetch ops
                assert _normalise(insn.text()) == _normalise(text), f"{sec.name}+{slot}"
                compared_text += 1
            slot += insn.slots
        assert ours_slots == sorted(theirs), f"{sec.name}: slot numbering"
    assert compared_text > 0
