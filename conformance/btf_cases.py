"""The BTF_LOAD conformance table: hand-made blobs, one or more per kernel rule.

Each case names the rule it exercises (after the kernel check in
kernel/bpf/btf.c) and builds its blob with :class:`RawBTF`.  The blobs and the
model's verdict per kernel line are written to corpus/btf/ by
``python -m conformance.btf_cases --write``; a test fails when the committed
files drift from these definitions, and a kernel test loads every blob into the
running kernel and requires the model to agree.
"""

from __future__ import annotations

import argparse
import json
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from conformance.btf_raw import RawBTF
from loader.btf import records as r
from loader.btf.validate import check

CORPUS_DIR = Path(__file__).resolve().parent.parent / "corpus" / "btf"
# Kernel lines the committed expectations are computed for (the VM matrix lines).
KERNEL_LINES = ("5.10", "6.1", "6.12", "6.18", "7.2")


@dataclass(frozen=True)
class BTFCase:
    name: str
    rule: str
    description: str
    build: Callable[[], bytes]


CASES: list[BTFCase] = []


def case(rule: str, description: str) -> Callable[[Callable[[], bytes]], Callable[[], bytes]]:
    def register(fn: Callable[[], bytes]) -> Callable[[], bytes]:
        CASES.append(BTFCase(fn.__name__, rule, description, fn))
        return fn

    return register


def _int() -> RawBTF:
    b = RawBTF()
    b.int_()
    return b


# ---------------------------------------------------------------- header ----
@case("valid", "one 32-bit signed INT: the smallest useful blob")
def valid_int() -> bytes:
    b = RawBTF()
    b.int_(encoding=r.BTF_INT_SIGNED)
    return b.blob()


@case("hdr.hdr_len_not_found", "6 bytes: shorter than magic+version+flags+hdr_len")
def hdr_truncated() -> bytes:
    return _int().blob()[:6]


@case("hdr.btf_header_not_found", "hdr_len larger than the whole blob")
def hdr_len_past_end() -> bytes:
    return _int().blob(hdr_len=4096)


@case("hdr.magic", "magic 0xeb9e")
def hdr_bad_magic() -> bytes:
    return _int().blob(magic=0xEB9E)


@case("hdr.magic", "a valid big-endian blob: the kernel reads no byte-swapped BTF")
def hdr_byte_swapped() -> bytes:
    b = RawBTF(">")
    b.int_()
    return b.blob()


@case("hdr.version", "version 2: ENOTSUPP (524), not EINVAL")
def hdr_bad_version() -> bytes:
    return _int().blob(version=2)


@case("hdr.flags", "flags 1: ENOTSUPP (524)")
def hdr_bad_flags() -> bytes:
    return _int().blob(flags=1)


@case("hdr.unsupported_trailer", "hdr_len 32 with a non-zero byte past the 24-byte header")
def hdr_nonzero_trailer() -> bytes:
    b = _int()
    return b.blob(hdr_len=32, header_tail=b"\0\0\0\0\x08\0\0\0")


@case("hdr.unsupported_trailer", "hdr_len 32, bytes past the 24-byte header all zero")
def hdr_zero_trailer() -> bytes:
    return _int().blob(hdr_len=32, header_tail=bytes(8))


# struct btf_layout per kind 0..19 (info_sz, elem_sz, flags): what the kinds carry
_LAYOUT = b"".join(
    struct.pack("<BBH", info, elem, 0)
    for info, elem in ((0, 0), (4, 0), (0, 0), (12, 0), (0, 12), (0, 12), (0, 8), (0, 0),
                       (0, 0), (0, 0), (0, 0), (0, 0), (0, 0), (0, 8), (4, 0), (0, 12),
                       (0, 0), (4, 0), (0, 0), (0, 12))
)


def _with_layout(b: RawBTF, layout: bytes, *, before_strings: bool = False) -> bytes:
    """A 32-byte header (7.1+) with a layout section after the strings (or
    between types and strings)."""
    types, strs = bytes(b.types), bytes(b.strs)
    if before_strings:
        lay_off, str_off = len(types), len(types) + len(layout)
        body = types + layout + strs
    else:
        str_off, lay_off = len(types), len(types) + len(strs)
        body = types + strs + layout
    hdr = b.rec.preamble.pack(r.BTF_MAGIC, r.BTF_VERSION, 0, r.BTF_HEADER_LAYOUT_SIZE)
    hdr += b.rec.header_v1.pack(0, len(types), str_off, len(strs))
    hdr += b.rec.header_layout.pack(lay_off, len(layout))
    return hdr + body


