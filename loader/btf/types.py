"""BTF types as plain data: one frozen, slotted dataclass per BTF kind.

References to other types are integer type ids (0 is void).  Names are ``str``;
the empty string means "anonymous" (name_off 0).  Fields that the kind gives no
meaning to but that a blob may still carry (``kflag`` on most kinds, a name on a
pointer) are kept so that encoding a decoded blob reproduces it byte for byte.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, fields
from typing import ClassVar

from loader.btf import records as r


@dataclass(frozen=True, slots=True)
class Void:
    kind: ClassVar[int] = r.BTF_KIND_UNKN
    name: ClassVar[str] = ""


@dataclass(frozen=True, slots=True)
class Int:
    kind: ClassVar[int] = r.BTF_KIND_INT
    name: str
    size: int
    encoding: int  # BTF_INT_SIGNED | BTF_INT_CHAR | BTF_INT_BOOL bits
    offset_bits: int
    bits: int
    kflag: bool = False
    # Bits 8-15 of the INT's u32: no meaning, but the kernel accepts them (its mask,
    # BTF_INT_MASK, covers only the top four bits), so they are kept for re-encoding.
    unused_bits: int = 0


@dataclass(frozen=True, slots=True)
class Pointer:
    kind: ClassVar[int] = r.BTF_KIND_PTR
    type: int
    name: str = ""
    kflag: bool = False


@dataclass(frozen=True, slots=True)
class Array:
    kind: ClassVar[int] = r.BTF_KIND_ARRAY
    type: int
    index_type: int
    nelems: int
    name: str = ""
    kflag: bool = False


@dataclass(frozen=True, slots=True)
class Member:
    name: str
    type: int
    offset_bits: int
    # 0 unless the containing struct/union has kflag set and this is a bitfield.
    bitfield_size_bits: int = 0


@dataclass(frozen=True, slots=True)
class Struct:
    kind: ClassVar[int] = r.BTF_KIND_STRUCT
    name: str
    size: int
    members: tuple[Member, ...]
    # kflag: member offsets carry a bitfield size in their top 8 bits.
    kflag: bool = False


@dataclass(frozen=True, slots=True)
class Union:
    kind: ClassVar[int] = r.BTF_KIND_UNION
    name: str
    size: int
    members: tuple[Member, ...]
    kflag: bool = False


@dataclass(frozen=True, slots=True)
class EnumValue:
    name: str
    value: int  # already interpreted as signed or unsigned per the enum's kflag


@dataclass(frozen=True, slots=True)
class Enum:
    kind: ClassVar[int] = r.BTF_KIND_ENUM
    name: str
    size: int
    values: tuple[EnumValue, ...]
    signed: bool = False  # the kflag


@dataclass(frozen=True, slots=True)
class Fwd:
    kind: ClassVar[int] = r.BTF_KIND_FWD
    name: str
    union: bool = False  # the kflag


@dataclass(frozen=True, slots=True)
class Typedef:
    kind: ClassVar[int] = r.BTF_KIND_TYPEDEF
    name: str
    type: int
    kflag: bool = False


@dataclass(frozen=True, slots=True)
class Volatile:
    kind: ClassVar[int] = r.BTF_KIND_VOLATILE
    type: int
    name: str = ""
    kflag: bool = False


@dataclass(frozen=True, slots=True)
class Const:
    kind: ClassVar[int] = r.BTF_KIND_CONST
    type: int
    name: str = ""
    kflag: bool = False


@dataclass(frozen=True, slots=True)
class Restrict:
    kind: ClassVar[int] = r.BTF_KIND_RESTRICT
    type: int
    name: str = ""
    kflag: bool = False


@dataclass(frozen=True, slots=True)
class Func:
    kind: ClassVar[int] = r.BTF_KIND_FUNC
    name: str
    type: int  # a FuncProto
    linkage: int  # BTF_FUNC_STATIC / GLOBAL / EXTERN, stored in vlen
    kflag: bool = False


@dataclass(frozen=True, slots=True)
class FuncParam:
    name: str
    type: int


@dataclass(frozen=True, slots=True)
class FuncProto:
    kind: ClassVar[int] = r.BTF_KIND_FUNC_PROTO
    return_type: int
    params: tuple[FuncParam, ...]
    name: str = ""
    kflag: bool = False


@dataclass(frozen=True, slots=True)
class Var:
    kind: ClassVar[int] = r.BTF_KIND_VAR
    name: str
    type: int
    linkage: int  # BTF_VAR_STATIC / GLOBAL_ALLOCATED / GLOBAL_EXTERN
    kflag: bool = False


@dataclass(frozen=True, slots=True)
class VarSecinfo:
    type: int
    offset: int
    size: int


@dataclass(frozen=True, slots=True)
class Datasec:
    kind: ClassVar[int] = r.BTF_KIND_DATASEC
    name: str
    size: int
    vars: tuple[VarSecinfo, ...]
    kflag: bool = False


@dataclass(frozen=True, slots=True)
class Float:
    kind: ClassVar[int] = r.BTF_KIND_FLOAT
    name: str
    size: int
    kflag: bool = False


@dataclass(frozen=True, slots=True)
class DeclTag:
    kind: ClassVar[int] = r.BTF_KIND_DECL_TAG
    name: str
    type: int
    component_idx: int  # -1: the tag applies to the type itself
    # kflag (kernel 6.13+): the tag is an __attribute__ rather than a btf_decl_tag.
    kflag: bool = False


@dataclass(frozen=True, slots=True)
class TypeTag:
    kind: ClassVar[int] = r.BTF_KIND_TYPE_TAG
    name: str
    type: int
    kflag: bool = False


@dataclass(frozen=True, slots=True)
class Enum64:
    kind: ClassVar[int] = r.BTF_KIND_ENUM64
    name: str
    size: int
    values: tuple[EnumValue, ...]
    signed: bool = False  # the kflag


def _install_fast_init(cls: type) -> None:
    """Replace the frozen dataclass ``__init__`` with one that stores through the slot
    descriptors directly.

    The generated frozen ``__init__`` goes through ``object.__setattr__`` per field;
    calling the slots' ``__set__`` is about twice as fast, which matters when a
    vmlinux decode builds ~300,000 of these.  Instances stay frozen (assignment
    still raises) and compare, hash and print as dataclasses.
    """
    params = []
    body = []
    env: dict[str, object] = {}
    for i, f in enumerate(fields(cls)):
        env[f"_set{i}"] = cls.__dict__[f.name].__set__
        if f.default is MISSING:
            params.append(f.name)
        else:
            env[f"_def{i}"] = f.default
            params.append(f"{f.name}=_def{i}")
        body.append(f" _set{i}(self, {f.name})")
    src = f"def __init__(self, {', '.join(params)}):\n" + "\n".join(body or [" pass"])
    namespace: dict[str, object] = {}
    exec(src, env, namespace)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"  # type: ignore[attr-defined]
    cls.__init__ = init  # type: ignore[misc]


for _cls in (Int, Pointer, Array, Member, Struct, Union, EnumValue, Enum, Fwd, Typedef,
             Volatile, Const, Restrict, Func, FuncParam, FuncProto, Var, VarSecinfo, Datasec,
             Float, DeclTag, TypeTag, Enum64):
    _install_fast_init(_cls)

Type = (
    Void | Int | Pointer | Array | Struct | Union | Enum | Fwd | Typedef | Volatile | Const
    | Restrict | Func | FuncProto | Var | Datasec | Float | DeclTag | TypeTag | Enum64
)

# Kinds whose btf_type.size_or_type is a type id (the rest: a size, or unused).
REFERENCE_KINDS = frozenset({
    r.BTF_KIND_PTR, r.BTF_KIND_TYPEDEF, r.BTF_KIND_VOLATILE, r.BTF_KIND_CONST,
    r.BTF_KIND_RESTRICT, r.BTF_KIND_FUNC, r.BTF_KIND_FUNC_PROTO, r.BTF_KIND_VAR,
    r.BTF_KIND_DECL_TAG, r.BTF_KIND_TYPE_TAG,
})
