""".BTF.ext: func_info, line_info and CO-RE relocation records, per ELF section.

Each block starts with its record size; records of newer compilers may be
larger than the fields known here, so the size is taken from the block and any
extra bytes are kept (``extra``) for a byte-exact re-encode.  ``insn_off`` is in
bytes, as stored.  Counts are checked against the bytes left before anything is
allocated.  The collection loader takes the records packed per section
(:func:`parse_ext_packed`): every check is made at open, the record objects
are built when a program's code is first looked at.
"""

from __future__ import annotations

import struct
import sys
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from loader.btf import records as r
from loader.btf.strings import StringTable
from loader.btf.types import _install_fast_init
from loader.errors import BTFError, ExtInfoError

_new_object = object.__new__

_MIN_FUNC_INFO = 8
_MIN_LINE_INFO = 16
_MIN_CORE_RELO = 16
_LINE_SHIFT = 10
_COL_MASK = (1 << _LINE_SHIFT) - 1
# Splitting a string table costs about one one-off lookup per this many bytes
# of table (measured on corpus objects of 1 to 10 KiB of strings).
_BYTES_PER_LOOKUP = 40
# The line records' string offsets are checked by byte-column passes from this
# many records (the passes have a fixed cost: below it, max over the words is
# cheaper, in time and in instructions; maps_btf has 38 records).
_COLUMNS_MIN_RECORDS = 64


@dataclass(frozen=True, slots=True)
class FuncInfo:
    insn_off: int
    type_id: int
    extra: bytes = b""


@dataclass(frozen=True, slots=True)
class LineInfo:
    insn_off: int
    file_name: str
    line_text: str
    line: int
    column: int
    extra: bytes = b""


@dataclass(frozen=True, slots=True)
class CoreRelo:
    insn_off: int
    type_id: int
    access_str: str
    kind: int  # BPF_CORE_*
    extra: bytes = b""


@dataclass(slots=True)
class ExtInfos:
    func_infos: dict[str, list[FuncInfo]] = field(default_factory=dict)
    line_infos: dict[str, list[LineInfo]] = field(default_factory=dict)
    core_relos: dict[str, list[CoreRelo]] = field(default_factory=dict)
    # Record sizes as stored; None when the block is absent (length 0).
    func_info_rec_size: int | None = _MIN_FUNC_INFO
    line_info_rec_size: int | None = _MIN_LINE_INFO
    core_relo_rec_size: int | None = _MIN_CORE_RELO
    hdr_len: int = r.BTF_EXT_HEADER_CORE_SIZE


# The frozen dataclasses' generated __init__ costs a setattr call per field; a
# .BTF.ext holds a record per source line, so use the slot-descriptor one.
for _cls in (FuncInfo, LineInfo, CoreRelo):
    _install_fast_init(_cls)


def _string(get: Callable[[int], str], off: int, what: str, pos: int) -> str:
    """A section name; the fault names the block and the header's offset."""
    try:
        return get(off)
    except BTFError as exc:
        raise ExtInfoError(f"{what} section name at offset {pos}: {exc}") from None


def _blocks(
    data: bytes, start: int, length: int, what: str, min_size: int, rec: r.Records,
    strings: StringTable,
) -> tuple[int | None, list[tuple[str, int, int]]]:
    """(record size, [(section name, records offset, count)]) of one info block.

    Every fault of a block's framing is raised here (the fast walkers below
    call this to report one).
    """
    if length == 0:
        return None, []
    if length < 4:
        raise ExtInfoError(f"{what} block at offset {start}: length {length} < 4")
    rec_size = rec.u32.unpack_from(data, start)[0]
    if rec_size < min_size or rec_size % 4:
        raise ExtInfoError(
            f"{what} record size at offset {start}: {rec_size} (need >= {min_size}, multiple of 4)"
        )
    pos, end = start + 4, start + length
    out: list[tuple[str, int, int]] = []
    # Section names repeat across the blocks: the table's memo answers most.
    known, get = strings.known(), strings.get
    unpack = rec.ext_info_sec.unpack_from
    append = out.append
    while pos < end:
        if end - pos < 8:
            raise ExtInfoError(f"{what} section header at offset {pos}: truncated")
        name_off, count = unpack(data, pos)
        name = known(name_off)
        if name is None:
            name = _string(get, name_off, what, pos)
        if count == 0:
            raise ExtInfoError(f"{what} section {name!r} at offset {pos}: zero records")
        pos += 8
        if count > (end - pos) // rec_size:
            raise ExtInfoError(
                f"{what} section {name!r} at offset {pos - 8}: {count} records of "
                f"{rec_size} bytes exceed the {end - pos} bytes left"
            )
        append((name, pos, count))
        pos += count * rec_size
    return rec_size, out