def _int4() -> RawBTF:
    """An INT named 'ab': a 4-byte string section, so what follows is aligned."""
    b = RawBTF()
    b.int_(name="ab")
    return b


@case("valid", "32-byte header, 80-byte layout section after the strings (7.1+; E2BIG before)")
def hdr_layout_ok() -> bytes:
    return _with_layout(_int4(), _LAYOUT)


@case("str.not_at_end",
      "layout section between types and strings: with the 32-byte header (7.1+) "
      "strings need not be last")
def hdr_layout_before_strings() -> bytes:
    return _with_layout(_int4(), _LAYOUT, before_strings=True)


@case("hdr.unsupported_trailer", "layout_len 6: not a multiple of sizeof(struct btf_layout) (7.1+)")
def hdr_layout_len_6() -> bytes:
    return _with_layout(_int4(), _LAYOUT[:6])


@case("hdr.unsupported_trailer",
      "layout section at an unaligned offset after a 9-byte string section (7.1+)")
def hdr_layout_unaligned() -> bytes:
    b = RawBTF()
    b.int_(name="abcdefg")
    return _with_layout(b, _LAYOUT)


@case("hdr.short_hdr_len", "hdr_len 16: the section fields past it read as zero")
def hdr_len_16() -> bytes:
    return _int().blob(hdr_len=16)


@case("hdr.no_data", "a 24-byte header and nothing else")
def hdr_only() -> bytes:
    return _int().blob(type_len=0, str_len=0)[:24]


# -------------------------------------------------------------- sections ----
@case("sec.gap", "4 bytes between the type and string sections")
def sec_gap() -> bytes:
    return _int().blob(gap=bytes(4))


@case("sec.overlap", "string section starts inside the type section")
def sec_overlap() -> bytes:
    b = _int()
    return b.blob(str_off=len(b.types) - 4, str_len=len(b.strs) + 4)


@case("sec.past_end", "str_len runs past the end of the blob")
def sec_str_past_end() -> bytes:
    b = _int()
    return b.blob(str_len=len(b.strs) + 8)


@case("sec.offset_past_end", "str_off beyond the blob")
def sec_str_off_past_end() -> bytes:
    b = _int()
    return b.blob(str_off=4096)


@case("sec.trailing_data", "four bytes after the string section")
def sec_trailing_data() -> bytes:
    return _int().blob(trailer=b"\0\0\0\0")


@case("str.not_at_end", "string section first, type section last")
def sec_strings_first() -> bytes:
    return _int().blob(strings_first=True)


@case("type.unaligned_off", "empty type section at unaligned offset 5 after the strings")
def sec_type_off_unaligned() -> bytes:
    b = _int()
    strs = bytes(b.strs)
    assert len(strs) == 5
    hdr = b.blob()[:24]
    out = bytearray(hdr)
    b.rec.header_v1.pack_into(out, 8, 5, 0, 0, 5)
    return bytes(out) + strs


@case("type.none", "type_len 0")
def sec_no_types() -> bytes:
    b = _int()
    strs = bytes(b.strs)
    out = bytearray(b.blob()[:24])
    b.rec.header_v1.pack_into(out, 8, 0, 0, 0, len(strs))
    return bytes(out) + strs


# --------------------------------------------------------------- strings ----
@case("str.empty", "str_len 0")
def str_empty() -> bytes:
    return _int().blob(str_len=0, strings=b"")


@case("str.not_nul_terminated", "last byte of the string section is not NUL")
def str_not_nul_terminated() -> bytes:
    b = _int()
    return b.blob(strings=bytes(b.strs[:-1]) + b"x")


@case("str.first_not_nul", "string section does not start with NUL")
def str_first_not_nul() -> bytes:
    b = _int()
    return b.blob(strings=b"x" + bytes(b.strs[1:]))


@case("str.name_off_range", "INT name_off == str_len")
def str_name_off_out_of_range() -> bytes:
    b = RawBTF()
    b.int_()
    out = bytearray(b.blob())
    b.rec.u32.pack_into(out, 24, len(b.strs))
    return bytes(out)


@case("str.name_off_range", "name_off into the middle of a string ('nt') is fine")
def str_name_off_mid_string() -> bytes:
    b = RawBTF()
    b.int_()
    out = bytearray(b.blob())
    b.rec.u32.pack_into(out, 24, 2)
    return bytes(out)


