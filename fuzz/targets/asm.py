"""Target ``asm``: decode an instruction stream, encode it back byte for byte.

The first input byte picks the byte order; the rest is the stream.
"""

from __future__ import annotations

from typing import Literal

from fuzz.targets._oracle import Disagreement
from loader.asm import decode, encode
from loader.errors import LoaderError


def TestOneInput(data: bytes) -> None:
    if not data:
        return
    order: Literal["<", ">"] = "<" if data[0] & 1 else ">"
    stream = data[1:]
    try:
        insns = decode(stream, order)
    except LoaderError:
        return
    try:
        out = encode(insns, order)
    except LoaderError as exc:
        raise Disagreement(f"decoded instructions do not encode: {exc}") from exc
    if out != stream:
        at = next((i for i, (a, b) in enumerate(zip(out, stream, strict=False)) if a != b),
                  min(len(out), len(stream)))
        raise Disagreement(f"encode(decode(x)) != x from byte {at} ({len(stream)} bytes in, "
                           f"{len(out)} out)")
