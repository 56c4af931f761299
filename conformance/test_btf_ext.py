""".BTF.ext: larger records from newer compilers, and malformed blocks."""

from __future__ import annotations

import dataclasses
import struct

import pytest

from loader.btf.elf import btf_section_bytes
from loader.btf.ext import encode_ext, parse_ext
from loader.btf.spec import open_raw
from loader.elf import ELFFile
from loader.errors import ExtInfoError


def corpus_ext(paths):
    for path in paths:
        elf = ELFFile(path.read_bytes())
        sec = elf.section_by_name(".BTF.ext")
        if sec is not None and elf.byte_order == "<":
            spec = open_raw(btf_section_bytes(elf))
            infos = parse_ext(bytes(sec.data()), "<", spec.strings)
            if infos.line_infos and infos.core_relos:
                return bytes(sec.data()), spec.strings, infos
    pytest.fail("no little-endian corpus object with line_info and CO-RE relocations")


def test_larger_records_parse(corpus_objects):
    _, strings, infos = corpus_ext(corpus_objects)
    pad = b"\xaa\xbb\xcc\xdd"

    def grow(groups):
        return {k: [dataclasses.replace(x, extra=pad) for x in v] for k, v in groups.items()}

    bigger = dataclasses.replace(
        infos, func_infos=grow(infos.func_infos), line_infos=grow(infos.line_infos),
        core_relos=grow(infos.core_relos), func_info_rec_size=12, line_info_rec_size=20,
        core_relo_rec_size=20,
    )
    blob = encode_ext(bigger, "<", strings)
    again = parse_ext(blob, "<", strings)
    assert again == bigger
    # The known fields are the same as in the original, smaller records.
    strip = lambda groups: {k: [dataclasses.replace(x, extra=b"") for x in v]  # noqa: E731
                            for k, v in groups.items()}
    assert strip(again.line_infos) == infos.line_infos
    assert strip(again.core_relos) == infos.core_relos
    assert strip(again.func_infos) == infos.func_infos


def raises(blob, strings, *needles):
    with pytest.raises(ExtInfoError) as info:
        parse_ext(blob, "<", strings)
    for needle in needles:
        assert needle in str(info.value), str(info.value)


def test_malformed(corpus_objects):
    raw, strings, _ = corpus_ext(corpus_objects)
    hdr_len = struct.unpack_from("<I", raw, 4)[0]
    func_off = struct.unpack_from("<I", raw, 8)[0]
    raises(raw[:10], strings, "truncated .BTF.ext header")
    raises(b"\0\0" + raw[2:], strings, "magic")
    raises(raw[:2] + b"\x02" + raw[3:], strings, "version")
    big = bytearray(raw)
    struct.pack_into("<I", big, 4, len(raw) + 4)
    raises(bytes(big), strings, "hdr_len", str(len(raw) + 4))
    past = bytearray(raw)
    struct.pack_into("<I", past, 12, len(raw))  # func_info_len
    raises(bytes(past), strings, "func_info", "past the end")
    small = bytearray(raw)
    struct.pack_into("<I", small, hdr_len + func_off, 4)  # record size 4 < 8
    raises(bytes(small), strings, "func_info record size", ": 4")
    huge = bytearray(raw)
    struct.pack_into("<I", huge, hdr_len + func_off + 8, 0x7FFFFFFF)  # num_info
    raises(bytes(huge), strings, "2147483647 records", "exceed")
    name = bytearray(raw)
    struct.pack_into("<I", name, hdr_len + func_off + 4, 0xFFFFFF)  # sec_name_off
    raises(bytes(name), strings, "section name", str(0xFFFFFF))
