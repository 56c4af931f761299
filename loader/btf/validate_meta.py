"""Pass 1 of the BTF_LOAD model: walk the raw type records and run each kind's
``check_meta`` (kernel/bpf/btf.c btf_check_all_metas), in the kernel's order.

Nothing here needs a successful parse: the walk reads the records with the tables
of :mod:`loader.btf.records` and stops at the first record the kernel refuses.
"""

from __future__ import annotations

import errno
from collections.abc import Sequence
from dataclasses import dataclass

from loader.btf import records as r
from loader.btf.validate_facts import KernelFacts, k_isalnum, k_isalpha, k_isprint

# include/linux/errno.h: ENOTSUPP is kernel-internal but reaches user space as is.
ENOTSUPP = 524

# btf.c BTF_INFO_MASK: kflag, 5 kind bits, 16 vlen bits.
BTF_INFO_MASK = 0x9F00FFFF
BTF_INT_MASK = 0x0FFFFFFF
BITS_PER_U128 = 128
U32_MAX = 0xFFFFFFFF


class Reject(Exception):
    """The kernel refuses the blob: ``errno`` and the kernel's own log words."""

    def __init__(self, err: int, reason: str) -> None:
        super().__init__(reason)
        self.err = err
        self.reason = reason


@dataclass(slots=True)
class RawType:
    """One btf_type record and its trailing data, as the kernel sees it."""

    type_id: int
    name_off: int
    info: int
    size_type: int
    kind: int
    vlen: int
    kflag: bool
    # INT: the u32 after the record
    int_data: int = 0
    # ARRAY: (type, index_type, nelems)
    array: tuple[int, int, int] = (0, 0, 0)
    # STRUCT/UNION members (name_off, type, offset), FUNC_PROTO params (name_off, type),
    # DATASEC var_secinfo (type, offset, size), ENUM/ENUM64 names
    # (empty tuples by default: a million types must not cost three lists each)
    members: Sequence[tuple[int, int, int]] = ()
    params: Sequence[tuple[int, int]] = ()
    enum_names: Sequence[int] = ()
    # VAR linkage, DECL_TAG component_idx
    linkage: int = 0
    component_idx: int = 0


