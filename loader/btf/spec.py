"""A parsed BTF blob: index first, decode on demand.

Opening a blob (:func:`open_raw`) checks the header, the section placement and
the string table framing, then walks the type section once to record where
each type starts (an ``array('I')`` of word positions; no per-type objects).
Every structural fault that walk can see (unknown kind, truncated per-kind
data, too many types) raises :class:`BTFError` right there.

A type becomes a dataclass only when asked for (``type_by_id``, iteration) and is
then cached.  Checks that need the decoded record -- type ids in range, name
offsets inside the string table, unused info bits -- happen at that point and
raise :class:`BTFError` naming the type id.  ``Spec.validate()`` decodes every
type, so that whole-blob checks are one call.  The name index is built on the
first lookup by name.
"""

from __future__ import annotations

import gc
import struct
import sys
from array import array
from collections.abc import Callable, Iterator, Sequence
from typing import TypeAlias

from loader.btf import records as r
from loader.btf import types as t
from loader.btf.header import Header, KindLayout, parse_header, parse_layout
from loader.btf.strings import StringTable
from loader.errors import BTFError

_new_object = object.__new__

NATIVE_ORDER: r.ByteOrder = "<" if sys.byteorder == "little" else ">"

# Kernel's limit on chains of modifiers/typedefs (MAX_RESOLVE_DEPTH).
MAX_RESOLVE_DEPTH = 32
POINTER_SIZE = 8

# Words (u32) a type occupies: FIXED[hi] + PER[hi] * vlen, indexed by info >> 24
# (kind in the low 5 bits, kflag in the top bit).  -1 marks an invalid value:
# unknown kinds, or bits 29-30 set.
_FIXED_BY_KIND = {
    r.BTF_KIND_INT: 4, r.BTF_KIND_PTR: 3, r.BTF_KIND_ARRAY: 6, r.BTF_KIND_STRUCT: 3,
    r.BTF_KIND_UNION: 3, r.BTF_KIND_ENUM: 3, r.BTF_KIND_FWD: 3, r.BTF_KIND_TYPEDEF: 3,
    r.BTF_KIND_VOLATILE: 3, r.BTF_KIND_CONST: 3, r.BTF_KIND_RESTRICT: 3, r.BTF_KIND_FUNC: 3,
    r.BTF_KIND_FUNC_PROTO: 3, r.BTF_KIND_VAR: 4, r.BTF_KIND_DATASEC: 3, r.BTF_KIND_FLOAT: 3,
    r.BTF_KIND_DECL_TAG: 4, r.BTF_KIND_TYPE_TAG: 3, r.BTF_KIND_ENUM64: 3,
}
_PER_BY_KIND = {
    r.BTF_KIND_STRUCT: 3, r.BTF_KIND_UNION: 3, r.BTF_KIND_ENUM: 2,
    r.BTF_KIND_FUNC_PROTO: 2, r.BTF_KIND_DATASEC: 3, r.BTF_KIND_ENUM64: 3,
}
FIXED_WORDS = [
    _FIXED_BY_KIND.get(hi & 0x1F, -1) if not hi & 0x60 else -1 for hi in range(256)
]
PER_WORDS = [_PER_BY_KIND.get(hi & 0x1F, 0) for hi in range(256)]
# Info bits that no kind uses: 16-23 and 29-30.
INFO_UNUSED_MASK = 0x60FF0000
# Kinds that have no vlen; a non-zero vlen there is malformed.
_NO_VLEN = frozenset(
    set(_FIXED_BY_KIND) - set(_PER_BY_KIND) - {r.BTF_KIND_FUNC}
)
# Pad the word array so that reading a (possibly truncated) last header never
# runs off the end; a truncated type is reported after the walk.
_PAD_WORDS = 6
_PAD = bytes(4 * _PAD_WORDS)
# Sliced for a new empty array of words (never written to).
_NO_WORDS = array("I")


# Each type's word position, by type id - first_type_id.  A list for blobs of
# up to _LIST_MAX_WORDS words: its items are read by the interpreter's list fast
# path (an array's subscript is a generic call that makes an int each time),
# and a loader reads them all through a load.  An array past it: vmlinux's
# 126,000 types as a list would be as many int objects, freed at once, which
# slowed a full decode that followed.
TypeIndex: TypeAlias = "list[int] | array[int]"
_LIST_MAX_WORDS = 1 << 16


