""".BTF.ext: func_info, line_info and CO-RE relocation records, per ELF section.

Each block starts with its record size; records of newer compilers may be
larger than the fields known here, so the size is taken from the block and any
extra bytes are kept (``extra``) for a byte-exact re-encode.  ``insn_off`` is in
bytes, as stored.  Counts are checked against the bytes left before anything is
allocated.
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

_MIN_FUNC_INFO = 8
_MIN_LINE_INFO = 16
_MIN_CORE_RELO = 16
_LINE_SHIFT = 10
_COL_MASK = (1 << _LINE_SHIFT) - 1
# Splitting a string table costs about one one-off lookup per this many bytes
# of table (measured on corpus objects of 1 to 10 KiB of strings).
_BYTES_PER_LOOKUP = 40


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


def _func_block(data: bytes, start: int, length: int, rec: r.Records, strings: StringTable,
                out: dict[str, list[FuncInfo]]) -> None:
    """:func:`_blocks` of a func_info block of 8-byte records (what compilers emit),
    building each section's FuncInfos on the way (a record cannot fail).  On any
    fault, :func:`_blocks` walks the block again and reports it."""
    pos, end = start + 4, start + length
    known, get = strings.known(), strings.get
    if length >= 4 + 16 * 6 and not (length - 4) % 16:
        # With one record per section (one program each), the block is a table of
        # (name_off, 1, insn_off, type_id) rows: read as columns.  The setup costs
        # about what the walk spends on a few sections.
        table = array("I", data[pos:end])
        if rec.byte_order != HOST_BYTE_ORDER:
            table.byteswap()
        if table[1::4].count(1) == len(table) >> 2:
            for name_off, insn, tid in zip(table[0::4], table[2::4], table[3::4],
                                           strict=True):
                name = known(name_off)
                if name is None:
                    try:
                        name = get(name_off)
                    except BTFError:
                        break
                lst = out.get(name)
                if lst is None:
                    out[name] = [FuncInfo(insn, tid)]
                else:
                    lst.append(FuncInfo(insn, tid))
            else:
                return
            _blocks(data, start, length, "func_info", _MIN_FUNC_INFO, rec, strings)
            raise AssertionError("func_info: a fault the careful walk did not see")
    head = rec.ext_info_sec.unpack_from
    one = rec.bpf_func_info.unpack_from
    many = rec.bpf_func_info.iter_unpack
    while pos < end:
        if end - pos < 8:
            break
        name_off, count = head(data, pos)
        name = known(name_off)
        if name is None:
            try:
                name = get(name_off)
            except BTFError:
                break
        pos += 8
        if count == 0 or count > (end - pos) >> 3:
            break
        if count == 1:
            # Mostly one record per section (a program): no slice, no iterator.
            insn, tid = one(data, pos)
            lst = out.get(name)
            if lst is None:
                out[name] = [FuncInfo(insn, tid)]
            else:
                lst.append(FuncInfo(insn, tid))
            pos += 8
            continue
        stop = pos + (count << 3)
        out.setdefault(name, []).extend([FuncInfo(insn, tid)
                                         for insn, tid in many(data[pos:stop])])
        pos = stop
    else:
        return
    _blocks(data, start, length, "func_info", _MIN_FUNC_INFO, rec, strings)
    raise AssertionError("func_info: a fault the careful walk did not see")


def _line_block_packed(data: bytes, start: int, length: int, rec: r.Records,
                       strings: StringTable) -> dict[str, bytes]:
    """:func:`_blocks` of a line_info block of 16-byte records, keeping each
    section's records packed on the way: ``{section: records}``.  On any fault,
    :func:`_blocks` walks the block again and reports it."""
    pos, end = start + 4, start + length
    known, get = strings.known(), strings.get
    head = rec.ext_info_sec.unpack_from
    packed: dict[str, bytes] = {}
    while pos < end:
        if end - pos < 8:
            break
        name_off, count = head(data, pos)
        name = known(name_off)
        if name is None:
            try:
                name = get(name_off)
            except BTFError:
                break
        pos += 8
        if count == 0 or count > (end - pos) >> 4:
            break
        stop = pos + (count << 4)
        prev = packed.get(name)
        packed[name] = data[pos:stop] if prev is None else prev + data[pos:stop]
        pos = stop
    else:
        return packed
    _blocks(data, start, length, "line_info", _MIN_LINE_INFO, rec, strings)
    raise AssertionError("line_info: a fault the careful walk did not see")


def parse_ext(data: bytes, byte_order: r.ByteOrder, strings: StringTable) -> ExtInfos:
    return _parse_ext(data, byte_order, strings, False)[0]


def parse_ext_packed(
    data: bytes, byte_order: r.ByteOrder, strings: StringTable
) -> tuple[ExtInfos, dict[str, bytes]]:
    """:func:`parse_ext` with line_info records left packed: ``(infos, {section:
    records})`` where the records of a section are the raw bytes that
    :func:`decode_line_infos` turns into ``infos.line_infos[section]``.

    Everything is validated as by :func:`parse_ext` (the same errors in the same
    order); only the per-record objects and name lookups wait.  Line records
    of an unusual size are decoded at once (and not in the dict).
    """
    return _parse_ext(data, byte_order, strings, True)


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


def _core_block(data: bytes, start: int, length: int, rec: r.Records,
                strings: StringTable) -> dict[str, list[CoreRelo]] | None:
    """A core_relo block of 16-byte records in one pass, or None if anything is
    wrong with it: then the careful path reads it again and reports the fault
    (framing faults come before record faults, so none can be raised here)."""
    pos, end = start + 4, start + length
    known, get = strings.known(), strings.get
    head = rec.ext_info_sec.unpack_from
    many = rec.bpf_core_relo.iter_unpack
    out: dict[str, list[CoreRelo]] = {}
    while pos < end:
        if end - pos < 8:
            return None
        name_off, count = head(data, pos)
        name = known(name_off)
        if name is None:
            try:
                name = get(name_off)
            except BTFError:
                return None
        pos += 8
        if count == 0 or count > (end - pos) >> 4:
            return None
        lst = out.get(name)
        if lst is None:
            lst = out[name] = []
        stop = pos + (count << 4)
        for insn, tid, acc_off, kind in many(data[pos:stop]):
            acc = known(acc_off)
            if acc is None:
                try:
                    acc = get(acc_off)
                except BTFError:
                    return None
            lst.append(CoreRelo(insn, tid, acc, kind))
        pos = stop
    return out


def _strings_ok(strings: StringTable, records: Iterable[bytes],
                byte_order: r.ByteOrder) -> bool:
    """Whether every file and line name offset of these packed (16-byte) line
    records reads a string: an offset reads one iff it is below ``limit``, one
    past the table's last NUL."""
    if strings.base is not None:
        return False
    # All sections' records at once: one check per column, not per section.
    packed = b"".join(records)
    if not packed:
        return True
    limit = strings.raw.rfind(b"\0") + 1
    # The column passes have a fixed cost: below ~32 records max is cheaper.
    if limit <= 0xFFFF and len(packed) >= 32 * _MIN_LINE_INFO:
        return _columns_below(packed, limit, byte_order)
    words = array("I", packed)
    if byte_order != HOST_BYTE_ORDER:
        words.byteswap()
    return max(words[1::4]) < limit and max(words[2::4]) < limit


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
    data: bytes, byte_order: r.ByteOrder, strings: StringTable, pack_lines: bool
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
    infos = ExtInfos(hdr_len=hdr_len)
    # Records are read with iter_unpack over each section's slice (one C loop) when
    # they have the known size, which is what every compiler emits.  Names are
    # looked up one by one (memoised by the table): splitting the whole table
    # costs more than the few distinct file names and source lines need.
    names = strings.get
    known = strings.known()
    func_infos = infos.func_infos
    start = hdr_len + fo
    fmt = rec.bpf_func_info
    if fl >= 4 and rec.u32.unpack_from(data, start)[0] == _MIN_FUNC_INFO:
        infos.func_info_rec_size = _MIN_FUNC_INFO
        _func_block(data, start, fl, rec, strings, func_infos)
    else:
        size, secs = _blocks(data, start, fl, "func_info", _MIN_FUNC_INFO, rec, strings)
        infos.func_info_rec_size = size
        for name, pos, count in secs:
            assert size is not None
            lst = func_infos.setdefault(name, [])
            for p in range(pos, pos + count * size, size):
                insn, tid = fmt.unpack_from(data, p)
                lst.append(FuncInfo(insn, tid, data[p + 8:p + size]))
    start = hdr_len + lo
    packed: dict[str, bytes] = {}
    if (pack_lines and strings.base is None and ll >= 4
            and rec.u32.unpack_from(data, start)[0] == _MIN_LINE_INFO):
        size, secs = _MIN_LINE_INFO, []
        packed = _line_block_packed(data, start, ll, rec, strings)
        if not _strings_ok(strings, packed.values(), byte_order):
            # Decoded below instead, each record's fault in record order.
            packed = {}
            size, secs = _blocks(data, start, ll, "line_info", _MIN_LINE_INFO, rec, strings)
    else:
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
        relos = _core_block(data, start, cl, rec, strings)
        if relos is not None:
            infos.core_relos = relos
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
