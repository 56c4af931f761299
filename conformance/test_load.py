"""Loading collections into the running kernel, judged by the kernel and bpftool.

- every corpus object bpftool loads, we load too (all programs), and the
  kernel computes the same program tag for both loads: the tag is a hash of
  the submitted instructions with map fds blanked, so it checks our map,
  extern, CO-RE and call rewriting instruction for instruction;
- both loaders' verdicts match corpus/expected/load_verdicts.json;
- no fd leaks, after success and after failure;
- a broken program gives VerifierError, and the log tail reaches the JSON;
- sanitised BTF for each missing feature is accepted by the kernel.

Only little-endian objects: the x86 kernel runs host-order code only; big-endian
objects are refused with UnsupportedError before any bpf() call.
"""

from __future__ import annotations

import json
import os
import shutil
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from conformance import load_verdicts as lv
from loader.asm import builders as b
from loader.btf import parse_raw
from loader.btf import types as t
from loader.cli.load import all_loaded, report
from loader.collection import load_collection_spec
from loader.errors import KernelError, LoaderError, UnsupportedError, VerifierError
from loader.kernel import bpf, obj_get_info_by_fd
from loader.kernel.fd import FD
from loader.kernel.info import ProgInfo
from loader.kernel.load import load_collection
from loader.kernel.sanitize import BTFSupport, sanitize_btf
from loader.uapi import MapType, ProgType


@cache
def _bpf_unavailable() -> str | None:
    try:
        bpf.map_create(MapType.ARRAY, 4, 4, 1).close()
    except (KernelError, OSError) as exc:
        return f"bpf() refused a map: {exc} (needs root or CAP_BPF)"
    return None


_KERNEL = [pytest.mark.kernel,
           pytest.mark.skipif(_bpf_unavailable() is not None, reason=_bpf_unavailable() or "")]
pytestmark = _KERNEL

EL_OBJECTS = lv.corpus_el_objects()


def _fds() -> list[str]:
    return sorted(os.listdir("/proc/self/fd"))


@cache
def _expected() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(lv.VERDICTS.read_text())
    return data


def _tag(fd: FD) -> str:
    info = obj_get_info_by_fd(fd)
    assert isinstance(info, ProgInfo)
    return info.tag


def _xlated_len(fd: FD) -> int:
    info = obj_get_info_by_fd(fd)
    assert isinstance(info, ProgInfo)
    return info.xlated_prog_len


@pytest.mark.oracle
@pytest.mark.parametrize("obj", EL_OBJECTS, ids=[p.name for p in EL_OBJECTS])
def test_loads_what_bpftool_loads(obj: Path) -> None:
    if not shutil.which("bpftool"):
        pytest.skip("bpftool not installed")
    if os.uname().release != _expected()["kernel"]:
        pytest.skip(f"verdicts recorded on {_expected()['kernel']}, host runs "
                    f"{os.uname().release}")
    theirs, their_progs = lv.bpftool_loadall(obj)
    their_tags = {n: tag for n, (tag, _) in their_progs.items()}
    their_lens = {n: size for n, (_, size) in their_progs.items()}
    expected = _expected()[obj.name]
    assert theirs == expected["bpftool"], "bpftool's verdict changed: regenerate and review"
    spec = load_collection_spec(obj)
    before = _fds()
    with load_collection(spec, keep_going=True) as lc:
        rep = report(spec, lc)
        ours = {n: {"loaded": p["loaded"], "errno": p["errno"]}
                for n, p in rep["programs"].items()}
        assert ours == expected["ours"]["programs"]
        if theirs["loaded"]:
            assert all_loaded(rep), {n: p["error"] for n, p in rep["programs"].items()
                                     if not p["loaded"]}
            # bpftool pins each program under its name.
            assert set(their_tags) == {n for n, p in rep["programs"].items()
                                       if not p.get("skipped")}
            # Every program, linked ones too: the tag covers the order in which
            # bpf2bpf callees and callbacks were appended, not only the code.
            assert {n: _tag(lc.program_fd(n)) for n in their_tags} == their_tags
            assert {n: _xlated_len(lc.program_fd(n)) for n in their_lens} == their_lens
    assert _fds() == before


def test_verdicts_file_covers_the_corpus() -> None:
    recorded = {k for k in _expected() if k.endswith(".o")}
    assert recorded == {p.name for p in EL_OBJECTS}


