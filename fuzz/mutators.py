"""Structure-aware mutation for ELF objects and BTF blobs.

libFuzzer's byte mutations rarely get past a format's first consistency check
(offsets, lengths, magic).  These mutators parse the input with the loader itself,
change one thing that matters (a header field, one type record, one section
header, one symbol or relocation, one section's contents), and write the bytes
back, so most mutants reach the deeper code.  Inputs that do not parse fall back
to plain byte mutation (``atheris.Mutate``).  Deterministic for a given seed.
"""

from __future__ import annotations

import random
import struct

import atheris  # type: ignore[import-untyped]

from loader.btf import parse_raw
from loader.elf import EHDR_SIZE, LAYOUTS, SHDR_SIZE, SYM_SIZE, ELFFile, Section
from loader.errors import LoaderError

# Values that sit on the edges of the checks a parser makes.
_U32_EDGES = (0, 1, 2, 3, 4, 7, 8, 12, 16, 24, 32, 0x7F, 0x80, 0xFF, 0x100, 0xFFFF, 0x10000,
              0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 0xFFFFFFFF)


def _edge32(rng: random.Random, near: int) -> int:
    pick = rng.randrange(4)
    if pick == 0:
        return rng.choice(_U32_EDGES)
    if pick == 1:
        return (near + rng.choice((-8, -4, -1, 1, 4, 8))) & 0xFFFFFFFF
    if pick == 2:
        return near ^ (1 << rng.randrange(32))
    return rng.getrandbits(32)


def _edge64(rng: random.Random, near: int) -> int:
    if rng.randrange(4) == 0:
        return rng.choice((1 << 63, (1 << 64) - 1, 1 << 32, (1 << 32) - 1))
    return (_edge32(rng, near & 0xFFFFFFFF) | (near & ~0xFFFFFFFF)) & ((1 << 64) - 1)


def _bytes_fallback(data: bytes, max_size: int) -> bytes:
    # libFuzzer's own byte mutations; only callable inside a running fuzzer.
    return bytes(atheris.Mutate(data, max_size))


def mutate_bytes(body: bytes, rng: random.Random, max_len: int) -> bytes:
    """One small edit of a section body: bit flip, edge value, insert, or erase."""
    out = bytearray(body)
    pick = rng.randrange(4)
    if not out or pick == 2:
        at = rng.randrange(len(out) + 1)
        out[at:at] = bytes(rng.getrandbits(8) for _ in range(rng.choice((1, 4, 8))))
    elif pick == 0:
        at = rng.randrange(len(out))
        out[at] ^= 1 << rng.randrange(8)
    elif pick == 1 and len(out) >= 4:
        at = rng.randrange(len(out) - 3) & ~3
        out[at:at + 4] = _edge32(rng, 0).to_bytes(4, "little")
    else:
        at = rng.randrange(len(out))
        del out[at:at + rng.choice((1, 4, 8))]
    return bytes(out[:max_len])


# -- BTF --------------------------------------------------------------------

_BTF_HEADER_FIELDS = (4, 8, 12, 16, 20)  # hdr_len, type_off, type_len, str_off, str_len


def _btf_order(data: bytes) -> str | None:
    if data[:2] == b"\x9f\xeb":
        return "<"
    if data[:2] == b"\xeb\x9f":
        return ">"
    return None


def btf_mutate(data: bytes, rng: random.Random) -> bytes:
    """Mutate one header field, one type record, or one string of a raw BTF blob."""
    order = _btf_order(data)
    if order is None or len(data) < 24:
        raise ValueError("not BTF")
    out = bytearray(data)
    u32 = struct.Struct(order + "I")
    hdr_len, type_off, type_len, str_off, str_len = struct.unpack_from(order + "5I", data, 4)
    choice = rng.randrange(10)
    if choice == 0:
        at = rng.choice(_BTF_HEADER_FIELDS)
        u32.pack_into(out, at, _edge32(rng, u32.unpack_from(data, at)[0]))
        return bytes(out)
    if choice == 1:
        # One string byte: a NUL moved, a name changed, the terminator gone.
        start = hdr_len + str_off
        if str_len and start + str_len <= len(out):
            at = start + rng.randrange(str_len)
            out[at] = 0 if out[at] and rng.randrange(2) else rng.randrange(256)
        return bytes(out)
    try:
        spec = parse_raw(data)
    except LoaderError:
        u32.pack_into(out, rng.choice(_BTF_HEADER_FIELDS),
                      _edge32(rng, rng.randrange(len(data) + 1)))
        return bytes(out)
    _words, offsets = spec.index
    if not len(offsets):
        return bytes(out)
    nwords = type_len // 4
    i = rng.randrange(len(offsets))
    first = offsets[i]
    last = offsets[i + 1] if i + 1 < len(offsets) else nwords
    base = hdr_len + type_off
    if choice in (2, 3) and last > first:
        # Delete or duplicate one record: lengths and the string offset follow.
        record = data[base + 4 * first:base + 4 * last]
        if choice == 2:
            body = data[:base + 4 * first] + data[base + 4 * last:]
            delta = -len(record)
        else:
            body = data[:base + 4 * last] + record + data[base + 4 * last:]
            delta = len(record)
        out = bytearray(body)
        u32.pack_into(out, 12, type_len + delta)
        if str_off >= type_off + type_len:
            u32.pack_into(out, 16, str_off + delta)
        return bytes(out)
    at = base + 4 * rng.randrange(first, max(last, first + 1))
    if at + 4 > len(out):
        return bytes(out)
    old = u32.unpack_from(out, at)[0]
    if at == base + 4 * first + 4 and rng.randrange(2):
        # The info word: a different kind, vlen +-1, kind_flag flipped.
        kind, vlen = (old >> 24) & 0x1F, old & 0xFFFF
        pick = rng.randrange(3)
        if pick == 0:
            kind = rng.randrange(21)
        elif pick == 1:
            vlen = (vlen + rng.choice((-1, 1))) & 0xFFFF
        new = (old & 0x80000000) ^ (0x80000000 if pick == 2 else 0) | kind << 24 | vlen
    elif at == base + 4 * first:
        # name_off: around the end of the string table is where parsers slip.
        new = rng.choice((str_len, str_len - 1, str_len + 1, 0, _edge32(rng, old)))
    else:
        # A size, a type id or an offset: type ids near the end are the interesting ones.
        new = rng.choice((len(offsets), len(offsets) + 1, 0, _edge32(rng, old)))
    u32.pack_into(out, at, new & 0xFFFFFFFF)
    return bytes(out)


