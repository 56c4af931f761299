"""Invalid BTF: a valid generated spec plus exactly one violation of one rule.

One mutation family per rule of the BTF model; rule names are the ones the
model's conformance table uses (conformance/btf_cases.py), so a disagreement
points straight at the hand-made cases for the same rule.  Most families append
one broken record (or a broken pair) to the valid type section; header,
section and string-table families rewrite the framing.  Each family states the
errno the kernel answers; the property tests check that the model and the
running kernel both say exactly that.

Some rules cannot be broken on some kernels (a relaxation the kernel made:
'.' in names since 6.5, signed enums since 6.0, tag kind_flag since 6.14): the
family's ``applies`` says when it exists.  ``resolve.modifier_target`` has no
family: a modifier of a FUNC resolves through the FUNC to its FUNC_PROTO and
is accepted, and every other non-sized target is caught by an earlier rule.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from conformance.btf_raw import RawBTF
from conformance.generators._btf import BTFShape
from conformance.generators._draw import Draw
from loader.btf import encode_types
from loader.btf import records as r
from loader.btf.validate_facts import KernelFacts
from loader.btf.validate_meta import ENOTSUPP

EINVAL = errno.EINVAL


class InvalidBTF(NamedTuple):
    """``(blob, rule, expected_errno)``: unpacks like the tuple it is."""

    blob: bytes
    rule: str
    expected_errno: int


@dataclass(frozen=True, slots=True)
class _Family:
    rule: str
    errno: int
    build: Callable[[RawBTF, Draw, KernelFacts], bytes]
    applies: Callable[[KernelFacts], bool]


FAMILIES: list[_Family] = []
# Rules of the model that no family can break on any kernel, and why.
UNBREAKABLE: dict[str, str] = {
    "valid": "not a rule",
    "resolve.modifier_target": "a modifier of a FUNC resolves through it to the FUNC_PROTO "
    "and is accepted; other non-sized targets fail an earlier rule",
}


def family(
    rule: str, err: int = EINVAL, applies: Callable[[KernelFacts], bool] = lambda f: True
) -> Callable[[Callable[[RawBTF, Draw, KernelFacts], bytes]],
              Callable[[RawBTF, Draw, KernelFacts], bytes]]:
    def register(fn: Callable[[RawBTF, Draw, KernelFacts], bytes]
                 ) -> Callable[[RawBTF, Draw, KernelFacts], bytes]:
        FAMILIES.append(_Family(rule, err, fn, applies))
        return fn
    return register


def _has(kind: int) -> Callable[[KernelFacts], bool]:
    return lambda f: f.kind_max >= kind


def raw_from(shape: BTFShape) -> RawBTF:
    """A RawBTF holding ``shape``'s records, to append broken ones to (host order)."""
    blob = encode_types(shape.types, "<")
    raw = RawBTF("<")
    _, _, _, hdr_len = raw.rec.preamble.unpack_from(blob)
    type_off, type_len, str_off, str_len = raw.rec.header_v1.unpack_from(blob, 8)
    body = blob[hdr_len:]
    raw.types = bytearray(body[type_off:type_off + type_len])
    raw.strs = bytearray(body[str_off:str_off + str_len])
    raw.next_id = len(shape.types) + 1
    return raw


def _bad_identifier(d: Draw) -> str:
    return d.choice(("a b", "1abc", "a-b", "x+", "\xd7", "\x7f", "a\tb"))


