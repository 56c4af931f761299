"""Map definitions: legacy ``bpf_map_def`` in ``maps`` and BTF-defined ``.maps``.

BTF map definitions follow libbpf's ``parse_btf_map_def``: every member is a
pointer whose target carries the value (``__uint``: a pointer to an array of
N elements), ``key``/``value`` are pointers to the real types, ``values`` is a
trailing flexible array of pointers (to a struct: the inner map of a
map-in-map; to a function prototype: a prog array) whose initialisers are
relocations in ``.rel.maps``.  cilium/ebpf's ``__ulong`` (a one-value enum) is
accepted as well.
"""

from __future__ import annotations

import operator
import struct
from array import array
from collections.abc import Callable

from loader import elf
from loader.btf import records as r
from loader.btf import types as t
from loader.btf.spec import INFO_UNUSED_MASK, MAX_RESOLVE_DEPTH, POINTER_SIZE
from loader.btf.spec import Spec as BTFSpec
from loader.btf.strings import decode_str
from loader.collection.objfile import Kind, ObjectFile, ObjSection
from loader.collection.spec import PIN_BY_NAME, PIN_NONE, MapKV, MapSpec, map_spec
from loader.errors import BTFError, CollectionError, RelocationError
from loader.uapi import MapType

# What decode_str passes to bytes.decode (called inline where a call costs).
_ENCODING, _ERRORS = "utf-8", "surrogateescape"

# struct bpf_map_def: type, key_size, value_size, max_entries, map_flags.
LEGACY_MAP_DEF_SIZE = 20
_LEGACY = {"<": struct.Struct("<5I"), ">": struct.Struct(">5I")}
_MAP_IN_MAP = (MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS)
# As plain ints: an enum member is a slower attribute to look up.
_PROG_ARRAY = int(MapType.PROG_ARRAY)
_ARRAY_OF_MAPS = int(MapType.ARRAY_OF_MAPS)
_HASH_OF_MAPS = int(MapType.HASH_OF_MAPS)
_LEGACY_MAPS, _BTF_MAPS, _PROGRAM = Kind.LEGACY_MAPS, Kind.BTF_MAPS, Kind.PROGRAM
_STT_FUNC = elf.STT_FUNC
# What map_kv does, for _load_values to do inline: MapKV's slot setters (its
# frozen __setattr__ refuses; these do not).
_new_kv = object.__new__
_kv_key, _kv_value = (MapKV.__dict__[f].__set__ for f in ("key", "value"))
# A placed map's start: a C key for the sort (a Python key function is a call per map).
_START_OF = operator.itemgetter(0)


# Section types with a size but no bytes in the file (a section named "maps" is
# classified whatever its type).
_NO_FILE_BYTES = {elf.SHT_NOBITS: "SHT_NOBITS", elf.SHT_NULL: "SHT_NULL"}


def load_legacy_maps(obj: ObjectFile, out: dict[str, MapSpec]) -> None:
    layout = _LEGACY[obj.elf.byte_order]
    for osec in obj.of_kind.get(_LEGACY_MAPS, ()):
        sec = osec.section
        if not osec.symbols:
            raise CollectionError(f"section {sec.name}: no map symbols")
        no_bytes = _NO_FILE_BYTES.get(sec.type)
        if no_bytes is not None:
            raise CollectionError(f"section {sec.name}: legacy map definitions in {no_bytes}")
        data = sec.data()
        for off in sorted(osec.symbols):
            sym = osec.symbols[off]
            name = sym[1]
            where = f"section {sec.name}: map {name!r} at offset {off}"
            if off + sym[3] > sec.size:
                raise CollectionError(
                    f"{where}: size {sym[3]} runs past the section ({sec.size} bytes)"
                )
            if sym[3] < LEGACY_MAP_DEF_SIZE:
                raise CollectionError(
                    f"{where}: size {sym[3]} is smaller than bpf_map_def "
                    f"({LEGACY_MAP_DEF_SIZE} bytes)"
                )
            if name in out:
                raise CollectionError(f"{where}: duplicate map name")
            mtype, key_size, value_size, max_entries, flags = layout.unpack_from(data, off)
            out[name] = map_spec(
                name, mtype, key_size, value_size, max_entries, flags, 0, 0, PIN_NONE, 0, 0,
                None, (), sec.name, off, True,
                bytes(data[off + LEGACY_MAP_DEF_SIZE : off + sym[3]]),
            )


def load_btf_maps(obj: ObjectFile, out: dict[str, MapSpec]) -> None:
    for osec in obj.of_kind.get(_BTF_MAPS, ()):
        sec = osec.section
        btf = obj.btf
        if btf is not None and sec.type != elf.SHT_NOBITS:
            ids = btf.datasecs().get(sec.name)
            if ids is not None and len(ids) == 1:
                # The usual section: every definition plain, read from the words in
                # one pass.  Anything else (or any doubt) takes the careful path
                # below from its start (``out`` untouched), so every error is still
                # raised here, in libbpf's order, with the same message.
                fast = btf_words(obj, btf).section(osec, ids[0], out)
                if fast is not None:
                    _load_values(obj, osec, fast)
                    continue
        if btf is None:
            raise CollectionError(f"section {sec.name}: BTF-defined maps need a .BTF section")
        if sec.type == elf.SHT_NOBITS:
            raise CollectionError(f"section {sec.name}: is SHT_NOBITS, expected PROGBITS")
        ids = btf.datasecs().get(sec.name, [])
        if len(ids) != 1:
            raise CollectionError(
                f"section {sec.name}: {len(ids)} BTF DATASECs of that name, need exactly one"
                + (f": ids {ids[:8]}" if ids else "")
            )
        ds_id = ids[0]
        rw = btf_words(obj, btf)
        datasec = btf.type_by_id(ds_id)
        assert isinstance(datasec, t.Datasec)
        data = sec.data()
        placed: list[tuple[int, int, MapSpec, int]] = []
        symbols = osec.symbols
        for vsi in datasec.vars:
            found = rw.var(vsi.type)
            if found is not None:
                name, var_type, linkage = found
            else:
                # The decoder: its error, or the kind that is not a VAR.
                var = btf.type_by_id(vsi.type)
                if not isinstance(var, t.Var):
                    raise CollectionError(
                        f"section {sec.name}: DATASEC entry type id {vsi.type} is "
                        f"{r.KIND_NAMES[var.kind]}, not VAR"
                    )
                name, var_type, linkage = var.name, var.type, var.linkage
            start, end = vsi.offset, vsi.offset + vsi.size
            sym = symbols.get(start)
            where = f"section {sec.name}: map {name!r} at offset {start}"
            if (not name or end > sec.size or linkage != r.BTF_VAR_GLOBAL_ALLOCATED
                    or sym is None or sym[1] != name or _first_nonzero(data, start, end) >= 0):
                # The checks in order, raised here (fuzz findings are keyed by the
                # raising function).
                if not name:
                    raise CollectionError(f"{where}: map variable has no name")
                if end > sec.size:
                    raise CollectionError(
                        f"{where}: size {vsi.size} runs past the section ({sec.size} bytes)"
                    )
                if linkage != r.BTF_VAR_GLOBAL_ALLOCATED:
                    # libbpf: "unsupported map linkage"; a static map cannot be shared.
                    raise CollectionError(f"{where}: VAR linkage {linkage} is not global")
                if sym is None or sym[1] != name:
                    raise CollectionError(f"{where}: no ELF symbol {name!r} at that offset")
                nonzero = _first_nonzero(data, start, end)
                raise CollectionError(
                    f"{where}: byte at section offset {nonzero} is "
                    f"{data[nonzero]:#04x}; BTF map definitions must be all zeroes"
                )
            raw = rw.struct(rw.resolve(var_type))
            if raw is not None:
                struct_size, members = raw
            else:
                # The decoding path: it says what is wrong, or handles what the raw
                # reader leaves to it.
                struct_t = btf.type_by_id(btf.resolve(var_type))
                if not isinstance(struct_t, t.Struct):
                    raise CollectionError(
                        f"{where}: definition is {r.KIND_NAMES[struct_t.kind]}, not STRUCT"
                    )
                struct_size = struct_t.size
                members = [(m.name, m.type, m.offset_bits) for m in struct_t.members]
            if struct_size > vsi.size:
                raise CollectionError(
                    f"{where}: definition of {struct_size} bytes exceeds its variable "
                    f"({vsi.size} bytes)"
                )
            if name in out:
                raise CollectionError(f"{where}: duplicate map name")
            try:
                spec = _map_from_btf(btf, rw, members, name, inner=False)
            except BTFError as exc:
                raise CollectionError(f"{where}: {exc}") from None
            spec.section = sec.name
            spec.section_offset = vsi.offset
            out[name] = spec
            values_off = -1
            for mname, _, moff in members:
                if mname == "values":
                    values_off = moff // 8
                    break
            placed.append((vsi.offset, vsi.offset + vsi.size, spec, values_off))
        if len(placed) != len(osec.symbols):
            extra = sorted(
                s[1] for s in osec.symbols.values() if s[1] not in {p[2].name for p in placed}
            )
            raise CollectionError(
                f"section {sec.name}: symbols {extra} have no BTF map definition"
            )
        _load_values(obj, osec, placed)


