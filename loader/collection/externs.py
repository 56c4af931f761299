"""``extern`` declarations: ``__kconfig`` values and ``__ksym`` kernel symbols.

Both live only in BTF (DATASECs ``.kconfig`` and ``.ksyms`` with no ELF section
behind them) plus an undefined ELF symbol that says whether the extern is weak.
The ``.kconfig`` values are laid out the way libbpf lays them out (by descending
alignment, then ascending size, then name) in one read-only array map named
``.kconfig``; that is where the relocations of kconfig reads point.
"""

from __future__ import annotations

from loader import elf
from loader.btf import records as r
from loader.btf import types as t
from loader.btf.spec import Spec as BTFSpec
from loader.collection.datasec import BPF_F_MMAPABLE, BPF_F_RDONLY_PROG
from loader.collection.objfile import KCONFIG_SEC, KSYMS_SEC, ObjectFile
from loader.collection.spec import ExternSpec, MapSpec
from loader.errors import BTFError, CollectionError
from loader.uapi import MapType

_MAX_ALIGN = 8


def align_of(btf: BTFSpec, type_id: int) -> int:
    """Natural alignment, as libbpf's btf__align_of computes it."""
    for _ in range(32):
        typ = btf.type_by_id(type_id)
        if isinstance(typ, t.Int | t.Enum | t.Enum64 | t.Float):
            return max(1, min(typ.size, _MAX_ALIGN))
        if isinstance(typ, t.Pointer):
            return _MAX_ALIGN
        if isinstance(typ, t.Array):
            type_id = typ.type
        elif isinstance(typ, t.Typedef | t.Volatile | t.Const | t.Restrict | t.TypeTag):
            type_id = typ.type
        elif isinstance(typ, t.Struct | t.Union):
            align = 1
            for m in typ.members:
                a = align_of(btf, m.type)
                if m.bitfield_size_bits == 0 and m.offset_bits % (8 * a):
                    return 1  # a misaligned member: the struct is packed
                align = max(align, a)
            return align
        else:
            raise CollectionError(f"type id {type_id}: {r.KIND_NAMES[typ.kind]} has no alignment")
    raise CollectionError(f"type id {type_id}: type chain too deep for alignment")


def load_externs(obj: ObjectFile, maps: dict[str, MapSpec], out: dict[str, ExternSpec]) -> None:
    btf = obj.btf
    if btf is None:
        return
    weak = {
        s.name: s.bind == elf.STB_WEAK
        for s in obj.symbols
        if s.shndx == elf.SHN_UNDEF and s.name and s.bind in (elf.STB_GLOBAL, elf.STB_WEAK)
    }
    for sec_name in (KCONFIG_SEC, KSYMS_SEC):
        ids = btf.datasecs().get(sec_name, [])
        if not ids:
            continue
        if len(ids) > 1:
            raise CollectionError(f"BTF has {len(ids)} DATASECs named {sec_name}")
        ds = btf.type_by_id(ids[0])
        assert isinstance(ds, t.Datasec)
        kcfg: list[tuple[int, int, str, int]] = []
        for vsi in ds.vars:
            try:
                typ = btf.type_by_id(vsi.type)
            except BTFError as exc:
                raise CollectionError(f"DATASEC {sec_name}: {exc}") from None
            name = typ.name
            where = f"{sec_name} extern {name!r} (type id {vsi.type})"
            # The kind first: a DATASEC entry that is no VAR/FUNC is the fault even
            # when its (type) name happens to match no symbol as well.
            if not isinstance(typ, t.Var | t.Func):
                raise CollectionError(f"{where}: {r.KIND_NAMES[typ.kind]}, expected VAR or FUNC")
            if name not in weak:
                raise CollectionError(f"{where}: no undefined ELF symbol of that name")
            if name in out:
                raise CollectionError(f"{where}: declared twice")
            if isinstance(typ, t.Func):
                if sec_name == KCONFIG_SEC:
                    raise CollectionError(f"{where}: a function cannot be a kconfig extern")
                out[name] = ExternSpec(name, "ksym", "func", weak[name], vsi.type)
                continue
            if not isinstance(typ, t.Var):
                raise CollectionError(f"{where}: {r.KIND_NAMES[typ.kind]}, expected VAR or FUNC")
            # parse_elf's fix-up turns .kconfig VARs into allocated ones, as libbpf does.
            if typ.linkage not in (r.BTF_VAR_GLOBAL_EXTERN, r.BTF_VAR_GLOBAL_ALLOCATED):
                raise CollectionError(f"{where}: VAR linkage {typ.linkage} is not extern")
            if sec_name == KSYMS_SEC:
                typed = btf.resolve(typ.type) != 0
                out[name] = ExternSpec(name, "ksym", "var", weak[name], vsi.type, typed=typed)
                continue
            try:
                size = btf.size_of(typ.type)
            except BTFError as exc:
                raise CollectionError(f"{where}: {exc}") from None
            if size <= 0:
                raise CollectionError(f"{where}: size {size}")
            kcfg.append((-align_of(btf, typ.type), size, name, vsi.type))
        if kcfg:
            kcfg.sort()
            off = 0
            for neg_align, size, name, tid in kcfg:
                align = -neg_align
                start = (off + align - 1) // align * align
                out[name] = ExternSpec(
                    name, "kconfig", "var", weak[name], tid, offset=start, size=size
                )
                off = start + size
            if KCONFIG_SEC in maps:
                raise CollectionError(f"a map named {KCONFIG_SEC} already exists")
            maps[KCONFIG_SEC] = MapSpec(
                name=KCONFIG_SEC, type=MapType.ARRAY, key_size=4, value_size=off,
                max_entries=1, flags=BPF_F_RDONLY_PROG | BPF_F_MMAPABLE,
                value_type_id=ids[0], section=KCONFIG_SEC, freeze=True,
            )
