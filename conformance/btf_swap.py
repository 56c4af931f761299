"""A raw BTF blob in the other byte order, swapped field by field without loader.btf.

Every field of the header after the first 8 bytes and every field of the type
section is a u32 (or s32), so swapping is mechanical: no type is decoded.  This
gives the big-endian oracle tests an input that does not come from our encoder.
"""

from __future__ import annotations

import struct
from array import array

_MAGIC = 0xEB9F


def swap_btf(blob: bytes) -> bytes:
    """``blob`` (either order, detected from the magic) in the other byte order."""
    order = "<" if struct.unpack_from("<H", blob)[0] == _MAGIC else ">"
    other = ">" if order == "<" else "<"
    magic, version, flags, hdr_len = struct.unpack_from(order + "HBBI", blob)
    words = struct.unpack_from(f"{order}{(hdr_len - 8) // 4}I", blob, 8)
    out = bytearray(struct.pack(other + "HBBI", magic, version, flags, hdr_len))
    out += struct.pack(f"{other}{len(words)}I", *words)
    out += blob[len(out):]
    type_off, type_len = words[0], words[1]
    start = hdr_len + type_off
    types = array("I", blob[start:start + type_len])
    types.byteswap()
    out[start:start + type_len] = types.tobytes()
    if hdr_len >= 32 and words[5]:
        # struct btf_layout {u8 info_sz; u8 elem_sz; u16 flags}: only flags swaps.
        layout_start = hdr_len + words[4]
        for pos in range(layout_start + 2, layout_start + words[5], 4):
            out[pos], out[pos + 1] = out[pos + 1], out[pos]
    return bytes(out)
