"""Invalid ELF: a valid generated object with one structural rule broken.

Each family rewrites one field of the written file (through loader.elf's record
layouts) and names the error class loader.elf / load_collection_spec must raise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from conformance.generators._draw import Draw
from conformance.generators._elf import ELFObject
from loader import elf
from loader.errors import ELFError, LoaderError

_EHDR_AT = 16  # e_type follows e_ident


class InvalidELF(NamedTuple):
    blob: bytes
    rule: str
    error: type[LoaderError]


def _ehdr(blob: bytes) -> tuple[elf.ByteOrder, list[int]]:
    order: elf.ByteOrder = "<" if blob[elf.EI_DATA] == elf.ELFDATA2LSB else ">"
    return order, list(elf.LAYOUTS[order].ehdr.unpack_from(blob, _EHDR_AT))


def _set_ehdr(blob: bytes, field_index: int, value: int) -> bytes:
    order, fields = _ehdr(blob)
    fields[field_index] = value
    out = bytearray(blob)
    elf.LAYOUTS[order].ehdr.pack_into(out, _EHDR_AT, *fields)
    return bytes(out)


def _magic(blob: bytes, d: Draw) -> bytes:
    i = d.int(0, 3)
    return blob[:i] + bytes([blob[i] ^ d.int(1, 0xFF)]) + blob[i + 1:]


def _class(blob: bytes, d: Draw) -> bytes:
    return blob[:elf.EI_CLASS] + bytes([d.choice((0, 1, 3))]) + blob[elf.EI_CLASS + 1:]


def _data(blob: bytes, d: Draw) -> bytes:
    return blob[:elf.EI_DATA] + bytes([d.choice((0, 3, 0xFF))]) + blob[elf.EI_DATA + 1:]


def _machine(blob: bytes, d: Draw) -> bytes:
    return _set_ehdr(blob, 1, d.choice((3, 62, 183, 0xFFFF)))


def _shentsize(blob: bytes, d: Draw) -> bytes:
    return _set_ehdr(blob, 10, d.choice((0, 40, 63, 65, 128)))


def _shstrndx(blob: bytes, d: Draw) -> bytes:
    _, fields = _ehdr(blob)
    return _set_ehdr(blob, 12, fields[11] + d.int(0, 100))


def _shoff(blob: bytes, d: Draw) -> bytes:
    return _set_ehdr(blob, 5, len(blob) - elf.SHDR_SIZE + d.int(1, 4096))


def _truncated(blob: bytes, d: Draw) -> bytes:
    return blob[:d.int(0, elf.EHDR_SIZE - 1)]


def _section_bounds(blob: bytes, d: Draw) -> bytes:
    order, fields = _ehdr(blob)
    shoff, shnum = fields[5], fields[11]
    lay = elf.LAYOUTS[order]
    idx = d.int(1, shnum - 1)
    at = shoff + idx * elf.SHDR_SIZE
    sh = list(lay.shdr.unpack_from(blob, at))
    if sh[1] == elf.SHT_NOBITS:
        sh[1] = elf.SHT_PROGBITS
    sh[4] = len(blob) + d.int(1, 1 << 20)
    out = bytearray(blob)
    lay.shdr.pack_into(out, at, *sh)
    return bytes(out)


FAMILIES: dict[str, Callable[[bytes, Draw], bytes]] = {
    "elf.magic": _magic,
    "elf.class": _class,
    "elf.data_encoding": _data,
    "elf.machine": _machine,
    "elf.shentsize": _shentsize,
    "elf.shstrndx": _shstrndx,
    "elf.shoff": _shoff,
    "elf.truncated_header": _truncated,
    "elf.section_bounds": _section_bounds,
}


def build_invalid_elf(obj: ELFObject, rule: str, draw: Draw,
                      byte_order: elf.ByteOrder) -> InvalidELF:
    return InvalidELF(FAMILIES[rule](obj.write(byte_order), draw), rule, ELFError)
