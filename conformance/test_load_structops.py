"""struct_ops maps loaded into the running kernel, judged by the kernel and bpftool.

test_load.py already compares the programs' tags with bpftool's load of
corpus/obj/struct_ops.el.o.  Here the map value: the kernel validates a
``.struct_ops.link`` value on update (each program's attach_btf_id and
expected_attach_type must name the member whose slot holds it), and
``bpftool struct_ops dump`` reads the value back through the kernel's BTF,
member by member.  A plain ``.struct_ops`` map must load without being
registered (updating it would make a system-wide TCP congestion control).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conformance import load_verdicts as lv
from conformance.test_load import _KERNEL
from loader.asm import builders as b
from loader.btf import types as t
from loader.collection import load_collection_spec
from loader.collection.spec import CollectionSpec
from loader.collection.structops import BPF_F_LINK
from loader.errors import RelocationError, UnsupportedError, VerifierError
from loader.kernel import obj_get_info_by_fd
from loader.kernel.fd import FD
from loader.kernel.info import MapInfo, ProgInfo
from loader.kernel.load import LoadedCollection, load_collection
from loader.kernel.structops import prepare

pytestmark = _KERNEL

OBJ = lv.ROOT / "corpus" / "obj" / "struct_ops.el.o"
MAP = "so_bpfconform"
_CC_LIST = Path("/proc/sys/net/ipv4/tcp_available_congestion_control")


def _fds() -> list[str]:
    return sorted(os.listdir("/proc/self/fd"))


def _spec(*, link: bool = False) -> CollectionSpec:
    spec = load_collection_spec(OBJ)
    if link:
        spec.maps[MAP].flags |= BPF_F_LINK
    return spec


def _dump(lc: LoadedCollection) -> tuple[str, dict[str, Any]]:
    """bpftool's view of the map value: (wrapper type name, its members)."""
    if not shutil.which("bpftool"):
        pytest.skip("bpftool not installed")
    info = obj_get_info_by_fd(lc.maps[MAP])
    assert isinstance(info, MapInfo)
    proc = subprocess.run(["bpftool", "-j", "struct_ops", "dump", "id", str(info.id)],
                          capture_output=True, text=True, timeout=60, check=True)
    # bpftool 7.1 prints `{map info},{value}` for one map: two JSON objects
    # joined by a comma, not one document.
    text, docs, pos = proc.stdout.strip(), [], 0
    decoder = json.JSONDecoder()
    while pos < len(text):
        doc, pos = decoder.raw_decode(text, pos)
        docs.append(doc)
        pos += len(text[pos:]) - len(text[pos:].lstrip(", \n"))
    assert len(docs) == 2, proc.stdout[:200]
    (wrapper, value), = docs[1].items()
    return wrapper, value


def _prog_id(fd: FD | Exception) -> int:
    assert isinstance(fd, FD)
    info = obj_get_info_by_fd(fd)
    assert isinstance(info, ProgInfo)
    return info.id


def _object_name_member(spec: CollectionSpec) -> str:
    """The ``name`` member as the object's own bytes and BTF put it."""
    m = spec.maps[MAP]
    assert spec.btf is not None
    typ = spec.btf.type_by_id(m.value_type_id)
    assert isinstance(typ, t.Struct)
    mem = next(x for x in typ.members if x.name == "name")
    raw = m.contents[0].value
    assert isinstance(raw, bytes)
    start = mem.offset_bits // 8
    return raw[start:start + spec.btf.size_of(mem.type)].split(b"\0")[0].decode()


def test_link_map_value_accepted_and_read_back_by_bpftool() -> None:
    spec = _spec(link=True)
    before = _fds()
    with load_collection(spec) as lc:
        assert lc.ok
        wrapper, value = _dump(lc)
        assert value["common"]["state"] == "BPF_STRUCT_OPS_STATE_READY"
        assert spec.btf is not None
        typ = spec.btf.type_by_id(spec.maps[MAP].value_type_id)
        assert isinstance(typ, t.Struct)
        assert wrapper == f"bpf_struct_ops_{typ.name}"
        data = value["data"]
        members = spec.maps[MAP].struct_ops
        assert members  # the object does implement members
        for so in members:
            want = f" {so.program}/prog_id:{_prog_id(lc.programs[so.program])}"
            assert data[so.member].endswith(want), (so.member, data[so.member])
        implemented = {so.member for so in members}
        assert [k for k, v in data.items() if "prog_id:" in str(v)] == [
            k for k in data if k in implemented]
        # A scalar member copied from the object's layout to the kernel's.
        assert data["name"] == _object_name_member(spec)
    assert _fds() == before


def test_plain_map_loads_without_registering() -> None:
    spec = _spec()
    name = _object_name_member(spec)
    before = _fds()
    with load_collection(spec) as lc:
        assert lc.ok
        _, value = _dump(lc)
        # Created, never updated: nothing registered with the kernel.
        assert value["common"]["state"] == "BPF_STRUCT_OPS_STATE_INIT"
        if _CC_LIST.exists():
            assert name not in _CC_LIST.read_text().split()
        info = obj_get_info_by_fd(lc.maps[MAP])
        assert isinstance(info, MapInfo)
        # Ready for an attach step: the kernel's value size, in the kernel's layout.
        assert len(lc.struct_ops_values[MAP]) == info.value_size
    assert _fds() == before


def _broken_member(spec: CollectionSpec) -> str:
    so = spec.maps[MAP].struct_ops[0]
    prog = spec.programs[so.program]
    # exit with r0 never written: the verifier refuses it.
    prog.instructions = [b.exit_insn()]
    prog.func_infos, prog.line_infos, prog.core_relos = [], [], []
    return so.program


def test_failed_member_program_fails_the_map_and_leaks_nothing() -> None:
    before = _fds()
    spec = _spec(link=True)
    broken = _broken_member(spec)
    with pytest.raises(VerifierError, match=broken):
        load_collection(spec)
    assert _fds() == before
    spec = _spec(link=True)
    broken = _broken_member(spec)
    with load_collection(spec, keep_going=True) as lc:
        assert isinstance(lc.programs[broken], VerifierError)
        err = lc.map_errors[MAP]
        assert isinstance(err, RelocationError) and broken in str(err)
        assert MAP not in lc.struct_ops_values
        assert all(isinstance(fd, FD) for n, fd in lc.programs.items() if n != broken)
        assert _fds() != before
    assert _fds() == before


def test_missing_kernel_type_is_unsupported_and_leaks_nothing() -> None:
    spec = _spec()
    assert spec.btf is not None
    # The object's own BTF has no bpf_struct_ops_tcp_congestion_ops wrapper.
    with pytest.raises(UnsupportedError, match="bpf_struct_ops_"):
        prepare(spec.btf, spec.maps[MAP], spec.btf)
    before = _fds()
    with load_collection(spec, keep_going=True, target_btf=spec.btf) as lc:
        assert isinstance(lc.map_errors[MAP], UnsupportedError)
        for so in spec.maps[MAP].struct_ops:
            assert isinstance(lc.programs[so.program], RelocationError)
    assert _fds() == before
