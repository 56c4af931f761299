"""Malformed classes load_collection_spec rejects, each by its typed error.

Every case patches the bytes of a real corpus object at offsets taken from
loader.elf (relocations, symbols) or from the unfixed .BTF (type words), so the
rest of the object stays valid and the error must come from the class tested.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from loader import elf
from loader.btf import parse_elf
from loader.btf import records as r
from loader.btf import types as t
from loader.btf.spec import Spec
from loader.collection import load_collection_spec
from loader.errors import CollectionError, LoaderError, RelocationError

OBJ_DIR = Path(__file__).resolve().parent.parent / "corpus" / "obj"


def _obj(name: str) -> tuple[bytearray, elf.ELFFile]:
    data = bytearray((OBJ_DIR / f"{name}.el.o").read_bytes())
    return data, elf.ELFFile(bytes(data))


def _sym_offset(ef: elf.ELFFile, index: int) -> int:
    assert ef.symtab is not None
    return ef.symtab.offset + index * elf.SYM_SIZE


def _symbol(ef: elf.ELFFile, name: str) -> elf.Symbol:
    return next(s for s in ef.symbols if s.name == name)


# -- .maps `values` relocations ----------------------------------------------------------

def _maps_rels(ef: elf.ELFFile) -> list[tuple[int, elf.Relocation]]:
    """(file offset of each Elf64_Rel, the relocation) of .rel.maps."""
    maps = ef.section_by_name(".maps")
    assert maps is not None
    rel_sec = ef.rel_section(maps)
    assert rel_sec is not None
    return [(rel_sec.offset + i * elf.REL_SIZE, rel)
            for i, rel in enumerate(ef.relocations(maps))]


def _set_rel_symbol(data: bytearray, rel_off: int, sym_index: int) -> None:
    (info,) = struct.unpack_from("<Q", data, rel_off + 8)
    struct.pack_into("<Q", data, rel_off + 8, (sym_index << 32) | (info & 0xFFFFFFFF))


@pytest.mark.parametrize("sh_type", [elf.SHT_NOBITS, elf.SHT_NULL])
def test_version_section_without_bytes_rejected(sh_type: int) -> None:
    # A 4-byte "version" of a type with no file contents has the right size but
    # nothing to read: this raised a raw struct.error (found reviewing the fixed path).
    data = _retype("legacy_maps", "version", sh_type)
    with pytest.raises(CollectionError, match=rf"section version: type {sh_type} has no bytes"):
        load_collection_spec(bytes(data))


@pytest.mark.parametrize(("sh_type", "type_name"),
                         [(elf.SHT_NOBITS, "SHT_NOBITS"), (elf.SHT_NULL, "SHT_NULL")])
def test_legacy_maps_section_without_bytes_rejected(sh_type: int, type_name: str) -> None:
    # The SHT_NULL case raised a raw struct.error (found by the elf fuzz target).
    data = _retype("legacy_maps", "maps", sh_type)
    with pytest.raises(CollectionError, match=f"legacy map definitions in {type_name}"):
        load_collection_spec(bytes(data))


def _retype(name: str, section: str, sh_type: int) -> bytearray:
    data, ef = _obj(name)
    index = ef.section_names.index(section)
    (shoff,) = struct.unpack_from("<Q", data, 40)
    struct.pack_into("<I", data, shoff + index * elf.SHDR_SIZE + 4, sh_type)
    return data


def test_values_relocation_not_at_a_slot_rejected() -> None:
    data, ef = _obj("map_in_map")
    rel_off, _ = _maps_rels(ef)[0]
    owner = _symbol(ef, "mim_outer_array")
    # The start of the definition is its `type` member, not a `values` slot.
    struct.pack_into("<Q", data, rel_off, owner.value)
    with pytest.raises(RelocationError, match=rf"offset {owner.value} against "
                                              r"'mim_inner_\w'.*not at a 'values' slot"):
        load_collection_spec(data)


def test_values_relocation_in_map_without_values_rejected() -> None:
    data, ef = _obj("map_in_map")
    rel_off, _ = _maps_rels(ef)[0]
    inner = _symbol(ef, "mim_inner_a")
    struct.pack_into("<Q", data, rel_off, inner.value)
    with pytest.raises(RelocationError, match="map 'mim_inner_a' has no 'values' member"):
        load_collection_spec(data)


def test_map_in_map_slot_pointing_to_a_program_rejected() -> None:
    data, ef = _obj("map_in_map")
    rel_off, _ = _maps_rels(ef)[0]
    func = next(s for s in ef.symbols if s.type == elf.STT_FUNC)
    _set_rel_symbol(data, rel_off, func.index)
    with pytest.raises(RelocationError, match=rf"against '{func.name}'.*map-in-map slot must "
                                              r"point to another map"):
        load_collection_spec(data)


def test_prog_array_slot_pointing_to_a_map_rejected() -> None:
    data, ef = _obj("tail_calls")
    rel_off, _ = _maps_rels(ef)[0]
    _set_rel_symbol(data, rel_off, _symbol(ef, "tc_jump_table").index)
    with pytest.raises(RelocationError, match="prog array slot must point to a function"):
        load_collection_spec(data)


# -- DATASEC offsets and sizes -------------------------------------------------------------

def _btf_word_offset(ef: elf.ELFFile, spec: Spec, type_id: int, word: int) -> int:
    """File offset of word ``word`` of type ``type_id`` in the .BTF section."""
    btf_sec = ef.section_by_name(".BTF")
    assert btf_sec is not None
    _, pos = spec.raw_type(type_id)
    return btf_sec.offset + spec.header.hdr_len + spec.header.type_off + 4 * (pos + word)


def _datasec(ef: elf.ELFFile, name: str) -> tuple[Spec, int, t.Datasec]:
    spec = parse_elf(ef, fixup=False)
    (ds_id,) = spec.datasecs()[name]
    ds = spec.type_by_id(ds_id)
    assert isinstance(ds, t.Datasec) and ds.vars
    return spec, ds_id, ds


def _fix_datasec_size(data: bytearray, ef: elf.ELFFile, spec: Spec, ds_id: int,
                      name: str) -> None:
    # A non-zero size tells the fix-up the DATASEC is final: its offsets are used as is.
    sec = ef.section_by_name(name)
    assert sec is not None
    struct.pack_into("<I", data, _btf_word_offset(ef, spec, ds_id, 2), sec.size)


def test_datasec_variable_past_the_section_rejected() -> None:
    data, ef = _obj("globals")
    spec, ds_id, ds = _datasec(ef, ".data")
    _fix_datasec_size(data, ef, spec, ds_id, ".data")
    size = ef.section_by_name(".data").size  # type: ignore[union-attr]
    # Entry 0's offset (word 3 + 3 * 0 + 1).
    struct.pack_into("<I", data, _btf_word_offset(ef, spec, ds_id, 4), size)
    name = spec.name_of(ds.vars[0].type)
    with pytest.raises(CollectionError, match=rf"\.data: BTF variable '{name}' at offset "
                                              rf"{size}: size \d+ runs past the section"):
        load_collection_spec(data)


def test_datasec_offset_differing_from_symbol_rejected() -> None:
    data, ef = _obj("globals")
    spec, ds_id, ds = _datasec(ef, ".rodata")
    _fix_datasec_size(data, ef, spec, ds_id, ".rodata")
    # The .rodata variables in each other's places: in bounds, but not where the
    # ELF symbols say (globals.c has two of them, at 0 and 4).
    syms = [_symbol(ef, spec.name_of(vsi.type)) for vsi in ds.vars]
    assert len(syms) >= 2 and syms[0].value != syms[1].value
    struct.pack_into("<I", data, _btf_word_offset(ef, spec, ds_id, 4), syms[1].value)
    name = spec.name_of(ds.vars[0].type)
    with pytest.raises(CollectionError, match=rf"\.rodata: BTF variable '{name}' at offset "
                                              rf"{syms[1].value}: DATASEC offset differs from "
                                              rf"the ELF symbol's \({syms[0].value}\)"):
        load_collection_spec(data)


def test_datasec_size_differing_from_symbol_rejected() -> None:
    data, ef = _obj("globals")
    spec, ds_id, ds = _datasec(ef, ".rodata")
    _fix_datasec_size(data, ef, spec, ds_id, ".rodata")
    sym = _symbol(ef, spec.name_of(ds.vars[0].type))
    struct.pack_into("<I", data, _btf_word_offset(ef, spec, ds_id, 4), sym.value)
    struct.pack_into("<I", data, _btf_word_offset(ef, spec, ds_id, 5), sym.size - 1)
    with pytest.raises(CollectionError, match=rf"DATASEC size {sym.size - 1} differs from the "
                                              rf"ELF symbol's \({sym.size}\)"):
        load_collection_spec(data)


def test_datasec_without_elf_section_rejected() -> None:
    data, ef = _obj("globals")
    spec, ds_id, _ = _datasec(ef, ".data")
    # Give the DATASEC the name of one of its VARs: no ELF section is called that.
    (var_name_off,) = struct.unpack_from("<I", data, _btf_word_offset(
        ef, spec, spec.type_by_id(ds_id).vars[0].type, 0))  # type: ignore[union-attr]
    struct.pack_into("<I", data, _btf_word_offset(ef, spec, ds_id, 0), var_name_off)
    with pytest.raises(LoaderError, match=r"DATASEC '\w+' \(type id \d+\): no ELF section"):
        load_collection_spec(data)


def test_maps_datasec_entry_past_the_section_rejected() -> None:
    data, ef = _obj("maps_btf")
    spec, ds_id, ds = _datasec(ef, ".maps")
    _fix_datasec_size(data, ef, spec, ds_id, ".maps")
    size = ef.section_by_name(".maps").size  # type: ignore[union-attr]
    struct.pack_into("<I", data, _btf_word_offset(ef, spec, ds_id, 4), size - 8)
    name = spec.name_of(ds.vars[0].type)
    with pytest.raises(CollectionError, match=rf"\.maps: map '{name}' at offset {size - 8}: "
                                              r"size \d+ runs past the section"):
        load_collection_spec(data)


# -- extern BTF ----------------------------------------------------------------------------------

def test_ksym_var_with_static_linkage_rejected() -> None:
    data, ef = _obj("ksym_percpu")
    spec, _, ds = _datasec(ef, ".ksyms")
    var_id = ds.vars[0].type
    assert spec.kind_of(var_id) == r.BTF_KIND_VAR
    struct.pack_into("<I", data, _btf_word_offset(ef, spec, var_id, 3), r.BTF_VAR_STATIC)
    with pytest.raises(CollectionError, match=rf"\.ksyms extern '{spec.name_of(var_id)}' "
                                              rf"\(type id {var_id}\): VAR linkage 0 is not "
                                              r"extern"):
        load_collection_spec(data)


def test_extern_entry_that_is_not_a_var_rejected() -> None:
    data, ef = _obj("ksym_percpu")
    spec, ds_id, _ = _datasec(ef, ".ksyms")
    int_id = next(i for i, typ in spec if isinstance(typ, t.Int))
    struct.pack_into("<I", data, _btf_word_offset(ef, spec, ds_id, 3), int_id)
    with pytest.raises(CollectionError, match=rf"\(type id {int_id}\): INT, expected VAR or FUNC"):
        load_collection_spec(data)


def test_extern_without_elf_symbol_rejected() -> None:
    data, ef = _obj("externs")
    spec, _, ds = _datasec(ef, ".kconfig")
    var_id = ds.vars[0].type
    name = spec.name_of(var_id)
    sym = _symbol(ef, name)
    assert sym.shndx == elf.SHN_UNDEF
    # Rename the ELF symbol (its first byte in .strtab), keeping the BTF name.
    strtab = ef.sections[ef.symtab.link]  # type: ignore[union-attr]
    (name_off,) = struct.unpack_from("<I", data, _sym_offset(ef, sym.index))
    data[strtab.offset + name_off] = ord("X")
    with pytest.raises(CollectionError, match=rf"\.kconfig extern '{name}'.*no undefined ELF "
                                              r"symbol of that name"):
        load_collection_spec(data)


# -- function symbols ----------------------------------------------------------------------------

def _text_funcs(ef: elf.ELFFile) -> list[elf.Symbol]:
    text = ef.section_by_name(".text")
    assert text is not None
    return sorted((s for s in ef.symbols if s.shndx == text.index and s.type == elf.STT_FUNC),
                  key=lambda s: s.value)


def _set_size(data: bytearray, ef: elf.ELFFile, sym: elf.Symbol, size: int) -> None:
    struct.pack_into("<Q", data, _sym_offset(ef, sym.index) + 16, size)


@pytest.mark.parametrize("size", [0, 4, 12])
def test_function_size_not_whole_instructions_rejected(size: int) -> None:
    data, ef = _obj("subprogs")
    fn = _text_funcs(ef)[0]
    _set_size(data, ef, fn, size)
    with pytest.raises(CollectionError, match=rf"function '{fn.name}' at offset {fn.value}: "
                                              rf"size {size} or offset is not a whole number"):
        load_collection_spec(data)


def test_function_past_the_section_rejected() -> None:
    data, ef = _obj("subprogs")
    fn = _text_funcs(ef)[-1]
    size = ef.section_by_name(".text").size  # type: ignore[union-attr]
    _set_size(data, ef, fn, size)
    with pytest.raises(CollectionError, match=rf"function '{fn.name}'.*size {size} runs past "
                                              r"the section"):
        load_collection_spec(data)


@pytest.mark.parametrize("fault", ["size", "past", "overlap", "ld_imm64"])
def test_function_faults_raised_where_they_were(fault: str) -> None:
    # Fuzz findings are keyed by the raising function: a bad function symbol is
    # reported from _section_functions and an ld_imm64 without its second half
    # from _ld_slots, as before the section pass was inlined (they came from
    # _bad_function and _section_functions for a while).
    data, ef = _obj("subprogs")
    funcs = _text_funcs(ef)
    text = ef.section_by_name(".text")
    assert text is not None
    if fault == "size":
        _set_size(data, ef, funcs[0], 12)
    elif fault == "past":
        _set_size(data, ef, funcs[-1], text.size)
    elif fault == "overlap":
        _set_size(data, ef, funcs[0], funcs[0].size + 8)
    else:
        last = text.offset + text.size - 8
        assert data[last - 8] != 0x18  # (not the second half of one)
        data[last] = 0x18
    with pytest.raises(CollectionError) as caught:
        load_collection_spec(data)
    want = "_ld_slots" if fault == "ld_imm64" else "_section_functions"
    assert caught.traceback[-1].name == want, str(caught.value)


def test_overlapping_functions_rejected() -> None:
    data, ef = _obj("subprogs")
    first, second = _text_funcs(ef)[:2]
    _set_size(data, ef, first, first.size + 8)
    with pytest.raises(CollectionError, match=rf"function '{second.name}' at offset "
                                              rf"{second.value}: overlaps the previous function "
                                              rf"\(ends at {first.value + first.size + 8}\)"):
        load_collection_spec(data)
