"""struct_ops maps against the running kernel's BTF, following the facts of
libbpf's ``bpf_map__init_kern_struct_ops`` and ``bpf_map_prepare_vdata``.

The object declares ``struct tcp_congestion_ops x = {...}`` in its own BTF and
layout; the kernel wants a value of its wrapper type
``struct bpf_struct_ops_tcp_congestion_ops`` (a header, then ``data``: the
kernel's own struct) and each program loaded with ``attach_btf_id`` = the
kernel struct's type id and ``expected_attach_type`` = the index of the
member it implements *in the kernel's struct* (the object's struct may have
other members or another order).  Members are matched by name, as libbpf does.

Only vmlinux types: struct_ops types defined by kernel modules (libbpf looks
them up in module BTF and passes the module's BTF fd) are refused with
UnsupportedError.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from loader.btf import types as t
from loader.btf.spec import Spec as BTFSpec
from loader.collection.spec import MapSpec
from loader.errors import BTFError, RelocationError, UnsupportedError
from loader.kernel.core import essential_name, skip_mods

# The kernel wrapper type's name prefix (kernel/bpf/bpf_struct_ops.c).
VALUE_PREFIX = "bpf_struct_ops_"
# A function-pointer slot of the value holds the program's fd as an unsigned long.
_SLOT = struct.Struct("=Q")


@dataclass(frozen=True, slots=True)
class KernStructOps:
    """One struct_ops map laid out for the running kernel.

    ``value`` is the map value with every scalar member copied and the
    function-pointer slots still zero; ``slots`` says where each program's
    fd goes; ``members`` gives each program its kernel member index.
    """

    map_name: str
    # The kernel's struct (e.g. tcp_congestion_ops) and its bpf_struct_ops_ wrapper.
    type_id: int
    value_type_id: int
    value: bytes
    slots: tuple[tuple[str, int], ...]
    members: tuple[tuple[str, int], ...]

    def value_with(self, prog_fds: dict[str, int]) -> bytes:
        """The value with each program's fd in its slot."""
        buf = bytearray(self.value)
        for prog, off in self.slots:
            _SLOT.pack_into(buf, off, prog_fds[prog])
        return bytes(buf)


def _struct(btf: BTFSpec, name: str) -> int | None:
    for tid in btf.types_by_name(name):
        if isinstance(btf.type_by_id(tid), t.Struct):
            return tid
    return None


def _bitfield(typ: t.Struct, m: t.Member) -> bool:
    # As libbpf: only a kflag struct says a member is a bitfield.
    return typ.kflag and m.bitfield_size_bits != 0


def prepare(btf: BTFSpec, m: MapSpec, vmlinux: BTFSpec) -> KernStructOps:
    """Lay out struct_ops map ``m`` (of the object whose BTF is ``btf``) for the
    kernel whose BTF is ``vmlinux``.  Raises a LoaderError naming the member
    when the two structs cannot be matched."""
    where = f"struct_ops map {m.name!r}"
    try:
        return _prepare(btf, m, vmlinux, where)
    except BTFError as exc:
        raise RelocationError(f"{where}: {exc}") from None


