"""The attr layouts against <linux/bpf.h>, compiled by the host's cc (the oracle)."""

from __future__ import annotations

import ctypes
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from loader.features.helper_probes import HELPER_IDS
from loader.kernel import attr as A

HEADER = Path("/usr/include/linux/bpf.h")
CC = shutil.which("cc") or shutil.which("gcc")

pytestmark = [
    pytest.mark.oracle,
    pytest.mark.skipif(CC is None or not HEADER.exists(), reason="needs cc and <linux/bpf.h>"),
]

# Fields added after the installed header's kernel (linux-libc-dev 6.1 here): the
# C compiler does not know them, so they cannot be checked and are listed on purpose.
NEWER_THAN_HEADER = {
    "value_type_btf_obj_fd",
    "map_token_fd",  # 6.9
    "log_true_size",
    "prog_token_fd",
    "fd_array_cnt",  # 6.4 / 6.9 / 6.14
    "path_fd",  # 6.5
    "btf_log_true_size",
    "btf_flags",
    "btf_token_fd",  # 6.4 / 6.9
    "cookie",  # link_create.tracing.cookie, 6.0 (absent from some 6.1 headers)
}


def _fields(struct: type[ctypes.Structure | ctypes.Union], prefix: str, base: int):
    anon = set(getattr(struct, "_anonymous_", ()))
    for f in struct._fields_:
        name, ctype = f[0], f[1]
        if name.startswith("_") or len(f) == 3:  # padding or a bitfield
            continue
        off = base + getattr(struct, name).offset
        if isinstance(ctype, type) and issubclass(ctype, ctypes.Structure | ctypes.Union):
            sub = prefix if name in anon else f"{prefix}{name}."
            yield from _fields(ctype, sub, off)
        else:
            yield f"{prefix}{name}", off


def _c_offsets(items: list[tuple[str, str]]) -> tuple[dict[str, int], set[str]]:
    """offsetof() per (C type, member path); members cc does not know are returned apart."""
    missing: set[str] = set()
    while True:
        lines = [
            f'printf("%zu\\n", (size_t)__builtin_offsetof({ct}, {m}));'
            for ct, m in items
            if m not in missing
        ]
        src = "#include <stdio.h>\n#include <linux/bpf.h>\nint main(void){" + "".join(lines) + "}"
        exe = Path(f"/tmp/bpfconform_offsets_{id(items)}")
        proc = subprocess.run(
            [CC, "-x", "c", "-o", str(exe), "-"],
            input=src,
            capture_output=True,
            text=True,
            env={"LC_ALL": "C", "PATH": "/usr/bin:/bin"},
        )
        if proc.returncode == 0:
            out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
            exe.unlink()
            known = [m for _, m in items if m not in missing]
            return dict(zip(known, map(int, out.split()), strict=True)), missing
        bad = set(re.findall(r"has no member named ['\u2018](\w+)['\u2019]", proc.stderr))
        found = {m for _, m in items if m.split(".")[-1] in bad}
        if not found - missing:
            raise AssertionError(proc.stderr)
        missing |= found


def test_attr_offsets_match_uapi_header():
    items: list[tuple[str, str]] = []
    ours: dict[str, int] = {}
    for struct, (ctype, prefix) in A.C_LAYOUTS.items():
        for path, off in _fields(struct, prefix, 0):
            items.append((ctype, path))
            ours[path] = off
    theirs, missing = _c_offsets(items)
    assert {m.split(".")[-1] for m in missing} <= NEWER_THAN_HEADER
    assert len(theirs) > 100
    mismatched = {m: (ours[m], theirs[m]) for m in theirs if ours[m] != theirs[m]}
    assert mismatched == {}


def test_newer_fields_follow_the_header_ones():
    # A field the header lacks must sit past every field it has (appended, zero tail).
    for struct, (_ctype, prefix) in A.C_LAYOUTS.items():
        offs = list(_fields(struct, prefix, 0))
        newer = [off for path, off in offs if path.split(".")[-1] in NEWER_THAN_HEADER]
        older = [off for path, off in offs if path.split(".")[-1] not in NEWER_THAN_HEADER]
        if newer and struct is not A.LinkCreateAttr:
            assert min(newer) > max(older), struct.__name__


def test_helper_ids_match_uapi_header():
    text = HEADER.read_text()
    block = text[text.index("#define __BPF_FUNC_MAPPER(FN)") :]
    block = block[: block.index("\n\n")]
    names = re.findall(r"FN\((\w+)", block)  # FN(unspec) is id 0
    ids = {name: i for i, name in enumerate(names)}
    assert {h: ids.get(h) for h in HELPER_IDS} == HELPER_IDS
