"""parse_elf's DATASEC fix-up against pyelftools (an independent ELF reader)."""

from __future__ import annotations

import io

from elftools.elf.elffile import ELFFile as PyELFFile
from elftools.elf.sections import SymbolTableSection

from loader.btf import parse_elf
from loader.btf import types as t
from loader.btf.ext import parse_ext
from loader.elf import ELFFile


def test_datasec_fixup_matches_elf(corpus_object):
    data = corpus_object.read_bytes()
    spec = parse_elf(data)
    py = PyELFFile(io.BytesIO(data))
    sizes = {s.name: s["sh_size"] for s in py.iter_sections()}
    index = {s.name: i for i, s in enumerate(py.iter_sections())}
    symtab = next(s for s in py.iter_sections() if isinstance(s, SymbolTableSection))
    checked = 0
    for _, typ in spec:
        if not isinstance(typ, t.Datasec) or typ.name in (".ksyms", ".kconfig"):
            continue
        assert typ.size == sizes[typ.name], typ.name
        symbols = {s.name: s["st_value"] for s in symtab.iter_symbols()
                   if s["st_shndx"] == index[typ.name]}
        for vsi in typ.vars:
            assert vsi.offset == symbols[spec.name_of(vsi.type)]
            checked += 1
    unfixed = parse_elf(data, fixup=False)
    assert len(unfixed) == len(spec)
    assert checked or not any(isinstance(x, t.Datasec) for _, x in unfixed)


def test_kconfig_layout_is_in_bounds(corpus_objects):
    for path in corpus_objects:
        spec = parse_elf(path.read_bytes())
        for _, typ in spec:
            if isinstance(typ, t.Datasec) and typ.name == ".kconfig":
                ends = [v.offset + v.size for v in typ.vars]
                assert typ.size == max(ends)
                assert all(v.offset % min(v.size, 8) == 0 for v in typ.vars)


def test_ext_infos_reference_existing_types(corpus_object):
    elf = ELFFile(corpus_object.read_bytes())
    spec = parse_elf(elf, fixup=False)
    sec = elf.section_by_name(".BTF.ext")
    if sec is None:
        return
    infos = parse_ext(bytes(sec.data()), elf.byte_order, spec.strings)
    for name, funcs in infos.func_infos.items():
        assert elf.section_by_name(name) is not None, name
        for fi in funcs:
            assert isinstance(spec.type_by_id(fi.type_id), t.Func)
            assert fi.insn_off % 8 == 0
    for relos in infos.core_relos.values():
        for cr in relos:
            spec.type_by_id(cr.type_id)
            assert cr.access_str