def btf_mutator(data: bytes, max_size: int, seed: int) -> bytes:
    rng = random.Random(seed)
    if rng.randrange(5) == 0:
        return _bytes_fallback(data, max_size)
    try:
        out = btf_mutate(data, rng)
    except Exception:
        # (tests/test_fuzz_mutators.py runs btf_mutate unguarded over the seeds).
        return _bytes_fallback(data, max_size)
    return out[:max_size]


# -- ELF --------------------------------------------------------------------

# Byte offsets inside an Elf64_Shdr and their widths.
_SHDR_FIELDS = ((0, 4), (4, 4), (8, 8), (24, 8), (32, 8), (40, 4), (44, 4), (48, 8), (56, 8))
_SYM_FIELDS = ((0, 4), (4, 1), (6, 2), (8, 8), (16, 8))
_REL_FIELDS = ((0, 8), (8, 4), (12, 4))


def _put(out: bytearray, order: str, at: int, width: int, value: int) -> None:
    fmt = {1: "B", 2: "H", 4: "I", 8: "Q"}[width]
    struct.pack_into(order + fmt, out, at, value & ((1 << (8 * width)) - 1))


def _get(data: bytes | bytearray, order: str, at: int, width: int) -> int:
    fmt = {1: "B", 2: "H", 4: "I", 8: "Q"}[width]
    return int(struct.unpack_from(order + fmt, data, at)[0])


def _mutate_field(out: bytearray, order: str, at: int, width: int, rng: random.Random) -> None:
    old = _get(out, order, at, width)
    if width == 8:
        new = _edge64(rng, old)
    elif width == 4:
        new = _edge32(rng, old)
    else:
        new = old ^ (1 << rng.randrange(8 * width)) if rng.randrange(2) else rng.getrandbits(8)
    _put(out, order, at, width, new)


def _replace_section(out: bytearray, order: str, shdr_at: int, body: bytes) -> bytearray:
    """Put new contents at the end of the file and point the section header there."""
    pad = (-len(out)) % 8
    offset = len(out) + pad
    out += bytes(pad) + body
    _put(out, order, shdr_at + 24, 8, offset)
    _put(out, order, shdr_at + 32, 8, len(body))
    return out


def elf_mutate(data: bytes, rng: random.Random, max_size: int) -> bytes:
    """Mutate one section header, symbol, relocation, or one section's contents."""
    elf = ELFFile(data)
    order = elf.byte_order
    shoff = LAYOUTS[order].ehdr.unpack_from(data, 16)[5]
    out = bytearray(data)
    sections: list[Section] = [s for s in elf.sections if s.index]
    if not sections:
        _mutate_field(out, order, 16 + rng.randrange(EHDR_SIZE - 16 - 8), 1, rng)
        return bytes(out)
    sec = rng.choice(sections)
    shdr_at = shoff + sec.index * SHDR_SIZE
    choice = rng.randrange(8)
    if choice == 0:
        at, width = rng.choice(_SHDR_FIELDS)
        _mutate_field(out, order, shdr_at + at, width, rng)
    elif choice == 1 and elf.symtab is not None and elf.symtab.size >= SYM_SIZE:
        symtab = elf.symtab
        entry = symtab.offset + SYM_SIZE * rng.randrange(symtab.size // SYM_SIZE)
        at, width = rng.choice(_SYM_FIELDS)
        _mutate_field(out, order, entry + at, width, rng)
    elif choice == 2 and (rel := elf.rel_section(sec)) is not None and rel.size >= 16:
        entry = rel.offset + 16 * rng.randrange(rel.size // 16)
        at, width = rng.choice(_REL_FIELDS)
        # r_info's halves are the symbol index and the type.
        if order == ">" and width == 4:
            at = 8 + (12 - at)
        _mutate_field(out, order, entry + at, width, rng)
    elif sec.type != 8:  # not NOBITS: change what is inside
        body = bytes(sec.data())
        if sec.name == ".BTF" and rng.randrange(2):
            try:
                new = btf_mutate(body, rng)
            except ValueError:
                new = mutate_bytes(body, rng, len(body) + 64)
        else:
            new = mutate_bytes(body, rng, max(len(body) * 2, 64))
        if len(new) == len(body):
            out[sec.offset:sec.offset + len(body)] = new
        else:
            out = _replace_section(out, order, shdr_at, new)
    else:
        _mutate_field(out, order, shdr_at + 32, 8, rng)
    return bytes(out)


def elf_mutator(data: bytes, max_size: int, seed: int) -> bytes:
    rng = random.Random(seed)
    if rng.randrange(6) == 0:
        return _bytes_fallback(data, max_size)
    try:
        out = elf_mutate(data, rng, max_size)
    except Exception:
        return _bytes_fallback(data, max_size)
    if len(out) > max_size:
        return _bytes_fallback(data, max_size)
    return out