def words_of(data: bytes | memoryview, byte_order: r.ByteOrder) -> array[int]:
    words = array("I")
    words.frombytes(data)
    if byte_order != NATIVE_ORDER:
        words.byteswap()
    return words


class Spec:
    """The types and strings of one BTF blob (optionally split on a base)."""

    __slots__ = (
        "_cache", "_datasec_idx", "_datasec_order", "_datasecs", "_end_id", "_header",
        "_name_index", "_offsets", "_words", "base", "byte_order", "first_type_id", "layout",
        "strings",
    )

    def __init__(
        self,
        *,
        byte_order: r.ByteOrder,
        header: Header,
        words: array[int],
        offsets: TypeIndex,
        strings: StringTable,
        layout: tuple[KindLayout, ...] | None,
        base: Spec | None,
    ) -> None:
        self.byte_order = byte_order
        self._header: Header | None = header
        self._words = words
        self._offsets = offsets
        self.strings = strings
        self.layout = layout
        self.base = base
        self.first_type_id: int = base.end_type_id if base is not None else 1
        self._end_id: int = self.first_type_id + len(offsets)
        self._cache: list[t.Type | None] = [None] * len(offsets)
        self._name_index: dict[str, list[int]] | None = None
        self._datasecs: dict[str, list[int]] | None = None
        self._datasec_order: list[tuple[int, str]] | None = None
        # Indices (into offsets) of the DATASECs, when the index walk noted them.
        self._datasec_idx: list[int] | None = None

    @staticmethod
    def plain(byte_order: r.ByteOrder, words: array[int], offsets: TypeIndex,
              strings: StringTable, datasec_idx: list[int] | None) -> Spec:
        """A spec with no base and no layout whose header is built on first use
        (see :attr:`header`), without the class call: :func:`open_raw` makes one
        on every load.  Beside ``__init__`` so that both set the same slots (a
        test compares them)."""
        self: Spec = _new_object(Spec)
        self.byte_order = byte_order
        self._header = None
        self._words = words
        self._offsets = offsets
        self.strings = strings
        self.layout = self.base = None
        self.first_type_id = 1
        self._end_id = 1 + len(offsets)
        self._cache = [None] * len(offsets)
        self._name_index = self._datasecs = self._datasec_order = None
        self._datasec_idx = datasec_idx
        return self

    @property
    def header(self) -> Header:
        """The blob's header (built on first use for a blob :func:`open_raw` read
        through its plain-header path: only hdr_len 24, the types then the strings)."""
        hdr = self._header
        if hdr is None:
            type_len = 4 * (len(self._words) - _PAD_WORDS)
            hdr = self._header = Header(self.byte_order, r.BTF_HEADER_V1_SIZE, 0, type_len,
                                        type_len, len(self.strings.raw))
        return hdr

    # -- sizes and iteration -------------------------------------------------

    def __len__(self) -> int:
        """Number of types in this blob (not counting void or the base's types)."""
        return len(self._offsets)

    @property
    def end_type_id(self) -> int:
        """One past the last valid type id (base included)."""
        return self._end_id

    def __iter__(self) -> Iterator[tuple[int, t.Type]]:
        return zip(range(self.first_type_id, self._end_id), self.types(), strict=True)

    def types(self) -> list[t.Type]:
        """Every type of this blob, in id order (decodes whatever is not cached yet)."""
        self._decode_all()
        return self._cache  # type: ignore[return-value]  # all filled by _decode_all

    def validate(self) -> None:
        """Decode every type: raises BTFError on the first bad one."""
        for _ in self:
            pass

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Spec):
            return NotImplemented
        return (
            self.byte_order == other.byte_order
            and self.first_type_id == other.first_type_id
            and self.layout == other.layout
            and self.types() == other.types()
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"<Spec {len(self)} types from id {self.first_type_id}, "
            f"byte order {self.byte_order!r}{', split' if self.base else ''}>"
        )

    # -- raw access (for the dumper and encoder) ------------------------------

    @property
    def index(self) -> tuple[array[int], TypeIndex]:
        """The type section as host-order u32 words, and each own type's word position."""
        return self._words, self._offsets

    def with_words(self, words: array[int]) -> Spec:
        """This spec over patched ``words`` of the same layout (same kinds and vlens
        at the same positions; only values changed), e.g. after a DATASEC fix-up.

        The index and the name index are shared (names must not be patched); no
        decoded type is, since the patch may have changed any of them.  When
        ``words`` is this spec's own array (patched in place), this spec is the
        answer, its decoded types dropped.
        """
        if words is self._words:
            self._cache = [None] * len(self._offsets)
            return self
        if len(words) != len(self._words):
            raise BTFError(
                f"patched word array has {len(words)} words, the spec {len(self._words)}"
            )
        spec = Spec(
            byte_order=self.byte_order, header=self.header, words=words,
            offsets=self._offsets, strings=self.strings, layout=self.layout, base=self.base,
        )
        spec._header = self._header
        spec._name_index = self._name_index
        spec._datasecs = self._datasecs
        spec._datasec_order = self._datasec_order
        spec._datasec_idx = self._datasec_idx
        return spec

    def raw_type(self, type_id: int) -> tuple[array[int], int]:
        """The word array and the word position of ``type_id`` (own types only)."""
        if not self.first_type_id <= type_id < self._end_id:
            raise BTFError(
                f"type id {type_id} is not one of this blob's own types "
                f"({self.first_type_id}..{self._end_id - 1})"
            )
        return self._words, self._offsets[type_id - self.first_type_id]

    def kind_of(self, type_id: int) -> int:
        self._check_id(type_id)
        if type_id == 0:
            return r.BTF_KIND_UNKN
        if type_id < self.first_type_id:
            assert self.base is not None  # first_type_id > 1 only with a base
            return self.base.kind_of(type_id)
        pos = self._offsets[type_id - self.first_type_id]
        return (self._words[pos + 1] >> 24) & 0x1F

    def name_offset_of(self, type_id: int) -> int:
        self._check_id(type_id)
        if type_id < self.first_type_id:
            if self.base is None:
                return 0  # void
            return self.base.name_offset_of(type_id)
        return self._words[self._offsets[type_id - self.first_type_id]]

    # -- lookups -----------------------------------------------------------------

    def _check_id(self, type_id: int) -> None:
        if not 0 <= type_id < self._end_id:
            raise BTFError(f"type id {type_id} out of range (last is {self._end_id - 1})")

    def type_by_id(self, type_id: int) -> t.Type:
        if type_id >= self.first_type_id:
            idx = type_id - self.first_type_id
            if idx < len(self._cache):
                found = self._cache[idx]
                if found is None:
                    found = self._cache[idx] = self._decode(type_id)
                return found
        if type_id == 0:
            return _VOID
        if 0 < type_id < self.first_type_id and self.base is not None:
            return self.base.type_by_id(type_id)
        raise BTFError(f"type id {type_id} out of range (last is {self._end_id - 1})")

    def name_of(self, type_id: int) -> str:
        if type_id == 0:
            return ""
        return self.strings.get(self.name_offset_of(type_id))

    def _names(self) -> dict[str, list[int]]:
        if self._name_index is None:
            words, first = self._words, self.first_type_id
            by_off: dict[int, list[int]] = {}
            for idx, pos in enumerate(self._offsets):
                off = words[pos]
                if off:
                    ids = by_off.get(off)
                    if ids is None:
                        by_off[off] = [idx + first]
                    else:
                        ids.append(idx + first)
            index: dict[str, list[int]] = {}
            get = self.strings.get
            for off, ids in by_off.items():
                try:
                    name = get(off)
                except BTFError:
                    continue  # reported when the type itself is decoded
                if name in index:
                    index[name] = sorted(index[name] + ids)
                else:
                    index[name] = ids
            self._name_index = index
        return self._name_index

    def datasecs(self) -> dict[str, list[int]]:
        """Ids of this blob's own DATASECs by name (an ELF loader's only by-name
        lookups are DATASECs, so this skips building the full name index)."""
        if self._datasecs is None:
            self._index_datasecs()
            assert self._datasecs is not None
        return self._datasecs

    def datasec_order(self) -> list[tuple[int, str]]:
        """(id, name) of the DATASECs in :meth:`datasecs`, in id order."""
        if self._datasec_order is None:
            self._index_datasecs()
            assert self._datasec_order is not None
        return self._datasec_order

    def _index_datasecs(self) -> None:
        words, first = self._words, self.first_type_id
        out: dict[str, list[int]] = {}
        order: list[tuple[int, str]] = []
        offsets = self._offsets
        noted: Sequence[int] | None = self._datasec_idx
        strings = self.strings
        # Names read inline where get() would read and memoise them.
        memo, raw = strings.memo(), strings.raw
        if noted is None:
            kind = r.BTF_KIND_DATASEC
            noted = [idx for idx, pos in enumerate(offsets)
                     if (words[pos + 1] >> 24) & 0x1F == kind]
        for idx in noted:
            off = words[offsets[idx]]
            if memo is not None and (stop := raw.find(b"\0", off)) >= 0:
                # (A name met before reads the same.)
                try:
                    name = memo[off] = raw[off:stop].decode()
                except UnicodeDecodeError:
                    name = memo[off] = raw[off:stop].decode("utf-8", "surrogateescape")
            else:
                try:
                    name = strings.get(off)
                except BTFError:
                    continue  # reported when the type itself is decoded
            tid = idx + first
            ids = out.get(name)
            if ids is None:
                out[name] = [tid]
            else:
                ids.append(tid)
            order.append((tid, name))
        self._datasecs = out
        self._datasec_order = order

    def types_by_name(self, name: str) -> list[int]:
        """Ids of every type called ``name`` (base types first)."""
        found = self.base.types_by_name(name) if self.base is not None else []
        return found + list(self._names().get(name, ()))

    def find(self, name: str, kind: int | None = None) -> int:
        """The one type called ``name`` (of ``kind``, if given)."""
        ids = self.types_by_name(name)
        if kind is not None:
            ids = [i for i in ids if self.kind_of(i) == kind]
        known = kind is not None and 0 <= kind <= r.BTF_KIND_MAX
        what = r.KIND_NAMES[kind] if known and kind is not None else "type"
        if not ids:
            raise BTFError(f"no {what} named {name!r}")
        if len(ids) > 1:
            raise BTFError(f"{len(ids)} types named {name!r} ({what}): ids {ids[:8]}")
        return ids[0]

    def resolve(self, type_id: int) -> int:
        """Skip typedefs, modifiers and type tags."""
        skip = (r.BTF_KIND_TYPEDEF, r.BTF_KIND_CONST, r.BTF_KIND_VOLATILE,
                r.BTF_KIND_RESTRICT, r.BTF_KIND_TYPE_TAG)
        for _ in range(MAX_RESOLVE_DEPTH):
            typ = self.type_by_id(type_id)
            if typ.kind not in skip:
                return type_id
            type_id = typ.type  # type: ignore[union-attr]
        raise BTFError(f"type id {type_id}: modifier chain deeper than {MAX_RESOLVE_DEPTH}")

    def size_of(self, type_id: int) -> int:
        """Size in bytes, following typedefs, modifiers, vars and arrays."""
        start = type_id
        mult = 1
        for _ in range(MAX_RESOLVE_DEPTH):
            typ = self.type_by_id(type_id)
            if isinstance(typ, _SIZED):
                return mult * typ.size
            if isinstance(typ, t.Pointer):
                return mult * POINTER_SIZE
            if isinstance(typ, t.Array):
                mult *= typ.nelems
                type_id = typ.type
            elif isinstance(typ, t.Typedef | t.Volatile | t.Const | t.Restrict | t.TypeTag | t.Var):
                type_id = typ.type
            else:
                raise BTFError(
                    f"type id {type_id} ({r.KIND_NAMES[typ.kind]}) has no size "
                    f"(asked for type id {start})"
                )
        raise BTFError(f"type id {start}: size chain deeper than {MAX_RESOLVE_DEPTH}")

    # -- decoding ------------------------------------------------------------------

    def _decode(self, tid: int) -> t.Type:
        # One type needs a few names: look them up directly unless the whole
        # offset -> string map exists already (building it splits the table).
        get = self.strings.known()
        pos = self._offsets[tid - self.first_type_id]
        return decode_type(self._words, pos, tid, self._end_id, get, self.strings.get, {})

    def _decode_all(self) -> None:
        """Fill the cache in one tight loop (what iteration over a cold spec does)."""
        words, end, cache = self._words, self._end_id, self._cache
        get, slow = self.strings.mapping().get, self.strings.get
        tid = self.first_type_id
        # FuncParams shared across the whole decode (see decode_type).
        params: dict[int, t.FuncParam] = {}
        # Decoding vmlinux allocates ~300,000 GC-tracked objects (slotted dataclasses,
        # tuples) and keeps every one of them: each allocation burst triggers a
        # collection that re-traverses the ever-growing set of survivors, which was
        # ~45% of the whole decode.  What is built here holds only ints, strs and
        # tuples of them -- no reference cycles -- so the collector has nothing to
        # find; pause it for the loop (restoring the caller's setting, also on error).
        paused = gc.isenabled()
        if paused:
            gc.disable()
        try:
            for idx, pos in enumerate(self._offsets):
                if cache[idx] is None:
                    cache[idx] = decode_type(words, pos, tid + idx, end, get, slow, params)
        finally:
            if paused:
                gc.enable()


