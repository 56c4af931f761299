"""An object's BTF made loadable: extern fix-ups, then rewrites for older kernels.

Two kinds of rewrite, the same ones libbpf makes before BPF_BTF_LOAD:

- always (the kernel never accepts them): ``.ksyms`` VARs become allocated 4-byte
  ints laid out 4 bytes apart, kfunc FUNCs in ``.ksyms`` are replaced there by one
  dummy VAR and get global linkage (the kernel refuses FUNCs in a DATASEC and
  extern linkage); ``.kconfig`` VARs take the offsets of the ``.kconfig`` map.
- per missing kernel feature, decided by the BTF probes of :mod:`loader.features`:
  VAR->INT, DATASEC->STRUCT, DECL_TAG->INT, FUNC_PROTO->ENUM, FUNC->TYPEDEF,
  global->static FUNC linkage, FLOAT->STRUCT, TYPE_TAG->CONST, ENUM64->UNION and
  '?' in DATASEC names -> '_'.

Type ids never move (rewrites are in place; additions go at the end), so map
key/value ids, func_info type ids and CO-RE relocations stay valid.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from loader.btf import records as r
from loader.btf import types as t
from loader.btf.encode import encode_types
from loader.btf.spec import Spec

KSYMS_SEC = ".ksyms"
KCONFIG_SEC = ".kconfig"
_DUMMY_KSYM = "dummy_ksym"
_ENUM64_PLACEHOLDER = "enum64_placeholder"
# The probes in loader.features that decide each rewrite.
PROBES = (
    "btf_func", "btf_func_global", "btf_datasec", "btf_float", "btf_decl_tag",
    "btf_type_tag", "btf_enum64", "btf_qmark_datasec",
)


@dataclass(frozen=True)
class BTFSupport:
    """Which BTF features the target kernel accepts."""

    func: bool = True
    func_global: bool = True
    datasec: bool = True
    float: bool = True
    decl_tag: bool = True
    type_tag: bool = True
    enum64: bool = True
    qmark_datasec: bool = True

    @classmethod
    def probe(cls) -> BTFSupport:
        """Ask the running kernel (probe results are cached per release).

        A probe that could not decide (``None``) counts as supported: rewriting
        would lose information for nothing, and a real rejection still shows.
        """
        from loader.features import run_probes

        res = run_probes(PROBES)
        return cls(**{name[4:]: res[name].supported is not False for name in PROBES})


def _int_type(types: list[t.Type], size: int) -> int:
    """Id of an existing ``size``-byte INT, else of a new one appended to ``types``."""
    for i, typ in enumerate(types, 1):
        if isinstance(typ, t.Int) and typ.size == size and typ.bits == 8 * size:
            return i
    types.append(t.Int(f"__sanitize_int{size}", size, r.BTF_INT_SIGNED, 0, 8 * size))
    return len(types)


def _fix_externs(types: list[t.Type], kconfig_offsets: Mapping[str, int],
                 kconfig_size: int | None) -> None:
    for ds_idx, ds in enumerate(list(types)):
        if not isinstance(ds, t.Datasec):
            continue
        if ds.name == KSYMS_SEC:
            int_id = _int_type(types, 4)
            dummy = 0
            secinfos = []
            for k, vsi in enumerate(ds.vars):
                target = types[vsi.type - 1]
                if isinstance(target, t.Func):
                    if not dummy:
                        types.append(t.Var(_DUMMY_KSYM, int_id, r.BTF_VAR_GLOBAL_ALLOCATED))
                        dummy = len(types)
                    proto = types[target.type - 1]
                    if isinstance(proto, t.FuncProto):
                        # Kernel: a FUNC's (named) prototype needs named parameters.
                        params = tuple(
                            replace(p, name=_DUMMY_KSYM) if p.type and not p.name else p
                            for p in proto.params
                        )
                        types[target.type - 1] = replace(proto, params=params)
                    types[vsi.type - 1] = replace(target, linkage=r.BTF_FUNC_GLOBAL)
                    secinfos.append(t.VarSecinfo(dummy, 4 * k, 4))
                elif isinstance(target, t.Var):
                    types[vsi.type - 1] = replace(
                        target, type=int_id, linkage=r.BTF_VAR_GLOBAL_ALLOCATED)
                    secinfos.append(t.VarSecinfo(vsi.type, 4 * k, 4))
                else:
                    secinfos.append(vsi)
            types[ds_idx] = replace(ds, size=4 * len(secinfos), vars=tuple(secinfos))
        elif ds.name == KCONFIG_SEC and kconfig_size is not None:
            secinfos = []
            for vsi in ds.vars:
                var = types[vsi.type - 1]
                if isinstance(var, t.Var):
                    types[vsi.type - 1] = replace(var, linkage=r.BTF_VAR_GLOBAL_ALLOCATED)
                    off = kconfig_offsets.get(var.name, vsi.offset)
                    secinfos.append(replace(vsi, offset=off))
                else:
                    secinfos.append(vsi)
            secinfos.sort(key=lambda v: v.offset)
            types[ds_idx] = replace(ds, size=kconfig_size, vars=tuple(secinfos))


def _downgrade(types: list[t.Type], have: BTFSupport) -> None:
    placeholder = 0
    for i, typ in enumerate(list(types)):
        new: t.Type = typ
        if isinstance(typ, t.Var) and not have.datasec:
            new = t.Int(typ.name, 1, 0, 0, 8)
        elif isinstance(typ, t.Datasec) and not have.datasec:
            # Struct names allow only identifier characters.
            name = typ.name.replace(".", "_").replace("?", "_")
            members = tuple(
                t.Member(types[v.type - 1].name, v.type, 8 * v.offset) for v in typ.vars
            )
            new = t.Struct(name, typ.size, members)
        elif isinstance(typ, t.Datasec) and not have.qmark_datasec and "?" in typ.name:
            new = replace(typ, name=typ.name.replace("?", "_"))
        elif isinstance(typ, t.DeclTag) and not have.decl_tag:
            new = t.Int("", 1, 0, 0, 8)
        elif isinstance(typ, t.FuncProto) and not have.func:
            new = t.Enum("", 4, tuple(t.EnumValue(p.name, p.type) for p in typ.params))
        elif isinstance(typ, t.Func) and not have.func:
            new = t.Typedef(typ.name, typ.type)
        elif isinstance(typ, t.Func) and not have.func_global and typ.linkage == r.BTF_FUNC_GLOBAL:
            new = replace(typ, linkage=r.BTF_FUNC_STATIC)
        elif isinstance(typ, t.Float) and not have.float:
            new = t.Struct("", typ.size, ())
        elif isinstance(typ, t.TypeTag) and not have.type_tag:
            new = t.Const(typ.type)
        elif isinstance(typ, t.Enum64) and not have.enum64:
            if not placeholder:
                types.append(t.Int(_ENUM64_PLACEHOLDER, 1, 0, 0, 8))
                placeholder = len(types)
            new = t.Union(typ.name, typ.size,
                          tuple(t.Member(v.name, placeholder, 0) for v in typ.values))
        types[i] = new


def sanitize_btf(
    spec: Spec,
    have: BTFSupport | None = None,
    *,
    kconfig_offsets: Mapping[str, int] | None = None,
    kconfig_size: int | None = None,
) -> bytes:
    """Raw BTF of ``spec`` that the kernel described by ``have`` accepts, in host order.

    ``kconfig_offsets`` (extern name -> byte offset) and ``kconfig_size`` lay the
    ``.kconfig`` DATASEC out as the ``.kconfig`` map is laid out.
    """
    from loader.btf.spec import NATIVE_ORDER

    types = list(spec.types())
    _fix_externs(types, kconfig_offsets or {}, kconfig_size)
    _downgrade(types, have or BTFSupport())
    return encode_types(types, NATIVE_ORDER, strings=spec.strings)
