"""Resolving attach targets (fentry/fexit/tp_btf/lsm/iter) in the running kernel's BTF."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from loader.btf import Spec, parse_raw
from loader.btf.records import BTF_KIND_FUNC, BTF_KIND_TYPEDEF
from loader.errors import UnsupportedError

VMLINUX_BTF = Path("/sys/kernel/btf/vmlinux")


@cache
def vmlinux_spec() -> Spec:
    """The running kernel's BTF (CONFIG_DEBUG_INFO_BTF, 5.4+), parsed once per process."""
    try:
        data = VMLINUX_BTF.read_bytes()
    except OSError as exc:
        raise UnsupportedError("vmlinux BTF", "5.4", f"{VMLINUX_BTF}: {exc.strerror}") from None
    return parse_raw(data)


def attach_btf_id(name: str, kind: int = BTF_KIND_FUNC) -> int:
    """The vmlinux type id a tracing program attaches to.

    fentry/fexit/fmod_ret/lsm name a FUNC (``bpf_lsm_<hook>`` for lsm); tp_btf
    names the TYPEDEF ``btf_trace_<tp>``; iter names the FUNC ``bpf_iter_<target>``.
    """
    return vmlinux_spec().find(name, kind)


def tp_btf_id(tracepoint: str) -> int:
    return attach_btf_id(f"btf_trace_{tracepoint}", BTF_KIND_TYPEDEF)