# ----------------------------------------------------------- info / kind ----
@case("info.mask", "info bit 16 set (outside vlen/kind/kflag)")
def info_bad_bits() -> bytes:
    b = RawBTF()
    b.type(r.BTF_KIND_INT, b.name("int"), 4, info=r.make_info(r.BTF_KIND_INT, 0, False) | 1 << 20,
           extra=b.rec.u32.pack(32))
    return b.blob()


@case("info.kind", "kind 0 (UNKN)")
def kind_unknown() -> bytes:
    b = RawBTF()
    b.type(r.BTF_KIND_UNKN, 0, 0)
    return b.blob()


@case("info.kind", "kind 20, past BTF_KIND_ENUM64")
def kind_too_big() -> bytes:
    b = RawBTF()
    b.type(20, 0, 0)
    return b.blob()


@case("meta.truncated", "type section of 8 bytes: half a btf_type")
def meta_truncated_type() -> bytes:
    b = _int()
    types = bytes(b.types[:8])
    return _with_types(b, types)


@case("meta.truncated", "INT record without its u32 int_data")
def meta_truncated_int() -> bytes:
    b = _int()
    return _with_types(b, bytes(b.types[:12]))


def _with_types(b: RawBTF, types: bytes) -> bytes:
    strs = bytes(b.strs)
    out = bytearray(b.blob()[:24])
    b.rec.header_v1.pack_into(out, 8, 0, len(types), len(types), len(strs))
    return bytes(out) + types + strs


# ------------------------------------------------------------------- INT ----
@case("int.vlen", "INT with vlen 1")
def int_vlen() -> bytes:
    b = RawBTF()
    b.int_(vlen=1)
    return b.blob()


@case("int.kflag", "INT with kind_flag")
def int_kflag() -> bytes:
    b = RawBTF()
    b.int_(kflag=True)
    return b.blob()


@case("int.data_mask", "int_data with bit 28 set")
def int_data_high_bits() -> bytes:
    b = RawBTF()
    b.int_(encoding=0x10)
    return b.blob()


@case("int.nr_bits", "bits 128 + offset 1 exceeds 128")
def int_bits_over_128() -> bytes:
    b = RawBTF()
    b.int_(size=16, bits=128, offset=1)
    return b.blob()


@case("int.nr_bits", "32 bits in a 1-byte INT")
def int_bits_exceed_size() -> bytes:
    b = RawBTF()
    b.int_(size=1, bits=32)
    return b.blob()


@case("int.encoding", "SIGNED|CHAR together: ENOTSUPP (524)")
def int_two_encodings() -> bytes:
    b = RawBTF()
    b.int_(encoding=r.BTF_INT_SIGNED | r.BTF_INT_CHAR)
    return b.blob()


@case("int.encoding", "_Bool: 1 byte, 8 bits, BOOL")
def int_bool() -> bytes:
    b = RawBTF()
    b.int_("_Bool", size=1, bits=8, encoding=r.BTF_INT_BOOL)
    return b.blob()


@case("int.nr_bits", "__int128")
def int_128() -> bytes:
    b = RawBTF()
    b.int_("__int128", size=16, bits=128, encoding=r.BTF_INT_SIGNED)
    return b.blob()


# ------------------------------------------------------- PTR / modifiers ----
@case("ref.name", "PTR with a name")
def ptr_named() -> bytes:
    b = _int()
    b.ref(r.BTF_KIND_PTR, 1, "p")
    return b.blob()


@case("ref.name", "CONST with a name")
def const_named() -> bytes:
    b = _int()
    b.ref(r.BTF_KIND_CONST, 1, "c")
    return b.blob()


@case("ref.kflag", "PTR with kind_flag")
def ptr_kflag() -> bytes:
    b = _int()
    b.ref(r.BTF_KIND_PTR, 1, kflag=True)
    return b.blob()


@case("valid", "void *, const void, volatile int, restrict pointer")
def ptr_and_modifiers_ok() -> bytes:
    b = _int()
    p = b.ptr(0)
    b.const(0)
    b.ref(r.BTF_KIND_VOLATILE, 1)
    b.ref(r.BTF_KIND_RESTRICT, p)
    return b.blob()


@case("typedef.name", "TYPEDEF without a name")
def typedef_no_name() -> bytes:
    b = _int()
    b.ref(r.BTF_KIND_TYPEDEF, 1)
    return b.blob()