def _bad_ref(tid: int, kind: int, what: str, ref: int, end: int) -> BTFError:
    return BTFError(
        f"type id {tid} ({r.KIND_NAMES[kind]}): {what} id {ref} past the last type {end - 1}"
    )


def _name(get: Callable[[int], str | None], slow: Callable[[int], str], off: int,
          tid: int) -> str:
    found = get(off)
    if found is not None:
        return found
    try:
        return slow(off)
    except BTFError as exc:
        raise BTFError(f"type id {tid}: name: {exc}") from None


def decode_type(
    w: array[int], pos: int, tid: int, end: int,
    get: Callable[[int], str | None], slow: Callable[[int], str],
    params_memo: dict[int, t.FuncParam],
) -> t.Type:
    """Decode the type at word ``pos``; ``get`` maps name offsets to names (None if
    not a string start), ``slow`` resolves the rest or raises.  ``params_memo`` maps
    a raw param (name offset << 32 | type id) to its FuncParam, shared by every call
    with the same ``w``, ``end`` and string table."""
    no, info, st = w[pos], w[pos + 1], w[pos + 2]
    kind = (info >> 24) & 0x1F
    vlen = info & 0xFFFF
    kflag = info >= 0x80000000
    if info & INFO_UNUSED_MASK:
        raise BTFError(f"type id {tid}: unused info bits set: 0x{info:08x}")
    name = get(no)
    if name is None:
        name = _name(get, slow, no, tid)
    if kind == 12:  # FUNC
        if st >= end:
            raise _bad_ref(tid, kind, "type", st, end)
        return t.Func(name, st, vlen, kflag)
    if kind == 13:  # FUNC_PROTO
        if st >= end:
            raise _bad_ref(tid, kind, "return type", st, end)
        # vmlinux's 28,808 protos have 82,898 params but only 20,245 distinct ones
        # (ctx, skb, sk, ...): a FuncParam is frozen, so equal ones can be one object.
        # A dict hit on the raw words costs about half of building a dataclass, and
        # ~60,000 fewer objects also means less for the collector to walk later.
        # The type is checked before the lookup, so faults are still reported in
        # param order; a memo hit had its name resolved when it was stored.
        memo_get = params_memo.get
        params = []
        for j in range(pos + 3, pos + 3 + 2 * vlen, 2):
            pt = w[j + 1]
            if pt >= end:
                raise _bad_ref(tid, kind, f"param {(j - pos - 3) // 2} type", pt, end)
            key = w[j] << 32 | pt
            param = memo_get(key)
            if param is None:
                pn = get(w[j])
                if pn is None:
                    pn = _name(get, slow, w[j], tid)
                param = params_memo[key] = t.FuncParam(pn, pt)
            params.append(param)
        return t.FuncProto(st, tuple(params), name, kflag)
    if vlen and kind in _NO_VLEN:
        raise BTFError(f"type id {tid} ({r.KIND_NAMES[kind]}): vlen {vlen} must be 0")
    if kind == 4 or kind == 5:  # STRUCT, UNION
        mem = t.Member
        members = []
        for j in range(pos + 3, pos + 3 + 3 * vlen, 3):
            mt = w[j + 1]
            if mt >= end:
                raise _bad_ref(tid, kind, f"member {(j - pos - 3) // 3} type", mt, end)
            mn = get(w[j])
            if mn is None:
                mn = _name(get, slow, w[j], tid)
            mo = w[j + 2]
            if kflag:
                members.append(mem(mn, mt, mo & 0xFFFFFF, mo >> 24))
            else:
                members.append(mem(mn, mt, mo, 0))
        if kind == 4:
            return t.Struct(name, st, tuple(members), kflag)
        return t.Union(name, st, tuple(members), kflag)
    if kind in _REF_KINDS:
        if st >= end:
            raise _bad_ref(tid, kind, "type", st, end)
        if kind == 2:
            return t.Pointer(st, name, kflag)
        if kind == 10:
            return t.Const(st, name, kflag)
        if kind == 8:
            return t.Typedef(name, st, kflag)
        if kind == 9:
            return t.Volatile(st, name, kflag)
        if kind == 11:
            return t.Restrict(st, name, kflag)
        if kind == 18:
            return t.TypeTag(name, st, kflag)
        if kind == 14:
            return t.Var(name, st, w[pos + 3], kflag)
        idx = w[pos + 3]  # DECL_TAG
        return t.DeclTag(name, st, idx - 0x100000000 if idx >= 0x80000000 else idx, kflag)
    if kind == 3:  # ARRAY
        if st:
            raise BTFError(f"type id {tid} (ARRAY): size field must be 0, is {st}")
        et, it = w[pos + 3], w[pos + 4]
        if et >= end:
            raise _bad_ref(tid, kind, "element type", et, end)
        if it >= end:
            raise _bad_ref(tid, kind, "index type", it, end)
        return t.Array(et, it, w[pos + 5], name, kflag)
    if kind == 6 or kind == 19:  # ENUM, ENUM64
        ev = t.EnumValue
        values = []
        step = 2 if kind == 6 else 3
        for j in range(pos + 3, pos + 3 + step * vlen, step):
            en = get(w[j])
            if en is None:
                en = _name(get, slow, w[j], tid)
            if kind == 6:
                v = w[j + 1]
                if kflag and v >= 0x80000000:
                    v -= 0x100000000
            else:
                v = w[j + 1] | (w[j + 2] << 32)
                if kflag and v >= 1 << 63:
                    v -= 1 << 64
            values.append(ev(en, v))
        if kind == 6:
            return t.Enum(name, st, tuple(values), kflag)
        return t.Enum64(name, st, tuple(values), kflag)
    if kind == 1:  # INT
        data = w[pos + 3]
        if data & 0xF0000000:
            # The kernel's BTF_INT_MASK: only the top four bits are refused.
            raise BTFError(f"type id {tid} (INT): unused bits set in 0x{data:08x}")
        return t.Int(name, st, data >> 24, (data >> 16) & 0xFF, data & 0xFF, kflag,
                     (data >> 8) & 0xFF)
    if kind == 7:  # FWD
        if st:
            raise BTFError(f"type id {tid} (FWD): size field must be 0, is {st}")
        return t.Fwd(name, kflag)
    if kind == 15:  # DATASEC
        vs = t.VarSecinfo
        secinfos = []
        for j in range(pos + 3, pos + 3 + 3 * vlen, 3):
            vt = w[j]
            if vt >= end:
                raise _bad_ref(tid, kind, f"entry {(j - pos - 3) // 3} var", vt, end)
            secinfos.append(vs(vt, w[j + 1], w[j + 2]))
        return t.Datasec(name, st, tuple(secinfos), kflag)
    if kind == 16:  # FLOAT
        return t.Float(name, st, kflag)
    raise BTFError(f"type id {tid}: unknown kind {kind}")  # the index walk rejects these


