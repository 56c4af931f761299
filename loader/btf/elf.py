"""BTF from an ELF object's .BTF section, with the loader's DATASEC fix-up.

clang leaves DATASEC sizes and VAR offsets at 0 in .BTF: only the linker-side
tables know them.  With ``fixup`` (the default), as cilium/ebpf's loader does,
each DATASEC of size 0 takes the size of the ELF section of the same name and
each of its VARs the value of the symbol of the same name in that section;
``.ksyms`` is left alone and ``.kconfig`` (no ELF section) is laid out in order
with natural alignment, its extern VARs turned global.  Without ``fixup`` the
spec is the section as stored, which is what ``bpftool btf dump`` shows.
"""

from __future__ import annotations

import dataclasses

from loader.btf import records as r
from loader.btf import types as t
from loader.btf.encode import encode_types
from loader.btf.spec import MAX_RESOLVE_DEPTH, POINTER_SIZE, Spec, open_raw
from loader.elf import ELFFile
from loader.errors import BTFError


def btf_section_bytes(elf: ELFFile, name: str = ".BTF") -> bytes:
    sec = elf.section_by_name(name)
    if sec is None:
        raise BTFError(f"ELF object has no {name} section")
    return bytes(sec.data())


def parse_elf(
    data_or_elffile: bytes | bytearray | memoryview | ELFFile,
    *,
    fixup: bool = True,
    base: Spec | None = None,
) -> Spec:
    elf = (
        data_or_elffile if isinstance(data_or_elffile, ELFFile) else ELFFile(data_or_elffile)
    )
    raw = btf_section_bytes(elf)
    spec = open_raw(raw, base)
    if spec.byte_order != elf.byte_order:
        raise BTFError(
            f".BTF byte order {spec.byte_order!r} differs from the ELF's {elf.byte_order!r}"
        )
    if not fixup:
        return spec
    return fixup_datasecs(spec, elf)


def _alignment(spec: Spec, type_id: int) -> int:
    for _ in range(MAX_RESOLVE_DEPTH):
        typ = spec.type_by_id(spec.resolve(type_id))
        if isinstance(typ, t.Int | t.Enum | t.Enum64 | t.Float):
            return max(1, min(typ.size, 8))
        if isinstance(typ, t.Pointer):
            return POINTER_SIZE
        if isinstance(typ, t.Array):
            type_id = typ.type
            continue
        if isinstance(typ, t.Struct | t.Union):
            return max((_alignment(spec, m.type) for m in typ.members), default=1)
        return 1
    raise BTFError(f"type id {type_id}: array chain deeper than {MAX_RESOLVE_DEPTH}")


def _layout_kconfig(spec: Spec, ds: t.Datasec) -> tuple[t.Datasec, dict[int, t.Var]]:
    offset = 0
    out = []
    retyped: dict[int, t.Var] = {}
    for vsi in ds.vars:
        var = spec.type_by_id(vsi.type)
        if not isinstance(var, t.Var):
            raise BTFError(f"DATASEC .kconfig: entry type id {vsi.type} is not a VAR")
        size = spec.size_of(var.type)
        align = _alignment(spec, var.type)
        offset = (offset + align - 1) // align * align
        out.append(t.VarSecinfo(vsi.type, offset, size))
        offset += size
        if var.linkage == r.BTF_VAR_GLOBAL_EXTERN:
            retyped[vsi.type] = dataclasses.replace(var, linkage=r.BTF_VAR_GLOBAL_ALLOCATED)
    return dataclasses.replace(ds, size=offset, vars=tuple(out)), retyped


def fixup_datasecs(spec: Spec, elf: ELFFile) -> Spec:
    types = spec.types()
    first = spec.first_type_id
    changed = False
    symbols: dict[int, dict[str, int]] | None = None
    for idx, typ in enumerate(types):
        if not isinstance(typ, t.Datasec):
            continue
        if typ.name == ".ksyms":
            continue
        if typ.name == ".kconfig":
            ds, retyped = _layout_kconfig(spec, typ)
            types[idx] = ds
            for vid, var in retyped.items():
                if vid >= first:
                    types[vid - first] = var
            changed = True
            continue
        if typ.size != 0:
            continue
        sec = elf.section_by_name(typ.name)
        if sec is None:
            raise BTFError(f"DATASEC {typ.name!r} (type id {idx + first}): no ELF section")
        if symbols is None:
            symbols = {}
            for sym in elf.symbols:
                symbols.setdefault(sym.shndx, {}).setdefault(sym.name, sym.value)
        in_section = symbols.get(sec.index, {})
        new_vars = []
        for vsi in typ.vars:
            var_name = spec.name_of(vsi.type)
            if var_name not in in_section:
                raise BTFError(
                    f"DATASEC {typ.name!r}: no symbol for VAR {var_name!r} "
                    f"(type id {vsi.type})"
                )
            new_vars.append(dataclasses.replace(vsi, offset=in_section[var_name]))
        types[idx] = dataclasses.replace(typ, size=sec.size, vars=tuple(new_vars))
        changed = True
    if not changed:
        return spec
    blob = encode_types(
        types, spec.byte_order, base=spec.base, strings=spec.strings,
        header=spec.header, layout=spec.layout,
    )
    return open_raw(blob, spec.base)