@case("typedef.name", "TYPEDEF named '1abc' (not a C identifier)")
def typedef_bad_name() -> bytes:
    b = _int()
    b.ref(r.BTF_KIND_TYPEDEF, 1, "1abc")
    return b.blob()


@case("ref.type_id", "CONST to type id 0x100000 (> BTF_MAX_TYPE)")
def const_type_id_too_big() -> bytes:
    b = _int()
    b.const(0x100000)
    return b.blob()


@case("resolve.invalid_target", "CONST to type id 9, which does not exist")
def const_missing_target() -> bytes:
    b = _int()
    b.const(9)
    return b.blob()


@case("resolve.source_only", "CONST to a VAR")
def const_to_var() -> bytes:
    b = _int()
    v = b.var("x", 1)
    b.const(v)
    return b.blob()


@case("resolve.modifier_target", "TYPEDEF of a FUNC (not void, fwd or func_proto)")
def typedef_of_func() -> bytes:
    b = _int()
    fp = b.func_proto(1, [])
    f = b.func("f", fp)
    b.ref(r.BTF_KIND_TYPEDEF, f, "t")
    return b.blob()


# ----------------------------------------------------------------- ARRAY ----
@case("valid", "int[4]")
def array_ok() -> bytes:
    b = _int()
    b.array(1, 1, 4)
    return b.blob()


@case("array.name", "ARRAY with a name")
def array_named() -> bytes:
    b = _int()
    b.array(1, 1, 4, name="a")
    return b.blob()


@case("array.size", "ARRAY with size != 0")
def array_size_nonzero() -> bytes:
    b = _int()
    b.array(1, 1, 4, size=16)
    return b.blob()


@case("array.index", "index type void")
def array_index_void() -> bytes:
    b = _int()
    b.array(1, 0, 4)
    return b.blob()


@case("array.index", "index type a PTR, not an INT")
def array_index_ptr() -> bytes:
    b = _int()
    p = b.ptr(1)
    b.array(1, p, 4)
    return b.blob()


@case("array.index", "index type a 3-bit INT (not regular)")
def array_index_bitfield() -> bytes:
    b = _int()
    i3 = b.int_("u3", size=1, bits=3)
    b.array(1, i3, 4)
    return b.blob()


@case("array.elem", "element type a FWD (no size)")
def array_elem_fwd() -> bytes:
    b = _int()
    fw = b.fwd("s")
    b.array(fw, 1, 4)
    return b.blob()


@case("array.elem", "array of a 3-bit INT")
def array_of_bitfield_int() -> bytes:
    b = _int()
    i3 = b.int_("u3", size=1, bits=3)
    b.array(i3, 1, 4)
    return b.blob()


@case("array.overflow", "int[0x40000001]: size overflows u32")
def array_overflow() -> bytes:
    b = _int()
    b.array(1, 1, 0x40000001)
    return b.blob()


# ---------------------------------------------------------- STRUCT/UNION ----
@case("valid", "struct list { int v; struct list *next; }")
def struct_ok() -> bytes:
    b = _int()
    p = b.ptr(3)
    b.struct("list", 16, [("v", 1, 0), ("next", p, 64)])
    return b.blob()


@case("struct.offset_order", "member offsets decrease")
def struct_offsets_decrease() -> bytes:
    b = _int()
    b.struct("s", 8, [("a", 1, 32), ("b", 1, 0)])
    return b.blob()


@case("struct.union_offset", "UNION member at a non-zero offset")
def union_member_offset() -> bytes:
    b = _int()
    b.struct("u", 8, [("a", 1, 0), ("b", 1, 32)], union=True)
    return b.blob()


@case("struct.member_size", "4-byte member at byte 4 of a 6-byte struct")
def struct_member_exceeds_size() -> bytes:
    b = _int()
    b.struct("s", 6, [("a", 1, 0), ("b", 1, 32)])
    return b.blob()


@case("struct.member_offset", "member bits_offset past the struct's size")
def struct_member_offset_past_size() -> bytes:
    b = _int()
    b.struct("s", 4, [("a", 1, 64)])
    return b.blob()


@case("struct.member_type", "member of type void")
def struct_member_void() -> bytes:
    b = _int()
    b.struct("s", 4, [("a", 0, 0)])
    return b.blob()


@case("struct.member_name", "member named 'a-b'")
def struct_member_bad_name() -> bytes:
    b = _int()
    b.struct("s", 4, [("a-b", 1, 0)])
    return b.blob()