def _first_nonzero(data: memoryview, start: int, end: int) -> int:
    chunk = bytes(data[start:end])
    if not chunk.strip(b"\0"):
        return -1
    return start + len(chunk) - len(chunk.lstrip(b"\0"))


_MODIFIERS = frozenset({r.BTF_KIND_TYPEDEF, r.BTF_KIND_VOLATILE, r.BTF_KIND_CONST,
                        r.BTF_KIND_RESTRICT, r.BTF_KIND_TYPE_TAG})


# (name, type id, offset in bits) of one member of a map definition struct.
_Member = tuple[str, int, int]

_NO_VLEN_KINDS = frozenset({
    r.BTF_KIND_INT, r.BTF_KIND_PTR, r.BTF_KIND_ARRAY, r.BTF_KIND_FWD, r.BTF_KIND_TYPEDEF,
    r.BTF_KIND_VOLATILE, r.BTF_KIND_CONST, r.BTF_KIND_RESTRICT, r.BTF_KIND_VAR,
    r.BTF_KIND_FLOAT, r.BTF_KIND_DECL_TAG, r.BTF_KIND_TYPE_TAG,
})
_SIZE_FOLLOW = frozenset({
    r.BTF_KIND_TYPEDEF, r.BTF_KIND_VOLATILE, r.BTF_KIND_CONST, r.BTF_KIND_RESTRICT,
    r.BTF_KIND_TYPE_TAG, r.BTF_KIND_VAR,
})


# (start, end, spec, offset of 'values' or -1) of one map definition in its section.
_Placed = tuple[int, int, MapSpec, int]
# (STRUCT type id, name, offset, variable size) of one map definition.
_Def = tuple[int, str, int, int]
# The size of an inner map's definition (no variable): past any STRUCT's.
_ANY_SIZE = 1 << 32
# A definition's fields before its members: all zero, 'values' at offset -1 (none).
_NO_FIELDS = (0,) * 11 + (-1,)
# No definition read yet to reuse (BTFWords.definitions; its id is -1, never a type's).
_NO_TWIN = map_spec("", 0, 0, 0, 0)
_VAR_INFO = r.BTF_KIND_VAR << 24
_PTR_INFO = r.BTF_KIND_PTR << 24
_FUNC_INFO = r.BTF_KIND_FUNC << 24
_ARRAY_INFO = r.BTF_KIND_ARRAY << 24
# Plain headers (no kflag, vlen or unused bits) of the kinds a key/value type
# usually is or goes through.
_INT_INFO = r.BTF_KIND_INT << 24
_TYPEDEF_INFO = r.BTF_KIND_TYPEDEF << 24
_CONST_INFO = r.BTF_KIND_CONST << 24
_VOLATILE_INFO = r.BTF_KIND_VOLATILE << 24
# info & 0x7FFF0000 of a FUNC_PROTO with no unused bits.
_PROTO_INFO = r.BTF_KIND_FUNC_PROTO << 24
# info & 0x7FFF0000 of a STRUCT with no unused bits (kflag and vlen masked off).
_STRUCT_INFO = r.BTF_KIND_STRUCT << 24
_UNION_INFO = r.BTF_KIND_UNION << 24
# Member codes for BTFWords.definitions: the __uint members first (up to _PINNING).
(_TYPE, _MAX_ENTRIES, _MAP_FLAGS, _KEY_SIZE, _VALUE_SIZE, _MAP_EXTRA, _NUMA_NODE, _PINNING,
 _KEY, _VALUE, _VALUES) = range(11)
# Any other member (or an unreadable name): past every code, so definitions refuses it.
_NO_CODE = 99
_MEMBER_CODES = {
    "type": _TYPE, "max_entries": _MAX_ENTRIES, "key": _KEY, "value": _VALUE,
    "map_flags": _MAP_FLAGS, "key_size": _KEY_SIZE, "value_size": _VALUE_SIZE,
    "map_extra": _MAP_EXTRA, "numa_node": _NUMA_NODE, "pinning": _PINNING, "values": _VALUES,
}
_RAW_CODES = {name.encode("ascii"): code for name, code in _MEMBER_CODES.items()}
_UNSEEN = (-1, -1)
# A PTR's info and target and the ARRAY after it (info, size, elem, index, nelems),
# names skipped: a ``__uint`` type as clang lays it out.
_ptr_array = struct.Struct("=4xII4xIIIII").unpack_from
# A PTR, a TYPEDEF and an INT (ten words): a ``__type`` of a typedef'd integer.
_ptr_typedef_int = struct.Struct("=10I").unpack_from
_GLOBAL_ALLOCATED = r.BTF_VAR_GLOBAL_ALLOCATED
# A VAR's four words: name, info, type, linkage.
_var_words = struct.Struct("=4I").unpack_from
_Unpack = Callable[["array[int]", int], tuple[int, ...]]