def _walk(data: bytes, start: int, length: int, shift: int, rec: r.Records,
          strings: StringTable, names: dict[int, str]) -> dict[str, bytes] | None:
    """A block of ``1 << shift``-byte records (its record size already read) as
    ``{section: records}``, each section's records kept packed and in order;
    None on any fault of its framing, which :func:`_blocks` then walks again to
    report (this never raises).  ``names`` remembers the section names read
    (the blocks repeat them): without a base table, a name is read from the
    table's bytes here as :meth:`StringTable.get` reads it, without the call."""
    pos, end = start + 4, start + length
    table = strings.raw if strings.base is None else None
    head = rec.ext_info_sec.unpack_from
    out: dict[str, bytes] = {}
    # The pieces of a section named more than once (compilers name each once),
    # joined at the end: adding each piece to the bytes so far would copy them
    # again every time (quadratic in the number of pieces).
    pieces: dict[str, list[bytes]] = {}
    while pos < end:
        if end - pos < 8:
            return None
        name_off, count = head(data, pos)
        name = names.get(name_off)
        if name is None:
            if table is not None:
                stop = table.find(b"\0", name_off)
                if stop < 0:
                    return None
                name = table[name_off:stop].decode("utf-8", "surrogateescape")
            else:
                try:
                    name = strings.get(name_off)
                except BTFError:
                    return None
            names[name_off] = name
        pos += 8
        if count == 0 or count > (end - pos) >> shift:
            return None
        stop = pos + (count << shift)
        prev = out.get(name)
        if prev is None:
            out[name] = data[pos:stop]
        else:
            more = pieces.get(name)
            if more is None:
                pieces[name] = [prev, data[pos:stop]]
            else:
                more.append(data[pos:stop])
        pos = stop
    for name, more in pieces.items():
        out[name] = b"".join(more)
    return out


@dataclass(slots=True)
class PackedExtInfos(ExtInfos):
    """:class:`ExtInfos` whose records all stay packed, per section, as stored
    (func_info 8 bytes, line_info and core_relo 16 bytes a record): what
    :func:`parse_ext_packed` returns for the usual layout.  Every record has
    been checked as :func:`parse_ext` checks it; the lists of the base class
    stay empty (:meth:`unpacked` builds them)."""

    func_records: dict[str, bytes] = field(default_factory=dict)
    line_records: dict[str, bytes] = field(default_factory=dict)
    core_records: dict[str, bytes] = field(default_factory=dict)
    # The table the records' strings are in.
    strings: StringTable | None = None

    @staticmethod
    def plain(func_info_rec_size: int | None, line_info_rec_size: int | None,
              core_relo_rec_size: int | None, hdr_len: int, func_records: dict[str, bytes],
              line_records: dict[str, bytes], core_records: dict[str, bytes],
              strings: StringTable) -> PackedExtInfos:
        """The same as the dataclass constructor with these fields (the base
        class's lists left empty), without its call: one is made on every load.
        Beside the class so that both set the same fields (a test compares them)."""
        self: PackedExtInfos = _new_object(PackedExtInfos)
        self.func_infos = {}
        self.line_infos = {}
        self.core_relos = {}
        self.func_info_rec_size = func_info_rec_size
        self.line_info_rec_size = line_info_rec_size
        self.core_relo_rec_size = core_relo_rec_size
        self.hdr_len = hdr_len
        self.func_records = func_records
        self.line_records = line_records
        self.core_records = core_records
        self.strings = strings
        return self

    def unpacked(self, byte_order: r.ByteOrder) -> ExtInfos:
        """The :class:`ExtInfos` that :func:`parse_ext` gives for the same bytes."""
        strings = self.strings
        assert strings is not None
        return ExtInfos(
            {name: decode_func_infos(b, byte_order) for name, b in self.func_records.items()},
            {name: decode_line_infos(b, byte_order, strings)
             for name, b in self.line_records.items()},
            {name: decode_core_relos(b, byte_order, strings)
             for name, b in self.core_records.items()},
            self.func_info_rec_size, self.line_info_rec_size, self.core_relo_rec_size,
            self.hdr_len,
        )