@case("struct.name", "struct named 'a b'")
def struct_bad_name() -> bytes:
    b = _int()
    b.struct("a b", 4, [("a", 1, 0)])
    return b.blob()


@case("name.dot", "struct named 'a.b' ('.' in identifiers: 6.5+)")
def struct_name_with_dot() -> bytes:
    b = _int()
    b.struct("a.b", 4, [("a", 1, 0)])
    return b.blob()


@case("name.latin1", "struct named b'\\xe9t\\xe9' (Latin-1 letters per the kernel's ctype)")
def struct_name_latin1() -> bytes:
    b = _int()
    b.struct("\xe9t\xe9", 4, [("a", 1, 0)])
    return b.blob()


@case("name.length", "struct name of 512 characters (KSYM_NAME_LEN since 6.1)")
def struct_name_512() -> bytes:
    b = _int()
    b.struct("s" * 512, 4, [("a", 1, 0)])
    return b.blob()


@case("name.length", "struct name of 513 characters")
def struct_name_513() -> bytes:
    b = _int()
    b.struct("s" * 513, 4, [("a", 1, 0)])
    return b.blob()


@case("valid", "kflag struct with a 3-bit bitfield at bit 5")
def struct_kflag_bitfield_ok() -> bytes:
    b = _int()
    b.struct("s", 4, [("a", 1, (3 << 24) | 5)], kflag=True)
    return b.blob()


@case("struct.bitfield_size", "kflag bitfield of 40 bits on a 32-bit INT")
def struct_kflag_bitfield_too_wide() -> bytes:
    b = _int()
    b.struct("s", 8, [("a", 1, 40 << 24)], kflag=True)
    return b.blob()


@case("struct.bitfield_size", "kflag bitfield on a PTR member")
def struct_kflag_bitfield_on_ptr() -> bytes:
    b = _int()
    p = b.ptr(1)
    b.struct("s", 8, [("p", p, 4 << 24)], kflag=True)
    return b.blob()


@case("struct.member_align", "PTR member at bit 4")
def struct_ptr_unaligned() -> bytes:
    b = _int()
    p = b.ptr(1)
    b.struct("s", 16, [("p", p, 4)])
    return b.blob()


@case("resolve.loop", "struct s { struct s inner; }")
def struct_contains_itself() -> bytes:
    b = _int()
    b.struct("s", 4, [("inner", 2, 0)])
    return b.blob()


@case("struct.member_type", "member of kind FUNC_PROTO")
def struct_member_func_proto() -> bytes:
    b = _int()
    fp = b.func_proto(1, [])
    b.struct("s", 8, [("f", fp, 0)])
    return b.blob()


@case("struct.member_size", "non-kflag INT member with bits_offset 1 overflowing the struct")
def struct_int_member_bit_overflow() -> bytes:
    b = _int()
    b.struct("s", 4, [("a", 1, 1)])
    return b.blob()


# ------------------------------------------------------------------ ENUM ----
@case("valid", "enum e { A = 1, B = -1 } of 4 bytes")
def enum_ok() -> bytes:
    b = RawBTF()
    b.enum("e", 4, [("A", 1), ("B", -1)])
    return b.blob()


@case("enum.size", "ENUM of size 3")
def enum_size_3() -> bytes:
    b = RawBTF()
    b.enum("e", 3, [("A", 1)])
    return b.blob()


@case("enum.size", "ENUM of size 0")
def enum_size_0() -> bytes:
    b = RawBTF()
    b.enum("e", 0, [("A", 1)])
    return b.blob()


@case("enum.kflag", "signed ENUM (kind_flag; 6.0+)")
def enum_kflag_signed() -> bytes:
    b = RawBTF()
    b.enum("e", 4, [("A", -1)], kflag=True)
    return b.blob()


@case("enum.member_name", "enumerator without a name")
def enum_member_no_name() -> bytes:
    b = RawBTF()
    b.enum("e", 4, [("", 1)])
    return b.blob()


@case("kind.enum64", "ENUM64 of 8 bytes (6.0+)")
def enum64_ok() -> bytes:
    b = RawBTF()
    b.enum64("e", 8, [("BIG", 1 << 40)])
    return b.blob()


@case("enum.size", "ENUM64 of size 16")
def enum64_size_16() -> bytes:
    b = RawBTF()
    b.enum64("e", 16, [("BIG", 1 << 40)])
    return b.blob()