def _triples(vlen: int) -> _Unpack:
    """The unpack of ``vlen`` triples of words (a DATASEC's entries)."""
    return struct.Struct(f"={3 * vlen}I").unpack_from


# The usual counts' unpacks, made once (a list index is the cheapest look-up).
_TRIPLES_MAX = 64
_TRIPLES = [_triples(vlen) for vlen in range(_TRIPLES_MAX)]


class BTFWords:
    """Type checks and values read straight from one spec's BTF words, for the
    collection readers (maps here; struct_ops, data sections and externs too).

    Decoding a definition's struct, its members' pointer targets and the key and
    value types into dataclasses is most of the cost of opening an object with BTF
    maps, and so is a Python call per type looked at: these readers bind what they
    need once and remember answers per type id (maps share their member types).
    Each answers None (0 for :meth:`resolve`, -1 for :meth:`resolved`, False for
    the checks) whenever the decoder would do anything but return a plain value (a
    bad id, unused bits, a bad name offset, an unexpected kind): the caller then
    takes the decoding path, so every error is still the decoder's.  Answering
    "not sure" is always allowed; answering a value the decoder would not is not.
    """

    __slots__ = ("codes", "end", "first", "get", "known", "names_below", "offsets",
                 "pair_last", "raw", "sizes", "targets", "typed", "uints", "words")

    def __init__(self, btf: BTFSpec) -> None:
        self.words, self.offsets = btf.index
        # The last word position nine words can be unpacked from (_ptr_array; ten,
        # _ptr_typedef_int, from the one before).
        self.pair_last = len(self.words) - 9
        self.first = btf.first_type_id
        self.end = btf.end_type_id
        strings = btf.strings
        self.known = strings.known()
        self.get = strings.get
        # Checking a name offset needs no decode: in a table of its own that ends in
        # NUL (what open_raw lets through), every offset inside it starts a string
        # (maybe mid-string) that decodes, and no other does.  0: ask ``get``.
        raw = self.raw = strings.raw
        self.names_below = len(raw) if strings.base is None and raw[-1:] == b"\0" else 0
        # Per member name offset: its _MEMBER_CODES code, _NO_CODE for none or a bad name.
        self.codes: dict[int, int] = {}
        self.uints: dict[int, int | None] = {}
        self.sizes: dict[int, int | None] = {}
        # Per key/value member type id: (T's id, T's size) (see _typed), once read.
        self.typed: dict[int, tuple[int, int]] = {}
        # Per 'values' member type id: (kind, id) of what its pointers point to.
        self.targets: dict[int, tuple[int, int] | None] = {}

    def string(self, off: int) -> str | None:
        """The name at ``off``; None where the decoder would raise."""
        try:
            return self.get(off)
        except BTFError:
            return None

    def name(self, off: int) -> str | None:
        """:meth:`string`, decoding straight from the table where every offset
        inside it is a string start (what ``get`` would answer, without its calls)."""
        if off < self.names_below:
            raw = self.raw
            return decode_str(raw[off:raw.find(b"\0", off)])
        return self.string(off)

    def has_name(self, off: int) -> bool:
        """Whether the name at ``off`` is readable and not empty."""
        if off < self.names_below:
            return self.raw[off] != 0
        return bool(self.string(off))

    # -- the one-pass reader of a whole .maps section ------------------------------

    def section(self, osec: ObjSection, ds_id: int,
                out: dict[str, MapSpec]) -> list[_Placed] | None:
        """Every map of ``osec`` (whose DATASEC is ``ds_id``), added to ``out``, and
        where each sits; None, with ``out`` untouched, unless every definition is
        plain: then the careful path decides (and raises what is wrong).

        Succeeds only where the careful path succeeds with the same specs: the
        same checks (stricter is fine: a refusal just costs the careful pass), and
        values from the same readers.
        """
        words, offsets, first, end = self.words, self.offsets, self.first, self.end
        pos = offsets[ds_id - first]
        info = words[pos + 1]
        if info & INFO_UNUSED_MASK:
            return None
        sec = osec.section
        sec_name, sec_size = sec.name, sec.size
        data = sec.data()
        # Definitions must be all zeroes; in a section of nothing else, every one is
        # (one compare: strip() walks the bytes one at a time).
        zeroes = data.tobytes() == bytes(len(data))
        symbols = osec.symbols
        known = self.known
        # (type id, name, offset, size) of each definition, read by definitions().
        defs: list[_Def] = []
        vlen = info & 0xFFFF
        # The entries' words in one unpack (13 maps: 39 array subscripts cost more),
        # walked as (VAR id, offset, size) triples: three words each, so no strict=
        # (a keyword argument sends zip's call down its slow path).
        unpack = _TRIPLES[vlen] if vlen < _TRIPLES_MAX else _triples(vlen)
        entries = iter(unpack(words, 4 * pos + 12))
        for vt, start, vsize in zip(entries, entries, entries):  # noqa: B905
            if not first <= vt < end:
                return None
            # A VAR (no kflag, vlen or unused bits), global, whose type is a type.
            name_off, var_info, var_type, linkage = _var_words(words, 4 * offsets[vt - first])
            if var_info != _VAR_INFO or linkage != _GLOBAL_ALLOCATED or var_type >= end:
                return None
            name = known(name_off)
            if name is None:
                name = self.name(name_off)
            if not name or start + vsize > sec_size:
                return None
            # (Symbol fields by position, name 1: a namedtuple attribute costs more.)
            # A name given twice is counted below.
            sym = symbols.get(start)
            if sym is None or sym[1] != name:
                return None
            if not zeroes and _first_nonzero(data, start, start + vsize) >= 0:
                return None
            defs.append((var_type, name, start, vsize))
        # Where each map sits matters only to relocations (_load_values).
        placed: list[_Placed] | None = [] if osec.relocations else None
        new = self.definitions(defs, sec_name, False, placed)
        # Every name once (no two maps, no map already read), one symbol each.
        if (new is None or len(new) != vlen or vlen != len(symbols)
                or (out and not out.keys().isdisjoint(new))):
            return None
        out.update(new)
        return placed if placed is not None else []

    def definitions(self, defs: list[_Def], section: str, inner: bool,
                    placed: list[_Placed] | None) -> dict[str, MapSpec] | None:
        """The spec each map definition of ``defs`` makes, by name, as _map_from_btf
        would make it (placed at ``section`` + its offset; ``inner``: an inner map's
        definition), its placement appended to ``placed`` (unless None); None
        where _map_from_btf would not simply succeed, or a definition's STRUCT is
        larger than its variable.  One frame for all of a section's maps: what
        each would bind again is bound once."""
        words, offsets, first, end = self.words, self.offsets, self.first, self.end
        below = self.names_below
        codes, uints, typed, raw = self.codes, self.uints, self.typed, self.raw
        code_of = codes.get
        new: dict[str, MapSpec] = {}
        # The last definition read without 'values' (its STRUCT's id and its spec):
        # two maps of one struct type, or an inner map template that is also a named
        # map's type (map-in-map), take its fields rather than reading the same
        # members again (they read the same: the reads depend on the type alone).
        # (And the STRUCTs read with a 'pinning' member, which an inner map refuses.)
        reuse_id, twin = -1, _NO_TWIN
        pinned: tuple[int, ...] = ()
        for type_id, name, offset, var_size in defs:
            if type_id == reuse_id:
                if words[offsets[type_id - first] + 2] > var_size:
                    return None
                spec = map_spec(name, twin.type, twin.key_size, twin.value_size,
                                twin.max_entries, twin.flags, twin.map_extra, twin.numa_node,
                                twin.pinning, twin.key_type_id, twin.value_type_id, None, (),
                                section, offset)
                new[name] = spec
                if placed is not None:
                    placed.append((offset, offset + var_size, spec, -1))
                continue
            if not first <= type_id < end:
                return None
            pos = offsets[type_id - first]
            info = words[pos + 1]
            if info & 0x7FFF0000 != _STRUCT_INFO:
                # Modifiers in front (or not a clean struct): resolve, check again.
                type_id = self.resolve(type_id)
                if not type_id:
                    return None
                pos = offsets[type_id - first]
                info = words[pos + 1]
                if info & 0x7FFF0000 != _STRUCT_INFO:
                    return None
            if words[pos] >= below and not self.name_ok(words[pos]):
                return None
            (mtype, key_size, value_size, max_entries, flags, extra, numa, pinning, key_id,
             value_id, values, values_off) = _NO_FIELDS
            last = pos + 3 * (info & 0xFFFF)
            # Each member's type id is checked where it is first read (uint, _typed,
            # _values_target): a remembered answer was checked then.  A while loop
            # over the member positions (pos + 3, ..., last): for a definition's few
            # members a range object and its iterator cost more than the adds.
            j = pos
            while j < last:
                j += 3
                mid = words[j + 1]
                code = code_of(words[j])
                if code is None:
                    name_off = words[j]
                    if name_off < below:
                        # _code's read inline (a call per name read the first time).
                        code = codes[name_off] = _RAW_CODES.get(
                            raw[name_off:raw.find(b"\0", name_off)], _NO_CODE)
                    else:
                        code = self._code(name_off)
                if code <= _PINNING:
                    # __uint(name, N): a plain PTR to a plain ARRAY of N, read here as
                    # _uint reads it (anything else: _uint itself), remembered per type
                    # (``__uint(type, 1)`` and ``__uint(max_entries, 1)`` share it).
                    value = uints.get(mid)
                    if value is None:
                        if first <= mid < end:
                            at = offsets[mid - first]
                            if at <= self.pair_last:
                                # clang puts the ARRAY right after its PTR: both read in
                                # one unpack (nine words; a plain PTR is three), checked
                                # as _uint checks them (anything else: the read below).
                                ptr_info, target, arr_info, arr_zero, elem, index, nelems = (
                                    _ptr_array(words, 4 * at))
                                if (ptr_info == _PTR_INFO and target == mid + 1 and target < end
                                        and arr_info == _ARRAY_INFO and not arr_zero
                                        and elem < end > index):
                                    value = uints[mid] = nelems
                            if value is None:
                                # The ARRAY elsewhere (the first __uint: clang puts its
                                # element type in between): read as _uint reads it.
                                target = words[at + 2]
                                if words[at + 1] == _PTR_INFO and first <= target < end:
                                    at = offsets[target - first]
                                    if (words[at + 1] == _ARRAY_INFO and not words[at + 2]
                                            and words[at + 3] < end > words[at + 4]):
                                        value = uints[mid] = words[at + 5]
                        if value is None:
                            value = self.uint(mid)
                            if value is None:
                                return None
                    # Most common first; _set_size's conflicts are refusals.
                    if code == _TYPE:
                        mtype = value
                    elif code == _MAX_ENTRIES:
                        max_entries = value
                    elif code == _MAP_FLAGS:
                        flags = value
                    elif code == _KEY_SIZE:
                        if key_size and key_size != value:
                            return None
                        key_size = value
                    elif code == _VALUE_SIZE:
                        if value_size and value_size != value:
                            return None
                        value_size = value
                    elif code == _MAP_EXTRA:
                        extra = value
                    elif code == _NUMA_NODE:
                        numa = value
                    elif inner or (value != PIN_NONE and value != PIN_BY_NAME):
                        return None
                    else:
                        pinning = value
                        pinned += (type_id,)
                elif code == _KEY or code == _VALUE:
                    pointee = typed.get(mid)
                    if pointee is None:
                        # (Only answers are remembered: a refusal ends the read.)
                        pointee = self._typed(mid)
                        if pointee is None:
                            return None
                        typed[mid] = pointee
                    target, size = pointee
                    if code == _KEY:
                        if key_size and key_size != size:
                            return None
                        key_size, key_id = size, target
                    else:
                        if value_size and value_size != size:
                            return None
                        value_size, value_id = size, target
                elif code == _VALUES and not inner and j == last:
                    # (0, void, would read as "no 'values'".)
                    if (value_size and value_size != 4) or not first <= mid < end:
                        return None
                    value_size, values = 4, mid
                    off = words[j + 2]
                    values_off = (off & 0xFFFFFF if info >= 0x80000000 else off) // 8
                else:
                    return None
            struct_size: int = words[pos + 2]
            if not mtype or struct_size > var_size:
                return None
            spec = map_spec(name, mtype, key_size, value_size, max_entries, flags, extra, numa,
                            pinning, key_id, value_id, None, (), section, offset)
            if values:
                target = self.targets.get(values, _UNSEEN)
                if target is _UNSEEN:
                    target = self.targets[values] = self._values_target(values)
                if target is None:
                    return None
                if mtype == _PROG_ARRAY:
                    if target[0] != r.BTF_KIND_FUNC_PROTO:
                        return None
                elif mtype == _ARRAY_OF_MAPS or mtype == _HASH_OF_MAPS:
                    if target[0] != r.BTF_KIND_STRUCT:
                        return None
                    inner_name = name + ".inner"
                    if target[1] == reuse_id and reuse_id not in pinned:
                        # (An inner map refuses 'values': the twin has none.)
                        spec.inner = map_spec(
                            inner_name, twin.type, twin.key_size, twin.value_size,
                            twin.max_entries, twin.flags, twin.map_extra, twin.numa_node, 0,
                            twin.key_type_id, twin.value_type_id)
                    else:
                        got = self.definitions([(target[1], inner_name, 0, _ANY_SIZE)], "",
                                               True, None)
                        if got is None:
                            return None
                        spec.inner = got[inner_name]
                else:
                    return None
            else:
                reuse_id, twin = type_id, spec
            new[name] = spec
            if placed is not None:
                placed.append((offset, offset + var_size, spec, values_off))
        return new

    def _code(self, name_off: int) -> int:
        """The _MEMBER_CODES code of the member name at ``name_off`` (remembered),
        _NO_CODE for any other name or an unreadable one."""
        if name_off < self.names_below:
            # Compared as bytes: the decode is one-to-one, the names ASCII.
            raw = self.raw
            code = _RAW_CODES.get(raw[name_off:raw.find(b"\0", name_off)], _NO_CODE)
        else:
            name = self.string(name_off)
            code = _MEMBER_CODES.get(name, _NO_CODE) if name is not None else _NO_CODE
        self.codes[name_off] = code
        return code

    def _typed(self, type_id: int) -> tuple[int, int] | None:
        """(T's id, T's size) of ``__type(name, T)`` as _typed_member reads it
        without decoding; None where it would decode."""
        # The usual member first: a plain unnamed PTR (what pointer() checks).
        first, end = self.first, self.end
        if first <= type_id < end:
            words = self.words
            pos = self.offsets[type_id - first]
            below = self.names_below
            if pos < self.pair_last:
                # ``__type(key, __u32)`` as clang lays it out (PTR, TYPEDEF, INT one
                # after the other: three words each, then the INT's four), read in
                # one unpack and checked as the reads below check them.
                (ptr_name, ptr_info, target, td_name, td_info, td_type, int_name, int_info,
                 int_size, int_bits) = _ptr_typedef_int(words, 4 * pos)
                if (ptr_info == _PTR_INFO and td_info == _TYPEDEF_INFO and int_info == _INT_INFO
                        and target == type_id + 1 and td_type == type_id + 2 and td_type < end
                        and ptr_name < below and td_name < below and int_name < below
                        and not int_bits & 0xF000FF00):
                    return target, int_size
            target = words[pos + 2]
            if words[pos + 1] == _PTR_INFO and words[pos] < below and target < end:
                # (size() inline: one call less for a pointee read the first time.)
                sizes = self.sizes
                if target in sizes:
                    size = sizes[target]
                else:
                    size = sizes[target] = self._size(target)
                if size is not None:
                    return target, size
                return None
        found = self.pointer(type_id)
        if found is not None:
            size = self.size(found)
            if size is not None:
                return found, size
        return None

    def _values_target(self, type_id: int) -> tuple[int, int] | None:
        """(kind, id) of what 'values' (ARRAY[0] of modifiers* PTR to modifiers* X)
        points to, each type checked as its decode would; X must be a FUNC_PROTO
        (checked here) or a STRUCT (checked by :meth:`definitions`)."""
        words, offsets, first, end = self.words, self.offsets, self.first, self.end
        if first <= type_id < end:
            # The usual shape, every header plain: ARRAY[0] of PTR to FUNC_PROTO/STRUCT.
            below = self.names_below
            pos = offsets[type_id - first]
            ptr = words[pos + 3]
            if (words[pos + 1] == _ARRAY_INFO and words[pos] < below and not words[pos + 2]
                    and first <= ptr < end and words[pos + 4] < end and not words[pos + 5]):
                pos = offsets[ptr - first]
                target = words[pos + 2]
                if words[pos + 1] == _PTR_INFO and words[pos] < below and first <= target < end:
                    pos = offsets[target - first]
                    kind = words[pos + 1] & 0x7FFF0000
                    if words[pos] < below:
                        if kind == _STRUCT_INFO:
                            return r.BTF_KIND_STRUCT, target
                        if kind == _PROTO_INFO and self.proto_ok_at(pos):
                            return r.BTF_KIND_FUNC_PROTO, target
        pos = self._pos(type_id)
        if pos < 0 or (words[pos + 1] >> 24) & 0x1F != r.BTF_KIND_ARRAY:
            return None
        if words[pos + 2] or words[pos + 3] >= end or words[pos + 4] >= end or words[pos + 5]:
            return None
        target = self.pointee(words[pos + 3])
        if not target:
            return None
        kind = (words[offsets[target - first] + 1] >> 24) & 0x1F
        if kind == r.BTF_KIND_FUNC_PROTO:
            if not self.proto_ok(target):
                return None
        elif kind != r.BTF_KIND_STRUCT:
            return None
        return kind, target

    def pointee(self, type_id: int) -> int:
        """``btf.resolve(ptr.type)`` of the PTR that ``btf.resolve(type_id)`` is,
        every type on the way checked as its decode would; 0 for anything else."""
        ptr = self.resolve(type_id)
        if not ptr:
            return 0
        words = self.words
        pos = self.offsets[ptr - self.first]
        if (words[pos + 1] >> 24) & 0x1F != r.BTF_KIND_PTR or words[pos + 2] >= self.end:
            return 0
        return self.resolve(words[pos + 2])

    def proto_ok(self, type_id: int) -> bool:
        """Whether the FUNC_PROTO ``type_id`` (whose header :meth:`resolve` checked)
        decodes: return and param types in range, param names readable."""
        return self.proto_ok_at(self.offsets[type_id - self.first])

    def proto_ok_at(self, pos: int) -> bool:
        """:meth:`proto_ok` of the FUNC_PROTO at word ``pos``."""
        words, end = self.words, self.end
        if words[pos + 2] >= end:
            return False
        stop = pos + 3 + 2 * (words[pos + 1] & 0xFFFF)
        if stop <= pos + 9:
            # A few params (the usual prototype): a loop beats slicing.
            below = self.names_below
            for j in range(pos + 3, stop, 2):
                if words[j + 1] >= end or (words[j] >= below and not self.name_ok(words[j])):
                    return False
            return True
        if max(words[pos + 4:stop:2]) >= end:
            return False
        return max(words[pos + 3:stop:2]) < self.names_below or all(
            self.name_ok(off) for off in words[pos + 3:stop:2]
        )

    def func_pointer(self, type_id: int) -> bool:
        """Whether ``btf.resolve(type_id)`` is a PTR to (modifiers*) a FUNC_PROTO,
        every type on the way decoding cleanly."""
        words, offsets, first, end = self.words, self.offsets, self.first, self.end
        if first <= type_id < end:
            # The usual member: a plain PTR straight to a FUNC_PROTO.
            pos = offsets[type_id - first]
            target = words[pos + 2]
            if (words[pos + 1] == _PTR_INFO and words[pos] < self.names_below
                    and first <= target < end):
                pos = offsets[target - first]
                if (words[pos + 1] & 0x7FFF0000 == _PROTO_INFO
                        and words[pos] < self.names_below and self.proto_ok_at(pos)):
                    return True
        target = self.pointee(type_id)
        return bool(target) and (
            (words[offsets[target - first] + 1] >> 24) & 0x1F == r.BTF_KIND_FUNC_PROTO
            and self.proto_ok(target)
        )

    def name_ok(self, off: int) -> bool:
        if off < self.names_below or self.known(off) is not None:
            return True
        try:
            self.get(off)  # memoises it for the next known()
        except BTFError:
            return False
        return True

    def _pos(self, type_id: int) -> int:
        """Word position of an own type whose header decodes cleanly, else -1."""
        if not self.first <= type_id < self.end:
            return -1
        words = self.words
        pos: int = self.offsets[type_id - self.first]
        info = words[pos + 1]
        if info & INFO_UNUSED_MASK or (info & 0xFFFF and (info >> 24) & 0x1F in _NO_VLEN_KINDS):
            return -1
        if not self.name_ok(words[pos]):
            return -1
        return pos

    def var(self, type_id: int) -> tuple[str, int, int] | None:
        """(name, type, linkage) of VAR ``type_id``."""
        pos = self._pos(type_id)
        if pos < 0:
            return None
        words = self.words
        if (words[pos + 1] >> 24) & 0x1F != r.BTF_KIND_VAR or words[pos + 2] >= self.end:
            return None
        name = self.known(words[pos])
        if name is None:
            name = self.get(words[pos])  # _pos found it readable
        linkage: int = words[pos + 3]
        return name, words[pos + 2], linkage

    def resolve(self, type_id: int) -> int:
        """``btf.resolve``; 0 when the decoder has to look."""
        words, end = self.words, self.end
        for _ in range(MAX_RESOLVE_DEPTH):
            pos = self._pos(type_id)
            if pos < 0:
                return 0
            if (words[pos + 1] >> 24) & 0x1F not in _MODIFIERS:
                return type_id
            type_id = words[pos + 2]
            if type_id >= end:
                return 0
        return 0

    def datasec_entries(self, type_id: int) -> list[int] | None:
        """The VAR ids of DATASEC ``type_id`` (an own DATASEC whose name reads, as
        ``btf.datasecs()`` lists them), where it decodes cleanly; else None."""
        words = self.words
        pos = self.offsets[type_id - self.first]
        info = words[pos + 1]
        if info & INFO_UNUSED_MASK:
            return None
        ids = words[pos + 3:pos + 3 + 3 * (info & 0xFFFF):3].tolist()
        if ids and max(ids) >= self.end:
            return None
        return ids

    def var_or_func(self, type_id: int) -> tuple[int, str, int, int] | None:
        """(kind, name, type, linkage) of the VAR or FUNC ``type_id`` where it
        decodes cleanly (no kflag); else None."""
        first, end = self.first, self.end
        if not first <= type_id < end:
            return None
        words = self.words
        pos = self.offsets[type_id - first]
        info = words[pos + 1]
        if info == _VAR_INFO:
            kind, linkage = r.BTF_KIND_VAR, words[pos + 3]
        elif info & 0xFFFF0000 == _FUNC_INFO:
            kind, linkage = r.BTF_KIND_FUNC, info & 0xFFFF
        else:
            return None
        target: int = words[pos + 2]
        name = self.name(words[pos])
        if target >= end or name is None:
            return None
        return kind, name, target, linkage

    def resolved(self, type_id: int) -> int:
        """``btf.resolve(type_id)`` where it returns without raising (every type on
        the way, and the one it stops at, decoding cleanly); else -1."""
        words, end = self.words, self.end
        for _ in range(MAX_RESOLVE_DEPTH):
            if type_id == 0:
                return 0  # void
            pos = self._pos(type_id)
            if pos < 0:
                return -1
            kind = (words[pos + 1] >> 24) & 0x1F
            if kind not in _MODIFIERS:
                return type_id if self._decodes(pos, kind) else -1
            type_id = words[pos + 2]
            if type_id >= end:
                return -1
        return -1

    def _decodes(self, pos: int, kind: int) -> bool:
        """Whether the type at ``pos``, whose header :meth:`_pos` checked, decodes:
        decode_type's per-kind checks, for the usual kinds (False for the rest)."""
        words, end = self.words, self.end
        if kind == r.BTF_KIND_STRUCT or kind == r.BTF_KIND_UNION:
            stop = pos + 3 + 3 * (words[pos + 1] & 0xFFFF)
            if stop == pos + 3:
                return True
            if max(words[pos + 4:stop:3]) >= end:
                return False
            return max(words[pos + 3:stop:3]) < self.names_below or all(
                self.name_ok(off) for off in words[pos + 3:stop:3]
            )
        if kind == r.BTF_KIND_INT:
            return not words[pos + 3] & 0xF0000000
        if kind == r.BTF_KIND_PTR:
            return words[pos + 2] < end
        if kind == r.BTF_KIND_ARRAY:
            return not words[pos + 2] and words[pos + 3] < end and words[pos + 4] < end
        if kind == r.BTF_KIND_FWD:
            return not words[pos + 2]
        if kind == r.BTF_KIND_ENUM or kind == r.BTF_KIND_ENUM64:
            return self._enum_ok(pos, kind)
        if kind == r.BTF_KIND_FUNC_PROTO:
            return self.proto_ok_at(pos)
        return kind == r.BTF_KIND_FLOAT

    def _enum_ok(self, pos: int, kind: int) -> bool:
        """Whether the ENUM/ENUM64 at ``pos`` (header checked) decodes: value names
        readable."""
        words = self.words
        step = 2 if kind == r.BTF_KIND_ENUM else 3
        stop = pos + 3 + step * (words[pos + 1] & 0xFFFF)
        return stop == pos + 3 or max(words[pos + 3:stop:step]) < self.names_below or all(
            self.name_ok(off) for off in words[pos + 3:stop:step]
        )

    def align(self, type_id: int) -> int:
        """externs.align_of for a chain of modifiers and arrays down to an INT, an
        ENUM or a PTR, each decoding cleanly; 0 for anything else (the caller asks
        align_of)."""
        words, end = self.words, self.end
        for _ in range(MAX_RESOLVE_DEPTH):
            pos = self._pos(type_id)
            if pos < 0:
                return 0
            kind = (words[pos + 1] >> 24) & 0x1F
            st = words[pos + 2]
            if kind == r.BTF_KIND_INT:
                return 0 if words[pos + 3] & 0xF0000000 else max(1, min(st, 8))
            if kind == r.BTF_KIND_ENUM or kind == r.BTF_KIND_ENUM64:
                return max(1, min(st, 8)) if self._enum_ok(pos, kind) else 0
            if kind == r.BTF_KIND_PTR:
                return POINTER_SIZE if st < end else 0
            if kind == r.BTF_KIND_ARRAY:
                if st or words[pos + 3] >= end or words[pos + 4] >= end:
                    return 0
                type_id = words[pos + 3]
            elif kind in _MODIFIERS and st < end:
                type_id = st
            else:
                return 0
        return 0

    def _members(self, pos: int, kflag: bool) -> list[_Member] | None:
        words, end, known = self.words, self.end, self.known
        out = []
        for j in range(pos + 3, pos + 3 + 3 * (words[pos + 1] & 0xFFFF), 3):
            mtype = words[j + 1]
            if mtype >= end:
                return None
            name = known(words[j])
            if name is None:
                try:
                    name = self.get(words[j])
                except BTFError:
                    return None
            off = words[j + 2]
            out.append((name, mtype, off & 0xFFFFFF if kflag else off))
        return out

    def struct(self, type_id: int) -> tuple[int, list[_Member]] | None:
        """(size, members) of STRUCT ``type_id``."""
        pos = self._pos(type_id)
        if pos < 0:
            return None
        info = self.words[pos + 1]
        if (info >> 24) & 0x1F != r.BTF_KIND_STRUCT:
            return None
        members = self._members(pos, info >= 0x80000000)
        if members is None:
            return None
        size: int = self.words[pos + 2]
        return size, members

    def pointer(self, type_id: int) -> int | None:
        """The target of PTR ``type_id``."""
        pos = self._pos(type_id)
        if pos < 0 or (self.words[pos + 1] >> 24) & 0x1F != r.BTF_KIND_PTR:
            return None
        target: int = self.words[pos + 2]
        return target if target < self.end else None

    def uint(self, type_id: int) -> int | None:
        """N of ``__uint(name, N)`` (modifiers* -> PTR -> ARRAY[N])."""
        if type_id in self.uints:
            return self.uints[type_id]
        found = self.uints[type_id] = self._uint(type_id)
        return found

    def _uint(self, type_id: int) -> int | None:
        # As the decoder-free reader before it, this checks ids, kinds and unused
        # bits along the chain (the types carry nothing else).
        words, offsets, first, end = self.words, self.offsets, self.first, self.end
        for _ in range(MAX_RESOLVE_DEPTH):
            if not first <= type_id < end:
                return None
            pos = offsets[type_id - first]
            info = words[pos + 1]
            if info & INFO_UNUSED_MASK or info & 0xFFFF:
                return None
            kind = (info >> 24) & 0x1F
            if kind in _MODIFIERS:
                type_id = words[pos + 2]
                continue
            if kind != r.BTF_KIND_PTR:
                return None
            target = words[pos + 2]
            if not first <= target < end:
                return None
            tpos = offsets[target - first]
            tinfo = words[tpos + 1]
            if (tinfo & 0x7FFFFFFF) != r.BTF_KIND_ARRAY << 24 or words[tpos + 2]:
                return None
            if words[tpos + 3] >= end or words[tpos + 4] >= end:
                return None
            nelems: int = words[tpos + 5]
            return nelems
        return None

    def size(self, type_id: int) -> int | None:
        """``btf.size_of``, validating each type on the way as the decoder would."""
        if type_id in self.sizes:
            return self.sizes[type_id]
        found = self.sizes[type_id] = self._size(type_id)
        return found

    def _size(self, type_id: int) -> int | None:
        words, offsets, first, end = self.words, self.offsets, self.first, self.end
        below = self.names_below
        # The usual chain first (``__u32``: TYPEDEF -> INT), every header plain and
        # every name inside the table: what the walk below answers, in fewer steps.
        # Anything else: the walk, from the start.
        tid = type_id
        for _ in range(MAX_RESOLVE_DEPTH):
            if not first <= tid < end:
                break
            pos = offsets[tid - first]
            info = words[pos + 1]
            if words[pos] >= below:
                break
            if info == _TYPEDEF_INFO or info == _CONST_INFO or info == _VOLATILE_INFO:
                tid = words[pos + 2]
                continue
            if info == _INT_INFO and not words[pos + 3] & 0xF000FF00:
                size: int = words[pos + 2]
                return size
            if info & 0x7FFF0000 == _STRUCT_INFO or info & 0x7FFF0000 == _UNION_INFO:
                # (A struct key or value.)  What the walk checks: every member's type
                # id in range and name readable (inside the table: readable).
                stop = pos + 3 + 3 * (info & 0xFFFF)
                if stop == pos + 3 or (max(words[pos + 4:stop:3]) < end
                                       and max(words[pos + 3:stop:3]) < below):
                    size = words[pos + 2]
                    return size
            break
        mult = 1
        for _ in range(MAX_RESOLVE_DEPTH):
            # _pos inline (void too: the decoder says "no size").
            if not first <= type_id < end:
                return None
            pos = offsets[type_id - first]
            info = words[pos + 1]
            if info & INFO_UNUSED_MASK or (
                info & 0xFFFF and (info >> 24) & 0x1F in _NO_VLEN_KINDS
            ):
                return None
            if words[pos] >= below and not self.name_ok(words[pos]):
                return None
            kind = (words[pos + 1] >> 24) & 0x1F
            st: int = words[pos + 2]
            if kind == r.BTF_KIND_INT:
                if words[pos + 3] & 0xF000FF00:
                    return None
                return mult * st
            if kind == r.BTF_KIND_ENUM or kind == r.BTF_KIND_ENUM64:
                return mult * st if self._enum_ok(pos, kind) else None
            if kind == r.BTF_KIND_STRUCT or kind == r.BTF_KIND_UNION:
                # The decoder checks each member's type id and name.
                for j in range(pos + 3, pos + 3 + 3 * (words[pos + 1] & 0xFFFF), 3):
                    if words[j + 1] >= end or not self.name_ok(words[j]):
                        return None
                return mult * st
            if kind == r.BTF_KIND_PTR:
                return mult * POINTER_SIZE if st < end else None
            if kind == r.BTF_KIND_ARRAY:
                elem, index = words[pos + 3], words[pos + 4]
                if st or elem >= end or index >= end:
                    return None
                mult *= words[pos + 5]
                type_id = elem
            elif kind in _SIZE_FOLLOW:
                if st >= end:
                    return None
                type_id = st
            else:
                return None  # enums, floats, datasecs: rare here, the decoder handles them
        return None


