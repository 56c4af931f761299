"""parse_elf's DATASEC fix-up against pyelftools (an independent ELF reader)."""

from __future__ import annotations

import io
import signal
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from elftools.elf.elffile import ELFFile as PyELFFile
from elftools.elf.sections import SymbolTableSection

from loader.btf import parse_elf
from loader.btf import records as r
from loader.btf import types as t
from loader.btf.ext import parse_ext
from loader.collection.externs import align_of
from loader.elf import ELFFile
from loader.errors import BTFError

from .btf_raw import RawBTF
from .elf_raw import SHT_PROGBITS, RawSection, make_elf


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
                # Natural alignment of the type (a char array aligns to 1, not its size).
                assert all(v.offset % align_of(spec, spec.type_by_id(v.type).type) == 0
                           for v in typ.vars)


def test_kconfig_datasec_matches_extern_layout(corpus_objects):
    """The fixed-up .kconfig DATASEC (the map's value type) puts each extern where
    the collection loader's ExternSpec (what instructions read) puts it, in offset
    order, as libbpf's extern layout and btf_fixup_datasec do."""
    from loader.collection import load_collection_spec

    seen = 0
    for path in corpus_objects:
        spec = load_collection_spec(path.read_bytes())
        kconfig = {n: e.offset for n, e in spec.externs.items() if e.kind == "kconfig"}
        if not kconfig:
            continue
        assert spec.btf is not None
        ds = spec.btf.type_by_id(spec.maps[".kconfig"].value_type_id)
        assert isinstance(ds, t.Datasec)
        offsets = [v.offset for v in ds.vars]
        assert offsets == sorted(offsets)
        assert {spec.btf.type_by_id(v.type).name: v.offset for v in ds.vars} == kconfig
        assert ds.size == spec.maps[".kconfig"].value_size
        seen += 1
    assert seen  # corpus/src/externs.c declares kconfig externs


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


@contextmanager
def _deadline(seconds: int) -> Iterator[None]:
    """Turn a hang into a failure (the regressions below used to never return)."""

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _kconfig_object(btf: RawBTF, var_type: int) -> bytes:
    var = btf.var("CONFIG_X", var_type, r.BTF_VAR_GLOBAL_EXTERN)
    btf.datasec(".kconfig", 0, [(var, 0, 0)])
    return make_elf([RawSection(".BTF", SHT_PROGBITS, btf.blob())])


def test_kconfig_struct_containing_itself_is_btferror() -> None:
    # Laying out .kconfig asks for the VAR's alignment; a struct whose member is the
    # struct itself used to recurse until RecursionError.
    btf = RawBTF()
    loop = btf.struct("loop", 4, [("self", 1, 0)])
    with _deadline(10), pytest.raises(BTFError, match=f"type id {loop}: nested deeper"):
        parse_elf(_kconfig_object(btf, loop))


def test_kconfig_alignment_of_shared_substructs_is_not_exponential() -> None:
    # 40 levels of structs, each with three members of the level below: unfolded,
    # 3**40 visits (a hang); each type is visited once, and 40 levels is deeper
    # than the kernel's resolve stack (32), so this must end in BTFError.
    btf = RawBTF()
    level = btf.int_()
    for depth in range(40):
        level = btf.struct(f"s{depth}", 4, [("a", level, 0), ("b", level, 0), ("c", level, 0)])
    with _deadline(10), pytest.raises(BTFError, match="nested deeper than 32"):
        parse_elf(_kconfig_object(btf, level))
    # Within the limit, the shared sub-structs resolve to the int's alignment.
    btf = RawBTF()
    level = btf.int_("long", 8, 64)
    for depth in range(30):
        level = btf.struct(f"s{depth}", 8, [("a", level, 0), ("b", level, 0), ("c", level, 0)])
    with _deadline(10):
        spec = parse_elf(_kconfig_object(btf, level))
    ds = spec.type_by_id(spec.find(".kconfig", r.BTF_KIND_DATASEC))
    assert isinstance(ds, t.Datasec)
    assert [(v.offset, v.size) for v in ds.vars] == [(0, 8)]
