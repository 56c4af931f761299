"""struct btf_header: reading, checking and writing it.

Newer kernels (7.1+) and pahole append ``layout_off``/``layout_len`` (hdr_len 32)
and a layout section: one ``struct btf_layout {u8 info_sz; u8 elem_sz; u16
flags}`` per kind known to the encoder, so that a reader can skip kinds it does
not know.  Readers that treat those two fields as a "non-zero trailer" reject
every new blob; here they are part of the header.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from loader.btf import records as r
from loader.btf.types import _install_fast_init
from loader.errors import BTFError

LAYOUT_ENTRY_SIZE = 4


@dataclass(frozen=True, slots=True)
class KindLayout:
    """One entry of the layout section (struct btf_layout)."""

    info_sz: int  # bytes after btf_type for this kind
    elem_sz: int  # bytes per vlen element
    flags: int = 0


@dataclass(frozen=True, slots=True)
class Header:
    byte_order: r.ByteOrder
    hdr_len: int
    type_off: int
    type_len: int
    str_off: int
    str_len: int
    layout_off: int = 0
    layout_len: int = 0

    def sections(self) -> list[tuple[str, int, int]]:
        """(name, offset, length) of the non-empty sections, ordered by offset."""
        secs = [("type", self.type_off, self.type_len), ("str", self.str_off, self.str_len)]
        if self.layout_len:
            secs.append(("layout", self.layout_off, self.layout_len))
        return sorted((s for s in secs if s[2]), key=lambda s: (s[1], s[2]))


# A header is built per blob: skip the frozen dataclass's setattr per field.
_install_fast_init(Header)


def detect_byte_order(data: bytes) -> r.ByteOrder:
    if len(data) < 2:
        raise BTFError(f"truncated BTF header: {len(data)} bytes, need {r.BTF_HEADER_V1_SIZE}")
    if data[0] == 0x9F and data[1] == 0xEB:
        return "<"
    if data[0] == 0xEB and data[1] == 0x9F:
        return ">"
    raise BTFError(f"bad BTF magic at offset 0: 0x{data[0] | data[1] << 8:04x}")


# What every compiler writes: hdr_len 24, the type section first, the strings
# right after it and nothing past them.  parse_header accepts such a header in a
# few comparisons; anything else goes through the checks one by one.
_PLAIN = {bo: struct.Struct(bo + "HBBIIIII") for bo in ("<", ">")}


def parse_header(data: bytes) -> Header:
    """Check the header and the placement of every section in ``data``."""
    size = len(data)
    if size >= r.BTF_HEADER_V1_SIZE:
        bo: r.ByteOrder = "<" if data[0] == 0x9F else ">"
        magic, version, flags, hdr_len, type_off, type_len, str_off, str_len = (
            _PLAIN[bo].unpack_from(data))
        if (magic == r.BTF_MAGIC and version == r.BTF_VERSION and not flags
                and hdr_len == r.BTF_HEADER_V1_SIZE and not type_off and not type_len % 4
                and str_off == type_len and hdr_len + type_len + str_len == size):
            return Header(bo, hdr_len, 0, type_len, str_off, str_len)
    if size < r.BTF_HEADER_V1_SIZE:
        raise BTFError(f"truncated BTF header: {size} bytes, need {r.BTF_HEADER_V1_SIZE}")
    bo = detect_byte_order(data)
    rec = r.records_for(bo)
    _magic, version, flags, hdr_len = rec.preamble.unpack_from(data, 0)
    if version != r.BTF_VERSION:
        raise BTFError(f"bad BTF version at offset 2: {version}")
    if flags != 0:
        raise BTFError(f"bad BTF header flags at offset 3: 0x{flags:x}")
    if hdr_len < r.BTF_HEADER_V1_SIZE:
        raise BTFError(f"BTF hdr_len {hdr_len} shorter than {r.BTF_HEADER_V1_SIZE}")
    if hdr_len > size:
        raise BTFError(f"BTF hdr_len {hdr_len} past the end of the {size}-byte blob")
    type_off, type_len, str_off, str_len = rec.header_v1.unpack_from(data, 8)
    layout_off = layout_len = 0
    trailer_start = r.BTF_HEADER_V1_SIZE
    if hdr_len >= r.BTF_HEADER_LAYOUT_SIZE:
        layout_off, layout_len = rec.header_layout.unpack_from(data, r.BTF_HEADER_V1_SIZE)
        trailer_start = r.BTF_HEADER_LAYOUT_SIZE
    trailer = data[trailer_start:hdr_len]
    if trailer.count(0) != len(trailer):
        bad = next(i for i, b in enumerate(trailer) if b)
        raise BTFError(
            f"non-zero BTF header trailer at offset {trailer_start + bad}: "
            f"0x{trailer[bad]:02x} (hdr_len {hdr_len})"
        )
    hdr = Header(bo, hdr_len, type_off, type_len, str_off, str_len, layout_off, layout_len)
    avail = size - hdr_len
    for name, off, length in (
        ("type", type_off, type_len),
        ("str", str_off, str_len),
        ("layout", layout_off, layout_len),
    ):
        if off + length > avail:
            raise BTFError(
                f"BTF {name} section (offset {off}, length {length}) past the end: "
                f"{avail} bytes follow the header"
            )
    if type_off % 4:
        raise BTFError(f"BTF type_off {type_off} not 4-byte aligned")
    if type_len % 4:
        raise BTFError(f"BTF type_len {type_len} not a multiple of 4 (truncated type data)")
    if layout_len and (layout_off % 4 or layout_len % LAYOUT_ENTRY_SIZE):
        raise BTFError(
            f"BTF layout section misaligned: layout_off {layout_off}, layout_len {layout_len}"
        )
    # Empty sections take part in the ordering too, as in the kernel's
    # btf_check_sec_info: an empty type section placed inside the string section
    # is an overlap there, and a blob we accept must re-encode to one it accepts.
    placed = [("type", type_off, type_len), ("str", str_off, str_len)]
    if layout_off or layout_len:
        placed.append(("layout", layout_off, layout_len))
    expect = 0
    for name, off, length in sorted(placed, key=lambda s: (s[1], s[2])):
        if off < expect:
            raise BTFError(f"BTF {name} section at offset {off} overlaps the previous one")
        if off > expect:
            raise BTFError(f"gap before the BTF {name} section: offset {off}, expected {expect}")
        expect = off + length
    if expect != avail:
        raise BTFError(
            f"{avail - expect} unused bytes after the BTF sections at offset {hdr_len + expect}"
        )
    return hdr


def parse_layout(data: bytes, hdr: Header) -> tuple[KindLayout, ...] | None:
    if not hdr.layout_len:
        return None
    fmt = struct.Struct(hdr.byte_order + "BBH")
    start = hdr.hdr_len + hdr.layout_off
    return tuple(
        KindLayout(*fmt.unpack_from(data, start + i))
        for i in range(0, hdr.layout_len, LAYOUT_ENTRY_SIZE)
    )


def pack_layout(layout: tuple[KindLayout, ...], byte_order: r.ByteOrder) -> bytes:
    fmt = struct.Struct(byte_order + "BBH")
    return b"".join(fmt.pack(e.info_sz, e.elem_sz, e.flags) for e in layout)
