"""A raw BTF assembler for hand-made (and deliberately broken) blobs.

Unlike ``loader.btf.encode`` it writes exactly the records it is told to,
however wrong: the BTF model's conformance cases need blobs no encoder would
produce.  Layouts come from :mod:`loader.btf.records`.
"""

from __future__ import annotations

from loader.btf import records as r


class RawBTF:
    """Types and strings appended in order; ``blob()`` adds the header."""

    def __init__(self, byte_order: r.ByteOrder = "<") -> None:
        self.rec = r.records_for(byte_order)
        self.strs = bytearray(b"\0")
        self._offsets: dict[bytes, int] = {}
        self.types = bytearray()
        self.next_id = 1

    def name(self, text: str | bytes) -> int:
        """Offset of ``text`` in the string section (appended once)."""
        raw = text.encode("latin-1") if isinstance(text, str) else text
        if not raw:
            return 0
        if raw not in self._offsets:
            self._offsets[raw] = len(self.strs)
            self.strs += raw + b"\0"
        return self._offsets[raw]

    def type(
        self,
        kind: int,
        name: int = 0,
        size_type: int = 0,
        *,
        vlen: int = 0,
        kflag: bool = False,
        info: int | None = None,
        extra: bytes = b"",
    ) -> int:
        if info is None:
            info = r.make_info(kind, vlen, kflag)
        self.types += self.rec.btf_type.pack(name, info, size_type) + extra
        tid = self.next_id
        self.next_id += 1
        return tid

    # -- per kind helpers (correct records unless told otherwise) -------------
    def int_(self, name: str = "int", size: int = 4, bits: int = 32, *, encoding: int = 0,
             offset: int = 0, kflag: bool = False, vlen: int = 0) -> int:
        data = (encoding << 24) | (offset << 16) | bits
        return self.type(r.BTF_KIND_INT, self.name(name), size, vlen=vlen, kflag=kflag,
                         extra=self.rec.u32.pack(data))

    def ref(self, kind: int, target: int, name: str = "", *, kflag: bool = False) -> int:
        return self.type(kind, self.name(name), target, kflag=kflag)

    def ptr(self, target: int) -> int:
        return self.ref(r.BTF_KIND_PTR, target)

    def const(self, target: int) -> int:
        return self.ref(r.BTF_KIND_CONST, target)

    def array(self, elem: int, index: int, nelems: int, *, name: str = "",
              size: int = 0) -> int:
        return self.type(r.BTF_KIND_ARRAY, self.name(name), size,
                         extra=self.rec.btf_array.pack(elem, index, nelems))

    def struct(self, name: str, size: int, members: list[tuple[str, int, int]], *,
               union: bool = False, kflag: bool = False) -> int:
        extra = b"".join(self.rec.btf_member.pack(self.name(n), t, o) for n, t, o in members)
        kind = r.BTF_KIND_UNION if union else r.BTF_KIND_STRUCT
        return self.type(kind, self.name(name), size, vlen=len(members), kflag=kflag,
                         extra=extra)

    def enum(self, name: str, size: int, values: list[tuple[str, int]], *,
             kflag: bool = False) -> int:
        extra = b"".join(self.rec.btf_enum.pack(self.name(n), v) for n, v in values)
        return self.type(r.BTF_KIND_ENUM, self.name(name), size, vlen=len(values),
                         kflag=kflag, extra=extra)

    def enum64(self, name: str, size: int, values: list[tuple[str, int]], *,
               kflag: bool = False) -> int:
        extra = b"".join(
            self.rec.btf_enum64.pack(self.name(n), v & 0xFFFFFFFF, (v >> 32) & 0xFFFFFFFF)
            for n, v in values
        )
        return self.type(r.BTF_KIND_ENUM64, self.name(name), size, vlen=len(values),
                         kflag=kflag, extra=extra)

    def fwd(self, name: str, *, union: bool = False) -> int:
        return self.type(r.BTF_KIND_FWD, self.name(name), kflag=union)

    def func_proto(self, ret: int, params: list[tuple[str, int]]) -> int:
        extra = b"".join(self.rec.btf_param.pack(self.name(n), t) for n, t in params)
        return self.type(r.BTF_KIND_FUNC_PROTO, 0, ret, vlen=len(params), extra=extra)

    def func(self, name: str, proto: int, linkage: int = r.BTF_FUNC_GLOBAL) -> int:
        return self.type(r.BTF_KIND_FUNC, self.name(name), proto, vlen=linkage)

    def var(self, name: str, target: int, linkage: int = r.BTF_VAR_GLOBAL_ALLOCATED) -> int:
        return self.type(r.BTF_KIND_VAR, self.name(name), target,
                         extra=self.rec.u32.pack(linkage))

    def datasec(self, name: str | bytes, size: int,
                entries: list[tuple[int, int, int]]) -> int:
        extra = b"".join(self.rec.btf_var_secinfo.pack(t, o, s) for t, o, s in entries)
        return self.type(r.BTF_KIND_DATASEC, self.name(name), size, vlen=len(entries),
                         extra=extra)

    def float_(self, name: str = "double", size: int = 8, *, kflag: bool = False) -> int:
        return self.type(r.BTF_KIND_FLOAT, self.name(name), size, kflag=kflag)

    def decl_tag(self, value: str, target: int, component_idx: int = -1, *,
                 kflag: bool = False) -> int:
        return self.type(r.BTF_KIND_DECL_TAG, self.name(value), target, kflag=kflag,
                         extra=self.rec.s32.pack(component_idx))

    def type_tag(self, value: str, target: int, *, kflag: bool = False) -> int:
        return self.ref(r.BTF_KIND_TYPE_TAG, target, value, kflag=kflag)

    # -- the blob -------------------------------------------------------------
    def blob(
        self,
        *,
        magic: int = r.BTF_MAGIC,
        version: int = r.BTF_VERSION,
        flags: int = 0,
        hdr_len: int = r.BTF_HEADER_V1_SIZE,
        header_tail: bytes = b"",
        type_off: int | None = None,
        type_len: int | None = None,
        str_off: int | None = None,
        str_len: int | None = None,
        strings_first: bool = False,
        gap: bytes = b"",
        trailer: bytes = b"",
        strings: bytes | None = None,
    ) -> bytes:
        """Header + types + strings; every header field can be overridden.

        ``header_tail`` is appended to the 24-byte header (its length is not
        added to ``hdr_len``); ``gap`` goes between the two sections and
        ``trailer`` after the last one.
        """
        strs = bytes(self.strs) if strings is None else strings
        types = bytes(self.types)
        first, second = (strs, types) if strings_first else (types, strs)
        if strings_first:
            d_str_off, d_type_off = 0, len(strs) + len(gap)
        else:
            d_type_off, d_str_off = 0, len(types) + len(gap)
        hdr = self.rec.preamble.pack(magic, version, flags, hdr_len) + self.rec.header_v1.pack(
            d_type_off if type_off is None else type_off,
            len(types) if type_len is None else type_len,
            d_str_off if str_off is None else str_off,
            len(strs) if str_len is None else str_len,
        )
        return hdr + header_tail + first + gap + second + trailer