def _packed(data: bytes, rec: r.Records, strings: StringTable, hdr_len: int, fo: int,
            fl: int, lo: int, ll: int, co: int, cl: int) -> PackedExtInfos | None:
    """The usual .BTF.ext (records of the sizes compilers write, names and
    strings that read, in a table with no base) in one pass per block, every
    record left packed; None if anything is unusual or wrong: the careful path
    then reads it again and reports the first fault.  Raises nothing.

    The three blocks are walked in one loop here, not by a call each (a small
    object's .BTF.ext is a handful of sections: the calls were most of it); a
    block naming a section twice is handed to :func:`_walk`, which joins the
    pieces.
    """
    table = strings.raw
    # (A block's record size and its first section's header in one read.)
    first = _SIZE_AND_HEAD[rec.byte_order].unpack_from
    head = rec.ext_info_sec.unpack_from
    names: dict[int, str] = {}
    blocks: list[dict[str, bytes]] = []
    for start, length, size, shift in ((hdr_len + fo, fl, _MIN_FUNC_INFO, 3),
                                       (hdr_len + lo, ll, _MIN_LINE_INFO, 4),
                                       (hdr_len + co, cl, _MIN_CORE_RELO, 4)):
        out: dict[str, bytes] = {}
        blocks.append(out)
        if not length:
            continue
        if length < 12:
            # No whole section header: the usual such block is its record
            # size alone (no section); one of 5 to 11 bytes is cut.
            if length == 4 and rec.u32.unpack_from(data, start)[0] == size:
                continue
            return None
        # (Inside data, as the callers checked; the guard keeps a raw
        # struct.error out should that check ever change.)
        try:
            rec_size, name_off, count = first(data, start)
        except struct.error:
            return None
        if rec_size != size:
            return None
        pos, end = start + 4, start + length
        while True:
            name = names.get(name_off)
            if name is None:
                stop = table.find(b"\0", name_off)
                if stop < 0:
                    return None
                name = names[name_off] = table[name_off:stop].decode("utf-8", "surrogateescape")
            stop = pos + 8 + (count << shift)
            if not count or stop > end:
                return None  # (also a header past the end)
            if name in out:
                # Named twice (compilers name each section once): _walk joins the pieces.
                walked = _walk(data, start, length, shift, rec, strings, names)
                if walked is None:
                    return None
                blocks[-1] = walked
                break
            out[name] = data[pos + 8:stop]
            pos = stop
            if pos >= end:
                break
            # (A section header cut by the block's end fails the count check
            # above, or this read when the section's bytes end too.)
            try:
                name_off, count = head(data, pos)
            except struct.error:
                return None
    funcs, lines, cores = blocks
    if (lines or cores) and not _offsets_read(table, lines, cores, rec.byte_order):
        return None
    return PackedExtInfos.plain(
        _MIN_FUNC_INFO if fl else None, _MIN_LINE_INFO if ll else None,
        _MIN_CORE_RELO if cl else None, hdr_len, funcs, lines, cores, strings)



