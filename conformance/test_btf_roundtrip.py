"""encode(parse(blob)) == blob for real blobs; parse(encode(spec)) == spec for built ones."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings

from loader.btf import encode, encode_types, parse_elf, parse_raw, spec_from_types
from loader.btf.elf import btf_section_bytes
from loader.btf.ext import encode_ext, parse_ext
from loader.elf import ELFFile

from .btf_swap import swap_btf
from .test_btf_samples import btf_types, every_kind_types, valid_kinds_spec


def test_vmlinux_roundtrip_both_orders(vmlinux_btf_bytes: bytes) -> None:
    # One decode serves both orders (decoding vmlinux is the expensive part).  The
    # big-endian blob is swapped mechanically, not by our encoder: encoding must
    # reproduce it, and parsing it must give the same host-order words and strings,
    # from which decoding is the same code on the same input.
    spec = parse_raw(vmlinux_btf_bytes)
    assert encode(spec) == vmlinux_btf_bytes
    swapped_blob = swap_btf(vmlinux_btf_bytes)
    assert encode(spec, ">") == swapped_blob
    swapped = parse_raw(swapped_blob)
    assert swapped.byte_order == ">"
    assert swapped.index == spec.index
    assert swapped.strings.raw == spec.strings.raw
    assert swapped.header == dataclasses.replace(spec.header, byte_order=">")


def test_corpus_btf_and_ext_roundtrip(corpus_object):
    elf = ELFFile(corpus_object.read_bytes())
    raw = btf_section_bytes(elf)
    spec = parse_raw(raw)
    assert spec.byte_order == elf.byte_order
    assert encode(spec) == raw
    other = ">" if spec.byte_order == "<" else "<"
    assert parse_raw(encode(spec, other)).types() == spec.types()
    ext_sec = elf.section_by_name(".BTF.ext")
    if ext_sec is not None:
        ext_raw = bytes(ext_sec.data())
        infos = parse_ext(ext_raw, elf.byte_order, spec.strings)
        assert encode_ext(infos, elf.byte_order, spec.strings) == ext_raw


def test_corpus_unfixed_elf_spec_is_the_section(corpus_object):
    elf = ELFFile(corpus_object.read_bytes())
    assert encode(parse_elf(elf, fixup=False)) == btf_section_bytes(elf)


@pytest.mark.parametrize("byte_order", ["<", ">"])
def test_every_kind_spec_roundtrip(byte_order):
    spec = valid_kinds_spec(byte_order)
    again = parse_raw(encode(spec))
    assert again == spec
    expect = every_kind_types()
    expect[22] = spec.type_by_id(23)
    assert again.types() == expect


@settings(max_examples=150, deadline=None)
@given(types=btf_types())
def test_built_specs_roundtrip(types):
    for byte_order in ("<", ">"):
        spec = spec_from_types(types, byte_order)
        assert spec.types() == types
        assert parse_raw(encode(spec)) == spec
        assert encode_types(types, byte_order) == encode(spec)


@pytest.mark.parametrize("byte_order", ["<", ">"])
def test_int_unused_bits_kept(byte_order):
    """Bits 8-15 of an INT's data word mean nothing, yet the kernel accepts them
    (regress: corpus/regress/btf_model/crash-Disagreement_BTFError_-decode_type-e66fe0203f),
    so they parse and re-encode unchanged; the top four bits stay refused."""
    from loader.btf import types as t
    from loader.errors import BTFError

    blob = encode_types([t.Int("int", 4, 0, 0, 3, False, 0x02)], byte_order)
    spec = parse_raw(blob)
    assert spec.type_by_id(1) == t.Int("int", 4, 0, 0, 3, False, 0x02)
    assert encode(spec) == blob
    word = blob.rfind((0x0203).to_bytes(4, "little" if byte_order == "<" else "big"))
    bad = bytearray(blob)
    bad[word:word + 4] = (0x10000203).to_bytes(4, "little" if byte_order == "<" else "big")
    with pytest.raises(BTFError, match="0x10000203"):
        parse_raw(bytes(bad)).types()
