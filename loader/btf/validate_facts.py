"""Which BTF_LOAD rules a kernel version applies (the version facts of the model).

Every fact names the kernel release that introduced it and the change in
kernel/bpf/btf.c it comes from.  A kernel is a ``(major, minor)`` pair; the
model treats every release of a line the same, as its current stable release:
where a change was backported to older stable lines, the lines named in
``backported`` count as having it (each one seen on a real kernel of the VM
matrix or in the stable review posting cited next to it).
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


def _since(version: KernelVersion, mainline: KernelVersion,
           backported: frozenset[KernelVersion] = frozenset()) -> bool:
    """True on ``mainline`` and later, and on the stable lines in ``backported``."""
    return version >= mainline or version in backported


# 9724160b3942 "bpf/btf: Accept function names that contain dots" (bpf tree,
# June 2023, in 6.4; Cc: stable).  Stable: 6.3.10 (review posting 2023-06-26);
# 5.10 and 6.1 accept 'a.b' as a STRUCT name on Debian 5.10.223 and 6.1.176
# (VM matrix).  Other stable lines are not modelled.
_DOT_BACKPORTS = frozenset({(5, 10), (6, 1), (6, 3)})
# "bpf: Prevent decl_tag from being referenced in func_proto arg" (Stanislav
# Fomichev, lore 20221123035422, bpf-next Nov 2022, in 6.2): VAR/DATASEC/
# DECL_TAG as a FUNC_PROTO argument.  Stable: AUTOSEL for 6.0 and 5.10 (postings
# of 2022-12-18), "PATCH 5.10 523/783" (2023-01-12, 5.10.163); rejected on
# Debian 5.10.223 and 6.1.176 (VM matrix).
_PROTO_ARG_BACKPORTS = frozenset({(5, 10), (6, 0), (6, 1)})


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
    # 6.4 (9724160b3942: __btf_name_char_ok lost its dot_ok argument) and the
    # stable lines in _DOT_BACKPORTS: '.' is accepted in every identifier, not
    # only in DATASEC and VAR names.
    dot_in_identifiers: bool
    # 6.9 (bd70a8fb7ca4 "bpf: Allow all printable characters in BTF DATASEC names").
    printable_datasec_names: bool
    # KSYM_NAME_LEN bounds names (a name of exactly that length still passes):
    # 128 before 6.1, 512 since (Rust symbol names).
    name_len_limit: int
    # btf_func_proto_check rejects a return type that is VAR/DATASEC/DECL_TAG
    # (btf_type_is_resolve_source_only): ea68376c8bed "bpf: prevent decl_tag
    # from being referenced in func_proto", in 6.1.
    proto_ret_source_only: bool
    # ... and such an argument type: 6.2, and the stable lines in _PROTO_ARG_BACKPORTS.
    proto_arg_source_only: bool
    # both of the above (what the generators' proto.source_only family needs)
    proto_source_only_check: bool
    # FUNC is resolved like the other referring kinds (btf_func_resolve, d7e7b42f4f95
    # "bpf: Fix a btf decl_tag bug when tagging a function", 5.17; stable 5.16.y,
    # posting of 2022-04-05).  Before, FUNC is a resolve sink and btf_func_check
    # runs after the FUNC_PROTO check of the same id, so a modifier pointing at a
    # FUNC is "Invalid type_id" (Debian 5.10.223 rejects TYPEDEF -> FUNC; 6.1 accepts).
    func_resolve: bool
    # btf_check_type_tags (eb596b090558 "bpf: Ensure type tags precede modifiers
    # in BTF", bpf-next April 2022, with its chain_limit fix of June 2022 that
    # returns ELOOP past 32 modifiers): 5.19.  Debian 5.10.223 accepts a
    # 42-modifier chain; 6.1.176 returns ELOOP (VM matrix).
    modifier_chain_check: bool
    # The type-tag ordering half of that walk ("Type tags don't precede
    # modifiers"): gone by 7.2, where the walk is btf_check_modifier_chain_length
    # and only the ELOOP limit is left.  6.18 (host) still rejects PTR -> CONST ->
    # TYPE_TAG -> INT, 7.2.13 accepts it (VM matrix); the commit between them was
    # not found, so the change is encoded at 7.2, the first kernel seen without it
    # (clang gained type tags on typedefs in June 2026, llvm-project#203089).
    type_tag_order_check: bool
    # Header size the kernel knows: struct btf_header grew layout_off/layout_len
    # (32 bytes) in 7.1; older kernels require bytes past 24 to be zero.  With
    # the 32-byte header the layout section (struct btf_layout, 4 bytes per kind)
    # takes part in btf_check_sec_info, the string section need no longer be
    # last, and btf_parse_layout_sec checks its alignment and size (btf.c of the
    # 7.x trees; 7.2.13 rejects an 8-byte layout section at offset 0, VM matrix).
    header_size: int


def facts_for(version: KernelVersion) -> KernelFacts:
    kind_max = next(k for since, k in _KIND_MAX_SINCE if version >= since)
    return KernelFacts(
        version=version,
        kind_max=kind_max,
        func_linkage=version >= (5, 6),
        enum_kflag=version >= (6, 0),
        tag_kflag=version >= (6, 14),
        dot_in_identifiers=_since(version, (6, 4), _DOT_BACKPORTS),
        printable_datasec_names=version >= (6, 9),
        name_len_limit=512 if version >= (6, 1) else 128,
        proto_ret_source_only=version >= (6, 1),
        proto_arg_source_only=_since(version, (6, 2), _PROTO_ARG_BACKPORTS),
        proto_source_only_check=(version >= (6, 1)
                                 and _since(version, (6, 2), _PROTO_ARG_BACKPORTS)),
        func_resolve=_since(version, (5, 17), frozenset({(5, 16)})),
        modifier_chain_check=version >= (5, 19),
        type_tag_order_check=(5, 19) <= version < (7, 2),
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
