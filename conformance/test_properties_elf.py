"""Properties of generated ELF objects: round trip through load_collection_spec in
both byte orders (maps with initial values, data sections, externs, static and
global functions, calls and callbacks, .BTF.ext records on the right
instructions), agreement with libbpf 1.1, and typed errors for broken ones.

libbpf 1.1 refuses big-endian objects on this little-endian host, and refuses
legacy ``maps`` sections outright (since 1.0); both are asserted, not skipped.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given

from conformance.generators import (
    ELF_FAMILIES,
    ELFObject,
    ExpectedMap,
    ExpectedProgram,
    InvalidELF,
    elf_objects,
    invalid_elf,
    random_elf,
    random_invalid_elf,
)
from conformance.generators.regress import recorded
from conformance.oracles.libbpf import Libbpf, LibbpfOpenError, LibbpfUnavailable
from loader.asm import encode
from loader.asm import opcodes as op
from loader.btf.types import Datasec
from loader.collection import MapSpec, ProgramSpec, load_collection_spec
from loader.collection.summary import summarize
from loader.elf import ELFFile
from loader.uapi import MapType


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
    assert tuple((kv.key, kv.value) for kv in got.contents) == want.contents


def _expected_reference(obj: ELFObject, ref: str | None) -> str | None:
    """Data references name the data section (the map), kconfig reads the
    .kconfig map; everything else keeps its symbol's name."""
    if ref in obj.variables:
        return obj.variables[ref].section
    return ref


def _check_function(obj: ELFObject, got: ProgramSpec, want: ExpectedProgram) -> None:
    own = got.instructions[:len(want.instructions)]
    assert tuple(i.reference for i in own) == tuple(
        _expected_reference(obj, r) for r in want.references)
    # Unrelocated instructions are byte-identical; relocated ones keep their
    # opcode and destination (src/imm are the relocation's result).
    for got_i, want_i, ref in zip(own, want.instructions, want.references, strict=True):
        if ref is None:
            assert encode([got_i], "<") == encode([want_i], "<")
        else:
            assert (got_i.opcode, got_i.dst) == (want_i.opcode, want_i.dst)
    assert got.section == want.section
    assert got.global_binding == want.global_binding


def _check_ext(obj: ELFObject, got: ProgramSpec, want: ExpectedProgram) -> None:
    """.BTF.ext records sit on the instruction they were written for: the
    program's own, then each linked function's shifted by where it was placed."""
    funcs, lines, cores = list(want.func_infos), list(want.line_infos), list(want.core_relos)
    base = len(want.instructions)
    for name in want.calls:
        callee = obj.subprograms[name]
        funcs += [(base + i, rec) for i, rec in callee.func_infos]
        lines += [(base + i, rec) for i, rec in callee.line_infos]
        cores += [(base + i, rec) for i, rec in callee.core_relos]
        base += len(callee.instructions)
    assert got.func_infos == funcs
    assert got.line_infos == lines
    assert got.core_relos == cores
    for i, rec in got.func_infos:
        assert got.instructions[i].symbol is not None  # a function starts there
        assert obj.btf_types[rec.type_id - 1].name == got.instructions[i].symbol


@given(case=elf_objects())
def test_round_trip(case: tuple[ELFObject, str]) -> None:
    obj, order = case
    blob = obj.write(order)  # type: ignore[arg-type]
    with recorded("elf_round_trip", "round_trip", blob, byte_order=order):
        spec = load_collection_spec(blob)
        assert spec.byte_order == order
        assert spec.license == obj.license
        data_sections = {v.section for v in obj.variables.values()}
        kconfig = {".kconfig"} if any(e.kind == "kconfig" for e in obj.externs.values()) \
            else set()
        assert set(spec.maps) == set(obj.maps) | data_sections | kconfig
        for name, want in obj.maps.items():
            _map_matches(spec.maps[name], want)
        assert set(spec.variables) == set(obj.variables)
        for name, var in obj.variables.items():
            got = spec.variables[name]
            # .bss is SHT_NOBITS: the loader reports no initial bytes for it.
            want_value = b"" if var.section == ".bss" else var.value_bytes(order)
            assert (got.section, got.offset, got.size, got.value) == (
                var.section, var.offset, var.size, want_value)
        assert {n: (e.kind, e.what, e.weak, e.typed) for n, e in spec.externs.items()} == {
            n: (e.kind, e.what, e.weak, e.typed) for n, e in obj.externs.items()}
        assert set(spec.programs) == set(obj.programs)
        assert set(spec.functions) == set(obj.subprograms)
        for name, prog in obj.programs.items():
            _check_function(obj, spec.programs[name], prog)
            assert spec.programs[name].linked == prog.calls
            _check_ext(obj, spec.programs[name], prog)
        for name, sub in obj.subprograms.items():
            _check_function(obj, spec.functions[name], sub)
        assert (spec.btf is not None) == obj.has_btf
        if spec.btf is not None:
            # Sizes and offsets are already right, so the DATASEC fix-up changes
            # nothing but .kconfig's layout and linkage.
            got_types = tuple(spec.btf.types())
            assert len(got_types) == len(obj.btf_types)
            for tid, (got_t, want_t) in enumerate(zip(got_types, obj.btf_types, strict=True), 1):
                if tid in obj.btf_fixed_up:
                    assert (got_t.kind, got_t.name) == (want_t.kind, want_t.name)
                else:
                    assert got_t == want_t, tid
        # the writer is the reader's inverse: same sections, same names
        names = [s.name for s in ELFFile(blob).sections]
        assert all(s.name in names for s in obj.model.sections)


