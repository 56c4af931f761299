"""loader.uapi against three oracles.

- libbpf.so.1 (1.1 on Debian 12): its ``libbpf_bpf_*_str`` functions name every
  program, map and attach type it knows; ours must print the same string.
- the running kernel's BTF: every ``enum bpf_*`` enumerator it has carries the
  number the kernel itself uses.
- the system's <linux/bpf.h> run through clang's preprocessor: the ``#define``
  constants (load and attach flags, BPF_PSEUDO_*) that are no enumerators.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import re
import shutil
import subprocess
from collections.abc import Callable
from enum import Enum
from pathlib import Path

import pytest

from loader import uapi
from loader.errors import UnsupportedError

# Values our uapi knows and libbpf 1.1 answers NULL for: newer than that release.
NEWER_THAN_LIBBPF_1_1: dict[str, set[str]] = {
    # netfilter programs: kernel 6.4, libbpf 1.2
    "prog": {"NETFILTER"},
    # arena: kernel 6.9 / libbpf 1.4; insn_array and rhash: after libbpf 1.6
    "map": {"ARENA", "INSN_ARRAY", "RHASH"},
    "attach": {
        # Named in libbpf 1.2 (the uapi value itself dates from kernel 6.2/6.4).
        "STRUCT_OPS",
        "NETFILTER",
        # tcx: kernel 6.6 / libbpf 1.3; uprobe_multi: 6.6 / 1.3
        "TCX_INGRESS",
        "TCX_EGRESS",
        "TRACE_UPROBE_MULTI",
        # AF_UNIX cgroup hooks: kernel 6.7 / libbpf 1.3
        "CGROUP_UNIX_CONNECT",
        "CGROUP_UNIX_SENDMSG",
        "CGROUP_UNIX_RECVMSG",
        "CGROUP_UNIX_GETPEERNAME",
        "CGROUP_UNIX_GETSOCKNAME",
        # netkit: kernel 6.7 / libbpf 1.3
        "NETKIT_PRIMARY",
        "NETKIT_PEER",
        # kprobe session 6.10 / libbpf 1.5, uprobe session 6.13 / 1.6
        "TRACE_KPROBE_SESSION",
        "TRACE_UPROBE_SESSION",
        # fsession and tracing-multi: after libbpf 1.6
        "TRACE_FSESSION",
        "TRACE_FENTRY_MULTI",
        "TRACE_FEXIT_MULTI",
        "TRACE_FSESSION_MULTI",
    },
}


def _libbpf() -> ctypes.CDLL:
    path = ctypes.util.find_library("bpf")
    if path is None:
        pytest.skip("libbpf.so.1 not installed (apt-get install libbpf1)")
    return ctypes.CDLL(path)


def _str_fn(name: str) -> Callable[[int], bytes | None]:
    fn = getattr(_libbpf(), name)
    fn.restype = ctypes.c_char_p
    fn.argtypes = [ctypes.c_int]
    return fn  # type: ignore[no-any-return]


CASES = [
    ("prog", "libbpf_bpf_prog_type_str", uapi.ProgType, uapi.prog_type_name),
    ("map", "libbpf_bpf_map_type_str", uapi.MapType, uapi.map_type_name),
    ("attach", "libbpf_bpf_attach_type_str", uapi.AttachType, uapi.attach_type_name),
]


@pytest.mark.oracle
@pytest.mark.parametrize(("kind", "cfunc", "enum", "ours"), CASES, ids=[c[0] for c in CASES])
def test_names_match_libbpf(
    kind: str, cfunc: str, enum: type[Enum], ours: Callable[[int], str]
) -> None:
    libbpf_str = _str_fn(cfunc)
    agreed, newer, wrong = 0, set(), []
    for member in enum:
        theirs = libbpf_str(member.value)
        if theirs is None:
            newer.add(member.name)
            continue
        if theirs.decode() != ours(member.value):
            wrong.append((member.name, theirs.decode(), ours(member.value)))
        agreed += 1
    assert wrong == []
    assert newer == NEWER_THAN_LIBBPF_1_1[kind]
    # libbpf knows no value past the end of our enum (else our uapi is stale).
    top = max(m.value for m in enum)
    assert [libbpf_str(v) for v in range(top + 1, top + 8)] == [None] * 7
    assert agreed > 20


@pytest.mark.parametrize(
    ("name_fn", "lookup", "enum"),
    [
        (uapi.prog_type_name, uapi.prog_type_by_name, uapi.ProgType),
        (uapi.map_type_name, uapi.map_type_by_name, uapi.MapType),
        (uapi.attach_type_name, uapi.attach_type_by_name, uapi.AttachType),
    ],
)
def test_reverse_lookup_round_trips(
    name_fn: Callable[[int], str], lookup: Callable[[str], Enum | None], enum: type[Enum]
) -> None:
    for member in enum:
        assert lookup(name_fn(member.value)) is member
    assert lookup("no_such_type") is None
    # libbpf's names are lower case only, and aliases have no name of their own.
    assert lookup(name_fn(1).upper()) is None


def test_deprecated_aliases_print_the_old_names() -> None:
    assert uapi.MapType["CGROUP_STORAGE_DEPRECATED"] is uapi.MapType.CGROUP_STORAGE
    assert uapi.map_type_by_name("cgroup_storage_deprecated") is None
    assert uapi.Cmd["PROG_RUN"] is uapi.Cmd.PROG_TEST_RUN


def test_unknown_numbers_raise_typed_error() -> None:
    for fn, what in (
        (uapi.prog_type_name, "program type"),
        (uapi.map_type_name, "map type"),
        (uapi.attach_type_name, "attach type"),
    ):
        with pytest.raises(UnsupportedError, match=f"{what} 9999"):
            fn(9999)


def _kernel_enumerators() -> dict[str, int]:
    bpftool = shutil.which("bpftool")
    vmlinux = Path("/sys/kernel/btf/vmlinux")
    if bpftool is None or not vmlinux.exists():
        pytest.skip("needs bpftool and /sys/kernel/btf/vmlinux")
    out = subprocess.run(
        [bpftool, "btf", "dump", "file", str(vmlinux)], check=True, capture_output=True, text=True
    ).stdout
    found: dict[str, int] = {}
    for m in re.finditer(r"^\t'(BPF_[A-Z0-9_]+)' val=(-?\d+)$", out, re.M):
        found.setdefault(m.group(1), int(m.group(2)))
    return found


# Our class -> the C prefix its member names dropped.
ENUM_PREFIXES: list[tuple[type[Enum], str]] = [
    (uapi.Cmd, "BPF_"),
    (uapi.MapType, "BPF_MAP_TYPE_"),
    (uapi.ProgType, "BPF_PROG_TYPE_"),
    (uapi.AttachType, "BPF_"),
    (uapi.MapFlag, "BPF_F_"),
    (uapi.UpdateFlag, "BPF_"),
]


@pytest.mark.oracle
def test_values_match_running_kernel_btf() -> None:
    kernel = _kernel_enumerators()
    checked, wrong, absent = 0, [], []
    for enum, prefix in ENUM_PREFIXES:
        for name, member in enum.__members__.items():
            cname = prefix + name
            if cname not in kernel and "BPF_F_" + name in kernel:
                cname = "BPF_F_" + name  # BPF_F_LOCK sits among BPF_ANY/BPF_EXIST
            if cname not in kernel:
                absent.append(cname)
                continue
            checked += 1
            if kernel[cname] != member.value:
                wrong.append((cname, kernel[cname], member.value))
    assert wrong == []
    assert checked > 150
    # What a 6.18 kernel lacks must be the newest additions only; printed for the record.
    print("not in the running kernel's BTF:", sorted(absent))


def _header_defines() -> dict[str, int]:
    clang = shutil.which("clang")
    if clang is None or not Path("/usr/include/linux/bpf.h").exists():
        pytest.skip("needs clang and linux-libc-dev's <linux/bpf.h>")
    out = subprocess.run(
        [clang, "-E", "-dM", "-x", "c", "-"],
        input="#include <linux/bpf.h>\n",
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    found: dict[str, int] = {}
    for m in re.finditer(r"^#define (BPF_[A-Z0-9_]+) \(?(\d+)U?(?: << (\d+))?\)?$", out, re.M):
        value = int(m.group(2)) << int(m.group(3) or 0)
        found[m.group(1)] = value
    return found


DEFINE_GROUPS: list[tuple[type[Enum], str]] = [
    (uapi.ProgLoadFlag, "BPF_F_"),
    (uapi.AttachFlag, "BPF_F_"),
]
PSEUDO = [
    "PSEUDO_MAP_FD",
    "PSEUDO_MAP_VALUE",
    "PSEUDO_BTF_ID",
    "PSEUDO_FUNC",
    "PSEUDO_MAP_IDX",
    "PSEUDO_MAP_IDX_VALUE",
    "PSEUDO_CALL",
    "PSEUDO_KFUNC_CALL",
]


@pytest.mark.oracle
def test_defines_match_system_header() -> None:
    defines = _header_defines()
    checked, wrong = 0, []
    pairs: list[tuple[str, int]] = [("BPF_" + n, getattr(uapi, n)) for n in PSEUDO]
    for enum, prefix in DEFINE_GROUPS:
        pairs += [(prefix + n, m.value) for n, m in enum.__members__.items()]
    for cname, value in pairs:
        if cname in defines:
            checked += 1
            if defines[cname] != value:
                wrong.append((cname, defines[cname], value))
    assert wrong == []
    # Debian 12's header is 6.1: the pseudo values and the older flags are there.
    assert checked >= len(PSEUDO) + 9