def btf_words(obj: ObjectFile, btf: BTFSpec) -> BTFWords:
    """The load's one :class:`BTFWords` over ``btf`` (``obj.btf``), built on first
    use: every reader shares its remembered answers, and it is built once."""
    rw = obj.words
    if rw is None:
        rw = obj.words = BTFWords(btf)
    return rw


def _uint_member(btf: BTFSpec, rw: BTFWords, member: _Member, map_name: str) -> int:
    """The value of a ``__uint(name, N)`` member (or cilium's ``__ulong`` enum)."""
    mname, mtype, _ = member
    fast = rw.uint(mtype)
    if fast is not None:
        return fast
    typ = btf.type_by_id(btf.resolve(mtype))
    if isinstance(typ, t.Pointer):
        target = btf.type_by_id(typ.type)
        if isinstance(target, t.Array):
            return target.nelems
        raise CollectionError(
            f"map {map_name!r}: member {mname!r}: pointer to "
            f"{r.KIND_NAMES[target.kind]}, expected ARRAY"
        )
    if isinstance(typ, t.Enum | t.Enum64):
        if not typ.values:
            raise CollectionError(f"map {map_name!r}: member {mname!r}: empty enum")
        return typ.values[0].value & 0xFFFFFFFFFFFFFFFF
    raise CollectionError(
        f"map {map_name!r}: member {mname!r}: {r.KIND_NAMES[typ.kind]}, expected PTR"
    )


