"""One probe per program type: load ``r0 = 0; exit`` as that type.

An unknown (or compiled-out) program type is refused before the verifier
runs: EINVAL with an empty log.  Any verifier complaint means the type exists
(tracing-style types are refused for their missing attach target, which is
fine: the kernel knew the type).  Claimed minimums: the release that added each
type; all agree with cilium/ebpf's features/prog.go matrix and with bcc's
kernel-versions.md where it lists the type, and the Debian matrix kernels bound
them (5.10 ends at SK_LOOKUP, 6.1 at SYSCALL, 6.12 and later at NETFILTER).
LIRC_MODE2 needs CONFIG_BPF_LIRC_MODE2, which depends on RC_CORE=y: Debian builds
RC_CORE=m, so no Debian kernel has the type (see probe_allowlist.json).
"""

from __future__ import annotations

import errno

from loader.errors import KernelError, VerifierError
from loader.features.common import RET0, code, load_outcome
from loader.features.registry import YES, Outcome, Probe, add, linux_version_code
from loader.uapi import AttachType, ProgType


def _unknown_type(exc: KernelError) -> bool:
    log = exc.log if isinstance(exc, VerifierError) else ""
    return exc.errno == errno.EINVAL and not log.strip()


def _prog(prog_type: ProgType, expected_attach_type: int = 0) -> Probe:
    def fn() -> Outcome:
        kw: dict[str, object] = {}
        if expected_attach_type:
            kw["expected_attach_type"] = expected_attach_type
        if prog_type == ProgType.KPROBE:
            kw["kern_version"] = linux_version_code()  # required before 5.0
        try:
            return load_outcome(prog_type, code(*RET0), missing=_unknown_type, **kw)
        except VerifierError as exc:
            if exc.log.strip():
                # The verifier ran: the type exists, only the program is wrong
                # for it (no attach target, not sleepable, ...).
                return YES
            raise

    return Probe(f"prog_type_{prog_type.name.lower()}", _CLAIMS[prog_type], "prog_type", fn)


_CLAIMS: dict[ProgType, str] = {
    ProgType.SOCKET_FILTER: "3.19",
    ProgType.KPROBE: "4.1",
    ProgType.SCHED_CLS: "4.1",
    ProgType.SCHED_ACT: "4.1",
    ProgType.TRACEPOINT: "4.7",
    ProgType.XDP: "4.8",
    ProgType.PERF_EVENT: "4.9",
    ProgType.CGROUP_SKB: "4.10",
    ProgType.CGROUP_SOCK: "4.10",
    ProgType.LWT_IN: "4.10",
    ProgType.LWT_OUT: "4.10",
    ProgType.LWT_XMIT: "4.10",
    ProgType.SOCK_OPS: "4.13",
    ProgType.SK_SKB: "4.14",
    ProgType.CGROUP_DEVICE: "4.15",
    ProgType.SK_MSG: "4.17",
    ProgType.RAW_TRACEPOINT: "4.17",
    ProgType.CGROUP_SOCK_ADDR: "4.17",
    ProgType.LWT_SEG6LOCAL: "4.18",
    ProgType.LIRC_MODE2: "4.18",
    ProgType.SK_REUSEPORT: "4.19",
    ProgType.FLOW_DISSECTOR: "4.20",
    ProgType.CGROUP_SYSCTL: "5.2",
    ProgType.RAW_TRACEPOINT_WRITABLE: "5.2",
    ProgType.CGROUP_SOCKOPT: "5.3",
    ProgType.TRACING: "5.5",
    ProgType.STRUCT_OPS: "5.6",
    ProgType.EXT: "5.6",
    ProgType.LSM: "5.7",
    ProgType.SK_LOOKUP: "5.9",
    ProgType.SYSCALL: "5.14",
    ProgType.NETFILTER: "6.4",
}

# Types whose load needs an expected attach type to get past attr checks.
_EXPECTED: dict[ProgType, int] = {
    ProgType.CGROUP_SOCK_ADDR: AttachType.CGROUP_INET4_CONNECT,
    ProgType.CGROUP_SOCKOPT: AttachType.CGROUP_GETSOCKOPT,
    ProgType.SK_LOOKUP: AttachType.SK_LOOKUP,
    ProgType.NETFILTER: AttachType.NETFILTER,
    ProgType.TRACING: AttachType.TRACE_FENTRY,
    ProgType.LSM: AttachType.LSM_MAC,
}

for _t in ProgType:
    if _t != ProgType.UNSPEC:
        add(_prog(_t, _EXPECTED.get(_t, 0)))
