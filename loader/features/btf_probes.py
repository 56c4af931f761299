"""BTF kinds and rules: each probe loads the smallest blob that uses one of them.

Claimed minimums are the kernel releases that added each kind or rule
(kernel/bpf/btf.c history; the same numbers cilium/ebpf's btf/feature.go claims
for BTF, func, linkage, datasec, decl tag, type tag and enum64).  FLOAT (5.13) is
libbpf's FEAT_BTF_FLOAT kind, not in cilium's list; the Debian matrix bounds it
(absent on 5.10, present on 6.1).
"""

from __future__ import annotations

from loader.btf import types as t
from loader.btf.encode import encode_types
from loader.btf.header import KindLayout
from loader.features.common import INT, NATIVE, btf_blob, btf_outcome
from loader.features.registry import Outcome, probe

_PROTO = t.FuncProto(return_type=1, params=())  # int (void)


@probe("btf", "4.18", "btf")
def btf() -> Outcome:
    return btf_outcome(btf_blob(INT))


@probe("btf_func", "5.0", "btf")
def btf_func() -> Outcome:
    return btf_outcome(btf_blob(INT, _PROTO, t.Func("f", 2, 0)))


@probe("btf_func_global", "5.6", "btf")
def btf_func_global() -> Outcome:
    # BTF_FUNC_GLOBAL linkage in the FUNC's vlen.
    return btf_outcome(btf_blob(INT, _PROTO, t.Func("f", 2, 1)))


@probe("btf_datasec", "5.2", "btf")
def btf_datasec() -> Outcome:
    return btf_outcome(
        btf_blob(INT, t.Var("x", 1, 0), t.Datasec(".data", 4, (t.VarSecinfo(2, 0, 4),)))
    )


@probe("btf_float", "5.13", "btf")
def btf_float() -> Outcome:
    return btf_outcome(btf_blob(t.Float("float", 4)))


@probe("btf_decl_tag", "5.16", "btf")
def btf_decl_tag() -> Outcome:
    return btf_outcome(btf_blob(INT, t.Typedef("t", 1), t.DeclTag("tag", 2, -1)))


@probe("btf_type_tag", "5.17", "btf")
def btf_type_tag() -> Outcome:
    return btf_outcome(btf_blob(INT, t.TypeTag("tag", 1), t.Pointer(2)))


@probe("btf_enum64", "6.0", "btf")
def btf_enum64() -> Outcome:
    return btf_outcome(btf_blob(t.Enum64("e", 8, (t.EnumValue("A", 1 << 40),))))


@probe("btf_qmark_datasec", "6.9", "btf")
def btf_qmark_datasec() -> Outcome:
    # bd70a8fb7ca4 "bpf: Allow all printable characters in BTF DATASEC names"
    # (Eduard Zingerman, March 2024) went to net-next in "pull-request: bpf-next
    # 2024-03-11", together with bpf_arena (6.9, cilium/ebpf's map matrix): 6.9.
    # Matrix: absent on 6.1, present on 6.12.  Was 6.7.  libbpf renames '?' to '_'
    # for older kernels (FEAT_BTF_QMARK_DATASEC).
    return btf_outcome(
        btf_blob(INT, t.Var("x", 1, 0), t.Datasec("?.data", 4, (t.VarSecinfo(2, 0, 4),)))
    )


# struct btf_layout {info_sz, elem_sz} per kind, UNKN..ENUM64 (include/uapi/linux/btf.h).
_KIND_LAYOUT = (
    (0, 0),
    (4, 0),
    (0, 0),
    (12, 0),
    (0, 12),
    (0, 12),
    (0, 8),
    (0, 0),
    (0, 0),
    (0, 0),
    (0, 0),
    (0, 0),
    (0, 0),
    (0, 8),
    (4, 0),
    (0, 12),
    (0, 0),
    (4, 0),
    (0, 0),
    (0, 12),
)


# 7.1 per FACTS.md ("Linux 7.1 BTF headers with the new layout_off/layout_len");
# the matrix bounds it (E2BIG on 6.18, accepted on 7.2); not confirmed further.
@probe("btf_layout_section", "7.1", "btf")
def btf_layout_section() -> Outcome:
    # The 32-byte header with layout_off/layout_len; older kernels see a non-zero
    # trailer after their 24-byte header and answer E2BIG.
    layout = tuple(KindLayout(i, e) for i, e in _KIND_LAYOUT)
    return btf_outcome(encode_types([INT], NATIVE, layout=layout))
