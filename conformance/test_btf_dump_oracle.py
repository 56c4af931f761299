"""`bpfconform btf dump` against `bpftool btf dump file` (bpftool 7.1), byte for byte.

Covers the host's vmlinux (as stored and byte-swapped to big-endian), every corpus
object (both byte orders), a split BTF made by pahole on top of vmlinux, and a
blob built in code with every kind and kflag use.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conformance.conftest import require_tool
from loader.btf import encode, parse_raw
from loader.btf.dump import dump_json, dump_raw_bytes
from loader.cli.btf import load_btf

from .btf_swap import swap_btf
from .test_btf_samples import every_kind_blob

pytestmark = pytest.mark.oracle


def bpftool_dump(path: Path, base: Path | None = None) -> bytes:
    cmd = [require_tool("bpftool"), "btf", "dump", "file", str(path)]
    if base is not None:
        cmd += ["-B", str(base)]
    return subprocess.run(cmd, check=True, capture_output=True, timeout=60).stdout


def assert_same_dump(ours: bytes, theirs: bytes, what: str) -> None:
    if ours == theirs:
        return
    a, b = ours.split(b"\n"), theirs.split(b"\n")
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            pytest.fail(f"{what}: line {i + 1} differs\n ours:    {x!r}\n bpftool: {y!r}")
    pytest.fail(f"{what}: ours has {len(a)} lines, bpftool {len(b)}")


def test_vmlinux(vmlinux_btf_path):
    spec = parse_raw(vmlinux_btf_path.read_bytes())
    assert_same_dump(dump_raw_bytes(spec), bpftool_dump(vmlinux_btf_path), "vmlinux")


def test_vmlinux_big_endian(vmlinux_btf_bytes, tmp_path):
    swapped = swap_btf(vmlinux_btf_bytes)
    path = tmp_path / "vmlinux.eb.btf"
    path.write_bytes(swapped)
    spec = parse_raw(swapped)
    assert spec.byte_order == ">"
    assert_same_dump(dump_raw_bytes(spec), bpftool_dump(path), "vmlinux big-endian")


def test_corpus_object(corpus_object):
    ours = dump_raw_bytes(load_btf(str(corpus_object)))
    assert_same_dump(ours, bpftool_dump(corpus_object), corpus_object.name)


@pytest.mark.parametrize("byte_order", ["<", ">"])
def test_every_kind(byte_order, tmp_path):
    blob = every_kind_blob(byte_order)
    spec = parse_raw(blob)
    path = tmp_path / "kinds.btf"
    path.write_bytes(blob)
    assert_same_dump(dump_raw_bytes(spec), bpftool_dump(path), "every kind")


def make_split_btf(tmp_path: Path) -> Path:
    """A module-like split BTF: pahole encodes a small object's DWARF on vmlinux."""
    src = tmp_path / "mod.c"
    src.write_text(
        "struct list_head { struct list_head *next, *prev; };\n"
        "struct my_mod_state { struct list_head node; unsigned int flags:3, mode:5;\n"
        "  long counter; float ratio; enum { MM_A = -1, MM_B = 7 } e; };\n"
        "int my_mod_fn(struct my_mod_state *s, int x) { return s->counter + x; }\n"
        "struct my_mod_state g_state;\n"
    )
    obj = tmp_path / "mod.o"
    subprocess.run([require_tool("gcc"), "-g", "-c", str(src), "-o", str(obj)], check=True)
    subprocess.run(
        [require_tool("pahole"), "-J", "--btf_base", "/sys/kernel/btf/vmlinux", str(obj)],
        check=True, capture_output=True,
    )
    raw = tmp_path / "mod.btf"
    subprocess.run(
        [require_tool("objcopy"), f"--dump-section=.BTF={raw}", str(obj)], check=True
    )
    return raw


def test_split_on_vmlinux(vmlinux_btf_path, tmp_path):
    raw = make_split_btf(tmp_path)
    base = parse_raw(vmlinux_btf_path.read_bytes())
    spec = parse_raw(raw.read_bytes(), base)
    assert spec.first_type_id == len(base) + 1
    assert_same_dump(
        dump_raw_bytes(spec), bpftool_dump(raw, vmlinux_btf_path), "split BTF"
    )
    assert encode(spec) == raw.read_bytes()


def test_json_matches_text(corpus_objects):
    # The structured form carries the same ids, kinds and names as the text dump.
    spec = load_btf(str(corpus_objects[0]))
    heads = [
        line for line in dump_raw_bytes(spec).decode().splitlines() if line.startswith("[")
    ]
    doc = dump_json(spec)["types"]
    assert len(doc) == len(heads) > 0
    for entry, head in zip(doc, heads, strict=True):
        assert head.startswith(f"[{entry['id']}] {entry['kind']} '{entry['name']}'"), head