def parse_ext(data: bytes, byte_order: r.ByteOrder, strings: StringTable) -> ExtInfos:
    return _parse_ext(data, byte_order, strings, False)[0]


def parse_ext_packed(
    data: bytes, byte_order: r.ByteOrder, strings: StringTable
) -> tuple[ExtInfos, dict[str, bytes]]:
    """:func:`parse_ext` with records left packed: ``(infos, {section: line
    records})``.

    Everything is validated as by :func:`parse_ext` (the same errors in the same
    order); only the per-record objects and name lookups wait.  For the usual
    layout ``infos`` is a :class:`PackedExtInfos` (all records packed; the
    dict is its ``line_records``); else the line records alone are packed when
    they have the usual size (:func:`decode_line_infos` turns them into what
    ``infos.line_infos`` would hold), or decoded at once (and not in the dict).
    """
    if type(data) is bytes and strings.base is None and len(data) >= r.BTF_EXT_HEADER_CORE_SIZE:
        # The usual header (hdr_len 32, every block inside the section) in one
        # read; anything else is checked field by field in _parse_ext.
        rec = r.records_for(byte_order)
        magic, version, flags, hdr_len, fo, fl, lo, ll, co, cl = (
            _EXT_HEADER[rec.byte_order].unpack_from(data))
        avail = len(data) - hdr_len
        if (magic == r.BTF_MAGIC and version == r.BTF_VERSION and not flags
                and hdr_len == r.BTF_EXT_HEADER_CORE_SIZE
                and fo + fl <= avail and lo + ll <= avail and co + cl <= avail):
            infos = _packed(data, rec, strings, hdr_len, fo, fl, lo, ll, co, cl)
            if infos is not None:
                return infos, infos.line_records
    return _parse_ext(data, byte_order, strings, True)


# An info block's record size and its first btf_ext_info_sec (sec_name_off,
# num_info).
_SIZE_AND_HEAD = {bo: struct.Struct(bo + "III") for bo in ("<", ">")}
# The whole usual .BTF.ext header: preamble, ext_header_v1 and ext_header_core.
_EXT_HEADER = {bo: struct.Struct(bo + "HBBIIIIIII") for bo in ("<", ">")}


def decode_func_infos(records: bytes, byte_order: r.ByteOrder) -> list[FuncInfo]:
    """Packed func_info records (8 bytes each, as :func:`parse_ext_packed` keeps them)."""
    return [FuncInfo(insn, tid)
            for insn, tid in r.records_for(byte_order).bpf_func_info.iter_unpack(records)]


def decode_core_relos(records: bytes, byte_order: r.ByteOrder,
                      strings: StringTable) -> list[CoreRelo]:
    """Packed core_relo records (16 bytes each, access strings already checked)."""
    get = strings.get
    return [CoreRelo(insn, tid, get(acc_off), kind) for insn, tid, acc_off, kind
            in r.records_for(byte_order).bpf_core_relo.iter_unpack(records)]


def decode_line_infos(records: bytes, byte_order: r.ByteOrder,
                      strings: StringTable) -> list[LineInfo]:
    """Packed line_info records (already validated by :func:`parse_ext_packed`)."""
    rec = r.records_for(byte_order)
    if len(records) // _MIN_LINE_INFO > len(strings) // _BYTES_PER_LOOKUP:
        strings.mapping()  # see parse_ext: one split beats a lookup per line
    known = strings.known()
    names = strings.get
    out = []
    for insn, file_off, line_off, line_col in rec.bpf_line_info.iter_unpack(records):
        file_name = known(file_off)
        if file_name is None:
            file_name = names(file_off)
        line_text = known(line_off)
        if line_text is None:
            line_text = names(line_off)
        out.append(LineInfo(insn, file_name, line_text, line_col >> _LINE_SHIFT,
                            line_col & _COL_MASK))
    return out


# The byte order of this machine, for array-based column reads.
HOST_BYTE_ORDER = "<" if sys.byteorder == "little" else ">"


