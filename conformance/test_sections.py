"""loader.sections against libbpf's own matcher.

``libbpf_prog_type_by_name`` of libbpf.so.1 (1.1 on Debian 12) answers for every
name in a broad list: each table entry bare, with a '/target', with a bare '/',
and near misses around it. Entries libbpf 1.1 does not have yet are listed below
with the release that added them (read from the libbpf tags' section_defs[]);
for names that match those, 1.1 must answer -ESRCH.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
from collections.abc import Callable

import pytest

from loader import sections
from loader.sections import SecFlag, match, program_section
from loader.uapi import AttachType, ProgLoadFlag, ProgType

NEWER_THAN_LIBBPF_1_1: dict[str, str] = {
    "struct_ops.s+": "1.2",
    "cgroup/connect_unix": "1.3",
    "cgroup/getpeername_unix": "1.3",
    "cgroup/getsockname_unix": "1.3",
    "cgroup/recvmsg_unix": "1.3",
    "cgroup/sendmsg_unix": "1.3",
    "netfilter": "1.3",
    "netkit/peer": "1.3",
    "netkit/primary": "1.3",
    "tc/egress": "1.3",
    "tc/ingress": "1.3",
    "tcx/egress": "1.3",
    "tcx/ingress": "1.3",
    "uprobe.multi+": "1.3",
    "uprobe.multi.s+": "1.3",
    "uretprobe.multi+": "1.3",
    "uretprobe.multi.s+": "1.3",
    "usdt.s+": "1.3",
    "sk_skb/verdict": "1.4",
    "kprobe.session+": "1.5",
    "uprobe.session+": "1.6",
    "uprobe.session.s+": "1.6",
    "fsession+": "1.7",
    "fsession.s+": "1.7",
    # In libbpf's master after v1.7.0, in no release yet; "1.8" is our label.
    "fentry.multi+": "1.8",
    "fentry.multi.s+": "1.8",
    "fexit.multi+": "1.8",
    "fexit.multi.s+": "1.8",
    "fsession.multi+": "1.8",
    "fsession.multi.s+": "1.8",
    "raw_tp.s+": "1.8",
    "raw_tracepoint.s+": "1.8",
    "tp.s+": "1.8",
    "tp_btf.s+": "1.8",
    "tracepoint.s+": "1.8",
}

NEAR_MISSES = [
    "",
    "/",
    "?",
    ".text",
    "kprobe/",
    "kprobex",
    "kprobe_legacy",
    "xdp/",
    "xdp/foo",
    "xdp_frags",
    "xdp.frags/foo",
    "xdpfoo",
    "tc/other",
    "tcx",
    "tcx/",
    "cgroup",
    "cgroup/",
    "cgroup/sock/extra",
    "cgroup_skb",
    "cgroup_skb/",
    "sk_skb/",
    "sk_skb/foo",
    "sk_msg/foo",
    "socket/foo",
    "socket1",
    "lsm.x/foo",
    "fentry.s.x/foo",
    "iter/task/extra",
    "struct_ops.x",
    "SOCKET",
    "Kprobe/foo",
    " kprobe/foo",
    "perf_event/",
    "netfilter/x",
    "raw_tp.w.s/x",
    "usdt/lib:prov:name",
]


def _libbpf_prog_type_by_name() -> Callable[..., int]:
    path = ctypes.util.find_library("bpf")
    if path is None:
        pytest.skip("libbpf.so.1 not installed (apt-get install libbpf1)")
    fn = ctypes.CDLL(path).libbpf_prog_type_by_name
    fn.restype = ctypes.c_int
    fn.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int)]
    return fn


def _names() -> list[str]:
    names: list[str] = []
    for sec_def in sections.SECTION_DEFS:
        base = sec_def.prefix
        names += [base, base + "/do_nanosleep", base + "/", base + "x", base[:-1]]
    names += NEAR_MISSES
    return list(dict.fromkeys(names))


def test_table_has_libbpf_size_and_unique_patterns() -> None:
    patterns = [d.pattern for d in sections.SECTION_DEFS]
    assert len(patterns) == 116
    assert len(set(patterns)) == len(patterns)


def test_newer_entries_are_the_ones_marked_since() -> None:
    marked = {d.pattern: d.since for d in sections.SECTION_DEFS if d.since is not None}
    assert marked == NEWER_THAN_LIBBPF_1_1


@pytest.mark.oracle
def test_every_name_agrees_with_libbpf_1_1() -> None:
    by_name = _libbpf_prog_type_by_name()
    disagreements: list[tuple[object, ...]] = []
    checked = 0
    for name in _names():
        prog_type, attach_type = ctypes.c_int(-1), ctypes.c_int(-1)
        rc = by_name(name.encode(), ctypes.byref(prog_type), ctypes.byref(attach_type))
        ours = match(name)
        if ours is not None and ours.since is not None:
            # libbpf 1.1 predates the entry we matched: it must not know the name.
            if rc != -errno.ESRCH:
                disagreements.append((name, "expected ESRCH from 1.1", rc, prog_type.value))
            continue
        checked += 1
        if ours is None:
            if rc != -errno.ESRCH:
                disagreements.append((name, "unknown to us", rc, prog_type.value))
            continue
        want_attach = 0 if ours.expected_attach_type is None else int(ours.expected_attach_type)
        got = (rc, prog_type.value, attach_type.value)
        if got != (0, int(ours.prog_type), want_attach):
            disagreements.append((name, ours.pattern, got))
    assert disagreements == []
    assert checked > 300


@pytest.mark.parametrize(
    ("name", "prog_type", "attach", "target"),
    [
        ("kprobe/do_nanosleep", ProgType.KPROBE, None, "do_nanosleep"),
        ("kprobe", ProgType.KPROBE, None, None),
        ("fentry/tcp_v4_connect", ProgType.TRACING, AttachType.TRACE_FENTRY, "tcp_v4_connect"),
        ("iter/task", ProgType.TRACING, AttachType.TRACE_ITER, "task"),
        ("usdt/libc.so:prov:name", ProgType.KPROBE, None, "libc.so:prov:name"),
        ("xdp/devmap", ProgType.XDP, AttachType.XDP_DEVMAP, None),
        ("cgroup_skb/ingress", ProgType.CGROUP_SKB, AttachType.CGROUP_INET_INGRESS, None),
        (
            "tracepoint/syscalls/sys_enter_getpid",
            ProgType.TRACEPOINT,
            None,
            "syscalls/sys_enter_getpid",
        ),
        ("nonsense", ProgType.UNSPEC, None, None),
        ("kprobex/foo", ProgType.UNSPEC, None, None),
    ],
)
def test_program_section_fields(
    name: str, prog_type: ProgType, attach: AttachType | None, target: str | None
) -> None:
    sec = program_section(name)
    assert (sec.prog_type, sec.expected_attach_type, sec.attach_target) == (
        prog_type,
        attach,
        target,
    )
    assert sec.autoload


def test_question_mark_turns_autoload_off_and_is_not_part_of_matching() -> None:
    plain, lazy = program_section("xdp.frags"), program_section("?xdp.frags")
    assert not lazy.autoload and plain.autoload
    assert lazy.section_def is plain.section_def
    assert lazy.name == "?xdp.frags"
    # libbpf's matcher itself does not strip it.
    assert match("?xdp") is None


def test_flags() -> None:
    assert program_section("lsm.s/file_open").load_flags == ProgLoadFlag.SLEEPABLE
    assert program_section("lsm.s/file_open").attach_btf
    assert program_section("xdp.frags/cpumap").load_flags == ProgLoadFlag.XDP_HAS_FRAGS
    assert program_section("xdp").load_flags == ProgLoadFlag(0)
    assert program_section("syscall").sleepable
    assert program_section("kprobe/x").auto_attach
    assert not program_section("lsm_cgroup/x").auto_attach
    assert not program_section("nonsense").sleepable
    assert match("usdt.s/x") is not None
    assert SecFlag.USDT in match("usdt.s/x").flags  # type: ignore[union-attr]


def test_first_match_wins() -> None:
    assert match("sk_reuseport/migrate").expected_attach_type == (  # type: ignore[union-attr]
        AttachType.SK_REUSEPORT_SELECT_OR_MIGRATE
    )
    assert match("sk_reuseport") is not match("sk_reuseport/migrate")
    assert match("tc/ingress").expected_attach_type == AttachType.TCX_INGRESS  # type: ignore[union-attr]
