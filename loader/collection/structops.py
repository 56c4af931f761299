"""``.struct_ops`` and ``.struct_ops.link``: kernel struct_ops implemented in BPF.

Following libbpf's open (``init_struct_ops_maps`` and
``collect_st_ops_relos``): every VAR of the section's DATASEC becomes a map of
type struct_ops (key_size 4, max_entries 1, value_size the size of the VAR's
struct, value the section bytes; ``.struct_ops.link`` adds BPF_F_LINK).  Each
relocation in the section fills one function-pointer member with a program:
the relocation's symbol names the program's section and its ``st_value`` the
instruction where the program starts (the slot's addend is ignored, as libbpf
ignores it).  The program must be of type struct_ops, and a program may serve
only one member index of one struct type.

What libbpf refuses, we refuse with a typed error: a relocation outside every
VAR or not at a member's offset (CollectionError/RelocationError), on a member
that is not a function pointer (UnsupportedError, libbpf's ENOTSUP).
"""

from __future__ import annotations

import functools
from array import array

from loader import elf
from loader.btf import records as r
from loader.btf import types as t
from loader.btf.spec import INFO_UNUSED_MASK
from loader.btf.spec import Spec as BTFSpec
from loader.collection.maps import btf_words
from loader.collection.objfile import Kind, ObjectFile, ObjSection
from loader.collection.spec import (
    MapKV,
    MapSpec,
    StructOpsMember,
    map_kv,
    map_spec,
    struct_ops_member,
)
from loader.errors import BTFError, CollectionError, RelocationError, UnsupportedError
from loader.sections import program_section
from loader.uapi import MapType, ProgType

STRUCT_OPS_LINK_SEC = ".struct_ops.link"
BPF_F_LINK = 1 << 13
_INSN = 8
# What decode_str passes to bytes.decode (called inline where a call costs).
_ENCODING, _ERRORS = "utf-8", "surrogateescape"


def load_struct_ops(obj: ObjectFile, out: dict[str, MapSpec]) -> None:
    for osec in obj.of_kind.get(_STRUCT_OPS, ()):
        if _load_plain_section(obj, osec, out):
            continue
        try:
            _load_section(obj, osec, out)
        except BTFError as exc:
            raise CollectionError(f"section {osec.name}: {exc}") from None


def _load_section(obj: ObjectFile, osec: ObjSection, out: dict[str, MapSpec]) -> None:
    sec = osec.section
    name = sec.name
    if sec.type != elf.SHT_PROGBITS:
        raise CollectionError(f"section {name}: type {sec.type}, expected SHT_PROGBITS")
    btf = obj.btf
    if btf is None:
        raise CollectionError(f"section {name}: struct_ops maps need a .BTF section")
    ids = btf.datasecs().get(name, [])
    if len(ids) != 1:
        raise CollectionError(f"section {name}: {len(ids)} BTF DATASECs of that name, need one")
    datasec = btf.type_by_id(ids[0])
    assert isinstance(datasec, t.Datasec)
    data = bytes(sec.data())
    placed: list[tuple[int, int, MapSpec, t.Struct]] = []
    for vsi in datasec.vars:
        var = btf.type_by_id(vsi.type)
        if not isinstance(var, t.Var):
            raise CollectionError(
                f"section {name}: DATASEC entry type id {vsi.type} is "
                f"{r.KIND_NAMES[var.kind]}, not VAR"
            )
        where = f"section {name}: struct_ops {var.name!r} at offset {vsi.offset}"
        struct_id = btf.resolve(var.type)
        typ = btf.type_by_id(struct_id)
        if not isinstance(typ, t.Struct):
            raise CollectionError(f"{where}: type is {r.KIND_NAMES[typ.kind]}, not STRUCT")
        if not typ.name:
            raise CollectionError(f"{where}: anonymous struct type (id {struct_id})")
        if vsi.offset + typ.size > sec.size:
            raise CollectionError(
                f"{where}: struct {typ.name} of {typ.size} bytes runs past the section "
                f"({sec.size} bytes)"
            )
        if var.name in out:
            raise CollectionError(f"{where}: a map of that name already exists")
        spec = MapSpec(
            name=var.name, type=MapType.STRUCT_OPS, key_size=4, value_size=typ.size,
            max_entries=1, flags=BPF_F_LINK if name == STRUCT_OPS_LINK_SEC else 0,
            value_type_id=struct_id, section=name, section_offset=vsi.offset,
            contents=(MapKV(0, data[vsi.offset:vsi.offset + typ.size]),),
        )
        out[var.name] = spec
        placed.append((vsi.offset, vsi.offset + typ.size, spec, typ))
    _collect_relocations(obj, osec, btf, placed)


