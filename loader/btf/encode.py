"""Spec -> raw BTF bytes.

Names are looked up in the spec's own string table first (so that a decoded
blob is written back with its table and offsets unchanged); names it lacks are
appended.  Sections keep the order and header length of the blob the spec came
from, laid out without gaps, which is how clang, pahole and the kernel emit them.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence

from loader.btf import records as r
from loader.btf import types as t
from loader.btf.header import Header, KindLayout, pack_layout
from loader.btf.spec import NATIVE_ORDER, Spec, open_raw
from loader.btf.strings import StringTable, encode_str
from loader.errors import BTFError

_U32 = 0xFFFFFFFF


class _StringWriter:
    def __init__(self, table: StringTable | None, base: StringTable | None) -> None:
        if table is not None:
            self.existing: StringTable = table
        else:
            self.existing = StringTable(b"" if base is not None else b"\0", base)
        self.extra = bytearray()
        self.added: dict[str, int] = {}
        self.cache: dict[str, int] = {"": 0}

    def offset(self, name: str) -> int:
        off = self.cache.get(name)
        if off is not None:
            return off
        found = self.existing.offset_of(name)
        if found is None:
            found = self.existing.end_offset + len(self.extra)
            raw = encode_str(name)
            if b"\0" in raw:
                raise BTFError(f"name {name!r} contains a NUL byte")
            self.extra += raw + b"\0"
        self.cache[name] = found
        return found

    def table(self) -> bytes:
        return self.existing.raw + bytes(self.extra)


def _type_words(typ: t.Type, so: _StringWriter, out: list[int]) -> None:
    kind = typ.kind
    kflag = int(getattr(typ, "kflag", False))
    ext = out.extend
    if isinstance(typ, t.Struct | t.Union):
        members = typ.members
        ext((so.offset(typ.name), (kflag << 31) | (kind << 24) | len(members), typ.size))
        for m in members:
            if kflag:
                if m.offset_bits > 0xFFFFFF or m.bitfield_size_bits > 0xFF:
                    raise BTFError(
                        f"member {m.name!r}: offset {m.offset_bits} / bitfield size "
                        f"{m.bitfield_size_bits} do not fit a kflag member offset"
                    )
                off = (m.bitfield_size_bits << 24) | m.offset_bits
            else:
                if m.bitfield_size_bits:
                    raise BTFError(f"member {m.name!r}: bitfield size needs kflag set")
                off = m.offset_bits
            ext((so.offset(m.name), m.type, off))
        return
    if isinstance(typ, t.FuncProto):
        params = typ.params
        ext((so.offset(typ.name), (kflag << 31) | (kind << 24) | len(params), typ.return_type))
        for p in params:
            ext((so.offset(p.name), p.type))
        return
    if isinstance(typ, t.Func):
        ext((so.offset(typ.name), (kflag << 31) | (kind << 24) | typ.linkage, typ.type))
        return
    if isinstance(typ, t.Pointer | t.Typedef | t.Const | t.Volatile | t.Restrict | t.TypeTag):
        ext((so.offset(typ.name), (kflag << 31) | (kind << 24), typ.type))
        return
    if isinstance(typ, t.Int):
        ext((so.offset(typ.name), (kflag << 31) | (kind << 24), typ.size,
             (typ.encoding << 24) | (typ.offset_bits << 16) | (typ.unused_bits << 8)
             | typ.bits))
        return
    if isinstance(typ, t.Array):
        ext((so.offset(typ.name), (kflag << 31) | (kind << 24), 0,
             typ.type, typ.index_type, typ.nelems))
        return
    if isinstance(typ, t.Enum):
        values = typ.values
        ext((so.offset(typ.name), (int(typ.signed) << 31) | (kind << 24) | len(values),
             typ.size))
        for v in values:
            ext((so.offset(v.name), v.value & _U32))
        return
    if isinstance(typ, t.Enum64):
        values = typ.values
        ext((so.offset(typ.name), (int(typ.signed) << 31) | (kind << 24) | len(values),
             typ.size))
        for v in values:
            val = v.value & 0xFFFFFFFFFFFFFFFF
            ext((so.offset(v.name), val & _U32, val >> 32))
        return
    if isinstance(typ, t.Fwd):
        ext((so.offset(typ.name), (int(typ.union) << 31) | (kind << 24), 0))
        return
    if isinstance(typ, t.Var):
        ext((so.offset(typ.name), (kflag << 31) | (kind << 24), typ.type, typ.linkage))
        return
    if isinstance(typ, t.Datasec):
        ext((so.offset(typ.name), (kflag << 31) | (kind << 24) | len(typ.vars), typ.size))
        for vsi in typ.vars:
            ext((vsi.type, vsi.offset, vsi.size))
        return
    if isinstance(typ, t.Float):
        ext((so.offset(typ.name), (kflag << 31) | (kind << 24), typ.size))
        return
    if isinstance(typ, t.DeclTag):
        ext((so.offset(typ.name), (kflag << 31) | (kind << 24), typ.type,
             typ.component_idx & _U32))
        return
    raise BTFError(f"cannot encode {type(typ).__name__}")


def encode_types(
    types: Sequence[t.Type],
    byte_order: r.ByteOrder = "<",
    *,
    base: Spec | None = None,
    strings: StringTable | None = None,
    header: Header | None = None,
    layout: tuple[KindLayout, ...] | None = None,
) -> bytes:
    so = _StringWriter(strings, base.strings if base is not None else None)
    out: list[int] = []
    for i, typ in enumerate(types):
        if isinstance(typ, t.Void):
            raise BTFError(f"type #{i}: Void is type id 0 and cannot be encoded")
        vlen = len(getattr(typ, "members", getattr(typ, "params", getattr(
            typ, "values", getattr(typ, "vars", ())))))
        if vlen > r.BTF_MAX_VLEN or (isinstance(typ, t.Func) and not 0 <= typ.linkage <= 0xFFFF):
            raise BTFError(f"type #{i} ({type(typ).__name__}): vlen/linkage does not fit 16 bits")
        _type_words(typ, so, out)
    try:
        words = array("I", out)
    except OverflowError as exc:
        raise BTFError(f"a field value does not fit its u32 slot: {exc}") from None
    if byte_order != NATIVE_ORDER:
        words.byteswap()
    type_bytes = words.tobytes()
    str_bytes = so.table()
    layout_bytes = pack_layout(layout, byte_order) if layout else b""

    hdr_len = header.hdr_len if header is not None else (
        r.BTF_HEADER_LAYOUT_SIZE if layout else r.BTF_HEADER_V1_SIZE)
    if layout and hdr_len < r.BTF_HEADER_LAYOUT_SIZE:
        raise BTFError(f"a layout section needs hdr_len >= 32, have {hdr_len}")
    if header is not None:
        order = [("type", header.type_off, header.type_len), ("str", header.str_off,
                 header.str_len)]
        if hdr_len >= r.BTF_HEADER_LAYOUT_SIZE:
            order.append(("layout", header.layout_off, header.layout_len))
        names = [s[0] for s in sorted(order, key=lambda s: (s[1], s[2]))]
    else:
        names = ["type", "layout", "str"]
    payload = {"type": type_bytes, "str": str_bytes, "layout": layout_bytes}
    offsets: dict[str, int] = {}
    body = bytearray()
    for name in names:
        offsets[name] = len(body)
        body += payload[name]
    rec = r.records_for(byte_order)
    head = bytearray(rec.preamble.pack(r.BTF_MAGIC, r.BTF_VERSION, 0, hdr_len))
    head += rec.header_v1.pack(offsets["type"], len(type_bytes), offsets["str"], len(str_bytes))
    if hdr_len >= r.BTF_HEADER_LAYOUT_SIZE:
        head += rec.header_layout.pack(offsets.get("layout", 0) if layout_bytes else 0,
                                       len(layout_bytes))
    head += bytes(hdr_len - len(head))
    return bytes(head + body)


def encode(spec: Spec, byte_order: r.ByteOrder | None = None) -> bytes:
    """Write ``spec`` back to raw BTF (in its own byte order unless one is given)."""
    return encode_types(
        spec.types(),
        byte_order or spec.byte_order,
        base=spec.base,
        strings=spec.strings,
        header=spec.header,
        layout=spec.layout,
    )


def spec_from_types(
    types: Sequence[t.Type],
    byte_order: r.ByteOrder = "<",
    *,
    base: Spec | None = None,
    layout: tuple[KindLayout, ...] | None = None,
) -> Spec:
    """Build a spec in code: encode ``types`` (ids from 1, or after the base) and open it."""
    return open_raw(encode_types(types, byte_order, base=base, layout=layout), base)
