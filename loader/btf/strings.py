"""The BTF string table.

Offsets are in the combined string space of split BTF: offsets below
``start_offset`` belong to the base's table.  Strings are decoded with
``surrogateescape`` so that any byte survives a decode/encode round trip (and a
dump writes the bytes bpftool would print).  The offset -> string map is built
once, on first use, from a single split of the table.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import accumulate

from loader.errors import BTFError

_ENCODING = "utf-8"
_ERRORS = "surrogateescape"


def decode_str(raw: bytes) -> str:
    return raw.decode(_ENCODING, _ERRORS)


def encode_str(text: str) -> bytes:
    return text.encode(_ENCODING, _ERRORS)


_new_object = object.__new__


class StringTable:
    """One BTF string table, optionally stacked on a base table (split BTF)."""

    __slots__ = ("_by_offset", "_combined", "_direct", "_first_offset", "base", "raw",
                 "start_offset")

    def __init__(self, raw: bytes, base: StringTable | None = None) -> None:
        self.raw = raw
        self.base = base
        # Where this table starts in the combined offset space.
        self.start_offset = base.end_offset if base is not None else 0
        self._by_offset: dict[int, str] | None = None
        self._first_offset: dict[str, int] | None = None
        self._combined: dict[int, str] | None = None
        # Strings read one at a time (before/without the full index): offset -> str.
        self._direct: dict[int, str] = {}

    @staticmethod
    def plain(raw: bytes) -> StringTable:
        """``StringTable(raw)``, no base, without the class call: a small object's
        table is made on every load, and a class call with an ``__init__`` is
        several times dearer than a function's.  Beside ``__init__`` so that both
        set the same slots (a test compares them)."""
        self: StringTable = _new_object(StringTable)
        self.raw = raw
        self.base = None
        self.start_offset = 0
        self._by_offset = self._first_offset = self._combined = None
        self._direct = {}
        return self

    @property
    def end_offset(self) -> int:
        return self.start_offset + len(self.raw)

    def __len__(self) -> int:
        return len(self.raw)

    def _index(self) -> dict[int, str]:
        if self._by_offset is None:
            raw = self.raw
            if raw.isascii():
                parts: list[str] = raw.decode("ascii").split("\0")
                lengths = [len(p) + 1 for p in parts]
            else:
                braw = raw.split(b"\0")
                lengths = [len(p) + 1 for p in braw]
                parts = [decode_str(p) for p in braw]
            # The piece after the final NUL is not a string (or is unterminated).
            parts.pop()
            lengths.pop()
            starts = accumulate(lengths, initial=self.start_offset)
            self._by_offset = dict(zip(starts, parts, strict=False))
        return self._by_offset

    def get(self, offset: int) -> str:
        """The string at ``offset`` (combined space); it may start mid-string."""
        local = offset - self.start_offset
        if local < 0:
            assert self.base is not None
            return self.base.get(offset)
        index = self._by_offset
        found = index.get(offset) if index is not None else self._direct.get(offset)
        if found is not None:
            return found
        raw = self.raw
        end = raw.find(b"\0", local)
        if end < 0:
            if local >= len(raw):
                raise BTFError(
                    f"string offset {offset} past the string table "
                    f"(ends at {self.end_offset})"
                )
            raise BTFError(f"string at offset {offset} is not NUL-terminated")
        found = raw[local:end].decode(_ENCODING, _ERRORS)
        if index is None:
            self._direct[offset] = found
        return found

    def is_string_start(self, offset: int) -> bool:
        if offset < self.start_offset:
            return self.base is not None and self.base.is_string_start(offset)
        return offset in self._index()

    def mapping(self) -> dict[int, str]:
        """offset -> string for every string start, base tables included."""
        if self._combined is None:
            if self.base is None:
                self._combined = self._index()
            else:
                merged = dict(self.base.mapping())
                merged.update(self._index())
                self._combined = merged
        return self._combined

    def mapping_if_built(self) -> dict[int, str] | None:
        """:meth:`mapping` if it exists already, else None (it is not built)."""
        return self._combined

    def known(self) -> Callable[[int], str | None]:
        """A cheap offset -> string lookup answering None where it does not know
        yet (then :meth:`get` reads and memoises it): the full map if built, else
        the strings read one at a time so far."""
        if self._combined is not None:
            return self._combined.get
        return self._direct.get

    def memo(self) -> dict[int, str] | None:
        """The memo behind :meth:`known` and :meth:`get` while strings are read
        one at a time (no base table, no full map yet), for a hot loop to read
        a string inline and store it there as :meth:`get` would; else None."""
        if self.base is None and self._by_offset is None:
            return self._direct
        return None

    def offset_of(self, text: str) -> int | None:
        """Where ``text`` is stored: a whole string (base tables first), else a tail."""
        found = self._whole(text)
        if found is None:
            found = self._tail(text)
        return found

    def _whole(self, text: str) -> int | None:
        if self.base is not None:
            found = self.base._whole(text)
            if found is not None:
                return found
        if self._first_offset is None:
            # Reversed so that the first occurrence of a duplicate wins.
            self._first_offset = {s: o for o, s in reversed(self._index().items())}
        return self._first_offset.get(text)

    def _tail(self, text: str) -> int | None:
        # A name may point into the tail of a longer string; own table first,
        # as an encoder adding a name to split BTF would not look in the base.
        local = self.raw.find(encode_str(text) + b"\0")
        if local >= 0:
            return self.start_offset + local
        return self.base._tail(text) if self.base is not None else None
