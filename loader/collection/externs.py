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
from loader.collection.maps import btf_words
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
    datasecs = btf.datasecs()
    if KCONFIG_SEC not in datasecs and KSYMS_SEC not in datasecs:
        return  # the usual object: no externs (and no symbol walk for them)
    weak = {
        s[1]: s[4] == elf.STB_WEAK
        for s in obj.symbols
        if s[7] == elf.SHN_UNDEF and s[1] and s[4] in (elf.STB_GLOBAL, elf.STB_WEAK)
    }
    # Type checks read from the words where they can be (a typed ksym's type is
    # often a large kernel struct, whose decode would read every member's name).
    rw = btf_words(obj, btf)
    for sec_name in (KCONFIG_SEC, KSYMS_SEC):
        ids = datasecs.get(sec_name, [])
        if not ids:
            continue
        if len(ids) > 1:
            raise CollectionError(f"BTF has {len(ids)} DATASECs named {sec_name}")
        entries = rw.datasec_entries(ids[0])
        if entries is None:
            ds = btf.type_by_id(ids[0])  # the decoder says what is wrong
            assert isinstance(ds, t.Datasec)
            entries = [vsi.type for vsi in ds.vars]
        kcfg: list[tuple[int, int, str, int]] = []
        for vt in entries:
            found = rw.var_or_func(vt)
            if found is not None:
                kind, name, target, linkage = found
            else:
                try:
                    typ = btf.type_by_id(vt)
                except BTFError as exc:
                    raise CollectionError(f"DATASEC {sec_name}: {exc}") from None
                name = typ.name
                # The kind first: a DATASEC entry that is no VAR/FUNC is the fault even
                # when its (type) name happens to match no symbol as well.
                if not isinstance(typ, t.Var | t.Func):
                    raise CollectionError(
                        f"{_where(sec_name, name, vt)}: {r.KIND_NAMES[typ.kind]}, "
                        f"expected VAR or FUNC"
                    )
                kind, target, linkage = typ.kind, typ.type, typ.linkage
            if name not in weak:
                raise CollectionError(
                    f"{_where(sec_name, name, vt)}: no undefined ELF symbol of that name"
                )
            if name in out:
                raise CollectionError(f"{_where(sec_name, name, vt)}: declared twice")
            if kind == r.BTF_KIND_FUNC:
                if sec_name == KCONFIG_SEC:
                    raise CollectionError(
                        f"{_where(sec_name, name, vt)}: a function cannot be a kconfig extern"
                    )
                out[name] = ExternSpec(name, "ksym", "func", weak[name], vt)
                continue
            # parse_elf's fix-up turns .kconfig VARs into allocated ones, as libbpf does.
            if linkage != r.BTF_VAR_GLOBAL_EXTERN and linkage != r.BTF_VAR_GLOBAL_ALLOCATED:
                raise CollectionError(
                    f"{_where(sec_name, name, vt)}: VAR linkage {linkage} is not extern"
                )
            if sec_name == KSYMS_SEC:
                resolved = rw.resolved(target)
                typed = (resolved if resolved >= 0 else btf.resolve(target)) != 0
                out[name] = ExternSpec(name, "ksym", "var", weak[name], vt, typed=typed)
                continue
            size = rw.size(target)
            if size is None:
                try:
                    size = btf.size_of(target)
                except BTFError as exc:
                    raise CollectionError(f"{_where(sec_name, name, vt)}: {exc}") from None
            if size <= 0:
                raise CollectionError(f"{_where(sec_name, name, vt)}: size {size}")
            kcfg.append((-(rw.align(target) or align_of(btf, target)), size, name, vt))
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


def _where(sec_name: str, name: str, type_id: int) -> str:
    return f"{sec_name} extern {name!r} (type id {type_id})"