# ------------------------------------------------------------------- FWD ----
@case("valid", "forward-declared union (FWD with kind_flag)")
def fwd_union_ok() -> bytes:
    b = RawBTF()
    b.fwd("u", union=True)
    return b.blob()


@case("fwd.name", "FWD without a name")
def fwd_no_name() -> bytes:
    b = RawBTF()
    b.type(r.BTF_KIND_FWD, 0, 0)
    return b.blob()


@case("fwd.type", "FWD with type != 0")
def fwd_type_nonzero() -> bytes:
    b = _int()
    b.type(r.BTF_KIND_FWD, b.name("s"), 1)
    return b.blob()


# ------------------------------------------------------ FUNC/FUNC_PROTO ----
def _proto(b: RawBTF) -> int:
    b.int_()
    return b.func_proto(1, [("a", 1)])


@case("valid", "global int f(int a)")
def func_ok() -> bytes:
    b = RawBTF()
    b.func("f", _proto(b))
    return b.blob()


@case("func.linkage", "FUNC with extern linkage (2)")
def func_linkage_extern() -> bytes:
    b = RawBTF()
    b.func("f", _proto(b), linkage=r.BTF_FUNC_EXTERN)
    return b.blob()


@case("func.name", "FUNC without a name")
def func_no_name() -> bytes:
    b = RawBTF()
    b.type(r.BTF_KIND_FUNC, 0, _proto(b), vlen=1)
    return b.blob()


@case("func.type", "FUNC pointing at an INT")
def func_not_proto() -> bytes:
    b = _int()
    b.func("f", 1)
    return b.blob()


@case("func.arg_name", "FUNC whose prototype has an unnamed argument")
def func_arg_no_name() -> bytes:
    b = _int()
    fp = b.func_proto(1, [("", 1)])
    b.func("f", fp)
    return b.blob()


@case("valid", "prototype int (int a, ...): vararg as last parameter")
def proto_vararg_ok() -> bytes:
    b = _int()
    b.func_proto(1, [("a", 1), ("", 0)])
    return b.blob()


@case("proto.vararg", "vararg parameter with a name")
def proto_vararg_named() -> bytes:
    b = _int()
    b.func_proto(1, [("a", 1), ("rest", 0)])
    return b.blob()


@case("proto.void_arg", "void parameter before the last one")
def proto_void_middle() -> bytes:
    b = _int()
    b.func_proto(1, [("", 0), ("a", 1)])
    return b.blob()


@case("proto.name", "FUNC_PROTO with a name")
def proto_named() -> bytes:
    b = _int()
    b.type(r.BTF_KIND_FUNC_PROTO, b.name("p"), 1)
    return b.blob()


@case("proto.return", "FUNC_PROTO returning a FWD")
def proto_return_fwd() -> bytes:
    b = RawBTF()
    fw = b.fwd("s")
    b.func_proto(fw, [])
    return b.blob()


@case("proto.source_only", "FUNC_PROTO argument of kind VAR")
def proto_arg_var() -> bytes:
    b = _int()
    v = b.var("x", 1)
    b.func_proto(1, [("a", v)])
    return b.blob()


@case("proto.source_only", "FUNC_PROTO returning a VAR")
def proto_ret_var() -> bytes:
    b = _int()
    v = b.var("x", 1)
    b.func_proto(v, [])
    return b.blob()


@case("proto.arg_name", "FUNC_PROTO argument named '9a'")
def proto_arg_bad_name() -> bytes:
    b = _int()
    b.func_proto(1, [("9a", 1)])
    return b.blob()


# ------------------------------------------------------- VAR / DATASEC ----
def _datasec_base(name: str | bytes = ".data") -> RawBTF:
    b = _int()
    v = b.var("x", 1)
    b.datasec(name, 4, [(v, 0, 4)])
    return b


@case("valid", "DATASEC .data holding one global int VAR")
def datasec_ok() -> bytes:
    return _datasec_base().blob()


@case("var.linkage", "VAR with extern linkage (2)")
def var_extern() -> bytes:
    b = _int()
    b.var("x", 1, linkage=r.BTF_VAR_GLOBAL_EXTERN)
    return b.blob()


@case("var.type", "VAR of type void")
def var_void() -> bytes:
    b = _int()
    b.var("x", 0)
    return b.blob()


@case("var.type", "VAR of a FWD (no size)")
def var_of_fwd() -> bytes:
    b = RawBTF()
    fw = b.fwd("s")
    b.var("x", fw)
    return b.blob()