def test_big_endian_refused_without_syscalls() -> None:
    spec = load_collection_spec(lv.ROOT / "corpus" / "obj" / "globals.eb.o")
    before = _fds()
    with pytest.raises(UnsupportedError, match="big-endian"):
        load_collection(spec)
    assert _fds() == before


def _broken_globals() -> Any:
    spec = load_collection_spec(lv.ROOT / "corpus" / "obj" / "globals.el.o")
    prog = spec.programs["gl_count"]
    # exit with r0 never written: the verifier says "R0 !read_ok".
    prog.instructions = [b.exit_insn()]
    prog.func_infos, prog.line_infos, prog.core_relos = [], [], []
    return spec


def test_fd_count_unchanged_after_success_and_failure() -> None:
    before = _fds()
    spec = load_collection_spec(lv.ROOT / "corpus" / "obj" / "map_in_map.el.o")
    with load_collection(spec) as lc:
        assert lc.ok and len(lc.maps) == len(spec.maps)
        assert _fds() != before  # the fds really were open
    assert _fds() == before
    # Maps created, BTF loaded, then a program fails: all closed on the way out.
    with pytest.raises(VerifierError):
        load_collection(_broken_globals())
    assert _fds() == before
    with load_collection(_broken_globals(), keep_going=True) as lc:
        assert not lc.ok
    assert _fds() == before


def test_verifier_error_log_tail_reaches_json() -> None:
    with pytest.raises(VerifierError) as info:
        load_collection(_broken_globals())
    assert "R0 !read_ok" in info.value.log
    assert "gl_count" in str(info.value)
    spec = _broken_globals()
    with load_collection(spec, keep_going=True) as lc:
        rep = report(spec, lc)
    entry = rep["programs"]["gl_count"]
    assert entry["loaded"] is False
    assert entry["errno"] == 13  # EACCES: the verifier's rejection
    assert "R0 !read_ok" in entry["log_tail"]
    assert all(m["created"] for m in rep["maps"].values())
    json.dumps(rep)  # the document is plain JSON


def test_map_contents_and_freeze() -> None:
    spec = load_collection_spec(lv.ROOT / "corpus" / "obj" / "globals.el.o")
    with load_collection(spec) as lc:
        ro = spec.maps[".rodata"]
        got = bpf.map_lookup_elem(lc.maps[".rodata"], b"\0" * 4, ro.value_size)
        assert got == ro.contents[0].value
        with pytest.raises(KernelError):  # frozen: no more writes from user space
            bpf.map_update_elem(lc.maps[".rodata"], b"\0" * 4, bytes(ro.value_size))


# What kernels before each release lack (the claims of loader.features' BTF
# probes); FUNC_PROTO->ENUM (pre-5.0) cannot be tried on a modern kernel, which
# then wants names on the enum values the anonymous params become.
_MISSING_BEFORE = {
    "6.7": ("qmark_datasec",),
    "6.0": ("qmark_datasec", "enum64"),
    "5.16": ("qmark_datasec", "enum64", "type_tag", "decl_tag"),
    "5.13": ("qmark_datasec", "enum64", "type_tag", "decl_tag", "float"),
    "5.6": ("qmark_datasec", "enum64", "type_tag", "decl_tag", "float", "func_global"),
    "5.2": ("qmark_datasec", "enum64", "type_tag", "decl_tag", "float", "func_global",
            "datasec"),
}
_GONE = {"datasec": (t.Var, t.Datasec), "float": (t.Float,), "decl_tag": (t.DeclTag,),
         "type_tag": (t.TypeTag,), "enum64": (t.Enum64,)}


@pytest.mark.parametrize("release", list(_MISSING_BEFORE))
@pytest.mark.parametrize("obj", ["types.el.o", "globals.el.o"])
def test_sanitised_btf_accepted(release: str, obj: str) -> None:
    missing = _MISSING_BEFORE[release]
    spec = load_collection_spec(lv.ROOT / "corpus" / "obj" / obj)
    assert spec.btf is not None
    blob = sanitize_btf(spec.btf, BTFSupport(**{m: False for m in missing}))
    out = parse_raw(blob)
    gone = tuple(k for m in missing for k in _GONE.get(m, ()))
    for typ in out.types():
        assert not isinstance(typ, gone), typ
        if "func_global" in missing and isinstance(typ, t.Func):
            assert typ.linkage == 0
        if isinstance(typ, t.Datasec | t.Struct) and "qmark_datasec" in missing:
            assert "?" not in typ.name
    with bpf.btf_load(blob):
        pass


