"""A minimal ELF64 assembler for hand-made eBPF objects.

Writes exactly the sections it is given (plus section 0 and ``.shstrtab`` last),
so that a test can wrap a hand-made .BTF blob in an object without clang.  Record
layouts are spelled here on purpose, from the ELF specification: this is the
test's view of the format, not loader.elf's.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

EM_BPF = 247
ET_REL = 1
SHT_PROGBITS = 1
SHT_STRTAB = 3


class RawSection(NamedTuple):
    name: str
    type: int
    data: bytes
    link: int = 0
    info: int = 0
    entsize: int = 0


def make_elf(sections: list[RawSection], byte_order: str = "<") -> bytes:
    """Header, section contents in order, ``.shstrtab``, then the section headers."""
    names = bytearray(b"\0")
    name_offs = []
    for sec in [*sections, RawSection(".shstrtab", SHT_STRTAB, b"")]:
        name_offs.append(len(names))
        names += sec.name.encode() + b"\0"
    body = bytearray()
    placed = []
    for sec in sections:
        placed.append(64 + len(body))
        body += sec.data
    strtab_off = 64 + len(body)
    body += names
    body += bytes(-len(body) % 8)
    shoff = 64 + len(body)
    count = len(sections) + 2
    ident = b"\x7fELF" + bytes([2, 1 if byte_order == "<" else 2, 1]) + bytes(9)
    ehdr = struct.pack(byte_order + "HHIQQQIHHHHHH", ET_REL, EM_BPF, 1, 0, 0, shoff, 0, 64, 0,
                       0, 64, count, count - 1)
    shdr = struct.Struct(byte_order + "IIQQQQIIQQ")
    table = bytes(64)
    for sec, name_off, offset in zip(sections, name_offs[:-1], placed, strict=True):
        table += shdr.pack(name_off, sec.type, 0, 0, offset, len(sec.data), sec.link, sec.info,
                           1, sec.entsize)
    table += shdr.pack(name_offs[-1], SHT_STRTAB, 0, 0, strtab_off, len(names), 0, 0, 1, 0)
    return ident + ehdr + bytes(body) + table
