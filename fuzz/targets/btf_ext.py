"""Target ``btf_ext``: .BTF.ext (func_info, line_info, CO-RE relocations).

Input layout: byte 0 picks the byte order (bit 0), bytes 1-2 (little endian) give
the length N of a string table that follows, and the rest is the .BTF.ext
section.  The string table is used as is, so the parser sees unterminated and
empty tables too.
"""

from __future__ import annotations

from typing import Literal

from loader.btf.ext import parse_ext
from loader.btf.strings import StringTable
from loader.errors import LoaderError


def TestOneInput(data: bytes) -> None:
    if len(data) < 3:
        return
    order: Literal["<", ">"] = "<" if data[0] & 1 else ">"
    str_len = int.from_bytes(data[1:3], "little")
    strings = StringTable(bytes(data[3:3 + str_len]))
    ext = data[3 + str_len:]
    try:
        parse_ext(ext, order, strings)
    except LoaderError:
        pass