def _string_limit(strings: StringTable) -> int:
    """Offsets below this read a string (a NUL follows them); none at or
    above it does: one past the table's last NUL."""
    return strings.raw.rfind(b"\0") + 1


def _words(packed: bytes, byte_order: r.ByteOrder) -> array[int]:
    words = array("I", packed)
    if byte_order != HOST_BYTE_ORDER:
        words.byteswap()
    return words


def _access_ok(strings: StringTable, records: Iterable[bytes],
               byte_order: r.ByteOrder) -> bool:
    """Whether every access string offset of these packed (16-byte) core_relo
    records reads a string (see :func:`_strings_ok`)."""
    if strings.base is not None:
        return False
    packed = b"".join(records)
    if not packed:
        return True  # (a block of no section)
    return max(_words(packed, byte_order)[2::4]) < _string_limit(strings)


def _strings_ok(strings: StringTable, records: Iterable[bytes],
                byte_order: r.ByteOrder) -> bool:
    """Whether every file and line name offset of these packed (16-byte) line
    records reads a string: an offset reads one iff it is below the table's
    :func:`_string_limit`."""
    if strings.base is not None:
        return False
    # All sections' records at once: one check per column, not per section.
    packed = b"".join(records)
    if not packed:
        return True
    limit = _string_limit(strings)
    if limit <= 0xFFFF and len(packed) >= _COLUMNS_MIN_RECORDS * _MIN_LINE_INFO:
        return _columns_below(packed, limit, byte_order)
    words = _words(packed, byte_order)
    return max(words[1::4]) < limit and max(words[2::4]) < limit


def _offsets_read(table: bytes, lines: dict[str, bytes], cores: dict[str, bytes],
                  byte_order: r.ByteOrder) -> bool:
    """Whether every file and line name offset of these packed (16-byte) line
    records and every access string offset of these core_relo records reads a
    string of ``table`` (a table with no base): :func:`_strings_ok` and
    :func:`_access_ok` at once, the two blocks' records together."""
    # One past the last NUL (_string_limit): the table's length for any table
    # open_raw read, which ends in NUL.
    limit = len(table) if table and not table[-1] else table.rfind(b"\0") + 1
    if len(lines) == 1:
        # (One section's records, the usual: the bytes as they are, no join.)
        packed, = lines.values()
    else:
        packed = b"".join(lines.values())
    nlines = len(packed) >> 4  # (records)
    ncores = 0
    both = packed
    if cores:
        more = b"".join(cores.values())
        ncores = len(more) >> 4
        both = packed + more
    if nlines < _COLUMNS_MIN_RECORDS and ncores < _COLUMNS_MIN_RECORDS:
        # The few records of a small object: one unpack of just their string
        # offsets and one max (an array, a slice of each column and a max of
        # each cost several thousand instructions more).
        readers = _OFFSET_READERS[byte_order]
        key = nlines << 32 | ncores
        reader = readers.get(key)
        if reader is None:
            reader = readers[key] = struct.Struct(
                byte_order + _LINE_OFFSETS * nlines + _CORE_OFFSETS * ncores)
        top: int = max(reader.unpack(both))
        return top < limit
    if limit <= 0xFFFF and nlines >= _COLUMNS_MIN_RECORDS:
        if not _columns_below(packed, limit, byte_order):
            return False
        if not cores:
            return True
        both = more
        nlines = 0
    words = array("I", both)
    if byte_order != HOST_BYTE_ORDER:
        words.byteswap()
    return (not nlines or max(words[1:nlines << 2:4]) < limit) and max(words[2::4]) < limit


# Struct formats of a record's string offsets: a line record's words 1 and 2
# (file and line name), a core_relo record's word 2 (access string).
_LINE_OFFSETS = "4xII4x"
_CORE_OFFSETS = "8xI4x"
# Byte order -> line records << 32 | core_relo records -> the Struct of their
# string offsets (each count below _COLUMNS_MIN_RECORDS: at most 64 * 64 of
# them a byte order; an object has one pair).
_OFFSET_READERS: dict[str, dict[int, struct.Struct]] = {"<": {}, ">": {}}


