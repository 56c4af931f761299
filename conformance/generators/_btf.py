"""Valid BTF type graphs, built type by type so that every reference is legal.

The builder keeps, per type id, what the kernel's resolver will conclude about
it (its size if it has one, whether it is a regular INT underneath, whether it
is a TYPE_TAG, how long its modifier chain is).  Each "feature" appends a small
realistic group of types whose references satisfy kernel/bpf/btf.c for the
kernel in question; which kinds and relaxations exist is asked of
:mod:`loader.btf.validate_facts`, not re-encoded here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from conformance.generators._draw import Draw
from loader.btf import encode_types
from loader.btf import records as r
from loader.btf import types as t
from loader.btf.validate_facts import KernelFacts

KIND_BY_NAME: dict[str, int] = {
    "int": r.BTF_KIND_INT, "ptr": r.BTF_KIND_PTR, "array": r.BTF_KIND_ARRAY,
    "struct": r.BTF_KIND_STRUCT, "union": r.BTF_KIND_UNION, "enum": r.BTF_KIND_ENUM,
    "fwd": r.BTF_KIND_FWD, "typedef": r.BTF_KIND_TYPEDEF, "volatile": r.BTF_KIND_VOLATILE,
    "const": r.BTF_KIND_CONST, "restrict": r.BTF_KIND_RESTRICT, "func": r.BTF_KIND_FUNC,
    "func_proto": r.BTF_KIND_FUNC_PROTO, "var": r.BTF_KIND_VAR, "datasec": r.BTF_KIND_DATASEC,
    "float": r.BTF_KIND_FLOAT, "decl_tag": r.BTF_KIND_DECL_TAG,
    "type_tag": r.BTF_KIND_TYPE_TAG, "enum64": r.BTF_KIND_ENUM64,
}
KIND_NAMES: dict[int, str] = {v: k for k, v in KIND_BY_NAME.items()}

# Kept small so that sizes never approach the u32 / 24-bit kflag offset limits:
# those belong to invalid_btf(), not here.
_MAX_AGGREGATE_BYTES = 4096
_MAX_CHAIN = 8  # modifiers in a row; the kernel allows 32 (btf_check_type_tags)

# (name, size, bits, encoding): realistic C base types.
_INTS: tuple[tuple[str, int, int, int], ...] = (
    ("char", 1, 8, r.BTF_INT_SIGNED | 0),
    ("unsigned char", 1, 8, 0),
    ("char", 1, 8, r.BTF_INT_CHAR),
    ("_Bool", 1, 8, r.BTF_INT_BOOL),
    ("short int", 2, 16, r.BTF_INT_SIGNED),
    ("short unsigned int", 2, 16, 0),
    ("unsigned int", 4, 32, 0),
    ("long int", 8, 64, r.BTF_INT_SIGNED),
    ("long long unsigned int", 8, 64, 0),
    ("__int128", 16, 128, r.BTF_INT_SIGNED),
    ("__int128 unsigned", 16, 128, 0),
)
# Old pahole wrote bitfields as INTs narrower than their size: legal, but
# "irregular" (no array element or index, no kflag member base).
_IRREGULAR_INTS: tuple[tuple[str, int, int, int], ...] = (
    ("u3", 1, 3, 0), ("s12", 2, 12, r.BTF_INT_SIGNED), ("u31", 4, 31, 0),
)
_FLOATS = (("_Float16", 2), ("float", 4), ("double", 8), ("long double", 12),
           ("__float128", 16))
_SECTIONS = (".data", ".bss", ".rodata", ".data.counters", ".rodata.cst16", "license")
_TAG_VALUES = ("user", "percpu", "rcu", "kptr", "arg:ctx", "tag value")


@dataclass(frozen=True, slots=True)
class _Info:
    kind: int
    size: int | None  # what btf_type_id_size finds; None: void, FWD, FUNC_PROTO, ...
    align: int = 1
    irregular_int: bool = False
    type_tag: bool = False
    chain: int = 0  # modifiers from here down
    pointable: bool = True  # a legal PTR/modifier target
    vlen: int = 0  # members (struct/union) or params (func: its proto's)
    enum_bits: bool = False  # ENUM/ENUM64 underneath (kflag bitfield of <= 32 bits)
    regular_int_bits: int = 0  # regular INT underneath: its bits


_VOID = _Info(r.BTF_KIND_UNKN, None)


@dataclass(frozen=True, slots=True)
class BTFShape:
    """A generated valid type list and the kernel it was made for."""

    types: tuple[t.Type, ...]
    kernel: tuple[int, int]

    @property
    def kinds(self) -> frozenset[int]:
        return frozenset(typ.kind for typ in self.types)

    def encode(self, byte_order: r.ByteOrder = "<") -> bytes:
        return encode_types(self.types, byte_order)


class _Builder:
    def __init__(self, draw: Draw, facts: KernelFacts, kinds: frozenset[int]) -> None:
        self.d = draw
        self.f = facts
        self.kinds = kinds
        self.types: list[t.Type] = []
        self.info: list[_Info] = [_VOID]

    # -- bookkeeping -----------------------------------------------------------
    @property
    def next_id(self) -> int:
        return len(self.info)

    def add(self, typ: t.Type, info: _Info) -> int:
        self.types.append(typ)
        self.info.append(info)
        return len(self.info) - 1

    def ids(self, pred: Callable[[_Info], bool]) -> list[int]:
        return [i for i in range(1, len(self.info)) if pred(self.info[i])]

    def sized(self, *, nonzero: bool = False, max_size: int = _MAX_AGGREGATE_BYTES) -> list[int]:
        return self.ids(lambda i: i.size is not None and (i.size > 0 or not nonzero)
                        and i.size <= max_size)

    def on(self, kind: int) -> bool:
        return kind in self.kinds

    # -- features ----------------------------------------------------------------
    def int_(self) -> int:
        if self.d.bool(0.2):
            name, size, bits, enc = self.d.choice(_IRREGULAR_INTS)
            return self.add(t.Int(name, size, enc, 0, bits),
                            _Info(r.BTF_KIND_INT, size, min(size, 8), irregular_int=True))
        name, size, bits, enc = self.d.choice(_INTS)
        return self.add(t.Int(name, size, enc, 0, bits),
                        _Info(r.BTF_KIND_INT, size, min(size, 8), regular_int_bits=bits))

    def float_(self) -> int:
        name, size = self.d.choice(_FLOATS)
        return self.add(t.Float(name, size), _Info(r.BTF_KIND_FLOAT, size, min(size, 8)))

    def ptr(self) -> int:
        targets = [0, *self.ids(lambda i: i.pointable)]
        target = self.d.choice(targets)
        return self.add(t.Pointer(target), _Info(r.BTF_KIND_PTR, 8, 8))

    def _modifier_target(self) -> int:
        # A non-tag modifier must never point at a TYPE_TAG ("Type tags don't
        # precede modifiers"); chains stay short.
        return self.d.choice([0, *self.ids(
            lambda i: i.pointable and not i.type_tag and i.chain < _MAX_CHAIN)])

    def modifier(self) -> int:
        choices = [k for k in (r.BTF_KIND_TYPEDEF, r.BTF_KIND_CONST, r.BTF_KIND_VOLATILE,
                               r.BTF_KIND_RESTRICT) if self.on(k)]
        kind = self.d.choice(choices)
        target = self._modifier_target()
        ti = self.info[target]
        name = f"t{self.next_id}_t" if kind == r.BTF_KIND_TYPEDEF else ""
        typ: t.Type
        if kind == r.BTF_KIND_TYPEDEF:
            typ = t.Typedef(name, target)
        elif kind == r.BTF_KIND_CONST:
            typ = t.Const(target)
        elif kind == r.BTF_KIND_VOLATILE:
            typ = t.Volatile(target)
        else:
            typ = t.Restrict(target)
        return self.add(typ, _Info(kind, ti.size, ti.align, ti.irregular_int, False,
                                   ti.chain + 1, True, 0, ti.enum_bits, ti.regular_int_bits))

    def type_tag(self) -> int:
        # "int __user *": PTR -> TYPE_TAG [-> TYPE_TAG] [-> CONST] -> target.
        target = self.d.choice([0, *self.ids(lambda i: i.pointable and i.chain < _MAX_CHAIN)])
        ti = self.info[target]
        kflag = self.f.tag_kflag and self.d.bool(0.2)
        tag = self.add(t.TypeTag(self.d.choice(_TAG_VALUES), target, kflag),
                       _Info(r.BTF_KIND_TYPE_TAG, ti.size, ti.align, ti.irregular_int, True,
                             ti.chain + 1, True, 0, ti.enum_bits, ti.regular_int_bits))
        if self.on(r.BTF_KIND_PTR) and self.d.bool(0.7):
            return self.add(t.Pointer(tag), _Info(r.BTF_KIND_PTR, 8, 8))
        return tag

    def array(self) -> int:
        elems = self.ids(lambda i: i.size is not None and not i.irregular_int
                         and i.size <= 256)
        index_ids = self.ids(lambda i: i.regular_int_bits > 0)
        if not elems or not index_ids:
            return self.int_()
        elem = self.d.choice(elems)
        ei = self.info[elem]
        size = ei.size or 0
        nelems = self.d.int(0, 16 if size <= 64 else 4)
        return self.add(t.Array(elem, self.d.choice(index_ids), nelems),
                        _Info(r.BTF_KIND_ARRAY, size * nelems, ei.align))

    def enum(self, kind: int) -> int:
        signed = (kind == r.BTF_KIND_ENUM64 or self.f.enum_kflag) and self.d.bool()
        count = self.d.int(0, 5)
        tid = self.next_id
        if kind == r.BTF_KIND_ENUM:
            lo, hi = (-(1 << 31), (1 << 31) - 1) if signed else (0, (1 << 32) - 1)
            size = self.d.choice((4, 4, 1, 2, 8))
        else:
            lo, hi = (-(1 << 63), (1 << 63) - 1) if signed else (0, (1 << 64) - 1)
            size = self.d.choice((8, 8, 4))
        values = []
        for i in range(count):
            # Mostly small values, sometimes the extremes of the range.
            v = self.d.choice((lo, hi, 0, -1 if signed else 1 << 31)) if self.d.bool(0.2) \
                else self.d.int(max(lo, -8), min(hi, 64))
            values.append(t.EnumValue(f"E{tid}_{i}", v))
        name = "" if self.d.bool(0.2) else f"e{tid}"
        cls = t.Enum if kind == r.BTF_KIND_ENUM else t.Enum64
        return self.add(cls(name, size, tuple(values), signed),
                        _Info(kind, size, min(size, 8), enum_bits=True))

    def fwd(self) -> int:
        union = self.d.bool(0.3)
        fid = self.add(t.Fwd(f"fwd{self.next_id}", union), _Info(r.BTF_KIND_FWD, None))
        if self.on(r.BTF_KIND_PTR) and self.d.bool(0.6):
            return self.add(t.Pointer(fid), _Info(r.BTF_KIND_PTR, 8, 8))
        return fid

    def composite(self) -> int:
        kind = r.BTF_KIND_STRUCT
        if self.on(r.BTF_KIND_UNION) and (not self.on(r.BTF_KIND_STRUCT) or self.d.bool(0.3)):
            kind = r.BTF_KIND_UNION
        # "struct node { ...; struct node *next; }": a PTR to the struct about to
        # be added, so the type graph has a cycle through the pointer.
        self_ptr = 0
        if self.on(r.BTF_KIND_PTR) and self.d.bool(0.3):
            self_ptr = self.add(t.Pointer(self.next_id + 1), _Info(r.BTF_KIND_PTR, 8, 8))
        kflag = self.d.bool(0.3)
        # A kflag member's INT base must be regular (btf_int_check_kflag_member).
        candidates = [i for i in self.sized(max_size=1024)
                      if not (kflag and self.info[i].irregular_int)]
        count = self.d.int(0, 6)
        members: list[t.Member] = []
        bit = 0
        align = 1
        size = 0
        union = kind == r.BTF_KIND_UNION
        tid = self.next_id
        for i in range(count + (1 if self_ptr else 0)):
            mid = self_ptr if self_ptr and i == count else self.d.choice(candidates)
            mi = self.info[mid]
            msize = mi.size or 0
            name = "" if mi.kind in (r.BTF_KIND_STRUCT, r.BTF_KIND_UNION) and self.d.bool(0.2) \
                else f"m{i}"
            width = 0
            if kflag and (mi.regular_int_bits or mi.enum_bits):
                # A kflag enum member without a bitfield size counts as 32 bits
                # whatever the enum's size (btf_enum_check_kflag_member), so
                # narrow enums always get an explicit width here.
                forced = mi.enum_bits and msize < 4
                if forced or self.d.bool(0.6):
                    limit = mi.regular_int_bits or min(32, 8 * max(msize, 1))
                    if not union:
                        # btf_int_check_kflag_member: the bits copied (width plus the
                        # offset within the first byte) must fit in 128.
                        limit = min(limit, 128 - bit % 8)
                    width = self.d.int(1, limit)
            if width:
                off = 0 if union else bit
                size = max(size, -(-(off + width) // 8))
                if not union:
                    bit = off + width
            else:
                a = mi.align
                off = 0 if union else -(-bit // (8 * a)) * (8 * a)
                size = max(size, off // 8 + msize)
                align = max(align, a)
                if not union:
                    bit = off + 8 * msize
            members.append(t.Member(name, mid, off, width))
        size = -(-size // align) * align
        if self.d.bool(0.1):
            size += align  # trailing padding, as with __aligned
        cls = t.Struct if kind == r.BTF_KIND_STRUCT else t.Union
        name = "" if self.d.bool(0.15) else f"s{tid}"
        return self.add(cls(name, size, tuple(members), kflag),
                        _Info(kind, size, align, vlen=len(members)))

    def proto(self, *, named: bool) -> int:
        rets = [0, *self.sized()]
        ret = self.d.choice(rets)
        args = self.sized()
        params = [t.FuncParam(f"a{i}" if named or self.d.bool() else "", self.d.choice(args))
                  for i in range(self.d.int(0, 4))]
        if self.d.bool(0.1):
            params.append(t.FuncParam("", 0))  # "..."
        return self.add(t.FuncProto(ret, tuple(params)),
                        _Info(r.BTF_KIND_FUNC_PROTO, None, vlen=len(params)))

    def func(self) -> int:
        proto = self.proto(named=True)
        linkage = self.d.choice((r.BTF_FUNC_STATIC, r.BTF_FUNC_GLOBAL)) \
            if self.f.func_linkage else 0
        return self.add(t.Func(f"f{self.next_id}", proto, linkage),
                        _Info(r.BTF_KIND_FUNC, None, pointable=False,
                              vlen=self.info[proto].vlen))

    def var(self) -> int:
        vtype = self.d.choice(self.sized())
        return self.add(
            t.Var(f"v{self.next_id}", vtype,
                  self.d.choice((r.BTF_VAR_STATIC, r.BTF_VAR_GLOBAL_ALLOCATED))),
            _Info(r.BTF_KIND_VAR, None, pointable=False))

    def datasec(self) -> int:
        entries: list[t.VarSecinfo] = []
        off = 0
        for _ in range(self.d.int(0, 4)):
            vtype = self.d.choice(self.sized(nonzero=True))
            vi = self.info[vtype]
            vid = self.add(
                t.Var(f"v{self.next_id}", vtype,
                      self.d.choice((r.BTF_VAR_STATIC, r.BTF_VAR_GLOBAL_ALLOCATED))),
                _Info(r.BTF_KIND_VAR, None, pointable=False))
            off = -(-off // vi.align) * vi.align
            size = vi.size or 1
            entries.append(t.VarSecinfo(vid, off, size))
            off += size
        total = max(off, 1) + (self.d.int(0, 8) if self.d.bool(0.3) else 0)
        return self.add(t.Datasec(self.d.choice(_SECTIONS), total, tuple(entries)),
                        _Info(r.BTF_KIND_DATASEC, None, pointable=False))

    def decl_tag(self) -> int:
        targets = self.ids(lambda i: i.kind in (r.BTF_KIND_STRUCT, r.BTF_KIND_UNION,
                                                r.BTF_KIND_FUNC, r.BTF_KIND_VAR,
                                                r.BTF_KIND_TYPEDEF))
        if not targets:
            return self.composite()
        target = self.d.choice(targets)
        ti = self.info[target]
        idx = -1
        if ti.kind not in (r.BTF_KIND_VAR, r.BTF_KIND_TYPEDEF) and ti.vlen and self.d.bool():
            idx = self.d.int(0, ti.vlen - 1)
        kflag = self.f.tag_kflag and self.d.bool(0.2)
        return self.add(t.DeclTag(self.d.choice(_TAG_VALUES), target, idx, kflag),
                        _Info(r.BTF_KIND_DECL_TAG, None, pointable=False))


def _features(b: _Builder) -> list[Callable[[], int]]:
    out: list[Callable[[], int]] = [b.int_]
    on = b.on
    if on(r.BTF_KIND_PTR):
        out.append(b.ptr)
    if on(r.BTF_KIND_ARRAY):
        out.append(b.array)
    if on(r.BTF_KIND_STRUCT) or on(r.BTF_KIND_UNION):
        out += [b.composite, b.composite]
    if on(r.BTF_KIND_ENUM):
        out.append(lambda: b.enum(r.BTF_KIND_ENUM))
    if on(r.BTF_KIND_ENUM64):
        out.append(lambda: b.enum(r.BTF_KIND_ENUM64))
    if on(r.BTF_KIND_FWD):
        out.append(b.fwd)
    if any(on(k) for k in (r.BTF_KIND_TYPEDEF, r.BTF_KIND_CONST, r.BTF_KIND_VOLATILE,
                           r.BTF_KIND_RESTRICT)):
        out.append(b.modifier)
    if on(r.BTF_KIND_TYPE_TAG):
        out.append(b.type_tag)
    if on(r.BTF_KIND_FUNC_PROTO):
        out.append(lambda: b.proto(named=False))
    if on(r.BTF_KIND_FUNC) and on(r.BTF_KIND_FUNC_PROTO):
        out.append(b.func)
    if on(r.BTF_KIND_VAR):
        out.append(b.var)
    if on(r.BTF_KIND_DATASEC) and on(r.BTF_KIND_VAR):
        out.append(b.datasec)
    if on(r.BTF_KIND_FLOAT):
        out.append(b.float_)
    if on(r.BTF_KIND_DECL_TAG):
        out.append(b.decl_tag)
    return out


def build_btf(draw: Draw, facts: KernelFacts, *, max_types: int,
              kinds: frozenset[int]) -> BTFShape:
    """A valid type list for ``facts``' kernel using only ``kinds`` (INT always)."""
    b = _Builder(draw, facts, kinds)
    b.add(t.Int("int", 4, r.BTF_INT_SIGNED, 0, 32),
          _Info(r.BTF_KIND_INT, 4, 4, regular_int_bits=32))
    features = _features(b)
    steps = draw.int(0, max_types)
    # A feature adds up to ~6 types; stop before overshooting max_types.
    while steps > 0 and len(b.types) + 6 <= max_types:
        draw.choice(features)()
        steps -= 1
    return BTFShape(tuple(b.types), facts.version)
