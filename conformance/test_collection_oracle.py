"""load_collection_spec against libbpf 1.1's bpf_object__open_mem, object by object.

Every little-endian corpus object is opened by libbpf (ctypes, in process) and by
us; programs and maps must agree field by field.  Deliberate differences are
spelled out here, each with its reason:

- legacy ``maps`` sections: libbpf >= 1.0 refuses the whole object (ENOTSUP);
  cilium/ebpf and we accept it (spec.maps[...].legacy is True).
- data section map names: we keep the ELF section name (as cilium/ebpf does);
  libbpf derives ``<obj>.data`` cut to 15 characters; compared via
  ``internal_map_name``.
- pruned sections: data sections nothing refers to and with no symbols
  (``.rodata.str1.1`` without string use) get no map from us (cilium/ebpf's
  rule); libbpf 1.1 makes one anyway.
- ringbuf max_entries: libbpf rounds it up to a power-of-2 multiple of the page
  size at open; we keep the declared value.
- struct_ops programs: libbpf 1.1 parks the index of the struct member a program
  implements in its expected_attach_type at open; we keep it in the map's
  ``struct_ops`` members (MapSpec.struct_ops), and compare it there.
"""

from __future__ import annotations

import errno
import mmap
from pathlib import Path

import pytest

from conformance.oracles.libbpf import (
    Libbpf,
    LibbpfMap,
    LibbpfOpenError,
    LibbpfUnavailable,
    internal_map_name,
    object_name_for,
)
from loader import elf
from loader.collection import MapSpec, load_collection_spec
from loader.collection.objfile import is_data_section
from loader.sections import program_section
from loader.uapi import MapType, ProgType

pytestmark = pytest.mark.oracle

OBJ_DIR = Path(__file__).resolve().parent.parent / "corpus" / "obj"
LE_OBJECTS = sorted(OBJ_DIR.glob("*.el.o"))


@pytest.fixture(scope="module")
def libbpf() -> Libbpf:
    try:
        return Libbpf()
    except LibbpfUnavailable as exc:
        pytest.skip(str(exc))


def _ringbuf_size(declared: int) -> int:
    # libbpf's adjust_ringbuf_sz: the smallest page_size * 2**n >= declared.
    page = mmap.PAGESIZE
    pages = declared // page
    if declared == 0 or (declared % page == 0 and pages & (pages - 1) == 0):
        return declared
    mul = 1
    while page * mul < declared:
        mul <<= 1
    return page * mul


def _compare_map(ours: MapSpec, theirs: LibbpfMap, where: str) -> None:
    max_entries = ours.max_entries
    if ours.type in (MapType.RINGBUF, MapType.USER_RINGBUF):
        max_entries = _ringbuf_size(max_entries)
    got = (ours.type, ours.key_size, ours.value_size, max_entries, ours.flags, ours.map_extra,
           ours.numa_node)
    want = (theirs.type, theirs.key_size, theirs.value_size, theirs.max_entries,
            theirs.map_flags, theirs.map_extra, theirs.numa_node)
    assert got == want, f"{where}: (type, key, value, max, flags, extra, numa) {got} != {want}"
    assert (ours.inner is None) == (theirs.inner is None), f"{where}: inner map presence"
    if ours.inner is not None and theirs.inner is not None:
        _compare_map(ours.inner, theirs.inner, where + " inner")


@pytest.mark.parametrize("path", LE_OBJECTS, ids=lambda p: p.name)
def test_agrees_with_libbpf(path: Path, libbpf: Libbpf) -> None:
    data = path.read_bytes()
    ours = load_collection_spec(data)
    obj_name = object_name_for(path)
    try:
        theirs = libbpf.open_mem(data, obj_name)
    except LibbpfOpenError as exc:
        legacy = [m.name for m in ours.maps.values() if m.legacy]
        assert legacy, f"libbpf refused an object we have no reason to expect it to: {exc}"
        # Deliberate: libbpf 1.x rejects legacy `maps` sections, we accept them.
        assert exc.errno == errno.EOPNOTSUPP, exc
        assert "legacy map definitions" in exc.log
        return

    # Programs: every one, every field.
    struct_ops_index = {
        mem.program: mem.index for m in ours.maps.values() for mem in m.struct_ops
    }
    assert sorted(p.name for p in theirs.programs) == sorted(ours.programs)
    for lp in theirs.programs:
        op = ours.programs[lp.name]
        # libbpf drops the '?' (autoload off) from the section name; we keep the ELF's.
        assert op.section.removeprefix("?") == lp.section, lp.name
        sec_def = program_section(op.section).section_def
        if sec_def is not None and sec_def.since is not None:
            # Deliberate: a section name libbpf only learnt after 1.1 (sections.py
            # records since when); libbpf 1.1 opens it as unspec.
            assert (lp.type, lp.expected_attach_type) == (0, 0), lp.name
            continue
        assert op.type == lp.type, (lp.name, op.type, lp.type_name)
        if lp.type == ProgType.STRUCT_OPS:
            # libbpf 1.1 parks the member index in expected_attach_type at open.
            assert struct_ops_index.get(lp.name) == lp.expected_attach_type, lp.name
        else:
            assert op.attach_type == lp.expected_attach_type, (lp.name, lp.attach_type_name)
        assert op.insn_slots == lp.insn_cnt, lp.name
        assert op.autoload == lp.autoload, lp.name

    # Maps, with data-section names translated as libbpf names them.
    ef = elf.ELFFile(data)
    expected_names = {}
    for name, m in ours.maps.items():
        internal = is_data_section(m.section) or m.section == ".kconfig"
        expected_names[internal_map_name(obj_name, name) if internal else name] = m
    libbpf_maps = {m.name: m for m in theirs.maps}
    pruned = {
        internal_map_name(obj_name, s.name)
        for s in ef.sections
        if is_data_section(s.name) and s.size and s.name not in ours.maps
    }
    extra = set(libbpf_maps) - set(expected_names)
    assert extra <= pruned, f"libbpf has maps we lack: {sorted(extra - pruned)}"
    missing = set(expected_names) - set(libbpf_maps)
    assert not missing, f"we have maps libbpf lacks: {sorted(missing)}"
    for name, m in expected_names.items():
        _compare_map(m, libbpf_maps[name], f"{path.name}: map {name}")
    # Data maps' initial contents are the section bytes in both.
    for name, m in expected_names.items():
        lm = libbpf_maps[name]
        if m.contents and isinstance(m.contents[0].value, bytes) and lm.initial_value:
            assert m.contents[0].value == lm.initial_value, name


def test_oracle_reports_open_failures(libbpf: Libbpf) -> None:
    with pytest.raises(LibbpfOpenError) as info:
        libbpf.open_mem(b"\x7fELF" + bytes(60), "junk")
    assert info.value.errno != 0
    assert info.value.log


@pytest.mark.parametrize("obj_name", ["globals", "a_long_object_name", "x"])
def test_internal_map_name_matches_libbpf(obj_name: str, libbpf: Libbpf) -> None:
    # The object with custom .data.NAME/.rodata.NAME sections, opened under object
    # names of several lengths: libbpf's names must be what internal_map_name says.
    data = (OBJ_DIR / "globals.el.o").read_bytes()
    theirs = {m.name for m in libbpf.open_mem(data, obj_name).maps if m.is_internal}
    ours = load_collection_spec(data)
    derived = {internal_map_name(obj_name, n) for n in ours.maps}
    assert derived <= theirs
    assert len(theirs) >= 4