def _columns_below(packed: bytes, limit: int, byte_order: r.ByteOrder) -> bool:
    """Whether words 1 and 2 of every 16-byte record are below ``limit`` (< 2**16),
    in C-level passes over byte columns (``max`` over the words makes an int per
    record and costs several times more).

    A word is below the limit iff its two high bytes are 0 and its byte 1 is
    below ``limit >> 8``, or equal to it with byte 0 below ``limit & 0xFF``.
    """
    # Offsets of a record's word 1 bytes 0..3; word 2's are 4 further.
    b0, b1, b2, b3 = (4, 5, 6, 7) if byte_order == "<" else (7, 6, 5, 4)
    high = packed[b2::16] + packed[b3::16] + packed[b2 + 4::16] + packed[b3 + 4::16]
    if high.count(0) != len(high):
        return False
    hi, lo = limit >> 8, limit & 0xFF
    # byte 1: 0 below hi, 1 equal (byte 0 decides), 2 above (too big).
    mid = (packed[b1::16] + packed[b1 + 4::16]).translate(
        bytes(hi) + b"\1" + b"\2" * (255 - hi))
    if b"\2" in mid:
        return False
    if b"\1" not in mid:
        return True
    # byte 0: 1 where it is too big; a word fails where both columns say 1.
    low = (packed[b0::16] + packed[b0 + 4::16]).translate(bytes(lo) + b"\1" * (256 - lo))
    return not int.from_bytes(mid, "little") & int.from_bytes(low, "little")