def _u32_member(btf: BTFSpec, rw: BTFWords, member: _Member, map_name: str) -> int:
    value = _uint_member(btf, rw, member, map_name)
    if value > 0xFFFFFFFF:
        raise CollectionError(f"map {map_name!r}: member {member[0]!r}: {value} exceeds u32")
    return value


def _typed_member(btf: BTFSpec, rw: BTFWords, member: _Member, map_name: str) -> tuple[int, int]:
    """``__type(key, T)``: a pointer to T; returns (T's id, T's size)."""
    mname, mtype, _ = member
    target = rw.pointer(mtype)
    if target is not None:
        size = rw.size(target)
        if size is not None:
            return target, size
    typ = btf.type_by_id(mtype)
    if not isinstance(typ, t.Pointer):
        raise CollectionError(
            f"map {map_name!r}: member {mname!r}: {r.KIND_NAMES[typ.kind]}, expected PTR"
        )
    try:
        size = btf.size_of(typ.type)
    except BTFError as exc:
        raise CollectionError(f"map {map_name!r}: member {mname!r}: {exc}") from None
    return typ.type, size


def _set_size(old: int, new: int, map_name: str, what: str) -> int:
    if old and old != new:
        raise CollectionError(f"map {map_name!r}: {what} {new} conflicts with earlier {old}")
    return new


