"""Global data: ``.data``, ``.rodata``, ``.bss`` and their ``.NAME`` variants.

Each section becomes a single-element array map holding the section's bytes;
its non-static, visible symbols become variables, checked against the BTF
DATASEC of the same name when there is one.  Like cilium/ebpf, a section that
no relocation points into and that has no named symbols (``.rodata.str1.1``
when no string is used from code) is pruned: nothing could ever read it.
libbpf 1.1 instead makes a map of every non-empty one; the oracle test says so.
"""

from __future__ import annotations

from loader import elf
from loader.btf import records as r
from loader.btf import types as t
from loader.btf.spec import INFO_UNUSED_MASK
from loader.btf.spec import Spec as BTFSpec
from loader.collection.maps import BTFWords, btf_words
from loader.collection.objfile import Kind, ObjectFile
from loader.collection.spec import MapSpec, VariableSpec, map_kv, map_spec, variable_spec
from loader.errors import BTFError, CollectionError
from loader.uapi import MapType

BPF_F_RDONLY_PROG = 1 << 7
BPF_F_MMAPABLE = 1 << 10
U32_MAX = 0xFFFFFFFF


def is_constant(name: str) -> bool:
    return name == ".rodata" or name.startswith(".rodata.")


def load_data_sections(
    obj: ObjectFile, maps: dict[str, MapSpec], variables: dict[str, VariableSpec]
) -> None:
    btf = obj.btf
    rw: BTFWords | None = None
    for osec in obj.of_kind.get(_DATA, ()):
        sec = osec.section
        name = sec.name
        if sec.size == 0:
            # libbpf skips empty data sections: a zero-sized array value is invalid.
            continue
        if osec.references == 0 and not osec.symbols:
            continue
        if sec.size > U32_MAX:
            raise CollectionError(f"section {name}: size {sec.size} exceeds a u32 value_size")
        if name in maps:
            raise CollectionError(f"section {name}: a map of that name already exists")
        nobits = sec.type == elf.SHT_NOBITS
        data = b"" if nobits else bytes(sec.data())
        constant = is_constant(name)
        # (Positional: name, type, key_size, value_size, max_entries, flags, four
        # zeroes, value_type_id, inner, contents, section, section_offset, legacy,
        # extra, freeze.)  NOBITS is zero-filled and not materialised: its size is
        # untrusted.
        spec = map_spec(
            name, _ARRAY, 4, sec.size, 1, BPF_F_RDONLY_PROG if constant else 0, 0, 0, 0, 0, 0,
            None, () if nobits else (map_kv(0, data),), name, 0, False, b"", constant,
        )
        # name -> (offset, size, value): VariableSpecs are built once, at the end,
        # with the BTF VAR id when there is one (a frozen dataclass costs a
        # setattr call per field).
        found: dict[str, tuple[int, int, bytes]] = {}
        symbols = osec.symbols
        for off in sorted(symbols) if len(symbols) > 1 else symbols:
            sym = symbols[off]
            if sym[6] in _HIDDEN or sym[4] not in _VISIBLE_BINDS:
                continue
            # clang <= 11 leaves compiler-internal ".L..." names in some sections.
            if sym[1].startswith("."):
                continue
            vname, vsize = sym[1], sym[3]
            if off + vsize > sec.size or vname in variables or vname in found:
                where = f"section {name}: variable {vname!r} at offset {off}"
                if off + vsize > sec.size:
                    raise CollectionError(
                        f"{where}: size {vsize} runs past the section ({sec.size} bytes)"
                    )
                raise CollectionError(f"{where}: duplicate variable name")
            found[vname] = (off, vsize, b"" if nobits else data[off : off + vsize])
        type_ids: dict[str, int] = {}
        if btf is not None:
            ds_id = _datasec_id(btf, name)
            if ds_id:
                spec.value_type_id = ds_id
                if rw is None:
                    rw = btf_words(obj, btf)
                plain = _plain_datasec(rw, ds_id, sec.size, found, type_ids)
                if plain is None:
                    type_ids.clear()
                    if _has_global_var(btf, ds_id, name):
                        spec.flags |= BPF_F_MMAPABLE
                    _check_datasec(btf, ds_id, name, sec.size, found, type_ids)
                elif plain:
                    spec.flags |= BPF_F_MMAPABLE
        for vname, (off, vsize, value) in found.items():
            variables[vname] = variable_spec(vname, name, off, vsize, value,
                                             type_ids.get(vname, 0), constant)
        maps[name] = spec


