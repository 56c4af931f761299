"""The raw ``bpf(2)`` system call through ctypes."""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import platform
from collections.abc import Callable
from functools import cache

from loader.errors import KernelError, UnsupportedError
from loader.uapi import Cmd

# __NR_bpf per architecture (arch/*/include/uapi/asm/unistd*.h).
_SYS_BPF = {
    "x86_64": 321,
    "i386": 357,
    "i686": 357,
    "aarch64": 280,
    "riscv64": 280,
    "loongarch64": 280,
    "armv7l": 386,
    "ppc64le": 361,
    "ppc64": 361,
    "s390x": 351,
    "mips64": 5315,
}


@cache
def _libc_syscall() -> tuple[Callable[..., int], int]:
    machine = platform.machine()
    nr = _SYS_BPF.get(machine)
    if nr is None:
        raise UnsupportedError("bpf() syscall", detail=f"unknown syscall number on {machine}")
    libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    fn = libc.syscall
    fn.restype = ctypes.c_long
    fn.argtypes = [ctypes.c_long, ctypes.c_int, ctypes.c_void_p, ctypes.c_uint]
    syscall: Callable[..., int] = fn
    return syscall, nr


def sys_bpf(cmd: Cmd, attr: ctypes.Structure, size: int | None = None) -> int:
    """Issue one bpf() command; returns the kernel's non-negative result.

    Raises :class:`KernelError` carrying errno.  EINTR is retried, and EAGAIN for
    PROG_LOAD only: the verifier returns it when interrupted by a signal.
    """
    fn, nr = _libc_syscall()
    if size is None:
        size = ctypes.sizeof(attr)
    for _ in range(5):
        ret = int(fn(nr, int(cmd), ctypes.addressof(attr), size))
        if ret >= 0:
            return ret
        err = ctypes.get_errno()
        if err != errno.EINTR and not (err == errno.EAGAIN and cmd == Cmd.PROG_LOAD):
            break
    raise KernelError(f"BPF_{cmd.name}", err)