# Members that are a plain u32 stored as is: member name -> MapSpec field.
_U32_FIELDS = {"type": "type", "max_entries": "max_entries", "map_flags": "flags"}


def _map_from_btf(btf: BTFSpec, rw: BTFWords, members: list[_Member], name: str, *,
                  inner: bool) -> MapSpec:
    spec = MapSpec(name, 0, 0, 0, 0)
    last = len(members) - 1
    uint = rw.uint
    for i, member in enumerate(members):
        mname = member[0]
        # The plain u32 members first, read straight from the words when they
        # can be (the common case); _u32_member says what is wrong otherwise.
        u32_field = _U32_FIELDS.get(mname)
        if u32_field is not None:
            value = uint(member[1])
            if value is None or value > 0xFFFFFFFF:
                value = _u32_member(btf, rw, member, name)
            setattr(spec, u32_field, value)
        elif mname == "numa_node":
            spec.numa_node = _u32_member(btf, rw, member, name)
        elif mname == "map_extra":
            spec.map_extra = _uint_member(btf, rw, member, name)
        elif mname == "key_size":
            spec.key_size = _set_size(spec.key_size, _u32_member(btf, rw, member, name), name,
                                      "key_size")
        elif mname == "value_size":
            spec.value_size = _set_size(spec.value_size, _u32_member(btf, rw, member, name), name,
                                        "value_size")
        elif mname == "key":
            tid, size = _typed_member(btf, rw, member, name)
            spec.key_size = _set_size(spec.key_size, size, name, "key size")
            spec.key_type_id = tid
        elif mname == "value":
            tid, size = _typed_member(btf, rw, member, name)
            spec.value_size = _set_size(spec.value_size, size, name, "value size")
            spec.value_type_id = tid
        elif mname == "pinning":
            if inner:
                raise CollectionError(f"map {name!r}: inner map definitions cannot be pinned")
            pin = _u32_member(btf, rw, member, name)
            if pin not in (PIN_NONE, PIN_BY_NAME):
                raise CollectionError(f"map {name!r}: pinning {pin} is neither 0 nor 1")
            spec.pinning = pin
        elif mname == "values":
            if inner:
                raise CollectionError(f"map {name!r}: inner map has a 'values' member")
            if i != last:
                raise CollectionError(f"map {name!r}: 'values' must be the last member")
            spec.value_size = _set_size(spec.value_size, 4, name, "value size")
            spec.inner = _values_member(btf, rw, member, spec, name)
        else:
            raise CollectionError(
                f"map {name!r}: unknown member {mname!r} in BTF map definition"
            )
    if spec.type == 0:
        raise CollectionError(f"map {name!r}: no map type (BPF_MAP_TYPE_UNSPEC)")
    return spec


