"""Running a bpf() command that writes a verifier (or BTF) log.

The kernel returns ENOSPC when the log does not fit; since 6.4 it also reports
the size it needed (``log_true_size``), older kernels only say "more", so the
buffer is grown to the reported size or fourfold, up to the cap.
"""

from __future__ import annotations

import ctypes
import errno
from dataclasses import dataclass

from loader.errors import KernelError, VerifierError
from loader.kernel.syscall import sys_bpf
from loader.uapi import Cmd

# The kernel rejects log buffers under 128 bytes with EINVAL.
MIN_LOG_SIZE = 128
DEFAULT_LOG_SIZE = 64 * 1024
# UINT_MAX >> 8: the largest log every kernel accepts (5.2 raised it to UINT_MAX >> 2).
MAX_LOG_SIZE = (1 << 24) - 1


@dataclass(frozen=True)
class LogFields:
    """The names of a command's log fields in its attr layout."""

    level: str
    size: str
    buf: str
    true_size: str


PROG_LOG = LogFields("log_level", "log_size", "log_buf", "log_true_size")
BTF_LOG = LogFields("btf_log_level", "btf_log_size", "btf_log_buf", "btf_log_true_size")


# Summary lines the verifier prints after its verdict; the reason comes before them.
_SUMMARY_PREFIXES = ("processed ", "verification time", "stack depth")


def reason(log: str) -> str:
    """The verifier's stated reason: the last log line that is not a summary line."""
    lines = [line for line in log.splitlines() if line.strip()]
    for line in reversed(lines):
        if not line.startswith(_SUMMARY_PREFIXES):
            return line
    return lines[-1] if lines else ""


def run_with_log(
    cmd: Cmd, attr: ctypes.Structure, fields: LogFields, log_level: int, log_size: int
) -> tuple[int, str]:
    """Run ``cmd``; return (result, log).  Failure raises :class:`VerifierError`.

    With ``log_level == 0`` the command runs without a log first (fast path) and,
    when it fails, once more with level 1 so the error carries the kernel's
    reason; the errno reported is the first attempt's.
    """
    first_errno: int | None = None
    if log_level == 0:
        try:
            return sys_bpf(cmd, attr), ""
        except KernelError as exc:
            if exc.errno == errno.EPERM:
                raise  # a log cannot explain missing privileges
            first_errno = exc.errno
        log_level = 1
    size = min(max(log_size, MIN_LOG_SIZE), MAX_LOG_SIZE)
    while True:
        buf = ctypes.create_string_buffer(size)
        setattr(attr, fields.level, log_level)
        setattr(attr, fields.size, size)
        setattr(attr, fields.buf, ctypes.addressof(buf))
        setattr(attr, fields.true_size, 0)
        try:
            return sys_bpf(cmd, attr), buf.value.decode("utf-8", "replace")
        except KernelError as exc:
            log = buf.value.decode("utf-8", "replace")
            if exc.errno == errno.ENOSPC and size < MAX_LOG_SIZE:
                needed = int(getattr(attr, fields.true_size))
                size = min(MAX_LOG_SIZE, max(size * 4, needed + 1))
                continue
            err = first_errno if first_errno is not None else (exc.errno or errno.EIO)
            raise VerifierError(f"BPF_{cmd.name}", err, log, reason(log)) from None
        finally:
            # The attr must not keep pointing at a buffer that is about to be freed.
            setattr(attr, fields.level, 0)
            setattr(attr, fields.size, 0)
            setattr(attr, fields.buf, 0)
