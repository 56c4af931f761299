"""ELF section name -> program type, expected attach type and load flags.

The table is libbpf's ``section_defs[]`` (src/libbpf.c, libbpf commit f7081a6b,
116 entries, newer than release 1.7), transcribed as facts: order matters, the
first entry that matches wins, exactly as in libbpf's ``find_sec_def``.

Matching rules (libbpf's):

- ``"kprobe+"``: the name is either exactly ``kprobe`` or ``kprobe/<target>``;
  ``kprobex`` or ``kprobe.foo`` do not match this entry.
- ``"xdp/devmap"`` (no ``+``): the name must be exactly that.
- An entry ending in ``/`` would take any name with that prefix; the current
  table has none, but the rule is kept because older tables (libbpf < 1.0 had
  ``kprobe/``) and custom tables use it.
- A leading ``?`` (``SEC("?xdp")``) is stripped first and turns autoload off;
  ``libbpf_prog_type_by_name`` itself does not strip it, :func:`match` neither.
- Names libbpf < 1.0 accepted as "sloppy" prefixes (``xdp_foo``, ``kprobe_x``)
  are gone from libbpf 1.x; they get no entry here either.

An unknown name is a program of unspecified type (BPF_PROG_TYPE_UNSPEC), which
is what libbpf records before it refuses to load it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntFlag

from loader.uapi import AttachType, ProgLoadFlag, ProgType


class SecFlag(IntFlag):
    """libbpf's ``enum sec_def_flags``."""

    NONE = 0
    EXP_ATTACH_OPT = 1  # expected_attach_type may be dropped on old kernels
    ATTACHABLE = 2  # legacy BPF_PROG_ATTACH marker, only used for name listings
    ATTACHABLE_OPT = ATTACHABLE | EXP_ATTACH_OPT
    ATTACH_BTF = 4  # the target is a BTF id, named after the '/'
    SLEEPABLE = 8
    XDP_FRAGS = 16
    USDT = 32  # attach type becomes TRACE_UPROBE_MULTI where the kernel has it


@dataclass(frozen=True, slots=True)
class SectionDef:
    """One entry of the table.

    ``pattern`` is libbpf's spelling (``"kprobe+"``, ``"xdp/devmap"``);
    ``auto_attach`` says libbpf has an attach function for it (skeleton
    ``attach()`` handles it); ``since`` is the first libbpf release that has the
    entry, ``None`` when libbpf 1.1 (Debian 12) already has it.
    """

    pattern: str
    prog_type: ProgType
    expected_attach_type: AttachType | None
    flags: SecFlag
    auto_attach: bool = False
    since: str | None = None

    @property
    def prefix(self) -> str:
        return self.pattern.rstrip("+")

    def matches(self, name: str) -> bool:
        if self.pattern.endswith("/"):
            return name.startswith(self.pattern)
        if self.pattern.endswith("+"):
            prefix = self.pattern[:-1]
            if not name.startswith(prefix):
                return False
            rest = name[len(prefix) :]
            return rest == "" or rest.startswith("/")
        return name == self.pattern


@dataclass(frozen=True, slots=True)
class ProgramSection:
    """What a program's section name says about how to load it."""

    name: str  # as written, including a leading '?'
    section_def: SectionDef | None
    prog_type: ProgType
    expected_attach_type: AttachType | None
    autoload: bool
    attach_target: str | None  # text after '<prefix>/', e.g. a function name

    @property
    def sleepable(self) -> bool:
        return self._has(SecFlag.SLEEPABLE)

    @property
    def xdp_frags(self) -> bool:
        return self._has(SecFlag.XDP_FRAGS) and self.prog_type == ProgType.XDP

    @property
    def attach_btf(self) -> bool:
        """The kernel needs a BTF attach target (fentry, lsm, iter, tp_btf...)."""
        return self._has(SecFlag.ATTACH_BTF)

    @property
    def auto_attach(self) -> bool:
        return self.section_def is not None and self.section_def.auto_attach

    @property
    def load_flags(self) -> ProgLoadFlag:
        """``prog_flags`` for BPF_PROG_LOAD implied by the section."""
        flags = ProgLoadFlag(0)
        if self.sleepable:
            flags |= ProgLoadFlag.SLEEPABLE
        if self.xdp_frags:
            flags |= ProgLoadFlag.XDP_HAS_FRAGS
        return flags

    def _has(self, flag: SecFlag) -> bool:
        return self.section_def is not None and bool(self.section_def.flags & flag)