_REF_KINDS = frozenset({2, 8, 9, 10, 11, 14, 17, 18})
_VOID = t.Void()
_SIZED = (t.Int, t.Struct, t.Union, t.Enum, t.Enum64, t.Datasec, t.Float)


# Byte-swapped info -> words of that type, for every info seen valid so far
# (shared by all walks: objects repeat a few hundred infos).  Swapped, because an
# int hashes to itself and a dict picks its first slot from the low bits: infos
# differ mostly in their top byte (the kind), and as stored every vlen-0 info
# started on one slot.  A DATASEC's entry in _STEPS_NOTING is raised by _NOTE,
# which ends the inner loop of a walk that notes DATASECs at no per-type cost.
# Bounded: a fuzzer makes up endless infos.
_STEPS: dict[int, int] = {}
_STEPS_NOTING: dict[int, int] = {}
_STEPS_MAX = 1 << 14
# Below 2**30, so that the loop's positions stay one-digit ints (the interpreter's
# int fast paths for compare and add take only those); a walk notes DATASECs only
# where a position plus any step (< 2**18 words) stays below it.
_NOTE = 1 << 29
NOTE_MAX_WORDS = _NOTE - (1 << 18)


def index_types(words: array[int], nwords: int, first_type_id: int, type_off: int,
                datasecs: list[int] | None = None) -> TypeIndex:
    """Word position of each type; ``words`` is padded past ``nwords``.

    With ``datasecs``, the index of every DATASEC is appended to it on the way
    (an ELF loader's by-name lookups are all DATASECs; this spares a second walk).
    A list, for the interpreter's list.append fast path (an array's append is
    a method call of ~400 instructions: every object has a DATASEC or two).
    """
    # A list while it is built (list.append called as a method is the
    # interpreter's fast path); an array past _LIST_MAX_WORDS (see TypeIndex).
    offsets: list[int] = []
    # (The callers note DATASECs only below NOTE_MAX_WORDS.)
    assert datasecs is None or nwords <= NOTE_MAX_WORDS
    steps = _STEPS if datasecs is None else _STEPS_NOTING
    # Each type's info word, by the type's position, byte-swapped (see _STEPS):
    # a copy, but one add less per type in the loop below.
    infos = words[1:]
    infos.byteswap()
    pos = 0
    while True:
        # The whole cost of opening a small blob: one dict lookup per type.
        try:
            while pos < nwords:
                offsets.append(pos)
                pos += steps[infos[pos]]
        except KeyError:
            # An info not seen yet (its type's position is appended).
            key = infos[pos]
            info = int.from_bytes(key.to_bytes(4, "little"), "big")
            hi = info >> 24
            n = FIXED_WORDS[hi]
            if n < 0:
                tid = first_type_id + len(offsets) - 1
                raise BTFError(
                    f"type id {tid} at type section offset {type_off + 4 * pos}: "
                    f"unknown kind {hi & 0x1F} (info 0x{info:08x})"
                ) from None
            step = n + PER_WORDS[hi] * (info & 0xFFFF)
            if datasecs is not None and hi & 0x1F == r.BTF_KIND_DATASEC:
                step += _NOTE
            if len(steps) < _STEPS_MAX:
                steps[key] = step
            pos += step
            continue
        if pos < _NOTE:
            break
        pos -= _NOTE
        assert datasecs is not None
        datasecs.append(len(offsets) - 1)
    count = len(offsets)
    if pos > nwords:
        last = offsets[-1]
        raise BTFError(
            f"type id {first_type_id + count - 1} at type section offset {type_off + 4 * last}: "
            f"truncated, needs {4 * (pos - last)} bytes, {4 * (nwords - last)} left"
        )
    if first_type_id + count - 1 > r.BTF_MAX_TYPE:
        raise BTFError(f"too many types: {count} from id {first_type_id} (max id {r.BTF_MAX_TYPE})")
    if nwords > _LIST_MAX_WORDS:
        return array("I", offsets)
    return offsets