@case("datasec.size", "DATASEC of size 0")
def datasec_size_0() -> bytes:
    b = _int()
    b.datasec(".data", 0, [])
    return b.blob()


@case("datasec.entry_kind", "DATASEC entry pointing at an INT")
def datasec_entry_not_var() -> bytes:
    b = _int()
    b.datasec(".data", 4, [(1, 0, 4)])
    return b.blob()


@case("datasec.order", "overlapping DATASEC entries")
def datasec_overlap() -> bytes:
    b = _int()
    v = b.var("x", 1)
    w = b.var("y", 1)
    b.datasec(".data", 8, [(v, 0, 4), (w, 2, 4)])
    return b.blob()


@case("datasec.bounds", "DATASEC entry ending past the section size")
def datasec_out_of_bounds() -> bytes:
    b = _int()
    v = b.var("x", 1)
    b.datasec(".data", 6, [(v, 4, 4)])
    return b.blob()


@case("datasec.entry_size", "entry size 2 for a 4-byte VAR")
def datasec_entry_too_small() -> bytes:
    b = _int()
    v = b.var("x", 1)
    b.datasec(".data", 4, [(v, 0, 2)])
    return b.blob()


@case("name.datasec", "DATASEC named '.data?x' (printable names 6.9+)")
def datasec_name_qmark() -> bytes:
    return _datasec_base(".data?x").blob()


@case("name.datasec", "DATASEC named '\\x01data' (non-printable first byte)")
def datasec_name_nonprint_first() -> bytes:
    return _datasec_base(b"\x01data").blob()


@case("name.datasec", "DATASEC named '.da\\x01ta' (non-printable inner byte)")
def datasec_name_nonprint_inner() -> bytes:
    return _datasec_base(b".da\x01ta").blob()


# ----------------------------------------------------------------- FLOAT ----
@case("valid", "double as an 8-byte FLOAT, member of a struct")
def float_ok() -> bytes:
    b = RawBTF()
    f = b.float_()
    b.struct("s", 16, [("d", f, 64)])
    return b.blob()


@case("float.size", "FLOAT of size 3")
def float_size_3() -> bytes:
    b = RawBTF()
    b.float_(size=3)
    return b.blob()


@case("float.kflag", "FLOAT with kind_flag")
def float_kflag() -> bytes:
    b = RawBTF()
    b.float_(kflag=True)
    return b.blob()


@case("float.member_align", "8-byte FLOAT member at byte 4")
def float_member_misaligned() -> bytes:
    b = RawBTF()
    f = b.float_()
    b.struct("s", 16, [("d", f, 32)])
    return b.blob()


# -------------------------------------------------------------- DECL_TAG ----
def _tagged_struct() -> RawBTF:
    b = _int()
    b.struct("s", 8, [("a", 1, 0), ("b", 1, 32)])
    return b


@case("valid", "DECL_TAG on a struct and on its member 1")
def decl_tag_ok() -> bytes:
    b = _tagged_struct()
    b.decl_tag("tag", 2)
    b.decl_tag("tag", 2, 1)
    return b.blob()


@case("decl_tag.component_idx", "DECL_TAG on member 2 of a 2-member struct")
def decl_tag_idx_out_of_range() -> bytes:
    b = _tagged_struct()
    b.decl_tag("tag", 2, 2)
    return b.blob()


@case("decl_tag.component_idx", "DECL_TAG with component_idx -2")
def decl_tag_idx_below_minus_one() -> bytes:
    b = _tagged_struct()
    b.decl_tag("tag", 2, -2)
    return b.blob()


@case("decl_tag.component_idx", "DECL_TAG with component_idx 0 on a VAR")
def decl_tag_idx_on_var() -> bytes:
    b = _int()
    v = b.var("x", 1)
    b.decl_tag("tag", v, 0)
    return b.blob()


@case("valid", "DECL_TAG on argument 0 of a FUNC")
def decl_tag_on_func_arg() -> bytes:
    b = RawBTF()
    f = b.func("f", _proto(b))
    b.decl_tag("tag", f, 0)
    return b.blob()


@case("decl_tag.target", "DECL_TAG on an INT")
def decl_tag_on_int() -> bytes:
    b = _int()
    b.decl_tag("tag", 1)
    return b.blob()


@case("decl_tag.value", "DECL_TAG with an empty value")
def decl_tag_empty_value() -> bytes:
    b = _tagged_struct()
    b.type(r.BTF_KIND_DECL_TAG, 0, 2, extra=b.rec.s32.pack(-1))
    return b.blob()