_P = ProgType
_A = AttachType
_F = SecFlag


def _d(
    pattern: str,
    prog_type: ProgType,
    attach: AttachType | None,
    flags: SecFlag = SecFlag.NONE,
    *,
    auto: bool = False,
    since: str | None = None,
) -> SectionDef:
    return SectionDef(pattern, prog_type, attach, flags, auto, since)


_BTF = _F.ATTACH_BTF
_SLEEP_BTF = _F.ATTACH_BTF | _F.SLEEPABLE

# ``since`` "1.8" marks entries in libbpf master after v1.7.0, not yet released.
# Order is significant (first match wins): "sk_reuseport/migrate" before
# "sk_reuseport", "xdp.frags/devmap" before "xdp.frags", and so on.
SECTION_DEFS: tuple[SectionDef, ...] = (
    _d("socket", _P.SOCKET_FILTER, None),
    _d("sk_reuseport/migrate", _P.SK_REUSEPORT, _A.SK_REUSEPORT_SELECT_OR_MIGRATE, _F.ATTACHABLE),
    _d("sk_reuseport", _P.SK_REUSEPORT, _A.SK_REUSEPORT_SELECT, _F.ATTACHABLE),
    _d("kprobe+", _P.KPROBE, None, auto=True),
    _d("uprobe+", _P.KPROBE, None, auto=True),
    _d("uprobe.s+", _P.KPROBE, None, _F.SLEEPABLE, auto=True),
    _d("kretprobe+", _P.KPROBE, None, auto=True),
    _d("uretprobe+", _P.KPROBE, None, auto=True),
    _d("uretprobe.s+", _P.KPROBE, None, _F.SLEEPABLE, auto=True),
    _d("kprobe.multi+", _P.KPROBE, _A.TRACE_KPROBE_MULTI, auto=True),
    _d("kretprobe.multi+", _P.KPROBE, _A.TRACE_KPROBE_MULTI, auto=True),
    _d("kprobe.session+", _P.KPROBE, _A.TRACE_KPROBE_SESSION, auto=True, since="1.5"),
    _d("uprobe.multi+", _P.KPROBE, _A.TRACE_UPROBE_MULTI, auto=True, since="1.3"),
    _d("uretprobe.multi+", _P.KPROBE, _A.TRACE_UPROBE_MULTI, auto=True, since="1.3"),
    _d("uprobe.session+", _P.KPROBE, _A.TRACE_UPROBE_SESSION, auto=True, since="1.6"),
    _d("uprobe.multi.s+", _P.KPROBE, _A.TRACE_UPROBE_MULTI, _F.SLEEPABLE, auto=True, since="1.3"),
    _d(
        "uretprobe.multi.s+",
        _P.KPROBE,
        _A.TRACE_UPROBE_MULTI,
        _F.SLEEPABLE,
        auto=True,
        since="1.3",
    ),
    _d(
        "uprobe.session.s+",
        _P.KPROBE,
        _A.TRACE_UPROBE_SESSION,
        _F.SLEEPABLE,
        auto=True,
        since="1.6",
    ),
    _d("ksyscall+", _P.KPROBE, None, auto=True),
    _d("kretsyscall+", _P.KPROBE, None, auto=True),
    _d("usdt+", _P.KPROBE, None, _F.USDT, auto=True),
    _d("usdt.s+", _P.KPROBE, None, _F.USDT | _F.SLEEPABLE, auto=True, since="1.3"),
    # libbpf >= 1.3 made "tc/ingress" and "tc/egress" aliases of tcx.
    _d("tc/ingress", _P.SCHED_CLS, _A.TCX_INGRESS, since="1.3"),
    _d("tc/egress", _P.SCHED_CLS, _A.TCX_EGRESS, since="1.3"),
    _d("tcx/ingress", _P.SCHED_CLS, _A.TCX_INGRESS, since="1.3"),
    _d("tcx/egress", _P.SCHED_CLS, _A.TCX_EGRESS, since="1.3"),
    _d("tc", _P.SCHED_CLS, None),
    _d("classifier", _P.SCHED_CLS, None),
    _d("action", _P.SCHED_ACT, None),
    _d("netkit/primary", _P.SCHED_CLS, _A.NETKIT_PRIMARY, since="1.3"),
    _d("netkit/peer", _P.SCHED_CLS, _A.NETKIT_PEER, since="1.3"),
    _d("tracepoint+", _P.TRACEPOINT, None, auto=True),
    _d("tp+", _P.TRACEPOINT, None, auto=True),
    _d("tracepoint.s+", _P.TRACEPOINT, None, _F.SLEEPABLE, auto=True, since="1.8"),
    _d("tp.s+", _P.TRACEPOINT, None, _F.SLEEPABLE, auto=True, since="1.8"),
    _d("raw_tracepoint+", _P.RAW_TRACEPOINT, None, auto=True),
    _d("raw_tp+", _P.RAW_TRACEPOINT, None, auto=True),
    _d("raw_tracepoint.s+", _P.RAW_TRACEPOINT, None, _F.SLEEPABLE, auto=True, since="1.8"),
    _d("raw_tp.s+", _P.RAW_TRACEPOINT, None, _F.SLEEPABLE, auto=True, since="1.8"),
    _d("raw_tracepoint.w+", _P.RAW_TRACEPOINT_WRITABLE, None, auto=True),
    _d("raw_tp.w+", _P.RAW_TRACEPOINT_WRITABLE, None, auto=True),
    _d("tp_btf+", _P.TRACING, _A.TRACE_RAW_TP, _BTF, auto=True),
    _d("tp_btf.s+", _P.TRACING, _A.TRACE_RAW_TP, _SLEEP_BTF, auto=True, since="1.8"),
    _d("fentry+", _P.TRACING, _A.TRACE_FENTRY, _BTF, auto=True),
    _d("fmod_ret+", _P.TRACING, _A.MODIFY_RETURN, _BTF, auto=True),
    _d("fexit+", _P.TRACING, _A.TRACE_FEXIT, _BTF, auto=True),
    _d("fentry.s+", _P.TRACING, _A.TRACE_FENTRY, _SLEEP_BTF, auto=True),
    _d("fmod_ret.s+", _P.TRACING, _A.MODIFY_RETURN, _SLEEP_BTF, auto=True),
    _d("fexit.s+", _P.TRACING, _A.TRACE_FEXIT, _SLEEP_BTF, auto=True),
    _d("fsession+", _P.TRACING, _A.TRACE_FSESSION, _BTF, auto=True, since="1.7"),
    _d("fsession.s+", _P.TRACING, _A.TRACE_FSESSION, _SLEEP_BTF, auto=True, since="1.7"),
    # The multi variants name many targets by pattern: no single BTF target.
    _d("fsession.multi+", _P.TRACING, _A.TRACE_FSESSION_MULTI, auto=True, since="1.8"),
    _d(
        "fsession.multi.s+",
        _P.TRACING,
        _A.TRACE_FSESSION_MULTI,
        _F.SLEEPABLE,
        auto=True,
        since="1.8",
    ),
    _d("fentry.multi+", _P.TRACING, _A.TRACE_FENTRY_MULTI, auto=True, since="1.8"),
    _d("fexit.multi+", _P.TRACING, _A.TRACE_FEXIT_MULTI, auto=True, since="1.8"),
    _d(
        "fentry.multi.s+",
        _P.TRACING,
        _A.TRACE_FENTRY_MULTI,
        _F.SLEEPABLE,
        auto=True,
        since="1.8",
    ),
    _d("fexit.multi.s+", _P.TRACING, _A.TRACE_FEXIT_MULTI, _F.SLEEPABLE, auto=True, since="1.8"),
    _d("freplace+", _P.EXT, None, _BTF, auto=True),
    _d("lsm+", _P.LSM, _A.LSM_MAC, _BTF, auto=True),
    _d("lsm.s+", _P.LSM, _A.LSM_MAC, _SLEEP_BTF, auto=True),
    _d("lsm_cgroup+", _P.LSM, _A.LSM_CGROUP, _BTF),
    _d("iter+", _P.TRACING, _A.TRACE_ITER, _BTF, auto=True),
    _d("iter.s+", _P.TRACING, _A.TRACE_ITER, _SLEEP_BTF, auto=True),
    _d("syscall", _P.SYSCALL, None, _F.SLEEPABLE),
    _d("xdp.frags/devmap", _P.XDP, _A.XDP_DEVMAP, _F.XDP_FRAGS),
    _d("xdp/devmap", _P.XDP, _A.XDP_DEVMAP, _F.ATTACHABLE),
    _d("xdp.frags/cpumap", _P.XDP, _A.XDP_CPUMAP, _F.XDP_FRAGS),
    _d("xdp/cpumap", _P.XDP, _A.XDP_CPUMAP, _F.ATTACHABLE),
    _d("xdp.frags", _P.XDP, _A.XDP, _F.XDP_FRAGS),
    _d("xdp", _P.XDP, _A.XDP, _F.ATTACHABLE_OPT),
    _d("perf_event", _P.PERF_EVENT, None),
    _d("lwt_in", _P.LWT_IN, None),
    _d("lwt_out", _P.LWT_OUT, None),
    _d("lwt_xmit", _P.LWT_XMIT, None),
    _d("lwt_seg6local", _P.LWT_SEG6LOCAL, None),
    _d("sockops", _P.SOCK_OPS, _A.CGROUP_SOCK_OPS, _F.ATTACHABLE_OPT),
    _d("sk_skb/stream_parser", _P.SK_SKB, _A.SK_SKB_STREAM_PARSER, _F.ATTACHABLE_OPT),
    _d("sk_skb/stream_verdict", _P.SK_SKB, _A.SK_SKB_STREAM_VERDICT, _F.ATTACHABLE_OPT),
    _d("sk_skb/verdict", _P.SK_SKB, _A.SK_SKB_VERDICT, _F.ATTACHABLE_OPT, since="1.4"),
    _d("sk_skb", _P.SK_SKB, None),
    _d("sk_msg", _P.SK_MSG, _A.SK_MSG_VERDICT, _F.ATTACHABLE_OPT),
    _d("lirc_mode2", _P.LIRC_MODE2, _A.LIRC_MODE2, _F.ATTACHABLE_OPT),
    _d("flow_dissector", _P.FLOW_DISSECTOR, _A.FLOW_DISSECTOR, _F.ATTACHABLE_OPT),
    _d("cgroup_skb/ingress", _P.CGROUP_SKB, _A.CGROUP_INET_INGRESS, _F.ATTACHABLE_OPT),
    _d("cgroup_skb/egress", _P.CGROUP_SKB, _A.CGROUP_INET_EGRESS, _F.ATTACHABLE_OPT),
    _d("cgroup/skb", _P.CGROUP_SKB, None),
    _d("cgroup/sock_create", _P.CGROUP_SOCK, _A.CGROUP_INET_SOCK_CREATE, _F.ATTACHABLE),
    _d("cgroup/sock_release", _P.CGROUP_SOCK, _A.CGROUP_INET_SOCK_RELEASE, _F.ATTACHABLE),
    _d("cgroup/sock", _P.CGROUP_SOCK, _A.CGROUP_INET_SOCK_CREATE, _F.ATTACHABLE_OPT),
    _d("cgroup/post_bind4", _P.CGROUP_SOCK, _A.CGROUP_INET4_POST_BIND, _F.ATTACHABLE),
    _d("cgroup/post_bind6", _P.CGROUP_SOCK, _A.CGROUP_INET6_POST_BIND, _F.ATTACHABLE),
    _d("cgroup/bind4", _P.CGROUP_SOCK_ADDR, _A.CGROUP_INET4_BIND, _F.ATTACHABLE),
    _d("cgroup/bind6", _P.CGROUP_SOCK_ADDR, _A.CGROUP_INET6_BIND, _F.ATTACHABLE),
    _d("cgroup/connect4", _P.CGROUP_SOCK_ADDR, _A.CGROUP_INET4_CONNECT, _F.ATTACHABLE),
    _d("cgroup/connect6", _P.CGROUP_SOCK_ADDR, _A.CGROUP_INET6_CONNECT, _F.ATTACHABLE),
    _d(
        "cgroup/connect_unix",
        _P.CGROUP_SOCK_ADDR,
        _A.CGROUP_UNIX_CONNECT,
        _F.ATTACHABLE,
        since="1.3",
    ),
    _d("cgroup/sendmsg4", _P.CGROUP_SOCK_ADDR, _A.CGROUP_UDP4_SENDMSG, _F.ATTACHABLE),
    _d("cgroup/sendmsg6", _P.CGROUP_SOCK_ADDR, _A.CGROUP_UDP6_SENDMSG, _F.ATTACHABLE),
    _d(
        "cgroup/sendmsg_unix",
        _P.CGROUP_SOCK_ADDR,
        _A.CGROUP_UNIX_SENDMSG,
        _F.ATTACHABLE,
        since="1.3",
    ),
    _d("cgroup/recvmsg4", _P.CGROUP_SOCK_ADDR, _A.CGROUP_UDP4_RECVMSG, _F.ATTACHABLE),
    _d("cgroup/recvmsg6", _P.CGROUP_SOCK_ADDR, _A.CGROUP_UDP6_RECVMSG, _F.ATTACHABLE),
    _d(
        "cgroup/recvmsg_unix",
        _P.CGROUP_SOCK_ADDR,
        _A.CGROUP_UNIX_RECVMSG,
        _F.ATTACHABLE,
        since="1.3",
    ),
    _d("cgroup/getpeername4", _P.CGROUP_SOCK_ADDR, _A.CGROUP_INET4_GETPEERNAME, _F.ATTACHABLE),
    _d("cgroup/getpeername6", _P.CGROUP_SOCK_ADDR, _A.CGROUP_INET6_GETPEERNAME, _F.ATTACHABLE),
    _d(
        "cgroup/getpeername_unix",
        _P.CGROUP_SOCK_ADDR,
        _A.CGROUP_UNIX_GETPEERNAME,
        _F.ATTACHABLE,
        since="1.3",
    ),
    _d("cgroup/getsockname4", _P.CGROUP_SOCK_ADDR, _A.CGROUP_INET4_GETSOCKNAME, _F.ATTACHABLE),
    _d("cgroup/getsockname6", _P.CGROUP_SOCK_ADDR, _A.CGROUP_INET6_GETSOCKNAME, _F.ATTACHABLE),
    _d(
        "cgroup/getsockname_unix",
        _P.CGROUP_SOCK_ADDR,
        _A.CGROUP_UNIX_GETSOCKNAME,
        _F.ATTACHABLE,
        since="1.3",
    ),
    _d("cgroup/sysctl", _P.CGROUP_SYSCTL, _A.CGROUP_SYSCTL, _F.ATTACHABLE),
    _d("cgroup/getsockopt", _P.CGROUP_SOCKOPT, _A.CGROUP_GETSOCKOPT, _F.ATTACHABLE),
    _d("cgroup/setsockopt", _P.CGROUP_SOCKOPT, _A.CGROUP_SETSOCKOPT, _F.ATTACHABLE),
    _d("cgroup/dev", _P.CGROUP_DEVICE, _A.CGROUP_DEVICE, _F.ATTACHABLE_OPT),
    _d("struct_ops+", _P.STRUCT_OPS, None),
    _d("struct_ops.s+", _P.STRUCT_OPS, None, _F.SLEEPABLE, since="1.2"),
    _d("sk_lookup", _P.SK_LOOKUP, _A.SK_LOOKUP, _F.ATTACHABLE),
    _d("netfilter", _P.NETFILTER, _A.NETFILTER, since="1.3"),
)


def match(section_name: str) -> SectionDef | None:
    """The first table entry matching ``section_name`` as given (no '?' handling).

    This is libbpf's ``find_sec_def`` and so what ``libbpf_prog_type_by_name``
    answers from.
    """
    for sec_def in SECTION_DEFS:
        if sec_def.matches(section_name):
            return sec_def
    return None


def program_section(section_name: str) -> ProgramSection:
    """Interpret a program's ELF section name the way libbpf's object open does."""
    autoload = not section_name.startswith("?")
    name = section_name if autoload else section_name[1:]
    sec_def = match(name)
    if sec_def is None:
        return ProgramSection(section_name, None, ProgType.UNSPEC, None, autoload, None)
    target: str | None = None
    if sec_def.pattern.endswith(("+", "/")):
        rest = name[len(sec_def.pattern.rstrip("+")) :]
        target = rest.removeprefix("/") or None
    return ProgramSection(
        section_name,
        sec_def,
        sec_def.prog_type,
        sec_def.expected_attach_type,
        autoload,
        target,
    )