# What every compiler writes (see header._PLAIN).
_PLAIN_HEADER = {bo: struct.Struct(bo + "HBBIIIII") for bo in ("<", ">")}


def _open_plain(data: bytes) -> Spec | None:
    """:func:`open_raw` of a blob with no base, the plain header compilers write
    and a string table that starts and ends with NUL; None for anything else
    (then open_raw reads it again and reports any fault).

    A small object's .BTF is opened on every load: here without the Header,
    StringTable and Spec class calls (the header is built when asked for) and
    without copying the type section before reading it into words.  Errors of
    the index walk are index_types' as on the careful path.
    """
    size = len(data)
    if size < r.BTF_HEADER_V1_SIZE:
        return None
    bo: r.ByteOrder = "<" if data[0] == 0x9F else ">"
    magic, version, flags, hdr_len, type_off, type_len, str_off, str_len = (
        _PLAIN_HEADER[bo].unpack_from(data))
    if not (magic == r.BTF_MAGIC and version == r.BTF_VERSION and not flags
            and hdr_len == r.BTF_HEADER_V1_SIZE and not type_off and not type_len % 4
            and str_off == type_len and hdr_len + type_len + str_len == size
            and str_len and str_len - 1 <= r.BTF_MAX_NAME_OFFSET
            and not data[-1] and not data[hdr_len + type_len]):
        return None
    # (A new empty array as a slice of one: the class call costs more, and
    # array("I", bytes) would copy the type section once more.)
    words = _NO_WORDS[:]
    words.frombytes(memoryview(data)[hdr_len:hdr_len + type_len])
    words.frombytes(_PAD)
    if bo != NATIVE_ORDER:
        words.byteswap()
    nwords = type_len >> 2
    datasecs: list[int] | None = [] if nwords <= NOTE_MAX_WORDS else None
    offsets = index_types(words, nwords, 1, 0, datasecs)
    return Spec.plain(bo, words, offsets, StringTable.plain(data[hdr_len + type_len:]),
                      datasecs)


