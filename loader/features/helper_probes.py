"""A set of helpers per program type: call the helper with no arguments set.

The verifier looks the helper up for the program type first and answers
"unknown func" (older: "invalid func") when it is not available; only after
that does it complain about the arguments, which means the helper exists.
Claimed minimums: the release that made the helper available to that program
type (bcc's kernel-versions list and the kernel's git history).  A helper can
reach a program type later than it entered <linux/bpf.h>; where that happened
the claim is the later release and the comment names the change.  Every claim
was also checked against the Debian kernels of the matrix (issue #7): present
on each line at or above the claim (5.10, 6.1, 6.12, 7.2), absent on the lines
below it.
"""

from __future__ import annotations

from loader import asm
from loader.errors import KernelError, VerifierError
from loader.features.common import code, load_outcome
from loader.features.registry import YES, Outcome, Probe, add, linux_version_code
from loader.uapi import ProgType

# BPF_FUNC_* ids (checked against <linux/bpf.h> by the conformance suite).
HELPER_IDS: dict[str, int] = {
    "map_lookup_elem": 1,
    "probe_read": 4,
    "ktime_get_ns": 5,
    "trace_printk": 6,
    "get_prandom_u32": 7,
    "skb_store_bytes": 9,
    "tail_call": 12,
    "get_current_pid_tgid": 14,
    "get_current_comm": 16,
    "redirect": 23,
    "perf_event_output": 25,
    "skb_load_bytes": 26,
    "get_stackid": 27,
    "csum_diff": 28,
    "get_current_task": 35,
    "xdp_adjust_head": 44,
    "probe_read_str": 45,
    "get_socket_cookie": 46,
    "skb_adjust_room": 50,
    "redirect_map": 51,
    "xdp_adjust_tail": 65,
    "fib_lookup": 69,
    "get_current_cgroup_id": 80,
    "sk_lookup_tcp": 84,
    "sysctl_get_name": 101,
    "send_signal": 109,
    "probe_read_kernel": 113,
    "jiffies64": 118,
    "ktime_get_boot_ns": 125,
    "ringbuf_output": 130,
    "get_current_task_btf": 158,
    "ktime_get_coarse_ns": 160,
    "for_each_map_elem": 164,
    "snprintf": 165,
    "get_func_ip": 173,
    "get_attach_cookie": 174,
    "loop": 181,
    "ktime_get_tai_ns": 208,
}

_MISSING_MARKERS = ("unknown func", "invalid func", "program of this type cannot use helper")

