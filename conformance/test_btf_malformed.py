"""Malformed BTF: every class of fault raises BTFError naming where and what.

Blobs are valid ones (built in code by the encoder, or clang's .BTF) with one field
broken.  A bounded hypothesis run then mutates valid blobs at random: parsing,
decoding, dumping and re-encoding may raise BTFError and nothing else.
"""

from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loader.btf import encode, encode_types, parse_raw
from loader.btf import types as t
from loader.btf.dump import dump_raw
from loader.btf.header import KindLayout
from loader.errors import BTFError

from .test_btf_samples import every_kind_blob


def small_blob() -> bytes:
    return encode_types([
        t.Int("int", 4, 1, 0, 32),
        t.Struct("s", 8, (t.Member("a", 1, 0), t.Member("b", 1, 32))),
        t.Pointer(2),
    ])


def patch(blob: bytes, offset: int, fmt: str, *values: int) -> bytes:
    out = bytearray(blob)
    struct.pack_into("<" + fmt, out, offset, *values)
    return bytes(out)


def header(blob: bytes) -> tuple[int, ...]:
    return struct.unpack_from("<HBBIIIII", blob, 0)


def raises(blob: bytes, *needles: str, decode: bool = False) -> str:
    with pytest.raises(BTFError) as info:
        spec = parse_raw(blob)
        if decode:
            spec.validate()
    msg = str(info.value)
    for needle in needles:
        assert needle in msg, msg
    return msg


def test_valid_baseline():
    spec = parse_raw(small_blob())
    spec.validate()
    assert len(spec) == 3


def test_truncated_header():
    raises(small_blob()[:20], "truncated BTF header", "20 bytes")


def test_bad_magic():
    raises(patch(small_blob(), 0, "H", 0x1234), "magic", "offset 0")


def test_bad_version():
    raises(patch(small_blob(), 2, "B", 2), "version", "offset 2", "2")


def test_bad_flags():
    raises(patch(small_blob(), 3, "B", 1), "flags", "offset 3")


def test_hdr_len_past_blob():
    blob = small_blob()
    raises(patch(blob, 4, "I", len(blob) + 1), "hdr_len", str(len(blob) + 1))


def test_hdr_len_too_short():
    raises(patch(small_blob(), 4, "I", 20), "hdr_len 20")


def with_header_len(blob: bytes, hdr_len: int, trailer: bytes) -> bytes:
    magic, ver, flags, _, toff, tlen, soff, slen = header(blob)
    head = struct.pack("<HBBIIIII", magic, ver, flags, hdr_len, toff, tlen, soff, slen)
    return head + trailer + blob[24:]


def test_nonzero_trailer():
    blob = with_header_len(small_blob(), 40, bytes(8) + b"\0\0\0\x07" + bytes(4))
    raises(blob, "non-zero BTF header trailer", "offset 35", "0x07")


def test_layout_header_parses():
    # hdr_len 32 with layout_off/layout_len zero (pahole >= 1.30 style header).
    blob = with_header_len(small_blob(), 32, bytes(8))
    spec = parse_raw(blob)
    spec.validate()
    assert spec.header.hdr_len == 32
    assert encode(spec) == blob


def test_layout_section_roundtrip():
    layout = tuple(KindLayout(4 if k in (1, 14, 17) else 12 if k == 3 else 0, 0)
                   for k in range(20))
    blob = encode_types([t.Int("int", 4, 1, 0, 32)], layout=layout)
    spec = parse_raw(blob)
    assert spec.layout == layout
    assert spec.header.hdr_len == 32 and spec.header.layout_len == 80
    assert encode(spec) == blob


def test_section_past_end():
    blob = small_blob()
    slen = header(blob)[7]
    raises(patch(blob, 20, "I", slen + 4), "str section", "past the end")


def test_sections_overlap():
    raises(patch(small_blob(), 16, "I", 4), "overlaps")


