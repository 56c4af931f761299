"""``load_collection_spec``: an eBPF ELF object to a :class:`CollectionSpec`.

The steps, each in its own module: classify sections, symbols and relocations
(objfile), maps (maps), global data and variables (datasec), externs (externs),
functions with relocations applied (programs, relocations), then linking
(linker).  Every failure is a :class:`~loader.errors.LoaderError` naming the
section, symbol and offset.
"""

from __future__ import annotations

import functools
import os
import struct
from collections.abc import Callable

from loader import elf
from loader.btf import parse_elf
from loader.btf.ext import ExtInfos, parse_ext_packed
from loader.btf.spec import Spec as BTFSpec
from loader.collection import linker
from loader.collection.datasec import load_data_sections
from loader.collection.externs import load_externs
from loader.collection.maps import load_btf_maps, load_legacy_maps
from loader.collection.objfile import ObjectFile
from loader.collection.programs import Function, load_functions
from loader.collection.relocations import Relocator
from loader.collection.spec import (
    CollectionSpec,
    ExternSpec,
    MapSpec,
    ProgramBody,
    ProgramSpec,
    VariableSpec,
)
from loader.collection.structops import load_struct_ops
from loader.errors import CollectionError
from loader.sections import program_section

_U32 = {"<": struct.Struct("<I"), ">": struct.Struct(">I")}


def load_collection_spec(source: str | os.PathLike[str] | bytes | bytearray | memoryview,
                         ) -> CollectionSpec:
    """Parse an eBPF object (a path, or its bytes) into a CollectionSpec."""
    # bytes first: the os.PathLike test is an ABC check, about 1% of a small load.
    if type(source) is bytes:
        data = source
    elif isinstance(source, str | os.PathLike):
        with open(source, "rb") as f:
            data = f.read()
    else:
        data = bytes(source)
    ef = elf.ELFFile(data)
    btf, ext, packed_lines = _load_btf(ef)
    obj = ObjectFile(ef, btf)
    license_text = _license(obj)
    version = _version(obj)

    maps: dict[str, MapSpec] = {}
    load_legacy_maps(obj, maps)
    load_btf_maps(obj, maps)
    load_struct_ops(obj, maps)
    variables: dict[str, VariableSpec] = {}
    load_data_sections(obj, maps, variables)
    externs: dict[str, ExternSpec] = {}
    load_externs(obj, maps, externs)

    functions = load_functions(obj, Relocator(obj, maps, externs), ext, packed_lines)
    programs, hidden = _link(obj, functions, license_text, version)
    return CollectionSpec(
        maps=maps, programs=programs, variables=variables, externs=externs, btf=btf,
        byte_order=ef.byte_order, license=license_text, kernel_version=version,
        functions=hidden,
    )


def _load_btf(ef: elf.ELFFile,
              ) -> tuple[BTFSpec | None, ExtInfos | None, dict[str, bytes] | None]:
    # (By index: neither section is kept, so no Section object is built.)
    if ef.section_index(".BTF") < 0:
        return None, None, None
    btf = parse_elf(ef)
    ext_index = ef.section_index(".BTF.ext")
    if ext_index < 0:
        return btf, None, None
    # line_info records stay packed until a program's code is first looked at.
    ext, packed = parse_ext_packed(ef.section_bytes(ext_index), ef.byte_order, btf.strings)
    return btf, ext, packed


def _license(obj: ObjectFile) -> str:
    index = obj.license_index
    if index < 0:
        return ""
    raw = obj.elf.section_bytes(index).rstrip(b"\0")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        name = obj.elf.section_names[index]
        raise CollectionError(f"section {name}: license {raw!r} is not UTF-8") from None


def _version(obj: ObjectFile) -> int:
    sec = obj.version_sec
    if sec is None:
        return 0
    if sec.size != 4:
        raise CollectionError(f"section {sec.name}: size {sec.size}, expected 4 (a u32)")
    data = sec.data()
    if len(data) != 4:
        # SHT_NOBITS or SHT_NULL: a size but no bytes in the file to read the u32 from.
        raise CollectionError(
            f"section {sec.name}: type {sec.type} has no bytes in the file (a u32 expected "
            f"at file offset {sec.offset})"
        )
    value: int = _U32[obj.elf.byte_order].unpack_from(data)[0]
    return value


# The table walk is linear in libbpf's 116 entries; objects repeat a handful of
# names, so remember them (bounded: fuzzers make up endless names).
@functools.lru_cache(maxsize=1024)
def _section_def(name: str) -> tuple[int, int, int, str, bool]:
    """(program type, expected attach type, load flags, attach target, autoload)."""
    ps = program_section(name)
    atype = ps.expected_attach_type
    return (int(ps.prog_type), int(atype) if atype is not None else 0, int(ps.load_flags),
            ps.attach_target or "", ps.autoload)


def _link(obj: ObjectFile, functions: dict[str, Function], license_text: str, version: int,
          ) -> tuple[dict[str, ProgramSpec], dict[str, ProgramSpec]]:
    programs: dict[str, ProgramSpec] = {}
    hidden: dict[str, ProgramSpec] = {}
    callees: dict[str, list[Function]] = {}
    bo = obj.elf.byte_order
    text_index = obj.text_index
    deferred = ProgramSpec.deferred
    link = linker.link
    # Functions come section by section: what depends on the section only is
    # worked out at the first function of each.
    last = None
    sec_name = ""
    is_text = False
    out = programs
    ptype = atype = flags = 0
    attach_to = ""
    autoload = True
    for fn in functions.values():
        osec = fn.section
        if osec is not last:
            last = osec
            sec = osec.section
            sec_name = sec.name
            is_text = sec.index == text_index
            ptype, atype, flags, attach_to, autoload = _section_def(sec_name)
            out = hidden if is_text else programs
        # .text-only functions are hidden and never loaded alone: no linking;
        # nor do the many programs that call nothing need any.
        if fn.callees and not is_text:
            order = link(fn, functions, callees)
            if order:
                out[fn.name] = deferred(
                    fn.name, sec_name, ptype, atype, flags, attach_to, license_text, version,
                    fn.slots, bo, tuple([callee.name for callee in order]), fn.offset,
                    autoload, fn.global_binding, _linked_body(fn, order),
                )
                continue
        out[fn.name] = deferred(
            fn.name, sec_name, ptype, atype, flags, attach_to, license_text, version, fn.slots,
            bo, (), fn.offset, autoload, fn.global_binding, fn,
        )
    return programs, hidden


def _linked_body(fn: Function, order: list[Function]) -> Callable[[], ProgramBody]:
    """The builder of a program's linked code: its own instructions, then a copy
    of each function in ``order``, each at the index the code before it ends."""
    def body() -> ProgramBody:
        insns = fn.instructions  # decodes the section first: line_infos are placed then
        func_infos = list(fn.func_infos)
        line_infos = list(fn.line_infos)
        core_relos = list(fn.core_relos)
        for callee in order:
            base = len(insns)
            insns.extend(linker.copy_instructions(callee))
            func_infos.extend((base + i, rec) for i, rec in callee.func_infos)
            line_infos.extend((base + i, rec) for i, rec in callee.line_infos)
            core_relos.extend((base + i, rec) for i, rec in callee.core_relos)
        return insns, func_infos, line_infos, core_relos
    return body
