"""Invalid ELF at the collection level: a valid generated object with one rule
of load_collection_spec broken, and the typed error that rule raises.

Each family edits the object model (or, for the ELF-record rules, the written
bytes through loader.elf's layouts) and returns None when the drawn object has
nothing to break (no legacy map, no ld_imm64, ...); the caller draws another.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace
from typing import NamedTuple

from conformance.generators._draw import Draw
from conformance.generators._elf import ELFObject
from loader import elf
from loader.asm import opcodes as op
from loader.btf import encode_types
from loader.btf import types as t
from loader.elfwrite import R_BPF_64_32, R_BPF_64_64, RelocationModel, SymbolModel
from loader.errors import CollectionError, ELFError, LoaderError, RelocationError


class Family(NamedTuple):
    error: type[LoaderError]
    # build_elf options the family needs (legacy_maps, btf)
    legacy_maps: bool | None
    btf: bool | None
    mutate: Callable[[ELFObject, Draw, elf.ByteOrder], bytes | None]


def _code_slots(obj: ELFObject) -> list[tuple[str, int, int]]:
    """(section, byte offset, opcode) of every instruction of every program."""
    out = []
    for p in obj.programs.values():
        start = next(s.value for s in obj.model.symbols if s.name == p.name)
        pos = start
        for ins in p.instructions:
            out.append((p.section, pos, ins.opcode))
            pos += 8 * ins.slots
    return out


def _unrelocated(obj: ELFObject) -> list[tuple[str, int, int]]:
    taken = {(sec, r.offset) for sec, rels in obj.model.relocations.items() for r in rels}
    return [s for s in _code_slots(obj) if (s[0], s[1]) not in taken]


def _add_reloc(obj: ELFObject, sec: str, rel: RelocationModel) -> ELFObject:
    new = copy.deepcopy(obj)
    new.model.relocations.setdefault(sec, []).append(rel)
    return new


def _maps_nonzero(obj: ELFObject, d: Draw, bo: elf.ByteOrder) -> bytes | None:
    syms = [s for s in obj.model.symbols if s.section == ".maps"]
    if not syms:
        return None
    sym = d.choice(syms)
    new = copy.deepcopy(obj)
    sec = new.model.section(".maps")
    data = bytearray(sec.data)
    data[sym.value + d.int(0, sym.size - 1)] = d.int(1, 255)
    sec.data = bytes(data)
    return new.write(bo)


def _unknown_symbol(obj: ELFObject, d: Draw, bo: elf.ByteOrder) -> bytes | None:
    sec, off, _ = d.choice(_unrelocated(obj))
    new = _add_reloc(obj, sec, RelocationModel(off, "no_such_extern", R_BPF_64_64))
    new.model.symbols.append(SymbolModel("no_such_extern", None))
    return new.write(bo)


def _offset_outside(obj: ELFObject, d: Draw, bo: elf.ByteOrder) -> bytes | None:
    p = d.choice(list(obj.programs.values()))
    size = obj.model.section(p.section).size
    target = next(s.name for s in obj.model.symbols if s.section == p.section)
    return _add_reloc(obj, p.section, RelocationModel(size + 8 * d.int(0, 4), target,
                                                      R_BPF_64_32)).write(bo)


def _misaligned(obj: ELFObject, d: Draw, bo: elf.ByteOrder) -> bytes | None:
    sec, off, _ = d.choice(_code_slots(obj))
    target = next(s.name for s in obj.model.symbols if s.section == sec)
    return _add_reloc(obj, sec, RelocationModel(off + d.int(1, 7), target)).write(bo)


def _ldimm64_second_half(obj: ELFObject, d: Draw, bo: elf.ByteOrder) -> bytes | None:
    wide = [s for s in _code_slots(obj) if s[2] == op.LD_IMM64]
    if not wide:
        return None
    sec, off, _ = d.choice(wide)
    target = next(s.name for s in obj.model.symbols if s.section == sec)
    return _add_reloc(obj, sec, RelocationModel(off + 8, target)).write(bo)


def _missing_function(obj: ELFObject, d: Draw, bo: elf.ByteOrder) -> bytes | None:
    calls = [s for s in _code_slots(obj) if s[2] == op.CALL]
    if not calls:
        return None
    sec, off, _ = d.choice(calls)
    new = copy.deepcopy(obj)
    new.model.relocations[sec] = [
        RelocationModel(r.offset, "missing_func", r.type) if r.offset == off else r
        for r in new.model.relocations[sec]]
    new.model.symbols.append(SymbolModel("missing_func", None))
    return new.write(bo)


def _unknown_map_member(obj: ELFObject, d: Draw, bo: elf.ByteOrder) -> bytes | None:
    if obj.btf_strings is None:
        return None
    defs = [i for i, typ in enumerate(obj.btf_types)
            if isinstance(typ, t.Struct) and typ.name == "" and typ.members
            and typ.members[0].name == "type"]
    if not defs:
        return None
    i = d.choice(defs)
    s = obj.btf_types[i]
    assert isinstance(s, t.Struct)
    k = d.int(0, len(s.members) - 1)
    members = list(s.members)
    members[k] = replace(members[k], name=members[k].name + "_x")
    types = (*obj.btf_types[:i], replace(s, members=tuple(members)), *obj.btf_types[i + 1:])
    strings = obj.btf_strings
    new = copy.deepcopy(obj)
    new.contents[".BTF"] = lambda order: encode_types(types, order, strings=strings)
    return new.write(bo)


def _variable_past_section(obj: ELFObject, d: Draw, bo: elf.ByteOrder) -> bytes | None:
    if not obj.variables:
        return None
    var = d.choice(list(obj.variables.values()))
    size = obj.model.section(var.section).size
    new = copy.deepcopy(obj)
    new.model.symbols = [
        replace(s, size=size - s.value + d.int(1, 64)) if s.name == var.name else s
        for s in new.model.symbols]
    return new.write(bo)


def _legacy_def_small(obj: ELFObject, d: Draw, bo: elf.ByteOrder) -> bytes | None:
    names = [m.name for m in obj.maps.values() if m.legacy]
    if not names:
        return None
    name = d.choice(names)
    new = copy.deepcopy(obj)
    new.model.symbols = [replace(s, size=d.int(0, 19)) if s.name == name else s
                         for s in new.model.symbols]
    return new.write(bo)


def _maps_reloc_outside_values(obj: ELFObject, d: Draw, bo: elf.ByteOrder) -> bytes | None:
    plain = [m.name for m in obj.maps.values()
             if not m.legacy and m.inner is None and m.type != 3]
    if not plain:
        return None
    name = d.choice(plain)
    sym = next(s for s in obj.model.symbols if s.name == name)
    return _add_reloc(obj, ".maps", RelocationModel(sym.value, name, 2)).write(bo)


def _sections(blob: bytes) -> tuple[elf.ELFFile, elf.ByteOrder]:
    ef = elf.ELFFile(blob)
    return ef, ef.byte_order


def _symbol_shndx(obj: ELFObject, d: Draw, bo: elf.ByteOrder) -> bytes | None:
    blob = obj.write(bo)
    ef, order = _sections(blob)
    symtab = ef.symtab
    assert symtab is not None
    lay = elf.LAYOUTS[order]
    at = symtab.offset + elf.SYM_SIZE * d.int(1, symtab.size // elf.SYM_SIZE - 1)
    fields = list(lay.sym.unpack_from(blob, at))
    fields[3] = len(ef.sections) + d.int(0, 100)  # below SHN_LORESERVE
    out = bytearray(blob)
    lay.sym.pack_into(out, at, *fields)
    return bytes(out)


def _rel_link(obj: ELFObject, d: Draw, bo: elf.ByteOrder) -> bytes | None:
    blob = obj.write(bo)
    ef, order = _sections(blob)
    rels = [s for s in ef.sections if s.type == elf.SHT_REL]
    if not rels:
        return None
    rel = d.choice(rels)
    symtab = ef.symtab
    assert symtab is not None
    lay = elf.LAYOUTS[order]
    shoff = lay.ehdr.unpack_from(blob, 16)[5]
    at = shoff + rel.index * elf.SHDR_SIZE
    fields = list(lay.shdr.unpack_from(blob, at))
    choices = [i for i in range(len(ef.sections) + 4) if i != symtab.index]
    fields[6] = d.choice(choices)  # sh_link
    out = bytearray(blob)
    lay.shdr.pack_into(out, at, *fields)
    return bytes(out)


COLLECTION_FAMILIES: dict[str, Family] = {
    "collection.maps_nonzero": Family(CollectionError, None, True, _maps_nonzero),
    "collection.reloc_unknown_symbol": Family(RelocationError, None, None, _unknown_symbol),
    "collection.reloc_offset_outside": Family(RelocationError, None, None, _offset_outside),
    "collection.reloc_misaligned": Family(RelocationError, None, None, _misaligned),
    "collection.reloc_ldimm64_second_half": Family(RelocationError, None, None,
                                                   _ldimm64_second_half),
    "collection.call_missing_function": Family(RelocationError, None, None, _missing_function),
    "collection.btf_map_unknown_member": Family(CollectionError, False, True,
                                                _unknown_map_member),
    "collection.variable_past_section": Family(CollectionError, None, None,
                                               _variable_past_section),
    "collection.legacy_def_small": Family(CollectionError, True, None, _legacy_def_small),
    "collection.maps_reloc_outside_values": Family(RelocationError, None, True,
                                                   _maps_reloc_outside_values),
    "collection.symbol_shndx": Family(ELFError, None, None, _symbol_shndx),
    "collection.rel_link": Family(ELFError, None, None, _rel_link),
}