class Strings:
    """The string section as the kernel indexes it (btf_str_by_offset)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def offset_valid(self, off: int) -> bool:
        # btf_name_offset_valid
        return off <= r.BTF_MAX_NAME_OFFSET and off < len(self.data)

    def at(self, off: int) -> bytes:
        """The NUL-terminated string at ``off`` (the section ends with NUL)."""
        end = self.data.index(0, off)
        return self.data[off:end]

    def identifier_ok(self, off: int, facts: KernelFacts, *, dot_ok: bool = False) -> bool:
        # __btf_name_valid / btf_name_valid_identifier: a C identifier no longer than
        # KSYM_NAME_LEN - 1; '.' allowed in every identifier since 6.5, before only
        # where the caller allows it (DATASEC and VAR names).
        dot = dot_ok or facts.dot_in_identifiers
        name = self.at(off)
        if not name or len(name) > facts.name_len_limit:
            return False
        for i, c in enumerate(name):
            ok = k_isalpha(c) if i == 0 else k_isalnum(c)
            if not ok and c != 0x5F and not (dot and c == 0x2E):
                return False
        return True

    def section_ok(self, off: int, facts: KernelFacts) -> bool:
        # btf_name_valid_section: since 6.9 any printable characters; before,
        # an identifier that may contain '.'.
        if not facts.printable_datasec_names:
            return self.identifier_ok(off, facts, dot_ok=True)
        name = self.at(off)
        if not name or len(name) > facts.name_len_limit:
            return False
        return all(k_isprint(c) for c in name)

    def nonempty(self, off: int) -> bool:
        # DECL_TAG / TYPE_TAG values: any non-empty string
        return self.offset_valid(off) and self.data[off] != 0


def _type_id_valid(type_id: int) -> bool:
    return type_id <= r.BTF_MAX_TYPE


def check_all_metas(
    data: bytes, bo: r.Records, strings: Strings, facts: KernelFacts
) -> list[RawType]:
    """Walk the type section ``data``; return the types in id order (id 1 first).

    The kernel keeps at most BTF_MAX_TYPE - 1 types (ids 1..0xffffe); btf_add_type's
    E2BIG is ignored by btf_check_all_metas, so records past the limit are checked
    and then silently dropped.
    """
    types: list[RawType] = []
    cur = 0
    end = len(data)
    type_id = 1
    while cur < end:
        t, size = _check_meta(data, cur, end - cur, type_id, bo, strings, facts)
        if len(types) < r.BTF_MAX_TYPE - 1:
            types.append(t)
        cur += size
        type_id += 1
    return types


def _check_meta(
    data: bytes,
    cur: int,
    meta_left: int,
    type_id: int,
    bo: r.Records,
    strings: Strings,
    facts: KernelFacts,
) -> tuple[RawType, int]:
    hdr = bo.btf_type.size
    if meta_left < hdr:
        raise Reject(errno.EINVAL, f"[{type_id}] meta_left:{meta_left} meta_needed:{hdr}")
    name_off, info, size_type = bo.btf_type.unpack_from(data, cur)
    meta_left -= hdr
    if info & ~BTF_INFO_MASK:
        raise Reject(errno.EINVAL, f"[{type_id}] Invalid btf_info:{info:x}")
    kind = r.info_kind(info)
    if kind > facts.kind_max or kind == r.BTF_KIND_UNKN:
        raise Reject(errno.EINVAL, f"[{type_id}] Invalid kind:{kind}")
    if not strings.offset_valid(name_off):
        raise Reject(errno.EINVAL, f"[{type_id}] Invalid name_offset:{name_off}")
    t = RawType(
        type_id=type_id,
        name_off=name_off,
        info=info,
        size_type=size_type,
        kind=kind,
        vlen=r.info_vlen(info),
        kflag=r.info_kflag(info),
    )
    extra = _KIND_CHECKS[kind](t, data, cur + hdr, meta_left, bo, strings, facts)
    return t, hdr + extra


def _fail(t: RawType, reason: str, err: int = errno.EINVAL) -> Reject:
    return Reject(err, f"[{t.type_id}] {r.KIND_NAMES[t.kind]} {reason}")


def _need(t: RawType, meta_left: int, needed: int) -> None:
    if meta_left < needed:
        raise _fail(t, f"meta_left:{meta_left} meta_needed:{needed}")


def _no_vlen(t: RawType) -> None:
    if t.vlen:
        raise _fail(t, "vlen != 0")


def _no_kflag(t: RawType) -> None:
    if t.kflag:
        raise _fail(t, "Invalid btf_info kind_flag")


def _int(
    t: RawType, data: bytes, off: int, left: int, bo: r.Records, s: Strings, f: KernelFacts
) -> int:
    _need(t, left, 4)
    _no_vlen(t)
    _no_kflag(t)
    (int_data,) = bo.u32.unpack_from(data, off)
    if int_data & ~BTF_INT_MASK:
        raise _fail(t, f"Invalid int_data:{int_data:x}")
    nr_bits = (int_data & 0xFF) + ((int_data >> 16) & 0xFF)
    if nr_bits > BITS_PER_U128:
        raise _fail(t, f"nr_bits exceeds {BITS_PER_U128}")
    if (nr_bits + 7) // 8 > t.size_type:
        raise _fail(t, "nr_bits exceeds type_size")
    encoding = (int_data >> 24) & 0x0F
    if encoding not in (0, r.BTF_INT_SIGNED, r.BTF_INT_CHAR, r.BTF_INT_BOOL):
        raise _fail(t, "Unsupported encoding", ENOTSUPP)
    t.int_data = int_data
    return 4


def _ref(
    t: RawType, data: bytes, off: int, left: int, bo: r.Records, s: Strings, f: KernelFacts
) -> int:
    # btf_ref_type_check_meta: PTR, TYPEDEF, VOLATILE, CONST, RESTRICT, TYPE_TAG
    _no_vlen(t)
    if t.kflag and not (t.kind == r.BTF_KIND_TYPE_TAG and f.tag_kflag):
        raise _fail(t, "Invalid btf_info kind_flag")
    if not _type_id_valid(t.size_type):
        raise _fail(t, "Invalid type_id")
    if t.kind == r.BTF_KIND_TYPEDEF:
        if not t.name_off or not s.identifier_ok(t.name_off, f):
            raise _fail(t, "Invalid name")
    elif t.kind == r.BTF_KIND_TYPE_TAG:
        if not s.nonempty(t.name_off):
            raise _fail(t, "Invalid name")
    elif t.name_off:
        raise _fail(t, "Invalid name")
    return 0


def _fwd(
    t: RawType, data: bytes, off: int, left: int, bo: r.Records, s: Strings, f: KernelFacts
) -> int:
    _no_vlen(t)
    if t.size_type:
        raise _fail(t, "type != 0")
    if not t.name_off or not s.identifier_ok(t.name_off, f):
        raise _fail(t, "Invalid name")
    return 0


def _array(
    t: RawType, data: bytes, off: int, left: int, bo: r.Records, s: Strings, f: KernelFacts
) -> int:
    need = bo.btf_array.size
    _need(t, left, need)
    if t.name_off:
        raise _fail(t, "Invalid name")
    _no_vlen(t)
    _no_kflag(t)
    if t.size_type:
        raise _fail(t, "size != 0")
    elem, index, nelems = bo.btf_array.unpack_from(data, off)
    if not elem or not _type_id_valid(elem):
        raise _fail(t, "Invalid elem")
    if not index or not _type_id_valid(index):
        raise _fail(t, "Invalid index")
    t.array = (elem, index, nelems)
    return need


def _struct(
    t: RawType, data: bytes, off: int, left: int, bo: r.Records, s: Strings, f: KernelFacts
) -> int:
    rec = bo.btf_member
    need = t.vlen * rec.size
    _need(t, left, need)
    if t.name_off and not s.identifier_ok(t.name_off, f):
        raise _fail(t, "Invalid name")
    is_union = t.kind == r.BTF_KIND_UNION
    members: list[tuple[int, int, int]] = []
    t.members = members
    last_offset = 0
    for i in range(t.vlen):
        name_off, mtype, moff = rec.unpack_from(data, off + i * rec.size)
        where = f"member {i} (type_id={mtype} offset={moff})"
        if not s.offset_valid(name_off):
            raise _fail(t, f"{where} Invalid member name_offset:{name_off}")
        if name_off and not s.identifier_ok(name_off, f):
            raise _fail(t, f"{where} Invalid name")
        if not mtype or not _type_id_valid(mtype):
            raise _fail(t, f"{where} Invalid type_id")
        bit_off = moff & 0xFFFFFF if t.kflag else moff
        if is_union and bit_off:
            raise _fail(t, f"{where} Invalid member bits_offset")
        # ">" rather than ">=": the last member may be a zero-sized array
        if last_offset > bit_off:
            raise _fail(t, f"{where} Invalid member bits_offset")
        if (bit_off + 7) // 8 > t.size_type:
            raise _fail(t, f"{where} Member bits_offset exceeds its struct size")
        members.append((name_off, mtype, moff))
        last_offset = bit_off
    return need


def _enum(
    t: RawType, data: bytes, off: int, left: int, bo: r.Records, s: Strings, f: KernelFacts
) -> int:
    rec = bo.btf_enum64 if t.kind == r.BTF_KIND_ENUM64 else bo.btf_enum
    need = t.vlen * rec.size
    _need(t, left, need)
    # Before 6.0 an ENUM with kflag failed here; since then kflag means signed.
    if not f.enum_kflag:
        _no_kflag(t)
    size = t.size_type
    if size > 8 or size == 0 or size & (size - 1):
        raise _fail(t, "Unexpected size")
    if t.name_off and not s.identifier_ok(t.name_off, f):
        raise _fail(t, "Invalid name")
    names: list[int] = []
    t.enum_names = names
    for i in range(t.vlen):
        name_off = rec.unpack_from(data, off + i * rec.size)[0]
        if not s.offset_valid(name_off):
            raise _fail(t, f"enumerator {i} Invalid name_offset:{name_off}")
        if not name_off or not s.identifier_ok(name_off, f):
            raise _fail(t, f"enumerator {i} Invalid name")
        names.append(name_off)
    return need


def _func_proto(
    t: RawType, data: bytes, off: int, left: int, bo: r.Records, s: Strings, f: KernelFacts
) -> int:
    rec = bo.btf_param
    need = t.vlen * rec.size
    _need(t, left, need)
    if t.name_off:
        raise _fail(t, "Invalid name")
    _no_kflag(t)
    t.params = [rec.unpack_from(data, off + i * rec.size) for i in range(t.vlen)]
    return need


def _func(
    t: RawType, data: bytes, off: int, left: int, bo: r.Records, s: Strings, f: KernelFacts
) -> int:
    if not t.name_off or not s.identifier_ok(t.name_off, f):
        raise _fail(t, "Invalid name")
    if f.func_linkage:
        if t.vlen > r.BTF_FUNC_GLOBAL:
            raise _fail(t, "Invalid func linkage")
    else:
        _no_vlen(t)
    _no_kflag(t)
    return 0


def _var(
    t: RawType, data: bytes, off: int, left: int, bo: r.Records, s: Strings, f: KernelFacts
) -> int:
    need = bo.u32.size
    _need(t, left, need)
    _no_vlen(t)
    _no_kflag(t)
    if not t.name_off or not s.identifier_ok(t.name_off, f, dot_ok=True):
        raise _fail(t, "Invalid name")
    if not t.size_type or not _type_id_valid(t.size_type):
        raise _fail(t, "Invalid type_id")
    (linkage,) = bo.u32.unpack_from(data, off)
    if linkage not in (r.BTF_VAR_STATIC, r.BTF_VAR_GLOBAL_ALLOCATED):
        raise _fail(t, "Linkage not supported")
    t.linkage = linkage
    return need


def _datasec(
    t: RawType, data: bytes, off: int, left: int, bo: r.Records, s: Strings, f: KernelFacts
) -> int:
    rec = bo.btf_var_secinfo
    need = t.vlen * rec.size
    _need(t, left, need)
    if not t.size_type:
        raise _fail(t, "size == 0")
    _no_kflag(t)
    if not t.name_off or not s.section_ok(t.name_off, f):
        raise _fail(t, "Invalid name")
    entries: list[tuple[int, int, int]] = []
    t.members = entries
    last_end = 0
    total = 0
    for i in range(t.vlen):
        vtype, voff, vsize = rec.unpack_from(data, off + i * rec.size)
        where = f"var_secinfo {i} (type_id={vtype} offset={voff} size={vsize})"
        if not vtype or not _type_id_valid(vtype):
            raise _fail(t, f"{where} Invalid type_id")
        if voff < last_end or voff >= t.size_type:
            raise _fail(t, f"{where} Invalid offset")
        if not vsize or vsize > t.size_type:
            raise _fail(t, f"{where} Invalid size")
        last_end = voff + vsize
        if last_end > t.size_type:
            raise _fail(t, f"{where} Invalid offset+size")
        total += vsize
        entries.append((vtype, voff, vsize))
    if t.size_type < total:
        raise _fail(t, "Invalid btf_info size")
    return need


def _float(
    t: RawType, data: bytes, off: int, left: int, bo: r.Records, s: Strings, f: KernelFacts
) -> int:
    _no_vlen(t)
    _no_kflag(t)
    if t.size_type not in (2, 4, 8, 12, 16):
        raise _fail(t, "Invalid type_size")
    return 0


def _decl_tag(
    t: RawType, data: bytes, off: int, left: int, bo: r.Records, s: Strings, f: KernelFacts
) -> int:
    need = bo.s32.size
    _need(t, left, need)
    if not s.nonempty(t.name_off):
        raise _fail(t, "Invalid value")
    _no_vlen(t)
    if not f.tag_kflag:
        _no_kflag(t)
    (component_idx,) = bo.s32.unpack_from(data, off)
    if component_idx < -1:
        raise _fail(t, "Invalid component_idx")
    t.component_idx = component_idx
    return need


_KIND_CHECKS = {
    r.BTF_KIND_INT: _int,
    r.BTF_KIND_PTR: _ref,
    r.BTF_KIND_ARRAY: _array,
    r.BTF_KIND_STRUCT: _struct,
    r.BTF_KIND_UNION: _struct,
    r.BTF_KIND_ENUM: _enum,
    r.BTF_KIND_FWD: _fwd,
    r.BTF_KIND_TYPEDEF: _ref,
    r.BTF_KIND_VOLATILE: _ref,
    r.BTF_KIND_CONST: _ref,
    r.BTF_KIND_RESTRICT: _ref,
    r.BTF_KIND_FUNC: _func,
    r.BTF_KIND_FUNC_PROTO: _func_proto,
    r.BTF_KIND_VAR: _var,
    r.BTF_KIND_DATASEC: _datasec,
    r.BTF_KIND_FLOAT: _float,
    r.BTF_KIND_DECL_TAG: _decl_tag,
    r.BTF_KIND_TYPE_TAG: _ref,
    r.BTF_KIND_ENUM64: _enum,
}
