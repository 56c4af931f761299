"""bpfconform's reference eBPF ELF + BTF loader."""

from __future__ import annotations

from loader.errors import (
    BTFError,
    ELFError,
    ExtInfoError,
    KernelError,
    LoaderError,
    RelocationError,
    UnsupportedError,
    VerifierError,
)

__all__ = [
    "BTFError",
    "ELFError",
    "ExtInfoError",
    "KernelError",
    "LoaderError",
    "RelocationError",
    "UnsupportedError",
    "VerifierError",
]