@given(case=elf_objects(btf=True))
def test_kconfig_layout_agrees_with_its_btf(case: tuple[ELFObject, str]) -> None:
    """Where the loader places each kconfig extern (what instructions read) is
    where the .kconfig map's value type (the fixed-up DATASEC) says it is, and
    the map is as large as the DATASEC: libbpf writes its layout into both."""
    obj, order = case
    blob = obj.write(order)  # type: ignore[arg-type]
    with recorded("elf_kconfig_layout", "kconfig_layout", blob, byte_order=order):
        spec = load_collection_spec(blob)
        kconfig = {n: e for n, e in spec.externs.items() if e.kind == "kconfig"}
        if not kconfig:
            return
        assert spec.btf is not None
        ds = spec.btf.type_by_id(spec.maps[".kconfig"].value_type_id)
        assert isinstance(ds, Datasec)
        in_btf = {spec.btf.type_by_id(v.type).name: v.offset for v in ds.vars}
        assert in_btf == {n: e.offset for n, e in kconfig.items()}
        assert ds.size == spec.maps[".kconfig"].value_size


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


@pytest.mark.parametrize("rule", sorted(ELF_FAMILIES))
def test_every_invalid_family_raises_its_error(rule: str) -> None:
    """Each rule, in both byte orders, a few seeds: hypothesis's draw above
    may not reach every family in the ci profile."""
    for seed in range(3):
        for order in ("<", ">"):
            case = random_invalid_elf(random.Random(f"{rule}:{seed}"), rules=[rule],
                                      byte_order=order)
            with recorded(f"elf_invalid_{rule}", "invalid", case.blob, rule=rule):
                with pytest.raises(case.error):
                    load_collection_spec(case.blob)


def test_generated_objects_cover_every_shape() -> None:
    """The round trip above only proves what the generator produces: make sure
    that includes each shape of the issue (counted over seeded objects)."""
    seen: set[str] = set()
    for seed in range(150):
        obj = random_elf(random.Random(seed))
        seen |= {f"extern.{e.kind}.{e.what}" for e in obj.externs.values()}
        seen |= {"extern.weak" for e in obj.externs.values() if e.weak}
        seen |= {"extern.untyped" for e in obj.externs.values() if not e.typed}
        seen |= {f"contents.{m.type}" for m in obj.maps.values() if m.contents}
        seen |= {"static_function" for s in obj.subprograms.values() if not s.global_binding}
        seen |= {f"section.{v.section}" for v in obj.variables.values()}
        for p in obj.programs.values():
            seen |= {f"insn.{i.opcode:#x}.{i.src}" for i in p.instructions}
            if p.core_relos:
                seen.add("core_relo")
            if p.line_infos:
                seen.add("line_info")
        sections = [p.section for p in obj.programs.values()]
        if len(set(sections)) < len(sections):
            seen.add("shared_section")
    want = {"extern.kconfig.var", "extern.ksym.var", "extern.ksym.func", "extern.weak",
            "extern.untyped", f"contents.{int(MapType.PROG_ARRAY)}",
            f"contents.{int(MapType.ARRAY_OF_MAPS)}", "static_function",
            "section..data.counters", "section..rodata.config", "core_relo", "line_info",
            "shared_section", f"insn.{op.LD_IMM64:#x}.{op.BPF_PSEUDO_FUNC}"}
    assert want - seen == set()