def _prepare(btf: BTFSpec, m: MapSpec, vmlinux: BTFSpec, where: str) -> KernStructOps:
    typ = btf.type_by_id(m.value_type_id)
    if not isinstance(typ, t.Struct):
        raise RelocationError(f"{where}: value type id {m.value_type_id} is not a struct")
    if len(m.contents) != 1 or not isinstance(m.contents[0].value, bytes):
        raise RelocationError(f"{where}: needs exactly one initial value (the struct)")
    data = m.contents[0].value
    # 'struct tcp_congestion_ops___v2' in the object stands for the kernel's
    # tcp_congestion_ops, as for CO-RE.
    tname = essential_name(typ.name)
    vtype_id = _struct(vmlinux, VALUE_PREFIX + tname)
    if vtype_id is None:
        raise UnsupportedError(
            f"struct_ops type {tname!r}", None,
            f"{where}: no struct {VALUE_PREFIX}{tname} in vmlinux BTF (not a struct_ops "
            f"type of this kernel, or one defined by a module)")
    ktype_id = _struct(vmlinux, tname)
    if ktype_id is None:
        raise RelocationError(f"{where}: no struct {tname} in vmlinux BTF")
    vtype = vmlinux.type_by_id(vtype_id)
    ktype = vmlinux.type_by_id(ktype_id)
    assert isinstance(vtype, t.Struct) and isinstance(ktype, t.Struct)
    data_member = next((x for x in vtype.members if x.type == ktype_id), None)
    if data_member is None:
        raise RelocationError(f"{where}: struct {VALUE_PREFIX}{tname} has no member of "
                              f"type struct {tname}")
    data_off = data_member.offset_bits // 8
    value = bytearray(vtype.size)
    by_name = {x.name: (i, x) for i, x in enumerate(ktype.members)}
    progs = {so.member: so.program for so in m.struct_ops}
    slots: list[tuple[str, int]] = []
    members: list[tuple[str, int]] = []
    for mem in typ.members:
        mwhere = f"{where}: member {mem.name!r}"
        moff = mem.offset_bits // 8
        msize = btf.size_of(mem.type)
        prog = progs.get(mem.name)
        found = by_name.get(mem.name)
        if found is None:
            # A newer struct than this kernel's: only members left empty can go.
            if prog is not None or any(data[moff:moff + msize]):
                raise UnsupportedError(f"struct {tname} member {mem.name!r}", None,
                                       f"{mwhere}: set in the object, not in this kernel")
            continue
        kidx, kmem = found
        if _bitfield(typ, mem) or _bitfield(ktype, kmem):
            raise UnsupportedError("struct_ops bitfield members", None, mwhere)
        _, mtype = skip_mods(btf, mem.type)
        kmtype_id, kmtype = skip_mods(vmlinux, kmem.type)
        if mtype.kind != kmtype.kind:
            raise UnsupportedError(
                "struct_ops members of another kind than the kernel's", None,
                f"{mwhere}: {type(mtype).__name__} here, {type(kmtype).__name__} in the "
                f"kernel")
        koff = data_off + kmem.offset_bits // 8
        if isinstance(mtype, t.Pointer):
            # Pointers carry no data across (user space has no kernel addresses);
            # only program slots get a value, the fd, at load time.
            if prog is None:
                continue
            _, target = skip_mods(vmlinux, kmtype.type)  # type: ignore[union-attr]
            if not isinstance(target, t.FuncProto):
                raise UnsupportedError("struct_ops programs in non-function members", None,
                                       f"{mwhere}: not a function pointer in the kernel")
            slots.append((prog, koff))
            members.append((prog, kidx))
            continue
        ksize = vmlinux.size_of(kmtype_id)
        if msize != ksize:
            raise UnsupportedError(
                "struct_ops members of another size than the kernel's", None,
                f"{mwhere}: {msize} bytes here, {ksize} in the kernel")
        value[koff:koff + msize] = data[moff:moff + msize]
    return KernStructOps(m.name, ktype_id, vtype_id, bytes(value), tuple(slots),
                         tuple(members))


def bind_programs(ko: KernStructOps, targets: dict[str, tuple[int, int]]) -> None:
    """Record each program of ``ko`` in ``targets`` as (attach_btf_id,
    expected_attach_type); ``targets`` is unchanged when this raises.

    A program may serve several maps, but only the same member of the same
    kernel struct: the kernel verifies it against that one member.
    """
    for prog, idx in ko.members:
        got = targets.get(prog)
        if got is not None and got != (ko.type_id, idx):
            raise RelocationError(
                f"struct_ops map {ko.map_name!r}: program {prog!r} already serves "
                f"member index {got[1]} of kernel type id {got[0]}, not also "
                f"index {idx} of type id {ko.type_id}")
    for prog, idx in ko.members:
        targets[prog] = (ko.type_id, idx)


__all__ = ["VALUE_PREFIX", "KernStructOps", "bind_programs", "prepare"]