# ---------------------------------------------------------------- header ----
@family("hdr.hdr_len_not_found")
def _hdr_len_not_found(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    return b.blob()[:d.int(0, 7)]


@family("hdr.btf_header_not_found")
def _hdr_not_found(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    blob = b.blob()
    return b.blob(hdr_len=len(blob) + d.int(1, 4096))


@family("hdr.magic")
def _hdr_magic(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    if d.bool(0.3):
        # the same blob byte-swapped: the kernel reads no foreign-order BTF
        swapped = RawBTF(">")
        swapped.int_()
        return swapped.blob()
    magic = d.int(0, 0xFFFF)
    return b.blob(magic=magic if magic != r.BTF_MAGIC else 0xEB9E)


@family("hdr.version", ENOTSUPP)
def _hdr_version(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    return b.blob(version=d.choice((0, 2, 3, 0xFF)))


@family("hdr.flags", ENOTSUPP)
def _hdr_flags(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    return b.blob(flags=d.int(1, 0xFF))


@family("hdr.unsupported_trailer", errno.E2BIG,
        applies=lambda f: f.header_size == r.BTF_HEADER_V1_SIZE)
def _hdr_trailer(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    extra = 4 * d.int(1, 4)
    tail = bytearray(extra)
    tail[d.int(0, extra - 1)] = d.int(1, 0xFF)
    return b.blob(hdr_len=r.BTF_HEADER_V1_SIZE + extra, header_tail=bytes(tail))


@family("hdr.short_hdr_len")
def _hdr_short(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    return b.blob(hdr_len=d.choice((8, 12, 16, 20)))


@family("hdr.no_data")
def _hdr_no_data(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    return b.blob(type_len=0, str_len=0)[:r.BTF_HEADER_V1_SIZE]


# -------------------------------------------------------------- sections ----
@family("sec.gap")
def _sec_gap(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    return b.blob(gap=bytes(4 * d.int(1, 8)))


@family("sec.overlap")
def _sec_overlap(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    back = 4 * d.int(1, len(b.types) // 4)
    return b.blob(str_off=len(b.types) - back, str_len=len(b.strs) + back)


@family("sec.past_end")
def _sec_past_end(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    return b.blob(str_len=len(b.strs) + d.int(1, 64))


@family("sec.offset_past_end")
def _sec_offset_past_end(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    return b.blob(str_off=len(b.types) + len(b.strs) + d.int(1, 1 << 20))


@family("sec.trailing_data")
def _sec_trailing(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    return b.blob(trailer=bytes(d.int(1, 16)))


@family("str.not_at_end")
def _str_not_at_end(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    return b.blob(strings_first=True)


@family("type.unaligned_off")
def _type_unaligned(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    # An empty type section placed after a string section of unaligned length:
    # the only way the string section still ends the blob.
    strs = bytes(b.strs)
    if not len(strs) & 3:
        strs += b"\0" * d.int(1, 3)
    hdr = bytearray(b.blob()[:r.BTF_HEADER_V1_SIZE])
    b.rec.header_v1.pack_into(hdr, 8, len(strs), 0, 0, len(strs))
    return bytes(hdr) + strs


@family("type.none")
def _type_none(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    strs = bytes(b.strs)
    hdr = bytearray(b.blob()[:r.BTF_HEADER_V1_SIZE])
    b.rec.header_v1.pack_into(hdr, 8, 0, 0, 0, len(strs))
    return bytes(hdr) + strs


# --------------------------------------------------------------- strings ----
@family("str.empty")
def _str_empty(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    return b.blob(strings=b"")


@family("str.not_nul_terminated")
def _str_not_nul(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    return b.blob(strings=bytes(b.strs[:-1]) + bytes([d.int(1, 0xFF)]))


@family("str.first_not_nul")
def _str_first(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    return b.blob(strings=bytes([d.int(1, 0xFF)]) + bytes(b.strs[1:]))


@family("str.name_off_range")
def _str_name_off(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    b.type(r.BTF_KIND_INT, len(b.strs) + d.int(0, 64), 4, extra=b.rec.u32.pack(32))
    return b.blob()


# ----------------------------------------------------------- info / kind ----
@family("info.mask")
def _info_mask(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    bit = d.choice((16, 17, 20, 23, 29, 30))
    info = r.make_info(r.BTF_KIND_INT, 0, False) | (1 << bit)
    b.type(r.BTF_KIND_INT, b.name("int"), 4, info=info, extra=b.rec.u32.pack(32))
    return b.blob()


@family("info.kind")
def _info_kind(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    kind = d.choice((0, *range(f.kind_max + 1, 32)))
    b.type(kind, 0, 0)
    return b.blob()


@family("meta.truncated")
def _meta_truncated(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    b.int_()
    cut = d.int(1, 15)  # inside the last 16-byte INT record
    b.types = b.types[:-cut]
    return b.blob()


# ------------------------------------------------------------------- INT ----
@family("int.vlen")
def _int_vlen(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    b.int_(vlen=d.int(1, 0xFFFF))
    return b.blob()


@family("int.kflag")
def _int_kflag(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    b.int_(kflag=True)
    return b.blob()


@family("int.data_mask")
def _int_data_mask(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    b.int_(encoding=d.int(1, 15) << 4)
    return b.blob()


@family("int.nr_bits")
def _int_nr_bits(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    if d.bool():
        bits = d.int(1, 128)
        b.int_(size=16, bits=bits, offset=d.int(129 - bits, 255))
    else:
        size = d.choice((1, 2, 4, 8))
        b.int_(size=size, bits=8 * size + d.int(1, 8))
    return b.blob()


@family("int.encoding", ENOTSUPP)
def _int_encoding(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    b.int_(encoding=d.choice((3, 5, 6, 7, 8, 9, 15)))
    return b.blob()


# ------------------------------------------------------- PTR / modifiers ----
_PLAIN_REFS = (r.BTF_KIND_PTR, r.BTF_KIND_CONST, r.BTF_KIND_VOLATILE, r.BTF_KIND_RESTRICT)


@family("ref.name")
def _ref_name(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    b.ref(d.choice(_PLAIN_REFS), 1, f"n{d.int(0, 9)}")
    return b.blob()


@family("ref.kflag")
def _ref_kflag(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    kind = d.choice((*_PLAIN_REFS, r.BTF_KIND_TYPEDEF))
    b.ref(kind, 1, "t" if kind == r.BTF_KIND_TYPEDEF else "", kflag=True)
    return b.blob()


@family("typedef.name")
def _typedef_name(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    b.ref(r.BTF_KIND_TYPEDEF, 1, "" if d.bool() else _bad_identifier(d))
    return b.blob()


@family("ref.type_id")
def _ref_type_id(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    b.ref(d.choice(_PLAIN_REFS), d.int(r.BTF_MAX_TYPE + 1, 0xFFFFFFFF))
    return b.blob()


@family("resolve.invalid_target")
def _resolve_invalid_target(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    b.ref(d.choice(_PLAIN_REFS), b.next_id + 1 + d.int(0, 1000))
    return b.blob()


@family("resolve.source_only", applies=_has(r.BTF_KIND_DATASEC))
def _resolve_source_only(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    v = b.var(f"x{b.next_id}", 1)
    b.ref(d.choice(_PLAIN_REFS), v)
    return b.blob()


# ----------------------------------------------------------------- ARRAY ----
@family("array.name")
def _array_name(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    b.array(1, 1, d.int(0, 8), name="a")
    return b.blob()


@family("array.size")
def _array_size(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    b.array(1, 1, 4, size=d.int(1, 64))
    return b.blob()


@family("array.index")
def _array_index(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    how = d.int(0, 2)
    if how == 0:
        index = 0
    elif how == 1:
        index = b.ptr(1)
    else:
        index = b.int_("u3", size=1, bits=d.int(1, 7))
    b.array(1, index, 4)
    return b.blob()


@family("array.elem")
def _array_elem(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    if d.bool():
        elem = b.fwd(f"fw{b.next_id}")
    else:
        elem = b.int_("u3", size=1, bits=d.int(1, 7))
    b.array(elem, 1, d.int(1, 8))
    return b.blob()


@family("array.overflow")
def _array_overflow(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    b.array(1, 1, d.int(0xFFFFFFFF // 4 + 1, 0xFFFFFFFF))
    return b.blob()


# ---------------------------------------------------------- STRUCT/UNION ----
@family("struct.offset_order")
def _struct_order(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    hi = 32 * d.int(1, 3)
    b.struct(f"s{b.next_id}", 16, [("a", 1, hi), ("b", 1, hi - 32)])
    return b.blob()


@family("struct.union_offset")
def _union_offset(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    b.struct(f"u{b.next_id}", 8, [("a", 1, 0), ("b", 1, 8 * d.int(1, 4))], union=True)
    return b.blob()


@family("struct.member_size")
def _struct_member_size(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    size = d.int(5, 7)
    b.struct(f"s{b.next_id}", size, [("a", 1, 0), ("b", 1, 32)])
    return b.blob()


@family("struct.member_offset")
def _struct_member_offset(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    b.struct(f"s{b.next_id}", 4, [("a", 1, 8 * (4 + d.int(1, 64)))])
    return b.blob()


@family("struct.member_type")
def _struct_member_type(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    if d.bool():
        mtype = 0
    else:
        mtype = b.func_proto(1, [])
    b.struct(f"s{b.next_id}", 8, [("m", mtype, 0)])
    return b.blob()


@family("struct.member_name")
def _struct_member_name(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    b.struct(f"s{b.next_id}", 4, [(_bad_identifier(d), 1, 0)], union=d.bool())
    return b.blob()


@family("struct.name")
def _struct_name(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    b.struct(_bad_identifier(d), 4, [("a", 1, 0)], union=d.bool())
    return b.blob()


@family("name.dot", applies=lambda f: not f.dot_in_identifiers)
def _name_dot(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    b.struct(d.choice(("a.b", ".s", "s.")), 4, [("a", 1, 0)])
    return b.blob()


@family("name.latin1")
def _name_latin1(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    # The kernel's ctype makes Latin-1 0xC0-0xFF letters except the
    # multiplication and division signs.
    b.struct(d.choice(("\xd7x", "x\xf7", "\xe9\xd7")), 4, [("a", 1, 0)])
    return b.blob()


@family("name.length")
def _name_length(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    b.struct("s" * (f.name_len_limit + d.int(1, 64)), 4, [("a", 1, 0)])
    return b.blob()


@family("struct.bitfield_size")
def _struct_bitfield(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    if d.bool():
        b.struct(f"s{b.next_id}", 8, [("a", 1, d.int(33, 64) << 24)], kflag=True)
    else:
        p = b.ptr(1)
        b.struct(f"s{b.next_id}", 8, [("p", p, d.int(1, 64) << 24)], kflag=True)
    return b.blob()


@family("struct.member_align")
def _struct_member_align(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    p = b.ptr(1)
    b.struct(f"s{b.next_id}", 16, [("p", p, d.int(1, 7))])
    return b.blob()


@family("resolve.loop", errno.EEXIST)
def _resolve_loop(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    how = d.int(0, 2)
    n = b.next_id
    if how == 0:
        b.struct(f"s{n}", 4, [("inner", n, 0)])
    elif how == 1:
        b.const(n + 1)
        b.ref(r.BTF_KIND_VOLATILE, n)
    else:
        b.ptr(n + 1)
        b.ptr(n)
    return b.blob()


@family("resolve.depth", errno.E2BIG)
def _resolve_depth(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    n = b.next_id
    depth = d.int(33, 40)
    for i in range(depth):
        b.const(n + i + 1)
    b.int_()
    return b.blob()


# ------------------------------------------------------------------ ENUM ----
@family("enum.size")
def _enum_size(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    size = d.choice((0, 3, 5, 6, 7, 9, 16))
    if f.kind_max >= r.BTF_KIND_ENUM64 and d.bool():
        b.enum64(f"e{b.next_id}", size, [("BIG", 1 << 40)])
    else:
        b.enum(f"e{b.next_id}", size, [("A", 1)])
    return b.blob()


@family("enum.kflag", applies=lambda f: not f.enum_kflag)
def _enum_kflag(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    b.enum(f"e{b.next_id}", 4, [("A", -1)], kflag=True)
    return b.blob()


@family("enum.member_name")
def _enum_member_name(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    b.enum(f"e{b.next_id}", 4, [("" if d.bool() else _bad_identifier(d), 1)])
    return b.blob()


@family("kind.enum64", applies=lambda f: f.kind_max < r.BTF_KIND_ENUM64)
def _kind_enum64(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    b.enum64(f"e{b.next_id}", 8, [("BIG", 1 << 40)])
    return b.blob()


# ------------------------------------------------------------------- FWD ----
@family("fwd.name")
def _fwd_name(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    if d.bool():
        b.type(r.BTF_KIND_FWD, 0, 0)
    else:
        b.fwd(_bad_identifier(d))
    return b.blob()


@family("fwd.type")
def _fwd_type(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    b.type(r.BTF_KIND_FWD, b.name(f"fw{b.next_id}"), d.int(1, 0xFFFFFFFF))
    return b.blob()


# ------------------------------------------------------ FUNC/FUNC_PROTO ----
@family("func.linkage")
def _func_linkage(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    proto = b.func_proto(1, [("a", 1)])
    low = r.BTF_FUNC_EXTERN if f.func_linkage else 1
    b.func(f"f{b.next_id}", proto, linkage=d.int(low, 0xFFFF))
    return b.blob()


@family("func.name")
def _func_name(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    proto = b.func_proto(1, [("a", 1)])
    name = 0 if d.bool() else b.name(_bad_identifier(d))
    b.type(r.BTF_KIND_FUNC, name, proto)
    return b.blob()


@family("func.type")
def _func_type(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    b.type(r.BTF_KIND_FUNC, b.name(f"f{b.next_id}"), d.choice((0, 1)))
    return b.blob()


@family("func.arg_name")
def _func_arg_name(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    n = d.int(1, 3)
    unnamed = d.int(0, n - 1)
    proto = b.func_proto(1, [("" if i == unnamed else f"a{i}", 1) for i in range(n)])
    b.type(r.BTF_KIND_FUNC, b.name(f"f{b.next_id}"), proto)
    return b.blob()


@family("proto.vararg")
def _proto_vararg(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    b.func_proto(1, [("a", 1), (f"rest{d.int(0, 9)}", 0)])
    return b.blob()


@family("proto.void_arg")
def _proto_void_arg(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    n = d.int(2, 4)
    void_at = d.int(0, n - 2)
    b.func_proto(1, [("", 0) if i == void_at else (f"a{i}", 1) for i in range(n)])
    return b.blob()


@family("proto.name")
def _proto_name(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    b.type(r.BTF_KIND_FUNC_PROTO, b.name(f"p{b.next_id}"), 1)
    return b.blob()


@family("proto.return")
def _proto_return(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    if d.bool():
        ret = b.fwd(f"fw{b.next_id}")
    else:
        ret = b.func_proto(1, [])
    b.func_proto(ret, [])
    return b.blob()


@family("proto.source_only", applies=lambda f: f.proto_source_only_check)
def _proto_source_only(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    v = b.var(f"x{b.next_id}", 1)
    if d.bool():
        b.func_proto(1, [("a", v)])
    else:
        b.func_proto(v, [])
    return b.blob()


@family("proto.arg_name")
def _proto_arg_name(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    b.func_proto(1, [(_bad_identifier(d), 1)])
    return b.blob()


# ------------------------------------------------------- VAR / DATASEC ----
_HAS_VAR = _has(r.BTF_KIND_DATASEC)


@family("var.linkage", applies=_HAS_VAR)
def _var_linkage(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    b.var(f"x{b.next_id}", 1, linkage=d.int(2, 0xFFFFFFFF))
    return b.blob()


@family("var.type", applies=_HAS_VAR)
def _var_type(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    target = 0 if d.bool() else b.fwd(f"fw{b.next_id}")
    b.var(f"x{b.next_id}", target)
    return b.blob()


@family("datasec.size", applies=_HAS_VAR)
def _datasec_size(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    b.datasec(".data", 0, [])
    return b.blob()


@family("datasec.entry_kind", applies=_HAS_VAR)
def _datasec_entry_kind(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    target = 1 if d.bool() else b.ptr(1)
    b.datasec(".data", 8, [(target, 0, 4)])
    return b.blob()


@family("datasec.order", applies=_HAS_VAR)
def _datasec_order(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    v = b.var(f"x{b.next_id}", 1)
    w = b.var(f"y{b.next_id}", 1)
    b.datasec(".data", 8, [(v, 4, 4), (w, d.int(0, 3), 4)])
    return b.blob()


@family("datasec.bounds", applies=_HAS_VAR)
def _datasec_bounds(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    v = b.var(f"x{b.next_id}", 1)
    size = d.int(5, 7)
    b.datasec(".data", size, [(v, 4, 4)])
    return b.blob()


@family("datasec.entry_size", applies=_HAS_VAR)
def _datasec_entry_size(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    v = b.var(f"x{b.next_id}", 1)
    b.datasec(".data", 4, [(v, 0, d.int(1, 3))])
    return b.blob()


@family("name.datasec", applies=_HAS_VAR)
def _name_datasec(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    v = b.var(f"x{b.next_id}", 1)
    bad = [b"\x01data", b".da\x01ta", b".data\x7f", b"\x1f"]
    if not f.printable_datasec_names:
        bad += [b".data?x", b".a b"]
    b.datasec(d.choice(bad), 4, [(v, 0, 4)])
    return b.blob()


# ----------------------------------------------------------------- FLOAT ----
@family("float.size", applies=_has(r.BTF_KIND_FLOAT))
def _float_size(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    b.float_(size=d.choice((0, 1, 3, 5, 6, 7, 9, 10, 32)))
    return b.blob()


@family("float.kflag", applies=_has(r.BTF_KIND_FLOAT))
def _float_kflag(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    b.float_(kflag=True)
    return b.blob()


@family("float.member_align", applies=_has(r.BTF_KIND_FLOAT))
def _float_member_align(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    fl = b.float_()
    b.struct(f"s{b.next_id}", 24, [("d", fl, 8 * d.choice((1, 2, 3, 4, 5, 6, 7)))])
    return b.blob()


# -------------------------------------------------------------- DECL_TAG ----
_HAS_DECL_TAG = _has(r.BTF_KIND_DECL_TAG)


def _tagged_struct(b: RawBTF) -> int:
    return b.struct(f"s{b.next_id}", 8, [("a", 1, 0), ("b", 1, 32)])


@family("decl_tag.component_idx", applies=_HAS_DECL_TAG)
def _decl_tag_idx(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    how = d.int(0, 2)
    if how == 0:
        b.decl_tag("tag", _tagged_struct(b), d.int(2, 100))
    elif how == 1:
        b.decl_tag("tag", _tagged_struct(b), -d.int(2, 1000))
    else:
        b.decl_tag("tag", b.var(f"x{b.next_id}", 1), d.int(0, 3))
    return b.blob()


@family("decl_tag.target", applies=_HAS_DECL_TAG)
def _decl_tag_target(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    target = 1 if d.bool() else b.ptr(1)
    b.decl_tag("tag", target)
    return b.blob()


@family("decl_tag.value", applies=_HAS_DECL_TAG)
def _decl_tag_value(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    s = _tagged_struct(b)
    b.type(r.BTF_KIND_DECL_TAG, 0, s, extra=b.rec.s32.pack(-1))
    return b.blob()


@family("decl_tag.kflag", applies=lambda f: f.kind_max >= r.BTF_KIND_DECL_TAG
        and not f.tag_kflag)
def _decl_tag_kflag(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    b.decl_tag("attr", _tagged_struct(b), kflag=True)
    return b.blob()


# -------------------------------------------------------------- TYPE_TAG ----
_HAS_TYPE_TAG = _has(r.BTF_KIND_TYPE_TAG)


@family("type_tag.order", applies=_HAS_TYPE_TAG)
def _type_tag_order(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    tt = b.type_tag("user", 1)
    mod = d.choice((r.BTF_KIND_CONST, r.BTF_KIND_VOLATILE, r.BTF_KIND_RESTRICT,
                    r.BTF_KIND_TYPEDEF))
    m = b.ref(mod, tt, "t" if mod == r.BTF_KIND_TYPEDEF else "")
    b.ptr(m)
    return b.blob()


@family("type_tag.name", applies=_HAS_TYPE_TAG)
def _type_tag_name(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    b.type(r.BTF_KIND_TYPE_TAG, 0, 1)
    return b.blob()


@family("type_tag.kflag", applies=lambda f: f.kind_max >= r.BTF_KIND_TYPE_TAG
        and not f.tag_kflag)
def _type_tag_kflag(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    b.type_tag("attr", 1, kflag=True)
    return b.blob()


@family("type_tag.chain", errno.ELOOP)
def _type_tag_chain(b: RawBTF, d: Draw, f: KernelFacts) -> bytes:
    # A chain of more than 32 modifiers, resolved in pieces of at most 32 (so
    # resolution passes) by heads that point into it at intervals: only the
    # type-tag walk, which follows a whole chain, sees its length.
    n = b.next_id
    length = d.int(41, 48)
    heads = 4
    first = n + heads
    for h in range(heads):
        b.const(first + (heads - 1 - h) * 10)
    for i in range(length):
        b.const(first + i + 1)
    b.int_()
    return b.blob()


def rules_for(facts: KernelFacts) -> list[_Family]:
    return [fam for fam in FAMILIES if fam.applies(facts)]


def build_invalid(shape: BTFShape, fam: _Family, draw: Draw, facts: KernelFacts) -> InvalidBTF:
    return InvalidBTF(fam.build(raw_from(shape), draw, facts), fam.rule, fam.errno)
