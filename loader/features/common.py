"""Building blocks shared by the probes: tiny programs, maps and BTF blobs."""

from __future__ import annotations

import errno
import sys
from collections.abc import Callable

from loader import asm
from loader.asm.instruction import Instruction
from loader.btf import encode_types
from loader.btf import types as t
from loader.btf.records import BTF_INT_SIGNED
from loader.errors import KernelError, VerifierError
from loader.features.registry import YES, No, Outcome
from loader.kernel import FD, bpf
from loader.kernel.log import reason
from loader.uapi import MapType, ProgType

NATIVE: asm.ByteOrder = "<" if sys.byteorder == "little" else ">"


def code(*insns: Instruction) -> bytes:
    return asm.encode(list(insns), NATIVE)


RET0 = (asm.mov64_imm(0, 0), asm.exit_insn())


def errname(err: int | None) -> str:
    return errno.errorcode.get(err or 0, str(err))


def describe(exc: KernelError) -> str:
    text = errname(exc.errno)
    if isinstance(exc, VerifierError) and exc.log.strip():
        text += f": {reason(exc.log)}"
    return text


def load_outcome(
    prog_type: int,
    insns: bytes,
    *,
    missing: Callable[[KernelError], bool],
    **kwargs: object,
) -> Outcome:
    """Load and close a program; ``missing(exc)`` says whether a rejection means
    "feature absent" (anything else is re-raised: undecided)."""
    try:
        fd = bpf.prog_load(prog_type, insns, log_level=1, **kwargs)  # type: ignore[arg-type]
    except KernelError as exc:
        if missing(exc):
            return No(describe(exc))
        raise
    fd.close()
    return YES


def map_outcome(missing_errnos: tuple[int, ...], **kwargs: object) -> Outcome:
    try:
        fd = bpf.map_create(**kwargs)  # type: ignore[arg-type]
    except KernelError as exc:
        if exc.errno in missing_errnos:
            return No(describe(exc))
        raise
    fd.close()
    return YES


def rejected_by_verifier(exc: KernelError) -> bool:
    """EINVAL/EACCES/E2BIG with a non-empty log: the verifier ran and said no."""
    return (
        isinstance(exc, VerifierError)
        and exc.errno in (errno.EINVAL, errno.EACCES, errno.E2BIG)
        and bool(exc.log.strip())
    )


def array_map(value_size: int = 8, flags: int = 0) -> FD:
    return bpf.map_create(MapType.ARRAY, 4, value_size, 1, flags=flags)


# The smallest BTF most probes need: [1] int.
INT = t.Int("int", 4, BTF_INT_SIGNED, 0, 32)


def btf_blob(*types: t.Type) -> bytes:
    return encode_types(list(types), NATIVE)


def btf_outcome(blob: bytes) -> Outcome:
    """BTF_LOAD a blob; EINVAL/E2BIG (with the BTF log) means "kind or rule unknown"."""
    try:
        fd = bpf.btf_load(blob)
    except KernelError as exc:
        if exc.errno in (errno.EINVAL, errno.E2BIG):
            return No(describe(exc))
        raise
    fd.close()
    return YES


SOCKET_FILTER = ProgType.SOCKET_FILTER