# (program type, helper, claimed minimum)
HELPER_PROBES: list[tuple[ProgType, str, str]] = [
    (ProgType.SOCKET_FILTER, "map_lookup_elem", "3.19"),
    # bcc: 4.1 (d9847d310ab4), but that commit gave it to tracing programs only; when
    # socket filters got it is not verified here (believed 4.2, "ebpf: allow
    # bpf_ktime_get_ns_proto also for networking").  Matrix: present on 5.10.
    (ProgType.SOCKET_FILTER, "ktime_get_ns", "4.1"),
    (ProgType.SOCKET_FILTER, "get_prandom_u32", "4.1"),
    # The helper is 4.5 (bcc, 05c74e5e53f6) but for tc only; socket filters got it
    # with "bpf: enable load bytes helper for filter/reuseport progs" (kernelnewbies
    # Linux_4.11).  Was 4.5.
    (ProgType.SOCKET_FILTER, "skb_load_bytes", "4.11"),
    (ProgType.SOCKET_FILTER, "get_socket_cookie", "4.12"),
    (ProgType.SOCKET_FILTER, "ringbuf_output", "5.8"),
    (ProgType.SOCKET_FILTER, "for_each_map_elem", "5.13"),
    (ProgType.SOCKET_FILTER, "loop", "5.17"),
    # Base helper since 5.11, but never for tracing programs (kernel/trace/bpf_trace.c
    # refuses it: the coarse clock is not NMI-safe).
    (ProgType.SOCKET_FILTER, "ktime_get_coarse_ns", "5.11"),
    (ProgType.SCHED_CLS, "skb_store_bytes", "4.1"),
    (ProgType.SCHED_CLS, "tail_call", "4.2"),
    (ProgType.SCHED_CLS, "redirect", "4.4"),
    (ProgType.SCHED_CLS, "csum_diff", "4.6"),
    (ProgType.SCHED_CLS, "skb_adjust_room", "4.13"),
    (ProgType.SCHED_CLS, "fib_lookup", "4.18"),
    (ProgType.SCHED_CLS, "sk_lookup_tcp", "4.20"),
    (ProgType.XDP, "xdp_adjust_head", "4.10"),
    (ProgType.XDP, "redirect_map", "4.14"),
    (ProgType.XDP, "xdp_adjust_tail", "4.18"),
    (ProgType.XDP, "fib_lookup", "4.18"),
    (ProgType.KPROBE, "probe_read", "4.1"),
    (ProgType.KPROBE, "trace_printk", "4.1"),
    (ProgType.KPROBE, "get_current_pid_tgid", "4.2"),
    (ProgType.KPROBE, "get_current_comm", "4.2"),
    (ProgType.KPROBE, "perf_event_output", "4.4"),
    (ProgType.KPROBE, "get_stackid", "4.6"),
    (ProgType.KPROBE, "get_current_task", "4.8"),
    (ProgType.KPROBE, "probe_read_str", "4.11"),
    (ProgType.KPROBE, "get_current_cgroup_id", "4.18"),
    (ProgType.KPROBE, "send_signal", "5.3"),
    (ProgType.KPROBE, "probe_read_kernel", "5.5"),
    # The helper is 5.5 (bcc, 5576b991e9c1) but went into bpf_base_func_proto only,
    # which kprobe programs did not fall back to; "bpf: allow tracing programs to
    # use bpf_jiffies64() helper" (Yonghong Song, bpf-next June 2020, the tcp/udp
    # bpf_iter series) added it to bpf_tracing_func_proto: 5.9.  Was 5.5.
    (ProgType.KPROBE, "jiffies64", "5.9"),
    # bcc: 5.8 (71d19214776e, applied 2020-04-26, after 5.7-rc1; the patch adds it to
    # bpf_tracing_func_proto too).  cilium/ebpf's helper test says 5.7: too early.
    (ProgType.KPROBE, "ktime_get_boot_ns", "5.8"),
    (ProgType.KPROBE, "get_current_task_btf", "5.11"),
    (ProgType.KPROBE, "get_func_ip", "5.15"),
    (ProgType.KPROBE, "get_attach_cookie", "5.15"),
    (ProgType.KPROBE, "ktime_get_tai_ns", "6.1"),
    (ProgType.TRACEPOINT, "snprintf", "5.13"),
    (ProgType.CGROUP_SYSCTL, "sysctl_get_name", "5.2"),
]


def _helper_missing(exc: KernelError) -> bool:
    return isinstance(exc, VerifierError) and any(m in exc.log for m in _MISSING_MARKERS)


def _helper(prog_type: ProgType, helper: str, claimed: str) -> Probe:
    def fn() -> Outcome:
        kw: dict[str, object] = {}
        if prog_type == ProgType.KPROBE:
            kw["kern_version"] = linux_version_code()
        insns = code(asm.call_helper(HELPER_IDS[helper]), asm.mov64_imm(0, 0), asm.exit_insn())
        try:
            return load_outcome(prog_type, insns, missing=_helper_missing, **kw)
        except VerifierError as exc:
            if exc.log.strip():
                return YES  # the helper was found; the empty arguments were refused
            raise

    name = f"helper_{prog_type.name.lower()}_{helper}"
    return Probe(name, claimed, "helper", fn)


for _pt, _h, _c in HELPER_PROBES:
    add(_helper(_pt, _h, _c))