def test_empty_type_section_inside_strings_overlaps():
    # Kernel 6.18: "Section overlap found" (empty sections are ordered too).
    # Regress: corpus/regress/btf/crash-Disagreement_BTFError_-parse_header-8c4651bd9a
    strings = b"\0int\0"
    ok = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, 0, 0, len(strings)) + strings
    assert parse_raw(ok).types() == []
    raises(patch(ok, 8, "I", 4), "type section at offset 4 overlaps")


def test_unaligned_type_len():
    blob = small_blob()
    tlen = header(blob)[5]
    raises(patch(blob, 12, "I", tlen - 2), "type_len", "multiple of 4")


def test_string_offset_past_table():
    blob = small_blob()
    slen = header(blob)[7]
    bad = patch(blob, 24, "I", slen + 100)  # name_off of type 1
    spec = parse_raw(bad)
    with pytest.raises(BTFError, match=f"type id 1.*{slen + 100}"):
        spec.type_by_id(1)


def test_string_offset_mid_string_is_a_tail():
    # The kernel and libbpf accept any name_off < str_len; the name is the tail.
    blob = small_blob()
    off = struct.unpack_from("<I", blob, 24)[0]  # "int"
    spec = parse_raw(patch(blob, 24, "I", off + 1))
    assert spec.type_by_id(1).name == "nt"


def test_unterminated_string():
    blob = small_blob()
    raises(blob[:-1] + b"x", "unterminated string")


def test_empty_string_table():
    blob = small_blob()
    slen = header(blob)[7]
    raises(patch(blob, 20, "I", 0)[: len(blob) - slen], "empty string table")


def test_string_table_must_start_with_nul():
    blob = bytearray(small_blob())
    blob[24 + header(bytes(blob))[6] + 24 - 24] = ord("x")
    raises(bytes(blob), "must start with an empty string")


def test_unknown_kind():
    blob = small_blob()
    raises(patch(blob, 28, "I", 25 << 24), "unknown kind 25", "type id 1")


def test_unused_info_bits():
    blob = small_blob()
    info = struct.unpack_from("<I", blob, 28)[0]
    raises(patch(blob, 28, "I", info | 0x00010000), "unused info bits", decode=True)


def test_truncated_kind_data():
    blob = small_blob()
    pos = 24 + 16  # type 2 (STRUCT) header
    info = struct.unpack_from("<I", blob, pos + 4)[0]
    raises(patch(blob, pos + 4, "I", info + 5), "type id 2", "truncated")


def test_absurd_vlen():
    blob = small_blob()
    pos = 24 + 16
    info = struct.unpack_from("<I", blob, pos + 4)[0]
    raises(patch(blob, pos + 4, "I", info | 0xFFFF), "truncated", "786432 bytes")


def test_type_id_past_end():
    blob = encode_types([t.Int("int", 4, 1, 0, 32), t.Pointer(7)])
    spec = parse_raw(blob)
    with pytest.raises(BTFError, match=r"type id 2 .*7"):
        spec.type_by_id(2)
    with pytest.raises(BTFError, match="type id 3 out of range"):
        spec.type_by_id(3)


def test_member_type_past_end():
    blob = encode_types([t.Struct("s", 4, (t.Member("m", 9, 0),))])
    with pytest.raises(BTFError, match="member 0 type id 9"):
        parse_raw(blob).validate()


def test_split_order_mismatch():
    base = parse_raw(small_blob())
    with pytest.raises(BTFError, match="byte order"):
        parse_raw(encode_types([t.Pointer(1)], ">", base=base), base)


def exercise(blob: bytes) -> None:
    try:
        spec = parse_raw(blob)
        dump_raw(spec)
        spec.validate()
        encode(spec)
        encode(spec, ">")
    except BTFError:
        pass


SEEDS = [small_blob(), every_kind_blob("<"), every_kind_blob(">")]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.sampled_from(SEEDS),
    edits=st.lists(st.tuples(st.integers(0, 4000), st.integers(0, 255)), max_size=6),
    cut=st.integers(0, 4000),
)
def test_mutated_blobs_only_raise_btferror(seed, edits, cut):
    blob = bytearray(seed)
    for pos, value in edits:
        blob[pos % len(blob)] = value
    exercise(bytes(blob[: max(cut, 24)]) if cut < len(blob) else bytes(blob))