_DATA = Kind.DATA
# Enum members and tuples hoisted: each is a lookup or a build per use otherwise.
_ARRAY = MapType.ARRAY
_HIDDEN = (elf.STV_HIDDEN, elf.STV_INTERNAL)
_VISIBLE_BINDS = (elf.STB_GLOBAL, elf.STB_WEAK)
_VAR_INFO = r.BTF_KIND_VAR << 24


def _plain_datasec(
    rw: BTFWords, ds_id: int, size: int, found: dict[str, tuple[int, int, bytes]],
    type_ids: dict[str, int],
) -> bool | None:
    """_has_global_var and _check_datasec read from the words, for a DATASEC whose
    entries all decode cleanly and agree with the section: whether the map is
    mmapable (``type_ids`` filled as _check_datasec fills it); None for anything
    else, then the careful pair runs (and raises what is wrong)."""
    words, offsets, first, end = rw.words, rw.offsets, rw.first, rw.end
    pos = offsets[ds_id - first]
    info = words[pos + 1]
    if info & INFO_UNUSED_MASK:
        return None
    known = rw.known
    mmapable = False
    for j in range(pos + 3, pos + 3 + 3 * (info & 0xFFFF), 3):
        vt, off = words[j], words[j + 1]
        stop = off + words[j + 2]
        if not first <= vt < end:
            return None
        vpos = offsets[vt - first]
        if words[vpos + 1] != _VAR_INFO or words[vpos + 2] >= end or stop > size:
            return None
        name = known(words[vpos])
        if name is None:
            name = rw.name(words[vpos])
            if name is None:
                return None
        if words[vpos + 3] != r.BTF_VAR_STATIC:
            mmapable = True
        entry = found.get(name)
        if entry is not None:
            if off != entry[0] or stop - off != entry[1]:
                return None
            type_ids[name] = vt
    return mmapable


def _datasec_id(btf: BTFSpec, name: str) -> int:
    ids = btf.datasecs().get(name, [])
    if len(ids) > 1:
        raise CollectionError(f"section {name}: {len(ids)} BTF DATASECs of that name: {ids}")
    return ids[0] if ids else 0


def _has_global_var(btf: BTFSpec, ds_id: int, name: str) -> bool:
    # libbpf makes a data map mmapable when any of its variables is not static.
    ds = btf.type_by_id(ds_id)
    assert isinstance(ds, t.Datasec)
    for vsi in ds.vars:
        var = btf.type_by_id(vsi.type)
        if isinstance(var, t.Var) and var.linkage != r.BTF_VAR_STATIC:
            return True
    return False


def _check_datasec(
    btf: BTFSpec, ds_id: int, name: str, size: int, found: dict[str, tuple[int, int, bytes]],
    type_ids: dict[str, int],
) -> None:
    """Check the DATASEC against the section and the variables ``found`` in it
    (name -> (offset, size, value)); ``type_ids`` gets each one's VAR id."""
    ds = btf.type_by_id(ds_id)
    assert isinstance(ds, t.Datasec)
    for vsi in ds.vars:
        try:
            var = btf.type_by_id(vsi.type)
        except BTFError as exc:
            raise CollectionError(f"section {name}: DATASEC [{ds_id}]: {exc}") from None
        if not isinstance(var, t.Var):
            raise CollectionError(
                f"section {name}: DATASEC [{ds_id}] entry type id {vsi.type} is "
                f"{r.KIND_NAMES[var.kind]}, not VAR"
            )
        entry = found.get(var.name)
        if vsi.offset + vsi.size > size or (
            entry is not None and (vsi.offset != entry[0] or vsi.size != entry[1])
        ):
            where = f"section {name}: BTF variable {var.name!r} at offset {vsi.offset}"
            if vsi.offset + vsi.size > size:
                raise CollectionError(
                    f"{where}: size {vsi.size} runs past the section ({size} bytes)"
                )
            assert entry is not None
            if vsi.offset != entry[0]:
                raise CollectionError(
                    f"{where}: DATASEC offset differs from the ELF symbol's ({entry[0]})"
                )
            raise CollectionError(
                f"{where}: DATASEC size {vsi.size} differs from the ELF symbol's ({entry[1]})"
            )
        if entry is not None:
            type_ids[var.name] = vsi.type