def _parse_ext(
    data: bytes, byte_order: r.ByteOrder, strings: StringTable, pack: bool
) -> tuple[ExtInfos, dict[str, bytes]]:
    data = bytes(data)
    rec = r.records_for(byte_order)
    if len(data) < r.BTF_EXT_HEADER_V1_SIZE:
        raise ExtInfoError(
            f"truncated .BTF.ext header: {len(data)} bytes, need {r.BTF_EXT_HEADER_V1_SIZE}"
        )
    magic, version, flags, hdr_len = rec.preamble.unpack_from(data, 0)
    if magic != r.BTF_MAGIC:
        raise ExtInfoError(f"bad .BTF.ext magic at offset 0: 0x{magic:04x}")
    if version != r.BTF_VERSION:
        raise ExtInfoError(f"bad .BTF.ext version at offset 2: {version}")
    if flags:
        raise ExtInfoError(f"bad .BTF.ext flags at offset 3: 0x{flags:x}")
    if hdr_len < r.BTF_EXT_HEADER_V1_SIZE or hdr_len > len(data):
        raise ExtInfoError(f".BTF.ext hdr_len {hdr_len} invalid for a {len(data)}-byte section")
    fo, fl, lo, ll = rec.ext_header_v1.unpack_from(data, 8)
    co = cl = 0
    if hdr_len >= r.BTF_EXT_HEADER_CORE_SIZE:
        co, cl = rec.ext_header_core.unpack_from(data, r.BTF_EXT_HEADER_V1_SIZE)
    avail = len(data) - hdr_len
    if fo + fl > avail or lo + ll > avail or co + cl > avail:
        for what, off, length in (("func_info", fo, fl), ("line_info", lo, ll),
                                  ("core_relo", co, cl)):
            if off + length > avail:
                raise ExtInfoError(
                    f".BTF.ext {what} (offset {off}, length {length}) past the end: "
                    f"{avail} bytes follow the header"
                )
    if pack and strings.base is None:
        packed_infos = _packed(data, rec, strings, hdr_len, fo, fl, lo, ll, co, cl)
        if packed_infos is not None:
            return packed_infos, packed_infos.line_records
    infos = ExtInfos(hdr_len=hdr_len)
    # Records of the size every compiler writes are walked once per block with
    # each section's records kept packed, then decoded section by section (one
    # C loop each); any fault, or another size, goes through _blocks, which
    # reports the fault or reads the records one by one.  Names are looked up
    # one by one (memoised by the table): splitting the whole table costs more
    # than the few distinct file names and source lines need.
    names = strings.get
    known = strings.known()
    start = hdr_len + fo
    sections: dict[int, str] = {}
    recs = _walk(data, start, fl, 3, rec, strings, sections) if (
        fl >= 4 and rec.u32.unpack_from(data, start)[0] == _MIN_FUNC_INFO) else None
    if recs is not None:
        infos.func_info_rec_size = _MIN_FUNC_INFO
        infos.func_infos = {name: decode_func_infos(b, byte_order) for name, b in recs.items()}
    else:
        size, secs = _blocks(data, start, fl, "func_info", _MIN_FUNC_INFO, rec, strings)
        infos.func_info_rec_size = size
        fmt = rec.bpf_func_info
        for name, pos, count in secs:
            assert size is not None
            lst = infos.func_infos.setdefault(name, [])
            for p in range(pos, pos + count * size, size):
                insn, tid = fmt.unpack_from(data, p)
                lst.append(FuncInfo(insn, tid, data[p + 8:p + size]))
    start = hdr_len + lo
    packed: dict[str, bytes] = {}
    lines = _walk(data, start, ll, 4, rec, strings, sections) if (
        pack and strings.base is None and ll >= 4
        and rec.u32.unpack_from(data, start)[0] == _MIN_LINE_INFO) else None
    if lines is not None and _strings_ok(strings, lines.values(), byte_order):
        size, secs = _MIN_LINE_INFO, []
        packed = lines
    else:
        # (A line record's string fault is raised below, in record order.)
        size, secs = _blocks(data, start, ll, "line_info", _MIN_LINE_INFO, rec, strings)
    infos.line_info_rec_size = size
    if secs and sum(count for _, _, count in secs) > len(strings) // _BYTES_PER_LOOKUP:
        # Source lines are mostly distinct strings: with enough records for the
        # table's size, one split of the whole table is cheaper than a lookup each.
        strings.mapping()
        known = strings.known()
    lfmt = rec.bpf_line_info
    for name, pos, count in secs:
        assert size is not None
        llst = infos.line_infos.setdefault(name, [])
        raw = (lfmt.iter_unpack(data[pos:pos + count * size]) if size == _MIN_LINE_INFO
               else (lfmt.unpack_from(data, p) for p in range(pos, pos + count * size, size)))
        p = pos
        no_extra = size == _MIN_LINE_INFO
        for insn, file_off, line_off, line_col in raw:
            # A method call per name costs more than the rest of the record: ask the
            # table's memo directly and fall back to names() for first sightings.
            file_name = known(file_off)
            line_text = known(line_off)
            if file_name is None or line_text is None:
                try:
                    if file_name is None:
                        file_name = names(file_off)
                    if line_text is None:
                        line_text = names(line_off)
                except BTFError as exc:
                    raise ExtInfoError(f"line_info record at offset {p}: {exc}") from None
            llst.append(LineInfo(
                insn, file_name, line_text, line_col >> _LINE_SHIFT, line_col & _COL_MASK,
                b"" if no_extra else data[p + 16:p + size],
            ))
            p += size
    start = hdr_len + co
    if cl >= 4 and rec.u32.unpack_from(data, start)[0] == _MIN_CORE_RELO:
        cores = _walk(data, start, cl, 4, rec, strings, sections)
        if cores is not None and _access_ok(strings, cores.values(), byte_order):
            infos.core_relos = {name: decode_core_relos(b, byte_order, strings)
                                for name, b in cores.items()}
            return infos, packed
    size, secs = _blocks(data, start, cl, "core_relo", _MIN_CORE_RELO, rec, strings)
    infos.core_relo_rec_size = size
    cfmt = rec.bpf_core_relo
    for name, pos, count in secs:
        assert size is not None
        clst = infos.core_relos.setdefault(name, [])
        for p in range(pos, pos + count * size, size):
            insn, tid, acc_off, kind = cfmt.unpack_from(data, p)
            try:
                acc = names(acc_off)
            except BTFError as exc:
                raise ExtInfoError(f"core_relo record at offset {p}: {exc}") from None
            clst.append(CoreRelo(insn, tid, acc, kind, data[p + 16:p + size]))
    return infos, packed


