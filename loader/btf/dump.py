"""bpftool's raw BTF dump (``bpftool btf dump file F``, bpftool 7.1) and a JSON form.

The text is built straight from the spec's word array, without decoding types
into dataclasses: one f-string per line, joined once.  Like bpftool it prints
BTF as stored (no checks beyond what it needs): a name offset past the string
table prints ``(invalid)``, offset 0 prints ``(anon)``, and a DATASEC entry whose
type id is out of range gets no ``(KIND 'name')`` suffix.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from loader.btf import records as r
from loader.btf.spec import Spec
from loader.btf.strings import encode_str
from loader.errors import BTFError

# bpftool's spelling: kind 0 (and anything out of range) prints UNKNOWN.
_KIND_STR = ("UNKNOWN", *r.KIND_NAMES[1:])
_INT_ENC = {0: "(none)", r.BTF_INT_SIGNED: "SIGNED", r.BTF_INT_CHAR: "CHAR",
            r.BTF_INT_BOOL: "BOOL"}
_FUNC_LINKAGE = ("static", "global", "extern")
_VAR_LINKAGE = ("static", "global", "extern")


def _invalid_safe(spec: Spec) -> Callable[[int], str]:
    """Name lookup for offsets that are not a string start: mid-string or invalid."""
    table = spec.strings

    def slow(off: int) -> str:
        try:
            return table.get(off)
        except BTFError:
            return "(invalid)"

    return slow


def _s32(v: int) -> int:
    return v - 0x100000000 if v & 0x80000000 else v


def dump_raw(spec: Spec) -> str:
    """The whole spec (own types only, as bpftool does for split BTF) as bpftool prints it."""
    words, offsets = spec.index
    names = dict(spec.strings.mapping())
    names[0] = "(anon)"
    getn = names.get
    slow = _invalid_safe(spec)
    kind_str = _KIND_STR
    int_enc = _INT_ENC
    out: list[str] = []
    app = out.append
    tid = spec.first_type_id
    end_id = spec.end_type_id
    for pos in offsets:
        no = words[pos]
        info = words[pos + 1]
        st = words[pos + 2]
        kind = (info >> 24) & 0x1F
        nm = getn(no)
        if nm is None:
            nm = slow(no)
        head = f"[{tid}] {kind_str[kind] if kind <= 19 else 'UNKNOWN'} '{nm}'"
        tid += 1
        vlen = info & 0xFFFF
        if kind == 12:  # FUNC
            app(f"{head} type_id={st} linkage="
                f"{_FUNC_LINKAGE[vlen] if vlen < 3 else '(unknown)'}")
        elif kind == 13:  # FUNC_PROTO
            app(f"{head} ret_type_id={st} vlen={vlen}")
            for j in range(pos + 3, pos + 3 + 2 * vlen, 2):
                pn = getn(words[j])
                if pn is None:
                    pn = slow(words[j])
                app(f"\t'{pn}' type_id={words[j + 1]}")
        elif kind == 4 or kind == 5:  # STRUCT, UNION
            app(f"{head} size={st} vlen={vlen}")
            kflag = info >> 31
            for j in range(pos + 3, pos + 3 + 3 * vlen, 3):
                mn = getn(words[j])
                if mn is None:
                    mn = slow(words[j])
                mo = words[j + 2]
                if kflag and mo >> 24:
                    app(f"\t'{mn}' type_id={words[j + 1]} bits_offset={mo & 0xFFFFFF} "
                        f"bitfield_size={mo >> 24}")
                elif kflag:
                    app(f"\t'{mn}' type_id={words[j + 1]} bits_offset={mo & 0xFFFFFF}")
                else:
                    app(f"\t'{mn}' type_id={words[j + 1]} bits_offset={mo}")
        elif kind == 2 or kind == 8 or kind == 9 or kind == 10 or kind == 11 or kind == 18:
            app(f"{head} type_id={st}")
        elif kind == 3:  # ARRAY
            app(f"{head} type_id={words[pos + 3]} index_type_id={words[pos + 4]} "
                f"nr_elems={words[pos + 5]}")
        elif kind == 6:  # ENUM
            signed = info >> 31
            app(f"{head} encoding={'SIGNED' if signed else 'UNSIGNED'} size={st} vlen={vlen}")
            for j in range(pos + 3, pos + 3 + 2 * vlen, 2):
                en = getn(words[j])
                if en is None:
                    en = slow(words[j])
                v = words[j + 1]
                app(f"\t'{en}' val={_s32(v) if signed else v}")
        elif kind == 1:  # INT
            data = words[pos + 3]
            enc = int_enc.get(data >> 24 & 0x0F, "UNKN")
            app(f"{head} size={st} bits_offset={data >> 16 & 0xFF} nr_bits={data & 0xFF} "
                f"encoding={enc}")
        elif kind == 7:  # FWD
            app(f"{head} fwd_kind={'union' if info >> 31 else 'struct'}")
        elif kind == 14:  # VAR
            link = words[pos + 3]
            app(f"{head} type_id={st}, linkage="
                f"{_VAR_LINKAGE[link] if link < 3 else '(unknown)'}")
        elif kind == 15:  # DATASEC
            app(f"{head} size={st} vlen={vlen}")
            for j in range(pos + 3, pos + 3 + 3 * vlen, 3):
                vt = words[j]
                line = f"\ttype_id={vt} offset={words[j + 1]} size={words[j + 2]}"
                if vt < end_id:
                    line += _datasec_suffix(spec, vt, getn, slow)
                app(line)
        elif kind == 16:  # FLOAT
            app(f"{head} size={st}")
        elif kind == 17:  # DECL_TAG
            app(f"{head} type_id={st} component_idx={_s32(words[pos + 3])}")
        elif kind == 19:  # ENUM64
            signed = info >> 31
            app(f"{head} encoding={'SIGNED' if signed else 'UNSIGNED'} size={st} vlen={vlen}")
            for j in range(pos + 3, pos + 3 + 3 * vlen, 3):
                en = getn(words[j])
                if en is None:
                    en = slow(words[j])
                v = words[j + 1] | words[j + 2] << 32
                if signed:
                    app(f"\t'{en}' val={v - (1 << 64) if v >> 63 else v}LL")
                else:
                    app(f"\t'{en}' val={v}ULL")
        else:
            app(head)
    out.append("")
    return "\n".join(out)


def _datasec_suffix(
    spec: Spec, type_id: int, getn: Callable[[int], str | None], slow: Callable[[int], str]
) -> str:
    kind = spec.kind_of(type_id)
    no = spec.name_offset_of(type_id)
    nm = getn(no) if type_id else "(anon)"
    if nm is None:
        nm = slow(no)
    return f" ({_KIND_STR[kind] if kind <= 19 else 'UNKNOWN'} '{nm}')"


def dump_raw_bytes(spec: Spec) -> bytes:
    """:func:`dump_raw`, encoded back to the bytes bpftool would write."""
    return encode_str(dump_raw(spec))


def dump_json(spec: Spec) -> dict[str, Any]:
    """A structured form with bpftool's ``-j`` field names (values from the decoded types)."""
    from loader.btf import types as t

    def nm(name: str) -> str:
        return name or "(anon)"

    out: list[dict[str, Any]] = []
    for tid, typ in spec:
        entry: dict[str, Any] = {"id": tid, "kind": _KIND_STR[typ.kind],
                                 "name": nm(getattr(typ, "name", ""))}
        if isinstance(typ, t.Int):
            entry.update(size=typ.size, bits_offset=typ.offset_bits, nr_bits=typ.bits,
                         encoding=_INT_ENC.get(typ.encoding, "UNKN"))
        elif isinstance(typ, t.Pointer | t.Const | t.Volatile | t.Restrict | t.Typedef
                        | t.TypeTag):
            entry["type_id"] = typ.type
        elif isinstance(typ, t.Array):
            entry.update(type_id=typ.type, index_type_id=typ.index_type, nr_elems=typ.nelems)
        elif isinstance(typ, t.Struct | t.Union):
            entry.update(size=typ.size, vlen=len(typ.members), members=[
                {"name": nm(m.name), "type_id": m.type, "bits_offset": m.offset_bits,
                 **({"bitfield_size": m.bitfield_size_bits} if m.bitfield_size_bits else {})}
                for m in typ.members])
        elif isinstance(typ, t.Enum | t.Enum64):
            entry.update(encoding="SIGNED" if typ.signed else "UNSIGNED", size=typ.size,
                         vlen=len(typ.values),
                         values=[{"name": nm(v.name), "val": v.value} for v in typ.values])
        elif isinstance(typ, t.Fwd):
            entry["fwd_kind"] = "union" if typ.union else "struct"
        elif isinstance(typ, t.Func):
            entry.update(type_id=typ.type, linkage=_FUNC_LINKAGE[typ.linkage]
                         if typ.linkage < 3 else "(unknown)")
        elif isinstance(typ, t.FuncProto):
            entry.update(ret_type_id=typ.return_type, vlen=len(typ.params), params=[
                {"name": nm(p.name), "type_id": p.type} for p in typ.params])
        elif isinstance(typ, t.Var):
            entry.update(type_id=typ.type, linkage=_VAR_LINKAGE[typ.linkage]
                         if typ.linkage < 3 else "(unknown)")
        elif isinstance(typ, t.Datasec):
            entry.update(size=typ.size, vlen=len(typ.vars), vars=[
                {"type_id": v.type, "offset": v.offset, "size": v.size} for v in typ.vars])
        elif isinstance(typ, t.Float):
            entry["size"] = typ.size
        elif isinstance(typ, t.DeclTag):
            entry.update(type_id=typ.type, component_idx=typ.component_idx)
        out.append(entry)
    return {"types": out}