def open_raw(data: bytes | bytearray | memoryview, base: Spec | None = None) -> Spec:
    """Parse a raw BTF blob (the bytes of /sys/kernel/btf/* or of a .BTF section)."""
    data = bytes(data)
    if base is None:
        plain = _open_plain(data)
        if plain is not None:
            return plain
    hdr = parse_header(data)
    bo = hdr.byte_order
    if base is not None and base.byte_order != bo:
        raise BTFError(f"split BTF byte order {bo!r} differs from its base's {base.byte_order!r}")
    str_start = hdr.hdr_len + hdr.str_off
    raw_strings = data[str_start:str_start + hdr.str_len]
    if hdr.str_len:
        if hdr.str_len - 1 > r.BTF_MAX_NAME_OFFSET:
            raise BTFError(f"string table too large: {hdr.str_len} bytes")
        if raw_strings[-1] != 0:
            last = raw_strings.rfind(b"\0") + 1
            raise BTFError(
                f"unterminated string at string offset {last} "
                f"(file offset {str_start + last})"
            )
        if base is None and raw_strings[0] != 0:
            raise BTFError(
                f"string table at offset {str_start} must start with an empty string, "
                f"starts with 0x{raw_strings[0]:02x}"
            )
    elif base is None:
        raise BTFError("empty string table (str_len 0) in a non-split BTF blob")
    strings = StringTable(raw_strings, base.strings if base is not None else None)
    type_start = hdr.hdr_len + hdr.type_off
    nwords = hdr.type_len // 4
    words = array("I")
    words.frombytes(data[type_start:type_start + hdr.type_len])
    words.frombytes(_PAD)
    if bo != NATIVE_ORDER:
        words.byteswap()
    first = base.end_type_id if base is not None else 1
    datasecs: list[int] | None = [] if nwords <= NOTE_MAX_WORDS else None
    offsets = index_types(words, nwords, first, hdr.type_off, datasecs)
    spec = Spec(
        byte_order=bo, header=hdr, words=words, offsets=offsets, strings=strings,
        layout=parse_layout(data, hdr) if hdr.layout_len else None, base=base,
    )
    spec._datasec_idx = datasecs
    return spec


def ensure_types(types: Sequence[t.Type]) -> None:
    for i, typ in enumerate(types):
        if isinstance(typ, t.Void):
            raise BTFError(f"type #{i}: Void is type id 0 and cannot be encoded")