def _offset(strings: StringTable, text: str, what: str) -> int:
    off = strings.offset_of(text)
    if off is None:
        raise ExtInfoError(f"{what}: string {text!r} not in the BTF string table")
    return off


def encode_ext(infos: ExtInfos, byte_order: r.ByteOrder, strings: StringTable) -> bytes:
    """ExtInfos -> .BTF.ext bytes; every string must already be in ``strings``."""
    rec = r.records_for(byte_order)

    def block(rec_size: int | None, groups: dict[str, list[bytes]], what: str) -> bytes:
        if rec_size is None:
            if any(groups.values()):
                raise ExtInfoError(f"{what}: records present but no record size")
            return b""
        out = bytearray(rec.u32.pack(rec_size))
        for name, recs in groups.items():
            out += rec.ext_info_sec.pack(_offset(strings, name, what), len(recs))
            for raw in recs:
                out += raw + bytes(rec_size - len(raw))
        return bytes(out)

    def fit(raw: bytes, rec_size: int | None, what: str) -> bytes:
        if rec_size is not None and len(raw) > rec_size:
            raise ExtInfoError(f"{what}: record of {len(raw)} bytes exceeds size {rec_size}")
        return raw

    try:
        return _encode_ext(infos, rec, block, fit, strings)
    except struct.error as exc:
        raise ExtInfoError(f"a .BTF.ext field does not fit its slot: {exc}") from None


def _encode_ext(
    infos: ExtInfos, rec: r.Records, block: Callable[[int | None, dict[str, list[bytes]], str],
                                                       bytes],
    fit: Callable[[bytes, int | None, str], bytes], strings: StringTable,
) -> bytes:
    fsz, lsz, csz = infos.func_info_rec_size, infos.line_info_rec_size, infos.core_relo_rec_size
    func = block(fsz, {
        sec: [fit(rec.bpf_func_info.pack(f.insn_off, f.type_id) + f.extra, fsz, "func_info")
              for f in lst]
        for sec, lst in infos.func_infos.items()}, "func_info")
    line = block(lsz, {
        sec: [fit(rec.bpf_line_info.pack(
            li.insn_off, _offset(strings, li.file_name, "line_info"),
            _offset(strings, li.line_text, "line_info"),
            (li.line << _LINE_SHIFT) | (li.column & _COL_MASK)) + li.extra, lsz, "line_info")
            for li in lst]
        for sec, lst in infos.line_infos.items()}, "line_info")
    core = block(csz, {
        sec: [fit(rec.bpf_core_relo.pack(c.insn_off, c.type_id,
                                         _offset(strings, c.access_str, "core_relo"), c.kind)
                  + c.extra, csz, "core_relo")
              for c in lst]
        for sec, lst in infos.core_relos.items()}, "core_relo")
    hdr_len = infos.hdr_len
    if core and hdr_len < r.BTF_EXT_HEADER_CORE_SIZE:
        raise ExtInfoError(f"core_relo records need hdr_len >= 32, have {hdr_len}")
    head = bytearray(rec.preamble.pack(r.BTF_MAGIC, r.BTF_VERSION, 0, hdr_len))
    head += rec.ext_header_v1.pack(0, len(func), len(func), len(line))
    if hdr_len >= r.BTF_EXT_HEADER_CORE_SIZE:
        head += rec.ext_header_core.pack(len(func) + len(line), len(core))
    head += bytes(hdr_len - len(head))
    return bytes(head) + func + line + core
