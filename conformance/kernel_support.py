"""Shared helpers for tests that talk to the running kernel."""

from __future__ import annotations

import os
from functools import cache

import pytest

from loader import asm
from loader.errors import KernelError
from loader.features.common import NATIVE


@cache
def bpf_unavailable() -> str | None:
    """Why bpf() cannot be used here, or None when it can."""
    from loader.kernel import bpf
    from loader.uapi import MapType

    try:
        bpf.map_create(MapType.ARRAY, 4, 4, 1).close()
    except KernelError as exc:
        return f"bpf() refused a map: {exc} (needs root or CAP_BPF)"
    except Exception as exc:  # no syscall number, no libc, ...
        return f"bpf() unusable: {exc}"
    return None


def kernel_marks() -> list[pytest.MarkDecorator]:
    """``kernel`` plus a skip naming why bpf() is unusable (unprivileged, not Linux)."""
    reason = bpf_unavailable()
    return [pytest.mark.kernel, pytest.mark.skipif(reason is not None, reason=reason or "")]


def open_fds() -> list[str]:
    return sorted(os.listdir("/proc/self/fd"))


def program(*insns: asm.Instruction) -> bytes:
    return asm.encode(list(insns), NATIVE)
