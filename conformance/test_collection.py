"""load_collection_spec over the corpus: expected summaries, byte-order twins,
linking, and the typed error for each malformed class we reject."""

from __future__ import annotations

import difflib
import json
import struct
from pathlib import Path

import pytest

from corpus.regen_expected import expected_path, render
from loader import elf
from loader.asm import opcodes as op
from loader.collection import load_collection_spec
from loader.collection.summary import summarize
from loader.errors import CollectionError, LoaderError, RelocationError

OBJ_DIR = Path(__file__).resolve().parent.parent / "corpus" / "obj"
LE_OBJECTS = sorted(OBJ_DIR.glob("*.el.o"))
ids = [p.name.removesuffix(".el.o") for p in LE_OBJECTS]


@pytest.mark.parametrize("path", LE_OBJECTS, ids=ids)
def test_expected_summary_has_not_drifted(path: Path) -> None:
    want_path = expected_path(path)
    assert want_path.exists(), f"run corpus/regen_expected.py: {want_path.name} missing"
    want, got = want_path.read_text(), render(path)
    if want != got:
        diff = "".join(difflib.unified_diff(
            want.splitlines(True), got.splitlines(True), str(want_path), "loader now"))
        pytest.fail(f"{want_path.name} drifted; review and run corpus/regen_expected.py:\n{diff}")


def _order_free(summary: dict) -> dict:
    """Drop what is byte-order specific by nature: data bytes as stored."""
    for m in summary["maps"].values():
        # Map and program names stay; byte contents are in the object's order.
        m["contents"] = [[k, v if isinstance(v, str) and v.isidentifier() else "?"]
                         for k, v in m["contents"]]
        m.pop("extra", None)
    for v in summary["variables"].values():
        v["value"] = "?"
    return summary


# clang emits different code per byte order for bitfield reads (CO-RE and plain; shifts
# computed for the target's layout), so slot counts legitimately differ there.
_CODE_DIFFERS = {"core_relocs", "types"}


@pytest.mark.parametrize("path", LE_OBJECTS, ids=ids)
def test_big_endian_twin_gives_the_same_spec(path: Path) -> None:
    le = load_collection_spec(path)
    be = load_collection_spec(path.with_name(path.name.replace(".el.o", ".eb.o")))
    assert (le.byte_order, be.byte_order) == ("<", ">")
    a, b = _order_free(summarize(le)), _order_free(summarize(be))
    if path.name.removesuffix(".el.o") in _CODE_DIFFERS:
        for s in (a, b):
            for p in s["programs"].values():
                for key in ("insn_slots", "linked_slots", "line_infos", "core_relos"):
                    p.pop(key)
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    if path.name.removesuffix(".el.o") in _CODE_DIFFERS:
        return
    for name, prog in le.programs.items():
        # Relocated instructions must match exactly; other constants (htons'd
        # literals) are byte-order specific by construction.
        assert [(i.opcode, i.dst, i.src, i.off, i.reference, i.imm if i.reference else 0)
                for i in prog.instructions] == \
            [(i.opcode, i.dst, i.src, i.off, i.reference, i.imm if i.reference else 0)
             for i in be.programs[name].instructions]


def test_linking_appends_each_callee_once_transitively() -> None:
    spec = load_collection_spec(OBJ_DIR / "subprogs.el.o")
    assert not set(spec.programs) & set(spec.functions)
    for prog in spec.programs.values():
        starts = [i.symbol for i in prog.instructions if i.symbol]
        assert starts == [prog.name, *prog.linked]
        assert len(set(starts)) == len(starts)
        called = {i.reference for i in prog.instructions if i.is_pseudo_call}
        assert called <= set(starts)
        assert prog.insn_slots < sum(i.slots for i in prog.instructions)


def test_data_relocations_carry_offsets_into_imm() -> None:
    spec = load_collection_spec(OBJ_DIR / "globals.el.o")
    for prog in spec.programs.values():
        for ins in prog.instructions:
            if ins.src == op.BPF_PSEUDO_MAP_VALUE and ins.reference in spec.maps:
                assert ins.imm & 0xFFFFFFFF == 0
                assert (ins.imm >> 32) <= spec.maps[ins.reference].value_size


# -- malformed objects, made by patching corpus objects -------------------------------

def _obj(name: str) -> tuple[bytearray, elf.ELFFile]:
    data = bytearray((OBJ_DIR / f"{name}.el.o").read_bytes())
    return data, elf.ELFFile(bytes(data))


def _sym_offset(ef: elf.ELFFile, index: int) -> int:
    assert ef.symtab is not None
    return ef.symtab.offset + index * elf.SYM_SIZE


def _first_prog_rel(ef: elf.ELFFile, want_sym_section: str | None = None) -> tuple[int, int]:
    """(file offset of the Elf64_Rel, index of its target section)."""
    for sec in ef.sections:
        if not sec.is_executable:
            continue
        rel_sec = ef.rel_section(sec)
        if rel_sec is None:
            continue
        for i, rel in enumerate(ef.relocations(sec)):
            sym = ef.symbols[rel.symbol_index]
            if want_sym_section is None or ef.sections[sym.shndx].name == want_sym_section:
                return rel_sec.offset + i * elf.REL_SIZE, sec.index
    raise AssertionError("no such relocation")