def test_unsanitised_extern_btf_is_refused() -> None:
    # Why the extern fix-ups exist: the kernel refuses extern linkage in .ksyms.
    spec = load_collection_spec(lv.ROOT / "corpus" / "obj" / "externs.el.o")
    assert spec.btf is not None
    from loader.btf import encode

    with pytest.raises(LoaderError):
        bpf.btf_load(encode(spec.btf, "<"))
    with bpf.btf_load(sanitize_btf(spec.btf)):
        pass


def test_cli_exit_status_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    from loader.cli import main

    good = lv.ROOT / "corpus" / "obj" / "tail_calls.el.o"
    assert main(["load", "--json", str(good)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc["programs"]) == {"tc_entry", "tc_first", "tc_second"}
    assert all(p["loaded"] and p["errno"] is None for p in doc["programs"].values())
    assert doc["maps"]["tc_jump_table"]["created"] is True
    # The recorded verdicts say which object this kernel refuses; its exit must be 1.
    # (errno None with loaded False is a '?SEC' program libbpf would skip too.)
    refused = [n for n, v in _expected().items() if n.endswith(".o") and any(
        p["errno"] for p in v["ours"]["programs"].values())]
    if not refused:
        pytest.skip("this kernel refuses no corpus object")
    assert main(["load", str(lv.ROOT / "corpus" / "obj" / refused[0])]) == 1
    assert "NOT all loaded" in capsys.readouterr().out


def _mistyped_tail_call() -> Any:
    """tail_calls.el.o with tc_second made a socket filter: the kernel refuses it
    as an entry of the XDP programs' prog array (EINVAL at MAP_UPDATE_ELEM)."""
    spec = load_collection_spec(lv.ROOT / "corpus" / "obj" / "tail_calls.el.o")
    prog = spec.programs["tc_second"]
    prog.type = ProgType.SOCKET_FILTER
    prog.instructions = [b.mov64_imm(0, 0), b.exit_insn()]
    prog.func_infos, prog.line_infos, prog.core_relos = [], [], []
    return spec


def test_refused_prog_array_entry_is_that_maps_error() -> None:
    before = _fds()
    with pytest.raises(KernelError, match="'tc_jump_table': initial value for key 2"):
        load_collection(_mistyped_tail_call())
    assert _fds() == before
    spec = _mistyped_tail_call()
    with load_collection(spec, keep_going=True) as lc:
        assert set(lc.programs) == {"tc_entry", "tc_first", "tc_second"}
        assert all(isinstance(p, FD) for p in lc.programs.values())
        assert not lc.ok
        rep = report(spec, lc)
    assert _fds() == before
    entry = rep["maps"]["tc_jump_table"]
    assert entry["errno"] == 22 and "key 2" in entry["error"]
    assert not all_loaded(rep)


def test_map_in_map_and_prog_array_initial_values() -> None:
    spec = load_collection_spec(lv.ROOT / "corpus" / "obj" / "map_in_map.el.o")
    with load_collection(spec) as lc:
        outer = lc.maps["mim_outer_array"]
        for key, inner in ((0, "mim_inner_a"), (3, "mim_inner_b")):
            got = bpf.map_lookup_elem(outer, key.to_bytes(4, "little"), 4)
            assert got is not None, key
            # A map-in-map lookup from user space gives the inner map's id.
            assert int.from_bytes(got, "little") == obj_get_info_by_fd(lc.maps[inner]).id
        assert bpf.map_lookup_elem(outer, (1).to_bytes(4, "little"), 4) is None


def test_prog_array_naming_a_failed_program_is_that_maps_error() -> None:
    spec = load_collection_spec(lv.ROOT / "corpus" / "obj" / "tail_calls.el.o")
    prog = spec.programs["tc_second"]
    prog.instructions = [b.exit_insn()]  # R0 !read_ok
    prog.func_infos, prog.line_infos, prog.core_relos = [], [], []
    with load_collection(spec, keep_going=True) as lc:
        assert isinstance(lc.programs["tc_second"], VerifierError)
        err = lc.map_errors["tc_jump_table"]
    assert "initial value for key 2 names program 'tc_second', which was not loaded" in str(err)
