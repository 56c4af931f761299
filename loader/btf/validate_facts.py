"""Which BTF_LOAD rules a kernel version applies (the version facts of the model).

Every fact names the kernel release that introduced it and the change in
kernel/bpf/btf.c it comes from.  A kernel is a ``(major, minor)`` pair; the
model treats every release of a line the same (stable backports of these
checks are not modelled).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from loader.btf import records as r

KernelVersion = tuple[int, int]

# The newest kind each kernel line knows (BTF_KIND_MAX in include/uapi/linux/btf.h).
# 4.18 shipped INT..RESTRICT; FUNC/FUNC_PROTO arrived in 5.0, VAR/DATASEC in 5.2,
# FLOAT in 5.13, DECL_TAG in 5.16 (first merged as BTF_KIND_TAG in the same cycle),
# TYPE_TAG in 5.17 and ENUM64 in 6.0.
_KIND_MAX_SINCE: tuple[tuple[KernelVersion, int], ...] = (
    ((6, 0), r.BTF_KIND_ENUM64),
    ((5, 17), r.BTF_KIND_TYPE_TAG),
    ((5, 16), r.BTF_KIND_DECL_TAG),
    ((5, 13), r.BTF_KIND_FLOAT),
    ((5, 2), r.BTF_KIND_DATASEC),
    ((5, 0), r.BTF_KIND_FUNC_PROTO),
    ((0, 0), r.BTF_KIND_RESTRICT),
)


@dataclass(frozen=True, slots=True)
class KernelFacts:
    """The BTF_LOAD behaviour of one kernel line."""

    version: KernelVersion
    kind_max: int
    # 5.6 ("bpf: Allow static/global linkage in BTF_KIND_FUNC"): vlen of FUNC
    # holds the linkage; before, any vlen != 0 was rejected.
    func_linkage: bool
    # 6.0 (ENUM64 series): kflag on ENUM means signed; before, it was rejected.
    enum_kflag: bool
    # 6.14 (btf_type_attr: kind_flag on DECL_TAG/TYPE_TAG marks an attribute):
    # before, both rejected kflag with "Invalid btf_info kind_flag".
    tag_kflag: bool
    # 6.5 (June 2023: __btf_name_char_ok lost its dot_ok argument): '.' is
    # accepted in every identifier, not only in DATASEC and VAR names.
    dot_in_identifiers: bool
    # 6.9 (bd70a8fb7ca4 "bpf: Allow all printable characters in BTF DATASEC names").
    printable_datasec_names: bool
    # KSYM_NAME_LEN bounds names (a name of exactly that length still passes):
    # 128 before 6.1, 512 since (Rust symbol names).
    name_len_limit: int
    # Newer kernels reject VAR/DATASEC/DECL_TAG as a FUNC_PROTO return or argument
    # type (btf_type_is_resolve_source_only in btf_func_proto_check; absent from
    # the 6.0-era btf.c, present in 6.12+ trees; 6.10 is an estimate).
    proto_source_only_check: bool
    # Header size the kernel knows: struct btf_header grew layout_off/layout_len
    # (32 bytes) in 7.1; older kernels require bytes past 24 to be zero.
    header_size: int


def facts_for(version: KernelVersion) -> KernelFacts:
    kind_max = next(k for since, k in _KIND_MAX_SINCE if version >= since)
    return KernelFacts(
        version=version,
        kind_max=kind_max,
        func_linkage=version >= (5, 6),
        enum_kflag=version >= (6, 0),
        tag_kflag=version >= (6, 14),
        dot_in_identifiers=version >= (6, 5),
        printable_datasec_names=version >= (6, 9),
        name_len_limit=512 if version >= (6, 1) else 128,
        proto_source_only_check=version >= (6, 10),
        header_size=r.BTF_HEADER_LAYOUT_SIZE if version >= (7, 1) else r.BTF_HEADER_V1_SIZE,
    )


_VERSION_RE = re.compile(r"^\s*(\d+)\.(\d+)")


def parse_kernel(kernel: str | tuple[int, int]) -> KernelVersion:
    """``"6.18"``, ``"6.18.44-fc"``, ``(6, 18)`` or ``"host"`` -> ``(major, minor)``."""
    if isinstance(kernel, tuple):
        if len(kernel) != 2 or not all(isinstance(x, int) and x >= 0 for x in kernel):
            raise ValueError(f"kernel version must be (major, minor), got {kernel!r}")
        return (kernel[0], kernel[1])
    if not isinstance(kernel, str):
        raise TypeError(f"kernel must be a str or (major, minor), got {type(kernel).__name__}")
    text = os.uname().release if kernel == "host" else kernel
    m = _VERSION_RE.match(text)
    if m is None:
        raise ValueError(f"cannot read a kernel version from {kernel!r}")
    return (int(m.group(1)), int(m.group(2)))


# lib/ctype.c: the kernel's ctype table covers Latin-1, so bytes 0xC0-0xFF (except
# 0xD7 and 0xF7) are letters, and 0xA0-0xFF are printable.  isalpha() and friends
# index it with the byte as unsigned char.
def k_isalpha(c: int) -> bool:
    return (
        0x41 <= c <= 0x5A
        or 0x61 <= c <= 0x7A
        or (0xC0 <= c <= 0xFF and c not in (0xD7, 0xF7))
    )


def k_isalnum(c: int) -> bool:
    return k_isalpha(c) or 0x30 <= c <= 0x39


def k_isprint(c: int) -> bool:
    return 0x20 <= c <= 0x7E or 0xA0 <= c <= 0xFF
