"""Pass 2 of the BTF_LOAD model: resolution (kernel/bpf/btf.c btf_check_all_types).

The kernel resolves every type that refers to others with an explicit DFS stack of
at most MAX_RESOLVE_DEPTH vertices: a back edge is a loop (EEXIST), a deeper stack
is E2BIG.  What counts as "resolved enough" depends on the mode the walk started
in (a pointer may stop at a struct, a struct member may stop at a pointer), which
is why this module follows the kernel's state machine rather than a plain graph
search.  After resolution each FUNC_PROTO's return and argument types are checked,
and finally modifier chains are checked for type-tag placement.
"""

from __future__ import annotations

import errno

from loader.btf import records as r
from loader.btf.validate_facts import KernelFacts
from loader.btf.validate_meta import U32_MAX, RawType, Reject, Strings

MAX_RESOLVE_DEPTH = 32
PTR_SIZE = 8  # the model is of a 64-bit kernel

_MODIFIERS = frozenset(
    {r.BTF_KIND_TYPEDEF, r.BTF_KIND_VOLATILE, r.BTF_KIND_CONST, r.BTF_KIND_RESTRICT,
     r.BTF_KIND_TYPE_TAG}
)
_HAS_SIZE = frozenset(
    {r.BTF_KIND_INT, r.BTF_KIND_STRUCT, r.BTF_KIND_UNION, r.BTF_KIND_ENUM,
     r.BTF_KIND_DATASEC, r.BTF_KIND_FLOAT, r.BTF_KIND_ENUM64}
)
_STRUCTS = frozenset({r.BTF_KIND_STRUCT, r.BTF_KIND_UNION})
# types that are only ever a source of a reference, never a target
_SOURCE_ONLY = frozenset({r.BTF_KIND_VAR, r.BTF_KIND_DECL_TAG, r.BTF_KIND_DATASEC})
_NEEDS_RESOLVE = _MODIFIERS | _STRUCTS | _SOURCE_ONLY | {
    r.BTF_KIND_PTR, r.BTF_KIND_ARRAY, r.BTF_KIND_FUNC}
_NOSIZE = frozenset({r.BTF_KIND_UNKN, r.BTF_KIND_FWD, r.BTF_KIND_FUNC, r.BTF_KIND_FUNC_PROTO})
_DECL_TAG_TARGETS = _STRUCTS | {r.BTF_KIND_FUNC, r.BTF_KIND_VAR, r.BTF_KIND_TYPEDEF}

VOID = RawType(type_id=0, name_off=0, info=0, size_type=0, kind=r.BTF_KIND_UNKN, vlen=0,
               kflag=False)


class Mode:
    """enum resolve_mode (plain ints: compared a million times on vmlinux-sized BTF)."""

    TBD = 0
    PTR = 1
    STRUCT_OR_ARRAY = 2


class Visit:
    """enum visit_state."""

    NOT_VISITED = 0
    VISITED = 1
    RESOLVED = 2


class _Vertex:
    __slots__ = ("next_member", "t", "type_id")

    def __init__(self, t: RawType, type_id: int) -> None:
        self.t = t
        self.type_id = type_id
        self.next_member = 0


def _bits_roundup(bits: int) -> int:
    return (bits + 7) >> 3


def _u32(x: int) -> int:
    return x & U32_MAX


