"""BTF and .BTF.ext on-disk records, declared once per byte order.

Everything that decodes or encodes BTF goes through these tables; nothing else
in the loader spells out a BTF record layout.  Names follow include/uapi/linux/btf.h.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final, Literal

ByteOrder = Literal["<", ">"]

BTF_MAGIC: Final = 0xEB9F
BTF_VERSION: Final = 1

# struct btf_header before the layout fields (what every kernel up to 7.0 knows).
BTF_HEADER_V1_SIZE: Final = 24
# struct btf_header with layout_off/layout_len appended (kernel 7.1+, newer pahole).
BTF_HEADER_LAYOUT_SIZE: Final = 32

BTF_KIND_UNKN: Final = 0
BTF_KIND_INT: Final = 1
BTF_KIND_PTR: Final = 2
BTF_KIND_ARRAY: Final = 3
BTF_KIND_STRUCT: Final = 4
BTF_KIND_UNION: Final = 5
BTF_KIND_ENUM: Final = 6
BTF_KIND_FWD: Final = 7
BTF_KIND_TYPEDEF: Final = 8
BTF_KIND_VOLATILE: Final = 9
BTF_KIND_CONST: Final = 10
BTF_KIND_RESTRICT: Final = 11
BTF_KIND_FUNC: Final = 12
BTF_KIND_FUNC_PROTO: Final = 13
BTF_KIND_VAR: Final = 14
BTF_KIND_DATASEC: Final = 15
BTF_KIND_FLOAT: Final = 16
BTF_KIND_DECL_TAG: Final = 17
BTF_KIND_TYPE_TAG: Final = 18
BTF_KIND_ENUM64: Final = 19
BTF_KIND_MAX: Final = BTF_KIND_ENUM64

# The spelling bpftool uses in its raw dump, indexed by kind.
KIND_NAMES: Final = (
    "UNKN", "INT", "PTR", "ARRAY", "STRUCT", "UNION", "ENUM", "FWD", "TYPEDEF",
    "VOLATILE", "CONST", "RESTRICT", "FUNC", "FUNC_PROTO", "VAR", "DATASEC",
    "FLOAT", "DECL_TAG", "TYPE_TAG", "ENUM64",
)

# btf_type.info bit fields.
INFO_VLEN_MASK: Final = 0xFFFF
INFO_KIND_SHIFT: Final = 24
INFO_KIND_MASK: Final = 0x1F
INFO_KFLAG_SHIFT: Final = 31

# BTF_INT_ENCODING bits in the u32 that follows an INT.
BTF_INT_SIGNED: Final = 1 << 0
BTF_INT_CHAR: Final = 1 << 1
BTF_INT_BOOL: Final = 1 << 2

# Linkage of FUNC (in vlen) and VAR (in btf_var.linkage).
BTF_FUNC_STATIC: Final = 0
BTF_FUNC_GLOBAL: Final = 1
BTF_FUNC_EXTERN: Final = 2
BTF_VAR_STATIC: Final = 0
BTF_VAR_GLOBAL_ALLOCATED: Final = 1
BTF_VAR_GLOBAL_EXTERN: Final = 2

# Hard limits of the format (the kernel enforces them too).
BTF_MAX_TYPE: Final = 0x000FFFFF
BTF_MAX_NAME_OFFSET: Final = 0x00FFFFFF
BTF_MAX_VLEN: Final = 0xFFFF

# .BTF.ext
BTF_EXT_HEADER_V1_SIZE: Final = 24  # func_info + line_info
BTF_EXT_HEADER_CORE_SIZE: Final = 32  # + core_relo

# enum bpf_core_relo_kind
BPF_CORE_FIELD_BYTE_OFFSET: Final = 0
BPF_CORE_FIELD_BYTE_SIZE: Final = 1
BPF_CORE_FIELD_EXISTS: Final = 2
BPF_CORE_FIELD_SIGNED: Final = 3
BPF_CORE_FIELD_LSHIFT_U64: Final = 4
BPF_CORE_FIELD_RSHIFT_U64: Final = 5
BPF_CORE_TYPE_ID_LOCAL: Final = 6
BPF_CORE_TYPE_ID_TARGET: Final = 7
BPF_CORE_TYPE_EXISTS: Final = 8
BPF_CORE_TYPE_SIZE: Final = 9
BPF_CORE_ENUMVAL_EXISTS: Final = 10
BPF_CORE_ENUMVAL_VALUE: Final = 11
BPF_CORE_TYPE_MATCHES: Final = 12

CORE_RELO_KIND_NAMES: Final = (
    "byte_off", "byte_sz", "field_exists", "signed", "lshift_u64", "rshift_u64",
    "local_type_id", "target_type_id", "type_exists", "type_size",
    "enumval_exists", "enumval_value", "type_matches",
)


@dataclass(frozen=True, slots=True)
class Records:
    """The struct layouts for one byte order."""

    byte_order: ByteOrder
    # magic, version, flags, hdr_len
    preamble: struct.Struct
    # type_off, type_len, str_off, str_len (follow the preamble)
    header_v1: struct.Struct
    # layout_off, layout_len (follow header_v1 when hdr_len >= 32)
    header_layout: struct.Struct
    # name_off, info, size_or_type
    btf_type: struct.Struct
    u32: struct.Struct
    s32: struct.Struct
    # type, index_type, nelems
    btf_array: struct.Struct
    # name_off, type, offset
    btf_member: struct.Struct
    # name_off, val (s32; reinterpret as u32 for unsigned enums)
    btf_enum: struct.Struct
    # name_off, val_lo32, val_hi32
    btf_enum64: struct.Struct
    # name_off, type
    btf_param: struct.Struct
    # type, offset, size
    btf_var_secinfo: struct.Struct
    # .BTF.ext: func_info_off, func_info_len, line_info_off, line_info_len
    ext_header_v1: struct.Struct
    # .BTF.ext: core_relo_off, core_relo_len
    ext_header_core: struct.Struct
    # .BTF.ext per-section info header: sec_name_off, num_info
    ext_info_sec: struct.Struct
    # insn_off, type_id
    bpf_func_info: struct.Struct
    # insn_off, file_name_off, line_off, line_col
    bpf_line_info: struct.Struct
    # insn_off, type_id, access_str_off, kind
    bpf_core_relo: struct.Struct


def _records(bo: ByteOrder) -> Records:
    return Records(
        byte_order=bo,
        preamble=struct.Struct(bo + "HBBI"),
        header_v1=struct.Struct(bo + "IIII"),
        header_layout=struct.Struct(bo + "II"),
        btf_type=struct.Struct(bo + "III"),
        u32=struct.Struct(bo + "I"),
        s32=struct.Struct(bo + "i"),
        btf_array=struct.Struct(bo + "III"),
        btf_member=struct.Struct(bo + "III"),
        btf_enum=struct.Struct(bo + "Ii"),
        btf_enum64=struct.Struct(bo + "III"),
        btf_param=struct.Struct(bo + "II"),
        btf_var_secinfo=struct.Struct(bo + "III"),
        ext_header_v1=struct.Struct(bo + "IIII"),
        ext_header_core=struct.Struct(bo + "II"),
        ext_info_sec=struct.Struct(bo + "II"),
        bpf_func_info=struct.Struct(bo + "II"),
        bpf_line_info=struct.Struct(bo + "IIII"),
        bpf_core_relo=struct.Struct(bo + "IIII"),
    )


LITTLE: Final = _records("<")
BIG: Final = _records(">")


def records_for(byte_order: ByteOrder) -> Records:
    return LITTLE if byte_order == "<" else BIG


def info_kind(info: int) -> int:
    return (info >> INFO_KIND_SHIFT) & INFO_KIND_MASK


def info_vlen(info: int) -> int:
    return info & INFO_VLEN_MASK


def info_kflag(info: int) -> bool:
    return bool(info >> INFO_KFLAG_SHIFT)


def make_info(kind: int, vlen: int, kflag: bool) -> int:
    return (int(kflag) << INFO_KFLAG_SHIFT) | (kind << INFO_KIND_SHIFT) | vlen
