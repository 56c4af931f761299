"""Lookups by id, name and kind on vmlinux, checked against bpftool's listing."""

from __future__ import annotations

import re
import subprocess

import pytest

from conformance.conftest import require_tool
from loader.btf import parse_raw, spec_from_types
from loader.btf import records as r
from loader.btf import types as t
from loader.errors import BTFError

HEAD = re.compile(r"^\[(\d+)\] (\w+) '([^']*)'(?: size=(\d+))?", re.M)


@pytest.fixture(scope="module")
def vmlinux(vmlinux_btf_bytes):
    return parse_raw(vmlinux_btf_bytes)


@pytest.fixture(scope="module")
def bpftool_heads(vmlinux_btf_path):
    out = subprocess.run(
        [require_tool("bpftool"), "btf", "dump", "file", str(vmlinux_btf_path)],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout
    return [(int(m[1]), m[2], m[3], m[4]) for m in HEAD.finditer(out)]


@pytest.mark.oracle
def test_ids_names_kinds_sizes_match_bpftool(vmlinux, bpftool_heads):
    assert len(bpftool_heads) == len(vmlinux)
    kinds = {name: k for k, name in enumerate(r.KIND_NAMES)}
    for tid, kind, name, size in bpftool_heads[::97]:
        assert vmlinux.kind_of(tid) == kinds[kind]
        assert vmlinux.name_of(tid) == ("" if name == "(anon)" else name)
        if name != "(anon)":
            assert tid in vmlinux.types_by_name(name)
        if size is not None and kind in ("STRUCT", "UNION", "INT", "ENUM"):
            assert vmlinux.size_of(tid) == int(size)


@pytest.mark.oracle
def test_find_unique_struct(vmlinux, bpftool_heads):
    want = [tid for tid, kind, name, _ in bpftool_heads
            if kind == "STRUCT" and name == "task_struct"]
    assert vmlinux.find("task_struct", r.BTF_KIND_STRUCT) == want[0]
    assert isinstance(vmlinux.type_by_id(want[0]), t.Struct)


def test_find_absent_and_ambiguous(vmlinux):
    with pytest.raises(BTFError, match="no STRUCT named 'no_such_type_xyz'"):
        vmlinux.find("no_such_type_xyz", r.BTF_KIND_STRUCT)
    spec = spec_from_types([t.Int("int", 4, 1, 0, 32), t.Typedef("int", 1)])
    with pytest.raises(BTFError, match="2 types named 'int'"):
        spec.find("int")
    assert spec.find("int", r.BTF_KIND_TYPEDEF) == 2


def test_bad_ids(vmlinux):
    for bad in (-1, len(vmlinux) + 1, 1 << 40):
        with pytest.raises(BTFError, match=f"type id {bad}"):
            vmlinux.type_by_id(bad)
    assert isinstance(vmlinux.type_by_id(0), t.Void)


@pytest.mark.parametrize("bad", [-1, -2, 3, 1 << 40])
def test_bad_ids_in_every_by_id_lookup(bad):
    # Negative ids once indexed the offsets from the end (a wrong type) or hit an
    # assert; ids past the end raised IndexError.
    spec = spec_from_types([t.Int("int", 4, 1, 0, 32), t.Typedef("i_t", 1)])
    for lookup in (spec.kind_of, spec.name_of, spec.name_offset_of, spec.raw_type,
                   spec.type_by_id):
        with pytest.raises(BTFError, match=f"type id {bad}"):
            lookup(bad)
    with pytest.raises(BTFError, match="type id 0"):
        spec.raw_type(0)  # void is not one of the blob's own types
    assert spec.kind_of(0) == r.BTF_KIND_UNKN
    assert spec.name_of(0) == ""
    assert spec.name_of(2) == "i_t"


def test_resolve_and_size_of():
    spec = spec_from_types([
        t.Int("int", 4, 1, 0, 32), t.Typedef("i_t", 1), t.Const(2), t.Array(3, 1, 5),
        t.Typedef("loop_a", 6), t.Typedef("loop_b", 5), t.Pointer(5),
    ])
    assert spec.resolve(3) == 1
    assert spec.size_of(4) == 20
    assert spec.size_of(7) == 8
    with pytest.raises(BTFError, match="deeper than 32"):
        spec.resolve(5)
    with pytest.raises(BTFError, match="deeper than 32"):
        spec.size_of(5)


def test_split_lookup_reaches_base():
    base = spec_from_types([t.Int("int", 4, 1, 0, 32), t.Struct("s", 4, (t.Member("a", 1, 0),))])
    split = spec_from_types([t.Pointer(2), t.Typedef("s_ptr", 3)], base=base)
    assert split.first_type_id == 3
    assert split.type_by_id(2) == base.type_by_id(2)
    assert split.types_by_name("s") == [2]
    assert split.find("s_ptr") == 4
    assert split.size_of(4) == 8
    assert len(split) == 2
    assert [tid for tid, _ in split] == [3, 4]
