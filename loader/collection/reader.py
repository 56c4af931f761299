"""``load_collection_spec``: an eBPF ELF object to a :class:`CollectionSpec`.

The steps, each in its own module: classify sections, symbols and relocations
(objfile), maps (maps), global data and variables (datasec), externs (externs),
functions with relocations applied (programs, relocations), then linking
(linker).  Every failure is a :class:`~loader.errors.LoaderError` naming the
section, symbol and offset.
"""

from __future__ import annotations

import dataclasses
import os
import struct
from collections.abc import Callable

from loader import elf
from loader.btf.elf import parse_elf_section
from loader.btf.ext import ExtInfos, parse_ext_packed
from loader.btf.spec import Spec as BTFSpec
from loader.collection import linker
from loader.collection.datasec import load_data_sections
from loader.collection.externs import load_externs
from loader.collection.maps import load_btf_maps, load_legacy_maps
from loader.collection.objfile import Kind, ObjectFile
from loader.collection.programs import load_functions
from loader.collection.relocations import Relocator
from loader.collection.spec import (
    CollectionSpec,
    ExternSpec,
    FunctionCode,
    MapSpec,
    ProgramBody,
    ProgramSpec,
    VariableSpec,
)
from loader.collection.structops import load_struct_ops
from loader.errors import CollectionError

_U32 = {"<": struct.Struct("<I"), ">": struct.Struct(">I")}
# (Hoisted: an Enum member is an attribute lookup per use.)
_LEGACY_MAPS, _BTF_MAPS, _STRUCT_OPS, _DATA = (Kind.LEGACY_MAPS, Kind.BTF_MAPS, Kind.STRUCT_OPS,
                                               Kind.DATA)


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
    variables: dict[str, VariableSpec] = {}
    # Each reader only walks the sections of its kind: one whose kind is
    # absent does nothing (and can raise nothing), so it is not called.
    of_kind = obj.of_kind
    if of_kind:
        if _LEGACY_MAPS in of_kind:
            load_legacy_maps(obj, maps)
        if _BTF_MAPS in of_kind:
            load_btf_maps(obj, maps)
        if _STRUCT_OPS in of_kind:
            load_struct_ops(obj, maps)
        if _DATA in of_kind:
            load_data_sections(obj, maps, variables)
    externs: dict[str, ExternSpec] = {}
    load_externs(obj, maps, externs)

    programs: dict[str, ProgramSpec] = {}
    hidden: dict[str, ProgramSpec] = {}
    functions = load_functions(obj, Relocator(obj, maps, externs), ext, packed_lines,
                               license_text, version, programs, hidden)
    _link(obj, functions, programs)
    # (CollectionSpec(maps=..., ...), its fields stored here: keyword matching
    # against the dataclass __init__, in a frame of its own, costs more than
    # the stores; _SPEC_FIELDS below checks that every field is set.)
    spec: CollectionSpec = _new_object(CollectionSpec)
    spec.maps = maps
    spec.programs = programs
    spec.variables = variables
    spec.externs = externs
    spec.btf = btf
    spec.byte_order = ef.byte_order
    spec.license = license_text
    spec.kernel_version = version
    spec.functions = hidden
    return spec


_new_object = object.__new__
# The fields load_collection_spec stores, in the dataclass's order: a field
# added to CollectionSpec must be stored there too.
_SPEC_FIELDS = ("maps", "programs", "variables", "externs", "btf", "byte_order", "license",
                "kernel_version", "functions")
assert tuple(f.name for f in dataclasses.fields(CollectionSpec)) == _SPEC_FIELDS


def _load_btf(ef: elf.ELFFile,
              ) -> tuple[BTFSpec | None, ExtInfos | None, dict[str, bytes] | None]:
    # (By index: neither section is kept, so no Section object is built.)
    btf_index = ef.section_index(".BTF")
    if btf_index < 0:
        return None, None, None
    btf = parse_elf_section(ef, btf_index)
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
    # (The index first: the usual object has no version section, and the
    # property is a call.)
    if obj.version_index < 0:
        return 0
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


def _link(obj: ObjectFile, functions: dict[str, ProgramSpec],
          programs: dict[str, ProgramSpec]) -> None:
    """Link every program that calls anything: its spec's code becomes its own
    followed by a copy of each function it reaches (.text functions are hidden
    and never loaded alone: not linked)."""
    link = linker.link
    for spec in programs.values():
        if spec._callees:
            order = link(spec, functions)
            if order:
                # (One loop for both lists: a comprehension is a call of its own.)
                names: list[str] = []
                at: list[tuple[FunctionCode, int]] = []
                for callee in order:
                    names.append(callee.name)
                    at.append((callee._code, callee._index))
                spec.link(tuple(names), _linked_body(spec._code, spec._index, at))


def _linked_body(code: FunctionCode, index: int, order: list[tuple[FunctionCode, int]],
                 ) -> Callable[[], ProgramBody]:
    """The builder of a program's linked code: its own instructions, then a copy
    of each function in ``order`` (code, index), each at the index the code
    before it ends.  (Code and indices, not the specs: a spec's body never
    refers to a spec, so there is no reference cycle.)"""
    def body() -> ProgramBody:
        # (Its own code first: decoding the section places its records.)
        insns, func_infos, line_infos, core_relos = code.program_body(index)
        for callee_code, callee_index in order:
            base = len(insns)
            insns.extend(linker.copy_instructions(callee_code, callee_index))
            callee_funcs, callee_lines, callee_core = callee_code.infos_of(callee_index)
            func_infos.extend((base + i, rec) for i, rec in callee_funcs)
            line_infos.extend((base + i, rec) for i, rec in callee_lines)
            core_relos.extend((base + i, rec) for i, rec in callee_core)
        return insns, func_infos, line_infos, core_relos
    return body
