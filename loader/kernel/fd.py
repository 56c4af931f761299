"""Ownership of one kernel file descriptor."""

from __future__ import annotations

import errno
import fcntl
import os
from types import TracebackType

from loader.errors import KernelError

# Some commands read fd 0 as "no fd" (inner_map_fd, btf_fd, ...), so a bpf object
# must never live on 0-2: libbpf moves such fds up too.
_MIN_FD = 3


class FD:
    """Owns one fd: ``close()`` is idempotent, ``with`` closes, ``__del__`` as a last resort."""

    __slots__ = ("__weakref__", "_fd")

    def __init__(self, fd: int) -> None:
        if fd < 0:
            raise KernelError("FD", errno.EBADF, f"invalid fd {fd}")
        if fd < _MIN_FD:
            try:
                moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, _MIN_FD)
            finally:
                os.close(fd)
            fd = moved
        self._fd = fd

    @property
    def fd(self) -> int:
        if self._fd < 0:
            raise KernelError("FD", errno.EBADF, "use of a closed fd")
        return self._fd

    @property
    def closed(self) -> bool:
        return self._fd < 0

    def fileno(self) -> int:
        return self.fd

    def close(self) -> None:
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)

    def dup(self) -> FD:
        """A second owner of the same kernel object (close-on-exec, like bpf() fds)."""
        return FD(fcntl.fcntl(self.fd, fcntl.F_DUPFD_CLOEXEC, _MIN_FD))

    def __enter__(self) -> FD:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:
        # Only reached when an owner forgot close(); getattr covers a failed __init__.
        if getattr(self, "_fd", -1) >= 0:
            self.close()

    def __repr__(self) -> str:
        return f"FD({self._fd})" if self._fd >= 0 else "FD(closed)"