def test_nonzero_bytes_in_maps_rejected() -> None:
    data, ef = _obj("maps_btf")
    sec = ef.section_by_name(".maps")
    assert sec is not None
    data[sec.offset + 3] = 1
    with pytest.raises(CollectionError, match=r"\.maps: map '\w+' at offset 0: byte at section "
                                              r"offset 3 is 0x01"):
        load_collection_spec(data)


def test_relocation_offset_outside_section_rejected() -> None:
    data, ef = _obj("maps_btf")
    rel_off, target = _first_prog_rel(ef)
    struct.pack_into("<Q", data, rel_off, ef.sections[target].size + 8)
    with pytest.raises(RelocationError, match="offset outside the section"):
        load_collection_spec(data)


def test_relocation_offset_not_at_instruction_rejected() -> None:
    data, ef = _obj("maps_btf")
    rel_off, _ = _first_prog_rel(ef)
    (r_offset,) = struct.unpack_from("<Q", data, rel_off)
    struct.pack_into("<Q", data, rel_off, r_offset + 4)
    with pytest.raises(RelocationError, match=f"offset {r_offset + 4}.*instruction boundary"):
        load_collection_spec(data)


def test_relocation_into_second_half_of_ld_imm64_rejected() -> None:
    data, ef = _obj("maps_btf")
    rel_off, _ = _first_prog_rel(ef, ".maps")  # map loads are ld_imm64
    (r_offset,) = struct.unpack_from("<Q", data, rel_off)
    struct.pack_into("<Q", data, rel_off, r_offset + 8)
    with pytest.raises(RelocationError, match="second half of an ld_imm64"):
        load_collection_spec(data)


def test_relocation_against_symbol_in_unknown_section_rejected() -> None:
    data, ef = _obj("subprogs")
    rel_off, _ = _first_prog_rel(ef, ".text")  # against the .text section symbol
    (info,) = struct.unpack_from("<Q", data, rel_off + 8)
    sym_off = _sym_offset(ef, info >> 32)
    assert ef.symtab is not None
    struct.pack_into("<H", data, sym_off + 6, ef.symtab.index)
    with pytest.raises(RelocationError, match=r"in section '\.symtab', which holds no maps"):
        load_collection_spec(data)


def test_call_to_missing_function_rejected() -> None:
    data, ef = _obj("subprogs")
    rel_off, target = _first_prog_rel(ef, ".text")
    (r_offset,) = struct.unpack_from("<Q", data, rel_off)
    insn_off = ef.sections[target].offset + r_offset
    assert data[insn_off] == op.CALL
    struct.pack_into("<i", data, insn_off + 4, 100000)
    with pytest.raises(RelocationError, match=r"no function at offset \d+ of section \.text"):
        load_collection_spec(data)


def test_unknown_btf_map_member_rejected() -> None:
    data, ef = _obj("maps_btf")
    btf = ef.section_by_name(".BTF")
    assert btf is not None
    start = data.index(b"\0max_entries\0", btf.offset, btf.offset + btf.size)
    data[start + 1 : start + 12] = b"max_entriez"
    with pytest.raises(CollectionError, match="unknown member 'max_entriez'"):
        load_collection_spec(data)


def test_variable_outside_its_section_rejected() -> None:
    data, ef = _obj("globals")
    sym = next(s for s in ef.symbols
               if s.type == elf.STT_OBJECT and s.bind == elf.STB_GLOBAL
               and ef.sections[s.shndx].name == ".data")
    struct.pack_into("<Q", data, _sym_offset(ef, sym.index) + 16, 1 << 20)
    with pytest.raises(CollectionError, match=f"variable '{sym.name}'.*runs past the section"):
        load_collection_spec(data)


def test_legacy_map_smaller_than_bpf_map_def_rejected() -> None:
    data, ef = _obj("legacy_maps")
    sym = next(s for s in ef.symbols if s.name and s.shndx < len(ef.sections)
               and ef.sections[s.shndx].name == "maps")
    struct.pack_into("<Q", data, _sym_offset(ef, sym.index) + 16, 8)
    with pytest.raises(CollectionError, match="smaller than bpf_map_def"):
        load_collection_spec(data)


def test_legacy_maps_accepted_and_marked() -> None:
    spec = load_collection_spec(OBJ_DIR / "legacy_maps.el.o")
    legacy = [m for m in spec.maps.values() if m.legacy]
    assert legacy and all(m.section == "maps" for m in legacy)


@pytest.mark.parametrize("path", LE_OBJECTS[:6], ids=ids[:6])
def test_truncations_raise_only_loader_errors(path: Path) -> None:
    data = path.read_bytes()
    for cut in range(0, len(data), max(1, len(data) // 40)):
        try:
            load_collection_spec(data[:cut])
        except LoaderError:
            pass