def _values_member(btf: BTFSpec, rw: BTFWords, member: _Member, spec: MapSpec,
                   name: str) -> MapSpec | None:
    arr = btf.type_by_id(member[1])
    if not isinstance(arr, t.Array) or arr.nelems:
        raise CollectionError(f"map {name!r}: 'values' is not a flexible array")
    ptr = btf.type_by_id(btf.resolve(arr.type))
    if not isinstance(ptr, t.Pointer):
        raise CollectionError(f"map {name!r}: 'values' is not an array of pointers")
    target = btf.type_by_id(btf.resolve(ptr.type))
    if spec.type == MapType.PROG_ARRAY:
        if not isinstance(target, t.FuncProto):
            raise CollectionError(f"map {name!r}: prog array 'values' must point to functions")
        return None
    if spec.type not in _MAP_IN_MAP:
        raise CollectionError(
            f"map {name!r}: 'values' needs a map-in-map or prog array, map type is {spec.type}"
        )
    if not isinstance(target, t.Struct):
        raise CollectionError(f"map {name!r}: map-in-map 'values' must point to a struct")
    members = [(m.name, m.type, m.offset_bits) for m in target.members]
    return _map_from_btf(btf, rw, members, name + ".inner", inner=True)


def _load_values(
    obj: ObjectFile,
    osec: ObjSection,
    placed: list[tuple[int, int, MapSpec, int]],
) -> None:
    """Static initialisers of ``values``: one relocation per non-empty slot."""
    relocations = osec.relocations
    if not relocations:
        return
    if len(placed) > 1:
        placed.sort(key=_START_OF)
    by_index = obj.by_index
    # Relocations in offset order fill one map's slots after another (an owner
    # never comes back: it would own every offset in between): each map's
    # contents are set when the next map's slots begin.
    owner: _Placed | None = None
    items: list[MapKV] = []
    for off in sorted(relocations) if len(relocations) > 1 else relocations:
        sym = relocations[off]
        # Fields by position (name 1, type 5, st_shndx 7): a namedtuple's
        # attributes cost more.
        if owner is None or not (owner[0] <= off and off + POINTER_SIZE <= owner[1]):
            for place in placed:
                if place[0] <= off and off + POINTER_SIZE <= place[1]:
                    break
            else:
                raise RelocationError(
                    f"{_where(osec, off, sym)}: not inside any map definition"
                )
            if owner is not None:
                owner[2].contents = tuple(items)
            owner, items = place, []
        start, _end, spec, values_off = owner
        rel = off - start - values_off
        if values_off < 0 or rel < 0 or rel % POINTER_SIZE:
            if values_off < 0:
                raise RelocationError(
                    f"{_where(osec, off, sym)}: map {spec.name!r} has no 'values' member"
                )
            raise RelocationError(
                f"{_where(osec, off, sym)}: not at a 'values' slot of map {spec.name!r}"
            )
        kind = by_index[sym[7]].kind
        if spec.type == _PROG_ARRAY:
            if kind is not _PROGRAM or sym[5] != _STT_FUNC:
                raise RelocationError(
                    f"{_where(osec, off, sym)}: prog array slot must point to a function"
                )
        elif kind is not _BTF_MAPS or sym[1] == spec.name:
            raise RelocationError(
                f"{_where(osec, off, sym)}: map-in-map slot must point to another map"
            )
        # map_kv inline (a frame per slot less).
        kv = _new_kv(MapKV)
        _kv_key(kv, rel // POINTER_SIZE)
        _kv_value(kv, sym[1])
        items.append(kv)
    if owner is not None:
        owner[2].contents = tuple(items)


def _where(osec: ObjSection, off: int, sym: elf.SymbolRow) -> str:
    return f"section {osec.name}: relocation at offset {off} against {sym[1]!r}"
