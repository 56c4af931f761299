"""Properties of generated ELF objects: round trip through load_collection_spec in
both byte orders, agreement with libbpf 1.1, and typed errors for broken ones.

libbpf 1.1 refuses big-endian objects on this little-endian host, and refuses
legacy ``maps`` sections outright (since 1.0); both are asserted, not skipped.
"""

from __future__ import annotations

import pytest
from hypothesis import given

from conformance.generators import ELFObject, ExpectedMap, InvalidELF, elf_objects, invalid_elf
from conformance.generators.regress import recorded
from conformance.oracles.libbpf import Libbpf, LibbpfOpenError, LibbpfUnavailable
from loader.asm import encode
from loader.collection import MapSpec, load_collection_spec
from loader.collection.summary import summarize
from loader.elf import ELFFile


def _map_matches(got: MapSpec, want: ExpectedMap) -> None:
    assert (got.type, got.key_size, got.value_size, got.max_entries, got.flags, got.legacy) == (
        want.type, want.key_size, want.value_size, want.max_entries, want.flags, want.legacy)
    if want.inner is None:
        assert got.inner is None
    else:
        assert got.inner is not None
        assert (got.inner.type, got.inner.key_size, got.inner.value_size,
                got.inner.max_entries) == (want.inner.type, want.inner.key_size,
                                           want.inner.value_size, want.inner.max_entries)


@given(case=elf_objects())
def test_round_trip(case: tuple[ELFObject, str]) -> None:
    obj, order = case
    blob = obj.write(order)  # type: ignore[arg-type]
    with recorded("elf_round_trip", "round_trip", blob, byte_order=order):
        spec = load_collection_spec(blob)
        assert spec.byte_order == order
        assert spec.license == obj.license
        data_sections = {v.section for v in obj.variables.values()}
        assert set(spec.maps) == set(obj.maps) | data_sections
        for name, want in obj.maps.items():
            _map_matches(spec.maps[name], want)
        assert set(spec.variables) == set(obj.variables)
        for name, var in obj.variables.items():
            got = spec.variables[name]
            # .bss is SHT_NOBITS: the loader reports no initial bytes for it.
            want_value = b"" if var.section == ".bss" else var.value_bytes(order)  # type: ignore[arg-type]
            assert (got.section, got.offset, got.size, got.value) == (
                var.section, var.offset, var.size, want_value)
        assert set(spec.programs) == set(obj.programs)
        for name, prog in obj.programs.items():
            p = spec.programs[name]
            own = p.instructions[:len(prog.instructions)]
            # Data references name the data section (the map), not the variable.
            want_refs = tuple(obj.variables[r].section if r in obj.variables else r
                              for r in prog.references)
            assert tuple(i.reference for i in own) == want_refs
            # Unrelocated instructions are byte-identical; relocated ones keep
            # their opcode and destination (src/imm are the relocation's result).
            for got_i, want_i, ref in zip(own, prog.instructions, prog.references, strict=True):
                if ref is None:
                    assert encode([got_i], "<") == encode([want_i], "<")
                else:
                    assert (got_i.opcode, got_i.dst) == (want_i.opcode, want_i.dst)
            assert p.section == prog.section
            assert p.linked == prog.calls
        assert (spec.btf is not None) == obj.has_btf
        if spec.btf is not None:
            # sizes and offsets are already right, so the DATASEC fix-up changes nothing
            assert tuple(spec.btf.types()) == obj.btf_types
        # the writer is the reader's inverse: same sections, same names
        names = [s.name for s in ELFFile(blob).sections]
        assert all(s.name in names for s in obj.model.sections)


@pytest.fixture(scope="module")
def libbpf() -> Libbpf:
    try:
        return Libbpf()
    except LibbpfUnavailable as exc:
        pytest.skip(str(exc))


@pytest.mark.oracle
@given(case=elf_objects(byte_order="<"))
def test_libbpf_agrees(libbpf: Libbpf, case: tuple[ELFObject, str]) -> None:
    obj, _ = case
    blob = obj.write("<")
    with recorded("elf_libbpf", "libbpf", blob):
        if obj.legacy_maps:
            # libbpf >= 1.0 refuses legacy `maps` sections: a deliberate difference.
            with pytest.raises(LibbpfOpenError):
                libbpf.open_mem(blob, "gen")
            return
        lo = libbpf.open_mem(blob, "gen")
        summary = summarize(load_collection_spec(blob))
        assert {p.name for p in lo.programs} == set(summary["programs"])
        for p in lo.programs:
            ours = summary["programs"][p.name]
            assert ours["section"] == p.section
            assert ours["type"] == p.type_name
        user_maps = {m.name: m for m in lo.maps if not m.is_internal}
        assert set(user_maps) == set(obj.maps)
        for name, m in user_maps.items():
            ours = summary["maps"][name]
            assert (ours["key_size"], ours["value_size"], ours["max_entries"], ours["flags"]) \
                == (m.key_size, m.value_size, m.max_entries, m.map_flags)
            assert ours["type"] == m.type_name


@pytest.mark.oracle
@given(case=elf_objects(byte_order=">", legacy_maps=False))
def test_libbpf_refuses_big_endian(libbpf: Libbpf, case: tuple[ELFObject, str]) -> None:
    obj, _ = case
    with pytest.raises(LibbpfOpenError):
        libbpf.open_mem(obj.write(">"), "gen")


@given(case=invalid_elf())
def test_invalid_raises_typed_error(case: InvalidELF) -> None:
    with recorded("elf_invalid", "invalid", case.blob, rule=case.rule):
        with pytest.raises(case.error):
            load_collection_spec(case.blob)
