"""The exception tree of the loader.

Every parser in :mod:`loader` raises only :class:`LoaderError` subclasses on any
input; the fuzz targets check exactly that.  Messages name where the problem is
(an offset, a section, a type id) and the value that was wrong.
"""

from __future__ import annotations

import errno as _errno
import os


class LoaderError(Exception):
    """Root of every error the loader raises on purpose."""


class ELFError(LoaderError):
    """The ELF container is malformed or is not an eBPF object."""


class BTFError(LoaderError):
    """A BTF blob (raw, from .BTF, or split) is malformed."""


class ExtInfoError(BTFError):
    """A .BTF.ext section (func_info, line_info, CO-RE relocations) is malformed."""


class RelocationError(LoaderError):
    """A relocation cannot be applied: bad target, symbol or instruction."""


class CollectionError(LoaderError):
    """An object's maps, data sections or programs are malformed or inconsistent
    (bad BTF map definition, variable outside its section, duplicate names, ...)."""


class InstructionError(LoaderError):
    """An instruction stream is malformed (truncated, ld_imm64 missing its second half)."""


class UnsupportedError(LoaderError):
    """A feature is not supported by the kernel (or by this loader).

    ``min_kernel`` is the first kernel version (``"x.y"``) that has it, when known.
    """

    def __init__(self, feature: str, min_kernel: str | None = None, detail: str = "") -> None:
        self.feature = feature
        self.min_kernel = min_kernel
        self.detail = detail
        msg = f"{feature} not supported"
        if min_kernel:
            msg += f" (requires kernel >= {min_kernel})"
        if detail:
            msg += f": {detail}"
        super().__init__(msg)


class KernelError(LoaderError, OSError):
    """A bpf() command failed; ``errno`` carries the kernel's answer."""

    def __init__(self, command: str, err: int, detail: str = "") -> None:
        self.command = command
        text = f"{command}: {_errno.errorcode.get(err, str(err))} ({os.strerror(err)})"
        if detail:
            text += f": {detail}"
        OSError.__init__(self, err, text)

    def __str__(self) -> str:
        return str(self.strerror)


class VerifierError(KernelError):
    """The verifier rejected a program (or BTF); ``log`` holds the kernel's log."""

    def __init__(self, command: str, err: int, log: str, detail: str = "") -> None:
        super().__init__(command, err, detail)
        self.log = log

    @property
    def log_tail(self) -> str:
        """The last few lines of the log, where the verifier states its reason."""
        lines = [line for line in self.log.splitlines() if line.strip()]
        return "\n".join(lines[-5:])