class Resolver:
    def __init__(self, types: list[RawType], strings: Strings, facts: KernelFacts) -> None:
        self.types = [VOID, *types]
        self.strings = strings
        self.facts = facts
        n = len(self.types)
        self.resolved_ids = [0] * n
        self.resolved_sizes = [0] * n
        self.visit = [Visit.NOT_VISITED] * n
        self.stack: list[_Vertex] = []
        self.mode = Mode.TBD
        # before btf_func_resolve (5.17) a FUNC is not resolved but checked on its own
        self.needs_resolve = (_NEEDS_RESOLVE if facts.func_resolve
                              else _NEEDS_RESOLVE - {r.BTF_KIND_FUNC})

    # -- lookups -----------------------------------------------------------
    def by_id(self, type_id: int) -> RawType | None:
        return self.types[type_id] if type_id < len(self.types) else None

    def resolved(self, type_id: int) -> bool:
        return self.visit[type_id] == Visit.RESOLVED

    def is_sink(self, t: RawType) -> bool:
        # env_type_is_resolve_sink
        if self.mode == Mode.TBD:
            return t.kind not in self.needs_resolve
        if self.mode == Mode.PTR:
            return t.kind not in _MODIFIERS and t.kind != r.BTF_KIND_PTR
        return t.kind not in _MODIFIERS and t.kind != r.BTF_KIND_ARRAY and t.kind not in _STRUCTS

    def type_id_size(self, type_id: int) -> tuple[RawType, int, int] | None:
        """btf_type_id_size: the sized type behind ``type_id``, its id and size."""
        t = self.by_id(type_id)
        if t is None:
            return None
        if t.kind in _MODIFIERS or t.kind == r.BTF_KIND_VAR:
            # one step through the resolved chain, then the same sized kinds
            rid = self.resolved_ids[type_id]
            rt = self.by_id(rid)
            return None if rt is None else self._own_size(rt, rid)
        return self._own_size(t, type_id)  # None for the rest: the kernel WARNs (DECL_TAG)

    def _own_size(self, t: RawType, type_id: int) -> tuple[RawType, int, int] | None:
        if t.kind in _NOSIZE:
            return None
        if t.kind in _HAS_SIZE:
            return t, type_id, t.size_type
        if t.kind == r.BTF_KIND_ARRAY:
            return t, type_id, self.resolved_sizes[type_id]
        if t.kind == r.BTF_KIND_PTR:
            return t, type_id, PTR_SIZE
        return None

    def id_resolve(self, type_id: int) -> tuple[RawType | None, int]:
        rid = self.resolved_ids[type_id]
        return self.by_id(rid), rid

    # -- the stack ---------------------------------------------------------
    def push(self, t: RawType, type_id: int) -> None:
        if len(self.stack) == MAX_RESOLVE_DEPTH:
            raise _Stop(errno.E2BIG)
        if self.visit[type_id] != Visit.NOT_VISITED:
            raise _Stop(errno.EEXIST)
        self.visit[type_id] = Visit.VISITED
        self.stack.append(_Vertex(t, type_id))
        if self.mode == Mode.TBD:
            if t.kind == r.BTF_KIND_PTR:
                self.mode = Mode.PTR
            elif t.kind in _STRUCTS or t.kind == r.BTF_KIND_ARRAY:
                self.mode = Mode.STRUCT_OR_ARRAY

    def pop_resolved(self, resolved_id: int, resolved_size: int) -> None:
        v = self.stack.pop()
        self.resolved_sizes[v.type_id] = resolved_size
        self.resolved_ids[v.type_id] = resolved_id
        self.visit[v.type_id] = Visit.RESOLVED

    # -- driver ------------------------------------------------------------
    def check_all_types(self) -> None:
        needs_resolve = self.needs_resolve
        func_apart = not self.facts.func_resolve
        for type_id in range(1, len(self.types)):
            t = self.types[type_id]
            if t.kind in needs_resolve and not self.resolved(type_id):
                self.resolve(t, type_id)
            if t.kind == r.BTF_KIND_FUNC_PROTO:
                self.func_proto_check(t)
            elif func_apart and t.kind == r.BTF_KIND_FUNC:
                self._func_check(t)

    def resolve(self, t: RawType, type_id: int) -> None:
        self.mode = Mode.TBD
        self.stack.clear()
        try:
            self.push(t, type_id)
            while self.stack:
                self._resolve_vertex(self.stack[-1])
        except _Stop as stop:
            if stop.err == errno.E2BIG:
                raise _reject(t, f"Exceeded max resolving depth:{MAX_RESOLVE_DEPTH}",
                              errno.E2BIG) from None
            raise _reject(t, "Loop detected", errno.EEXIST) from None
        if not self._resolve_valid(t, type_id):
            raise _reject(t, "Invalid resolve state")

    def _resolve_vertex(self, v: _Vertex) -> None:
        k = v.t.kind
        if k in _MODIFIERS:
            self._modifier_resolve(v)
        elif k == r.BTF_KIND_PTR:
            self._ptr_resolve(v)
        elif k == r.BTF_KIND_VAR:
            self._var_resolve(v)
        elif k == r.BTF_KIND_ARRAY:
            self._array_resolve(v)
        elif k in _STRUCTS:
            self._struct_resolve(v)
        elif k == r.BTF_KIND_DATASEC:
            self._datasec_resolve(v)
        elif k == r.BTF_KIND_DECL_TAG:
            self._decl_tag_resolve(v)
        elif k == r.BTF_KIND_FUNC:
            self._func_check(v.t)
            self.pop_resolved(v.t.size_type, 0)
        else:  # btf_df_resolve; unreachable for kinds that need resolving
            raise _reject(v.t, "Unsupported resolve")

    # -- per-kind resolve ----------------------------------------------------
    def _next_or_fail(self, v: _Vertex) -> tuple[RawType, int]:
        nid = v.t.size_type
        nt = self.by_id(nid)
        if nt is None or nt.kind in _SOURCE_ONLY:
            raise _reject(v.t, "Invalid type_id")
        return nt, nid

    def _modifier_resolve(self, v: _Vertex) -> None:
        nt, nid = self._next_or_fail(v)
        if not self.is_sink(nt) and not self.resolved(nid):
            self.push(nt, nid)
            return
        self._pop_maybe_unsized(v, nt, nid)

    def _pop_maybe_unsized(self, v: _Vertex, nt: RawType, nid: int) -> None:
        # modifiers and pointers may end in something without a size
        sized = self.type_id_size(nid)
        if sized is None:
            if self.resolved(nid):
                rt, nid = self.id_resolve(nid)
                nt = rt if rt is not None else nt
            # "typedef void new_void", "const void", a FWD or a FUNC_PROTO
            if nt is not VOID and nt.kind not in (r.BTF_KIND_FWD, r.BTF_KIND_FUNC_PROTO):
                raise _reject(v.t, "Invalid type_id")
        else:
            nid = sized[1]
        self.pop_resolved(nid, 0)

    def _pushed_ptr_behind_modifiers(self, nt: RawType, nid: int) -> bool:
        # The kernel's ptr/var resolvers first resolve a pointer hidden behind
        # modifiers (e.g. "const struct s *" through a typedef) before sizing it.
        if nt.kind in _MODIFIERS:
            rt, rid = self.id_resolve(nid)
            if (rt is not None and rt.kind == r.BTF_KIND_PTR and not self.is_sink(rt)
                    and not self.resolved(rid)):
                self.push(rt, rid)
                return True
        return False

    def _ptr_resolve(self, v: _Vertex) -> None:
        nt, nid = self._next_or_fail(v)
        if not self.is_sink(nt) and not self.resolved(nid):
            self.push(nt, nid)
            return
        if self._pushed_ptr_behind_modifiers(nt, nid):
            return
        self._pop_maybe_unsized(v, nt, nid)

    def _var_resolve(self, v: _Vertex) -> None:
        nt, nid = self._next_or_fail(v)
        if not self.is_sink(nt) and not self.resolved(nid):
            self.push(nt, nid)
            return
        if self._pushed_ptr_behind_modifiers(nt, nid):
            return
        # a VAR must resolve to something with a size: no FWD, no void
        sized = self.type_id_size(nid)
        if sized is None:
            raise _reject(v.t, "Invalid type_id")
        self.pop_resolved(sized[1], 0)

    def _array_resolve(self, v: _Vertex) -> None:
        elem_id, index_id, nelems = v.t.array
        it = self.by_id(index_id)
        if it is None or it.kind in _NOSIZE or it.kind in _SOURCE_ONLY:
            raise _reject(v.t, "Invalid index")
        if not self.is_sink(it) and not self.resolved(index_id):
            self.push(it, index_id)
            return
        sized = self.type_id_size(index_id)
        if sized is None or sized[0].kind != r.BTF_KIND_INT or not _int_is_regular(sized[0]):
            raise _reject(v.t, "Invalid index")
        et = self.by_id(elem_id)
        if et is None or et.kind in _NOSIZE or et.kind in _SOURCE_ONLY:
            raise _reject(v.t, "Invalid elem")
        if not self.is_sink(et) and not self.resolved(elem_id):
            self.push(et, elem_id)
            return
        esized = self.type_id_size(elem_id)
        if esized is None:
            raise _reject(v.t, "Invalid elem")
        et, elem_id, elem_size = esized
        if et.kind == r.BTF_KIND_INT and not _int_is_regular(et):
            raise _reject(v.t, "Invalid array of int")
        if nelems and elem_size > U32_MAX // nelems:
            raise _reject(v.t, "Array size overflows U32_MAX")
        self.pop_resolved(elem_id, _u32(elem_size * nelems))

    def _struct_resolve(self, v: _Vertex) -> None:
        st = v.t
        if v.next_member:
            _, last_type_id, _ = st.members[v.next_member - 1]
            if not self.resolved(last_type_id):
                raise _reject(st, "last member not resolved")  # WARN_ON_ONCE in the kernel
            lt = self.types[last_type_id]
            self._check_member(st, st.members[v.next_member - 1], lt)
        for i in range(v.next_member, len(st.members)):
            member = st.members[i]
            mid = member[1]
            mt = self.by_id(mid)
            if mt is None or mt.kind in _NOSIZE or mt.kind in _SOURCE_ONLY:
                raise _reject(st, f"member {i} Invalid member")
            if not self.is_sink(mt) and not self.resolved(mid):
                v.next_member = i + 1
                self.push(mt, mid)
                return
            self._check_member(st, member, mt)
        self.pop_resolved(0, 0)

    def _datasec_resolve(self, v: _Vertex) -> None:
        # Newer kernels reset the mode here so a DATASEC reached after a struct
        # resolves its VARs as a fresh walk.
        self.mode = Mode.TBD
        for i in range(v.next_member, len(v.t.members)):
            var_id, _, vsize = v.t.members[i]
            vt = self.by_id(var_id)
            if vt is None or vt.kind != r.BTF_KIND_VAR:
                raise _reject(v.t, f"var_secinfo {i} Not a VAR kind member")
            if not self.is_sink(vt) and not self.resolved(var_id):
                v.next_member = i + 1
                self.push(vt, var_id)
                return
            sized = self.type_id_size(vt.size_type)
            if sized is None:
                raise _reject(v.t, f"var_secinfo {i} Invalid type")
            if vsize < sized[2]:
                raise _reject(v.t, f"var_secinfo {i} Invalid size")
        self.pop_resolved(0, 0)

    def _decl_tag_resolve(self, v: _Vertex) -> None:
        nid = v.t.size_type
        nt = self.by_id(nid)
        if nt is None or nt.kind not in _DECL_TAG_TARGETS:
            raise _reject(v.t, "Invalid type_id")
        if not self.is_sink(nt) and not self.resolved(nid):
            self.push(nt, nid)
            return
        idx = v.t.component_idx
        if idx != -1:
            if nt.kind in (r.BTF_KIND_VAR, r.BTF_KIND_TYPEDEF):
                raise _reject(v.t, "Invalid component_idx")
            if nt.kind in _STRUCTS:
                vlen = nt.vlen
            else:
                proto = self.by_id(nt.size_type)
                vlen = proto.vlen if proto is not None else 0
            if _u32(idx) >= vlen:
                raise _reject(v.t, "Invalid component_idx")
        self.pop_resolved(nid, 0)

    def _func_check(self, t: RawType) -> None:
        proto = self.by_id(t.size_type)
        if proto is None or proto.kind != r.BTF_KIND_FUNC_PROTO:
            raise _reject(t, "Invalid type_id")
        for i, (name_off, arg_type) in enumerate(proto.params):
            if not name_off and arg_type:
                raise _reject(t, f"Invalid arg#{i + 1}")

    # -- struct members ------------------------------------------------------
    def _check_member(
        self, st: RawType, member: tuple[int, int, int], mt: RawType
    ) -> None:
        if st.kflag:
            self._check_kflag_member(st, member, mt)
        else:
            self._check_plain_member(st, member, mt)

    def _check_plain_member(
        self, st: RawType, member: tuple[int, int, int], mt: RawType
    ) -> None:
        name_off, mid, moff = member
        k = mt.kind
        size = st.size_type
        if k in _MODIFIERS:
            sized = self.type_id_size(mid)
            if sized is None:
                raise _member_reject(st, member, "Invalid member")
            self._check_plain_member(st, (name_off, sized[1], moff), sized[0])
        elif k == r.BTF_KIND_INT:
            bit_off_int = (mt.int_data >> 16) & 0xFF
            if U32_MAX - moff < bit_off_int:
                raise _member_reject(st, member, "bits_offset exceeds U32_MAX")
            bits_off = moff + bit_off_int
            bytes_off = bits_off >> 3
            nr_copy_bits = (mt.int_data & 0xFF) + (bits_off & 7)
            if nr_copy_bits > 128:
                raise _member_reject(st, member, "nr_copy_bits exceeds 128")
            if size < bytes_off or size - bytes_off < _bits_roundup(nr_copy_bits):
                raise _member_reject(st, member, "Member exceeds struct_size")
        elif k in (r.BTF_KIND_PTR, r.BTF_KIND_ARRAY, r.BTF_KIND_ENUM, r.BTF_KIND_ENUM64) or (
            k in _STRUCTS
        ):
            if moff & 7:
                raise _member_reject(st, member, "Member is not byte aligned")
            if k == r.BTF_KIND_PTR:
                msize = PTR_SIZE
            elif k == r.BTF_KIND_ARRAY:
                sized = self.type_id_size(mid)
                msize = sized[2] if sized is not None else 0
            else:
                msize = mt.size_type
            if _u32(size - (moff >> 3)) < msize:
                raise _member_reject(st, member, "Member exceeds struct_size")
        elif k == r.BTF_KIND_FLOAT:
            align_bits = min(PTR_SIZE, mt.size_type) * 8
            if moff % align_bits:
                raise _member_reject(st, member, "Member is not properly aligned")
            if (moff >> 3) + mt.size_type > size:
                raise _member_reject(st, member, "Member exceeds struct_size")
        else:
            raise _member_reject(st, member, "Unsupported check_member")

    def _check_kflag_member(
        self, st: RawType, member: tuple[int, int, int], mt: RawType
    ) -> None:
        name_off, mid, moff = member
        k = mt.kind
        size = st.size_type
        bitfield_size = moff >> 24
        bit_off = moff & 0xFFFFFF
        if k in _MODIFIERS:
            sized = self.type_id_size(mid)
            if sized is None:
                raise _member_reject(st, member, "Invalid member")
            self._check_kflag_member(st, (name_off, sized[1], moff), sized[0])
        elif k == r.BTF_KIND_INT:
            if not _int_is_regular(mt):
                raise _member_reject(st, member, "Invalid member base type")
            int_bits = mt.int_data & 0xFF
            nr_bits = bitfield_size
            if not nr_bits:
                if bit_off & 7:
                    raise _member_reject(st, member, "Invalid member offset")
                nr_bits = int_bits
            elif nr_bits > int_bits:
                raise _member_reject(st, member, "Invalid member bitfield_size")
            bytes_off = bit_off >> 3
            nr_copy_bits = nr_bits + (bit_off & 7)
            if nr_copy_bits > 128:
                raise _member_reject(st, member, "nr_copy_bits exceeds 128")
            if size < bytes_off or size - bytes_off < _bits_roundup(nr_copy_bits):
                raise _member_reject(st, member, "Member exceeds struct_size")
        elif k in (r.BTF_KIND_ENUM, r.BTF_KIND_ENUM64):
            nr_bits = bitfield_size
            if not nr_bits:
                if bit_off & 7:
                    raise _member_reject(st, member, "Member is not byte aligned")
                nr_bits = 32  # sizeof(int) * 8, whatever the enum's size
            elif nr_bits > 32:
                raise _member_reject(st, member, "Invalid member bitfield_size")
            if size < _bits_roundup(bit_off + nr_bits):
                raise _member_reject(st, member, "Member exceeds struct_size")
        elif k in (r.BTF_KIND_PTR, r.BTF_KIND_ARRAY, r.BTF_KIND_FLOAT) or k in _STRUCTS:
            # btf_generic_check_kflag_member: no bitfield, then the plain check
            if bitfield_size:
                raise _member_reject(st, member, "Invalid member bitfield_size")
            self._check_plain_member(st, member, mt)
        else:
            raise _member_reject(st, member, "Unsupported check_kflag_member")

    # -- FUNC_PROTO ----------------------------------------------------------
    def func_proto_check(self, t: RawType) -> None:
        if t.size_type:
            ret_id = t.size_type
            rt = self.by_id(ret_id)
            if rt is None:
                raise _reject(t, "Invalid return type")
            if self.facts.proto_ret_source_only and rt.kind in _SOURCE_ONLY:
                raise _reject(t, "Invalid return type")
            if rt.kind in self.needs_resolve and not self.resolved(ret_id):
                self.resolve(rt, ret_id)
            if self.type_id_size(ret_id) is None:
                raise _reject(t, "Invalid return type")
        params = t.params
        nr_args = len(params)
        if not nr_args:
            return
        if not params[-1][1]:
            if params[-1][0]:
                raise _reject(t, f"Invalid arg#{nr_args}")
            nr_args -= 1
        for i in range(nr_args):
            name_off, arg_id = params[i]
            at = self.by_id(arg_id)
            if at is None:
                raise _reject(t, f"Invalid arg#{i + 1}")
            if self.facts.proto_arg_source_only and at.kind in _SOURCE_ONLY:
                raise _reject(t, f"Invalid arg#{i + 1}")
            if name_off and (
                not self.strings.offset_valid(name_off)
                or not self.strings.identifier_ok(name_off, self.facts)
            ):
                raise _reject(t, f"Invalid arg#{i + 1}")
            if at.kind in self.needs_resolve and not self.resolved(arg_id):
                self.resolve(at, arg_id)
            if self.type_id_size(arg_id) is None:
                raise _reject(t, f"Invalid arg#{i + 1}")

    # -- final sanity --------------------------------------------------------
    def _resolve_valid(self, t: RawType, type_id: int) -> bool:
        if not self.resolved(type_id):
            return False
        rid = self.resolved_ids[type_id]
        rsize = self.resolved_sizes[type_id]
        k = t.kind
        if k in _STRUCTS or k == r.BTF_KIND_DATASEC:
            return not rid and not rsize
        if k in (r.BTF_KIND_DECL_TAG, r.BTF_KIND_FUNC):
            return bool(rid) and not rsize
        if k in _MODIFIERS or k in (r.BTF_KIND_PTR, r.BTF_KIND_VAR):
            rt = self.by_id(rid)
            return (rt is not None and rt.kind not in _MODIFIERS
                    and rt.kind not in (r.BTF_KIND_VAR, r.BTF_KIND_DATASEC))
        if k == r.BTF_KIND_ARRAY:
            sized = self.type_id_size(t.array[0])
            return (sized is not None and sized[0].kind not in _MODIFIERS
                    and _u32(t.array[2] * sized[2]) == rsize)
        return False

    # -- type tags -------------------------------------------------------------
    def check_type_tags(self) -> None:
        """btf_check_type_tags (5.19+): type tags must come first in a modifier
        chain (until 7.2), and no chain may be longer than 32 modifiers."""
        if not self.facts.modifier_chain_check:
            return
        order = self.facts.type_tag_order_check
        good_id = 0
        for i in range(1, len(self.types)):
            t: RawType | None = self.types[i]
            assert t is not None
            if t.kind not in _MODIFIERS:
                continue
            chain_limit = 32
            cur_id = i
            in_tags = t.kind == r.BTF_KIND_TYPE_TAG
            while t is not None and t.kind in _MODIFIERS:
                if chain_limit == 0:
                    raise Reject(errno.ELOOP, "Max chain length or cycle detected")
                chain_limit -= 1
                if not order:
                    pass
                elif t.kind == r.BTF_KIND_TYPE_TAG:
                    if not in_tags:
                        raise Reject(errno.EINVAL, "Type tags don't precede modifiers")
                elif in_tags:
                    in_tags = False
                if cur_id <= good_id:
                    break
                cur_id = t.size_type
                t = self.by_id(cur_id)
                if t is None:
                    raise Reject(errno.EINVAL, "Invalid type id in modifier chain")
            good_id = i


def _int_is_regular(t: RawType) -> bool:
    # btf_type_int_is_regular: not a bitfield, and 1, 2, 4, 8 or 16 bytes
    nr_bits = t.int_data & 0xFF
    offset = (t.int_data >> 16) & 0xFF
    return not (nr_bits & 7) and not offset and _bits_roundup(nr_bits) in (1, 2, 4, 8, 16)


class _Stop(Exception):
    def __init__(self, err: int) -> None:
        super().__init__(err)
        self.err = err


def _reject(t: RawType, reason: str, err: int = errno.EINVAL) -> Reject:
    return Reject(err, f"[{t.type_id}] {r.KIND_NAMES[t.kind]} {reason}")


def _member_reject(st: RawType, member: tuple[int, int, int], reason: str) -> Reject:
    _, mid, moff = member
    return _reject(st, f"member type_id={mid} offset={moff} {reason}")