_VAR_INFO = r.BTF_KIND_VAR << 24
_STRUCT_OPS_PROG = int(ProgType.STRUCT_OPS)
# Enum members are slow attributes to look up (~0.1 µs each in 3.11).
_STRUCT_OPS_MAP = MapType.STRUCT_OPS
_STRUCT_OPS, _PROGRAM = Kind.STRUCT_OPS, Kind.PROGRAM
# info & 0x7FFF0000 of a STRUCT with no unused bits (kflag and vlen masked off).
_STRUCT_INFO = r.BTF_KIND_STRUCT << 24


def _load_plain_section(obj: ObjectFile, osec: ObjSection, out: dict[str, MapSpec]) -> bool:
    """:func:`_load_section` read straight from the BTF words, for a section where
    nothing is wrong: True when done, False (``out`` untouched) on anything unusual,
    for the careful path to say what.  It succeeds only where the careful path does,
    with the same specs (no type is decoded: its checks are made on the words)."""
    sec = osec.section
    name = sec.name
    btf = obj.btf
    if sec.type != elf.SHT_PROGBITS or btf is None:
        return False
    ids = btf.datasecs().get(name)
    if ids is None or len(ids) != 1:
        return False
    rw = btf_words(obj, btf)
    words, offsets, first, end = rw.words, rw.offsets, rw.first, rw.end
    pos = offsets[ids[0] - first]
    info = words[pos + 1]
    if info & INFO_UNUSED_MASK:
        return False
    names_below, raw = rw.names_below, rw.raw
    data = bytes(sec.data())
    flags = BPF_F_LINK if name == STRUCT_OPS_LINK_SEC else 0
    new: dict[str, MapSpec] = {}
    # (start, end, spec, struct's word position, its members' offsets) per variable.
    placed: list[tuple[int, int, MapSpec, int, array[int]]] = []
    for j in range(pos + 3, pos + 3 + 3 * (info & 0xFFFF), 3):
        vt, start = words[j], words[j + 1]
        if not first <= vt < end:
            return False
        vpos = offsets[vt - first]
        if words[vpos + 1] != _VAR_INFO or words[vpos + 2] >= end:
            return False
        var_name = rw.name(words[vpos])
        struct_id = rw.resolve(words[vpos + 2])
        if var_name is None or not struct_id:
            return False
        spos = offsets[struct_id - first]
        sinfo = words[spos + 1]
        # A STRUCT with a name (resolve checked it is readable) ...
        if sinfo & 0x7FFF0000 != _STRUCT_INFO or not rw.has_name(words[spos]):
            return False
        # ... whose members decode: type ids in range, names readable.
        stop = spos + 3 + 3 * (sinfo & 0xFFFF)
        if stop > spos + 3:
            if max(words[spos + 4:stop:3]) >= end:
                return False
            if max(words[spos + 3:stop:3]) >= names_below and not all(
                rw.name_ok(off) for off in words[spos + 3:stop:3]
            ):
                return False
        size = words[spos + 2]
        if start + size > sec.size or var_name in out or var_name in new:
            return False
        spec = new[var_name] = map_spec(
            var_name, _STRUCT_OPS_MAP, 4, size, 1, flags, 0, 0, 0, 0, struct_id, None,
            (map_kv(0, data[start:start + size]),), name, start,
        )
        placed.append((start, start + size, spec, spos, words[spos + 5:stop:3]))
    members: dict[str, list[StructOpsMember]] = {}
    bound: dict[str, tuple[int, int]] = {}
    # Member type id -> whether it is a function pointer (see _is_func_pointer).
    seen: dict[int, bool] = {}
    by_index = obj.by_index
    relocations = osec.relocations
    for off in sorted(relocations) if len(relocations) > 1 else relocations:
        owner = None
        for place in placed:
            if place[0] <= off < place[1]:
                owner = place
                break
        if owner is None:
            return False
        start, _end, spec, spos, member_offsets = owner
        moff = off - start
        if words[spos + 1] >= 0x80000000:
            return False  # kflag: bitfield offsets (no struct_ops struct has them)
        # The first member at that offset, as the careful path's search finds it
        # (array.index: the first match).
        if moff * 8 not in member_offsets:
            return False
        index = member_offsets.index(moff * 8)
        mpos = spos + 3 + 3 * index
        mtype = words[mpos + 1]
        ok = seen.get(mtype)
        if ok is None:
            ok = seen[mtype] = rw.func_pointer(mtype)
        sym = relocations[off]
        target = by_index[sym[7]]
        if not ok or target.kind is not _PROGRAM or sym[2] % _INSN:
            return False
        func = target.symbols.get(sym[2])
        if func is None or _prog_type(target.section.name) != _STRUCT_OPS_PROG:
            return False
        key = (spec.value_type_id, index)
        if bound.setdefault(func[1], key) != key:
            return False
        name_off = words[mpos]
        if name_off < names_below:
            # BTFWords.name inline (two calls less per relocation).
            member_name = raw[name_off:raw.find(b"\0", name_off)].decode(_ENCODING, _ERRORS)
        else:
            found_name = rw.name(name_off)
            if found_name is None:
                return False
            member_name = found_name
        found = members.get(spec.name)
        if found is None:
            found = members[spec.name] = []
        found.append(struct_ops_member(member_name, index, moff, func[1]))
    for place in placed:
        spec = place[2]
        spec.struct_ops = tuple(members.get(spec.name, ()))
    out.update(new)
    return True


