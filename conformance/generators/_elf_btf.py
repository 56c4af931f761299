"""The .BTF of a generated object, built type by type, and the extern
declarations (``__kconfig`` / ``__ksym``) that live only in BTF.

Map definitions follow libbpf's macros as clang 14 encodes them: ``__uint(n, v)``
is ``int (*n)[v]``, ``__type(key, T)`` is ``T *key``, ``__array(values, T)`` is a
flexible array of pointers.  Externs follow clang too: a VAR (or, for kfuncs, a
FUNC) with extern linkage in a DATASEC ``.kconfig``/``.ksyms`` whose size and
offsets are left at 0 for the loader to lay out.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.generators._draw import Draw
from loader.btf import records as r
from loader.btf import types as t


@dataclass(frozen=True, slots=True)
class ExpectedExtern:
    name: str
    kind: str  # "kconfig" | "ksym"
    what: str  # "var" | "func"
    weak: bool
    typed: bool = True


class ObjectBTF:
    """The object's .BTF types (ids from 1) and helpers for common shapes."""

    def __init__(self) -> None:
        self.types: list[t.Type] = []
        self.int_id = self.add(t.Int("int", 4, r.BTF_INT_SIGNED, 0, 32))
        self.u64_id = self.add(t.Int("long long unsigned int", 8, 0, 0, 64))
        self.char_id = self.add(t.Int("char", 1, r.BTF_INT_SIGNED, 0, 8))
        self._uint: dict[int, int] = {}
        self._other: dict[str, int] = {}

    def add(self, typ: t.Type) -> int:
        self.types.append(typ)
        return len(self.types)

    def once(self, key: str, typ: t.Type) -> int:
        if key not in self._other:
            self._other[key] = self.add(typ)
        return self._other[key]

    def uint_ptr(self, value: int) -> int:
        """``int (*)[value]``: libbpf's __uint() encoding."""
        if value not in self._uint:
            arr = self.add(t.Array(self.int_id, self.int_id, value))
            self._uint[value] = self.add(t.Pointer(arr))
        return self._uint[value]

    def sized(self, size: int) -> int:
        if size == 4:
            return self.int_id
        if size == 8:
            return self.u64_id
        return self.add(t.Array(self.char_id, self.int_id, size))

    def map_struct(self, mtype: int, max_entries: int, key_size: int, value_size: int,
                   flags: int = 0, values_of: int = 0) -> int:
        """A map definition; ``values_of`` (a STRUCT for map-in-map, a FUNC_PROTO
        for prog arrays) adds the ``values`` flexible array."""
        members = [t.Member("type", self.uint_ptr(mtype), 0),
                   t.Member("max_entries", self.uint_ptr(max_entries), 64)]
        off = 128
        if flags:
            members.append(t.Member("map_flags", self.uint_ptr(flags), off))
            off += 64
        if mtype == 3:  # BPF_MAP_TYPE_PROG_ARRAY: sizes as __uint, as libbpf's selftests do
            members.append(t.Member("key_size", self.uint_ptr(key_size), off))
            off += 64
        else:
            members.append(t.Member("key", self.add(t.Pointer(self.sized(key_size))), off))
            off += 64
        if values_of:
            values = self.add(t.Array(self.add(t.Pointer(values_of)), self.int_id, 0))
            members.append(t.Member("values", values, off))
        else:
            members.append(t.Member("value", self.add(t.Pointer(self.sized(value_size))),
                                    off))
            off += 64
        return self.add(t.Struct("", off // 8, tuple(members)))

    def func(self, name: str, linkage: int, ctx: bool = False) -> int:
        if ctx:
            proto = self.add(t.FuncProto(self.int_id, (t.FuncParam("ctx", self.add(
                t.Pointer(0))),)))
        else:
            proto = self.add(t.FuncProto(self.int_id, (t.FuncParam("x", self.int_id),)))
        return self.add(t.Func(name, proto, linkage))

    def core_struct(self) -> tuple[int, int, tuple[int, ...]]:
        """``struct gen_core { int a; long long unsigned b; char c[6]; int d; }``:
        (id, size, member byte offsets), the target of CO-RE relocations."""
        arr = self.add(t.Array(self.char_id, self.int_id, 6))
        offsets = (0, 8, 16, 24)
        members = tuple(t.Member(n, tid, 8 * o) for n, tid, o in zip(
            "abcd", (self.int_id, self.u64_id, arr, self.int_id), offsets, strict=True))
        return self.add(t.Struct("gen_core", 32, members)), 32, offsets


# Names from real programs; what matters to a loader is the shape.
_KCONFIG = ("LINUX_KERNEL_VERSION", "CONFIG_BPF_SYSCALL", "CONFIG_NET", "CONFIG_HZ")
_KSYM_VARS = ("bpf_prog_active", "runqueues", "jiffies")
_KFUNCS = ("bpf_rcu_read_lock", "bpf_rcu_read_unlock", "bpf_task_acquire")


def declare_externs(draw: Draw, bt: ObjectBTF) -> tuple[
        dict[str, ExpectedExtern], list[str], list[str], list[str]]:
    """Externs and their DATASECs: (expected, kconfig names, ksym var names, kfuncs)."""
    out: dict[str, ExpectedExtern] = {}
    kconfig = [n for n in _KCONFIG if draw.bool(0.3)]
    ksym_vars = [n for n in _KSYM_VARS if draw.bool(0.25)]
    kfuncs = [n for n in _KFUNCS if draw.bool(0.25)]
    entries: list[t.VarSecinfo] = []
    for name in kconfig:
        if name == "LINUX_KERNEL_VERSION":
            tid, size = bt.once("uint", t.Int("unsigned int", 4, 0, 0, 32)), 4
        elif name == "CONFIG_BPF_SYSCALL":  # bool
            tid, size = bt.once("bool", t.Int("_Bool", 1, r.BTF_INT_BOOL, 0, 8)), 1
        elif name == "CONFIG_NET":  # tristate: libbpf's enum libbpf_tristate
            tid, size = bt.once("tristate", t.Enum("libbpf_tristate", 4, (
                t.EnumValue("TRI_NO", 0), t.EnumValue("TRI_YES", 1),
                t.EnumValue("TRI_MODULE", 2)))), 4
        else:
            tid, size = bt.u64_id, 8
        vid = bt.add(t.Var(name, tid, r.BTF_VAR_GLOBAL_EXTERN))
        entries.append(t.VarSecinfo(vid, 0, size))
        out[name] = ExpectedExtern(name, "kconfig", "var", draw.bool(0.3))
    if entries:
        bt.add(t.Datasec(".kconfig", 0, tuple(entries)))
    entries = []
    for name in ksym_vars:
        typed = draw.bool()
        # `extern const int x __ksym` vs `extern const void x __ksym`.
        tid = bt.add(t.Const(bt.int_id if typed else 0))
        vid = bt.add(t.Var(name, tid, r.BTF_VAR_GLOBAL_EXTERN))
        entries.append(t.VarSecinfo(vid, 0, 4 if typed else 0))
        out[name] = ExpectedExtern(name, "ksym", "var", draw.bool(0.3), typed)
    for name in kfuncs:
        entries.append(t.VarSecinfo(bt.func(name, r.BTF_FUNC_EXTERN), 0, 0))
        out[name] = ExpectedExtern(name, "ksym", "func", draw.bool(0.3))
    if entries:
        bt.add(t.Datasec(".ksyms", 0, tuple(entries)))
    return out, kconfig, ksym_vars, kfuncs