@case("decl_tag.kflag", "DECL_TAG with kind_flag (attribute; 6.14+)")
def decl_tag_kflag() -> bytes:
    b = _tagged_struct()
    b.decl_tag("attr", 2, kflag=True)
    return b.blob()


# -------------------------------------------------------------- TYPE_TAG ----
@case("valid", "int __tag *: PTR -> TYPE_TAG -> INT")
def type_tag_ok() -> bytes:
    b = _int()
    tt = b.type_tag("user", 1)
    b.ptr(tt)
    return b.blob()


@case("type_tag.order", "PTR -> CONST -> TYPE_TAG -> INT: tag after a modifier")
def type_tag_after_const() -> bytes:
    b = _int()
    tt = b.type_tag("user", 1)
    c = b.const(tt)
    b.ptr(c)
    return b.blob()


@case("type_tag.name", "TYPE_TAG with an empty name")
def type_tag_empty() -> bytes:
    b = _int()
    b.type(r.BTF_KIND_TYPE_TAG, 0, 1)
    return b.blob()


@case("type_tag.kflag", "TYPE_TAG with kind_flag (attribute; 6.14+)")
def type_tag_kflag() -> bytes:
    b = _int()
    tt = b.type_tag("attr", 1, kflag=True)
    b.ptr(tt)
    return b.blob()


# ------------------------------------------------------------ resolution ----
@case("resolve.loop", "CONST -> VOLATILE -> CONST")
def modifier_loop() -> bytes:
    b = RawBTF()
    b.const(2)
    b.ref(r.BTF_KIND_VOLATILE, 1)
    return b.blob()


@case("resolve.loop", "PTR -> PTR -> PTR (pointer loop)")
def ptr_loop() -> bytes:
    b = RawBTF()
    b.ptr(2)
    b.ptr(1)
    return b.blob()


@case("resolve.depth", "33 CONSTs chained upward to an INT: resolve depth > 32")
def modifier_depth_33() -> bytes:
    b = RawBTF()
    for i in range(33):
        b.const(i + 2)
    b.int_()
    return b.blob()


@case("valid", "32 CONSTs chained downward: resolved one step at a time")
def modifier_chain_down() -> bytes:
    b = _int()
    for i in range(32):
        b.const(i + 1)
    return b.blob()


@case("type_tag.chain", "a 42-modifier chain resolved in pieces: > 32 modifiers (ELOOP)")
def modifier_chain_eloop() -> bytes:
    b = RawBTF()
    # ids 1-4 point into a chain 5..45 -> INT 46 at intervals so resolution
    # never needs more than 32 stack slots; the type-tag walk from id 4 sees 42.
    b.const(35)
    b.const(25)
    b.const(15)
    b.const(5)
    for i in range(5, 46):
        b.const(i + 1)
    b.int_()
    return b.blob()


@case("valid", "struct a { struct b *p; }; struct b { struct a x; }: PTR breaks the cycle")
def struct_ptr_cycle_ok() -> bytes:
    b = RawBTF()
    p = b.ptr(3)  # 1
    b.struct("a", 8, [("p", p, 0)])  # 2
    b.struct("b", 8, [("x", 2, 0)])  # 3
    return b.blob()


def build_all() -> dict[str, bytes]:
    return {c.name: c.build() for c in CASES}


def expectations(blobs: dict[str, bytes]) -> dict[str, object]:
    out: dict[str, object] = {}
    for c in CASES:
        blob = blobs[c.name]
        out[f"{c.name}.btf"] = {
            "rule": c.rule,
            "description": c.description,
            "expect": {line: check(blob, line).as_dict() for line in KERNEL_LINES},
        }
    return out


def write_corpus(directory: Path = CORPUS_DIR) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    blobs = build_all()
    for old in directory.glob("*.btf"):
        if old.stem not in blobs:
            old.unlink()
    for name, blob in blobs.items():
        (directory / f"{name}.btf").write_bytes(blob)
    text = json.dumps(expectations(blobs), indent=1, sort_keys=True) + "\n"
    (directory / "cases.json").write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help="rewrite corpus/btf/")
    args = parser.parse_args()
    if args.write:
        write_corpus()
    else:
        for c in CASES:
            print(f"{c.name:40} {c.rule:28} {check(c.build(), 'host').as_dict()}")


if __name__ == "__main__":
    main()