def _is_func_pointer(btf: BTFSpec, type_id: int) -> bool:
    ptr = btf.type_by_id(btf.resolve(type_id))
    if not isinstance(ptr, t.Pointer):
        return False
    return isinstance(btf.type_by_id(btf.resolve(ptr.type)), t.FuncProto)


# The section table walk is linear (struct_ops entries near its end) and runs
# once per relocation; objects repeat a few names (bounded: fuzzers invent many).
@functools.lru_cache(maxsize=1024)
def _prog_type(section_name: str) -> ProgType:
    return program_section(section_name).prog_type


def _collect_relocations(
    obj: ObjectFile, osec: ObjSection, btf: BTFSpec,
    placed: list[tuple[int, int, MapSpec, t.Struct]],
) -> None:
    members: dict[str, list[StructOpsMember]] = {}
    # Program -> (struct type id, member index) it was first bound to.
    bound: dict[str, tuple[int, int]] = {}
    for off in sorted(osec.relocations):
        sym = osec.relocations[off]
        where = f"section {osec.name}: relocation at offset {off} against {sym[1]!r}"
        owner = next((p for p in placed if p[0] <= off < p[1]), None)
        if owner is None:
            raise RelocationError(f"{where}: not inside any struct_ops variable")
        start, _end, spec, typ = owner
        moff = off - start
        index = next(
            (i for i, m in enumerate(typ.members) if m.offset_bits == moff * 8), None
        )
        if index is None:
            raise RelocationError(
                f"{where}: no member of struct {typ.name} at byte offset {moff}"
            )
        member = typ.members[index]
        if not _is_func_pointer(btf, member.type):
            raise UnsupportedError(
                "struct_ops members other than function pointers", None,
                f"{where}: member {member.name!r} of struct {typ.name}",
            )
        target = obj.by_index[sym[7]]
        if target.kind is not Kind.PROGRAM:
            raise RelocationError(f"{where}: symbol is not in a program section")
        if sym[2] % _INSN:
            raise RelocationError(
                f"{where}: program offset {sym[2]} is not at an instruction"
            )
        func = target.symbols.get(sym[2])
        if func is None:
            raise RelocationError(
                f"{where}: no program at offset {sym[2]} of section {target.name}"
            )
        if _prog_type(target.name) != ProgType.STRUCT_OPS:
            raise RelocationError(
                f"{where}: program {func[1]!r} in section {target.name} is not a "
                f"struct_ops program"
            )
        first = bound.setdefault(func[1], (spec.value_type_id, index))
        if first != (spec.value_type_id, index):
            raise RelocationError(
                f"{where}: program {func[1]!r} already serves member index {first[1]} "
                f"of struct type id {first[0]}; cannot also be {member.name!r} "
                f"(index {index}) of {typ.name}"
            )
        members.setdefault(spec.name, []).append(
            StructOpsMember(member.name, index, moff, func[1])
        )
    for _start, _end, spec, _typ in placed:
        spec.struct_ops = tuple(members.get(spec.name, ()))
