"""A lean, safe ELF64 container for eBPF objects.

Only what an eBPF loader needs is read: the file header, the section headers,
string tables, the symbol table and, on request, the SHT_REL section that
targets one section.  Debug sections and their relocations are never decoded.
Every offset, size and count is checked against the file before it is used, so
any input either parses or raises :class:`~loader.errors.ELFError` naming the
offset or index and the bad value.

pyelftools is this layer's oracle (conformance/test_elf_oracle.py); it is not
used here because it builds an object per record and costs milliseconds per
object, which would cap the fuzzers.
"""

from __future__ import annotations

import struct
import sys
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from operator import add, itemgetter
from typing import Final, Literal, NamedTuple, TypeAlias

from loader.errors import ELFError

ByteOrder = Literal["<", ">"]

# e_ident
ELFMAG: Final = b"\x7fELF"
EI_CLASS: Final = 4
EI_DATA: Final = 5
ELFCLASS64: Final = 2
ELFDATA2LSB: Final = 1
ELFDATA2MSB: Final = 2

# e_type
ET_NONE: Final = 0
ET_REL: Final = 1
ET_EXEC: Final = 2
ET_DYN: Final = 3

# e_machine: LLVM before 3.9 wrote EM_NONE into BPF objects.
EM_NONE: Final = 0
EM_BPF: Final = 247

# sh_type
SHT_NULL: Final = 0
SHT_PROGBITS: Final = 1
SHT_SYMTAB: Final = 2
SHT_STRTAB: Final = 3
SHT_RELA: Final = 4
SHT_HASH: Final = 5
SHT_DYNAMIC: Final = 6
SHT_NOTE: Final = 7
SHT_NOBITS: Final = 8
SHT_REL: Final = 9
SHT_SHLIB: Final = 10
SHT_DYNSYM: Final = 11
SHT_INIT_ARRAY: Final = 14
SHT_FINI_ARRAY: Final = 15
SHT_PREINIT_ARRAY: Final = 16
SHT_GROUP: Final = 17
SHT_SYMTAB_SHNDX: Final = 18
SHT_LLVM_ADDRSIG: Final = 0x6FFF4C03

# sh_flags
SHF_WRITE: Final = 0x1
SHF_ALLOC: Final = 0x2
SHF_EXECINSTR: Final = 0x4
SHF_MERGE: Final = 0x10
SHF_STRINGS: Final = 0x20
SHF_INFO_LINK: Final = 0x40
SHF_LINK_ORDER: Final = 0x80
SHF_GROUP: Final = 0x200
SHF_TLS: Final = 0x400
SHF_COMPRESSED: Final = 0x800
SHF_EXCLUDE: Final = 0x80000000

# Special section indices.
SHN_UNDEF: Final = 0
SHN_LORESERVE: Final = 0xFF00
SHN_ABS: Final = 0xFFF1
SHN_COMMON: Final = 0xFFF2
SHN_XINDEX: Final = 0xFFFF

# st_info
STB_LOCAL: Final = 0
STB_GLOBAL: Final = 1
STB_WEAK: Final = 2
STT_NOTYPE: Final = 0
STT_OBJECT: Final = 1
STT_FUNC: Final = 2
STT_SECTION: Final = 3
STT_FILE: Final = 4
STT_COMMON: Final = 5
STT_TLS: Final = 6

# st_other
STV_DEFAULT: Final = 0
STV_INTERNAL: Final = 1
STV_HIDDEN: Final = 2
STV_PROTECTED: Final = 3

EHDR_SIZE: Final = 64
SHDR_SIZE: Final = 64
SYM_SIZE: Final = 24
REL_SIZE: Final = 16
SHNDX_SIZE: Final = 4


class _Layouts(NamedTuple):
    """The ELF64 records this module reads, for one byte order."""

    # e_ident is consumed separately; this covers e_type .. e_shstrndx.
    ehdr: struct.Struct
    shdr: struct.Struct
    sym: struct.Struct
    rel: struct.Struct
    shndx: struct.Struct


def _layouts(order: ByteOrder) -> _Layouts:
    return _Layouts(
        # e_type e_machine e_version e_entry e_phoff e_shoff e_flags
        # e_ehsize e_phentsize e_phnum e_shentsize e_shnum e_shstrndx
        ehdr=struct.Struct(order + "HHIQQQIHHHHHH"),
        # sh_name sh_type sh_flags sh_addr sh_offset sh_size sh_link sh_info
        # sh_addralign sh_entsize
        shdr=struct.Struct(order + "IIQQQQIIQQ"),
        # st_name st_info st_other st_shndx st_value st_size
        sym=struct.Struct(order + "IBBHQQ"),
        # r_offset r_info
        rel=struct.Struct(order + "QQ"),
        shndx=struct.Struct(order + "I"),
    )


LAYOUTS: Final[dict[ByteOrder, _Layouts]] = {"<": _layouts("<"), ">": _layouts(">")}
# What ELFFile reads of the file header: e_type e_machine e_shoff e_shentsize
# e_shnum e_shstrndx (the rest skipped as padding, so not unpacked at all).
_EHDR_READ: Final = {order: struct.Struct(order + "HH20xQ10xHHH") for order in ("<", ">")}
# e_ident up to EI_DATA: ELF magic, ELFCLASS64, then the byte order.
_IDENT_LSB: Final = ELFMAG + bytes([ELFCLASS64, ELFDATA2LSB])
_IDENT_MSB: Final = ELFMAG + bytes([ELFCLASS64, ELFDATA2MSB])


@dataclass(slots=True, eq=False)
class Section:
    """One section header, with access to its bytes."""

    index: int
    name: str
    type: int
    flags: int
    addr: int
    offset: int
    size: int
    link: int
    info: int
    addralign: int
    entsize: int
    _file: bytes = field(repr=False)

    def data(self) -> memoryview:
        """The section's contents; empty for SHT_NOBITS (only ``size`` says how big)."""
        if self.type == SHT_NOBITS or self.type == SHT_NULL:
            return memoryview(b"")
        # Bounds were checked when the section table was read.
        return memoryview(self._file)[self.offset : self.offset + self.size]

    @property
    def is_executable(self) -> bool:
        return self.type == SHT_PROGBITS and bool(self.flags & SHF_EXECINSTR)


_new_object = object.__new__


def _section_of(index: int, name: str, header: tuple[int, ...], data: bytes) -> Section:
    """``Section(index, name, *header[1:], data)`` for a raw Elf64_Shdr
    ``header``, without calling the class: a class call runs the dataclass
    __init__ in a frame of its own (3.11 inlines only plain function calls),
    ~1K instructions more than storing the fields here."""
    sec: Section = _new_object(Section)
    (_, sec.type, sec.flags, sec.addr, sec.offset, sec.size, sec.link, sec.info,
     sec.addralign, sec.entsize) = header
    sec.index = index
    sec.name = name
    sec._file = data
    return sec


class Symbol(NamedTuple):
    """One Elf64_Sym; ``shndx`` is resolved through SHT_SYMTAB_SHNDX when extended."""

    index: int  # type: ignore[assignment]  # shadows tuple.index on purpose: ELF's name
    name: str
    value: int
    size: int
    bind: int
    type: int
    visibility: int
    shndx: int


# A symbol as a plain tuple, fields in Symbol's order (index, name, value, size,
# bind, type, visibility, shndx): what the loader reads internally, by
# position, because building a Symbol (tuple.__new__ of a subclass) costs
# several times a tuple made by zip.
SymbolRow: TypeAlias = tuple[int, str, int, int, int, int, int, int]


_HOST_ORDER = "<" if sys.byteorder == "little" else ">"
# relocation_targets reads Elf64_Rel as pairs of u64 array items.
assert array("Q").itemsize == 8


class Relocation(NamedTuple):
    """One Elf64_Rel: ``r_info`` split into symbol index and type."""

    offset: int
    symbol_index: int
    type: int


# st_info / st_other -> bind, type and visibility for a whole column at once
# (bytes.translate), instead of shifts and masks per symbol.
_ST_BIND: Final = bytes(i >> 4 for i in range(256))
_ST_TYPE: Final = bytes(i & 0xF for i in range(256))
_ST_VISIBILITY: Final = bytes(i & 0x3 for i in range(256))
# sh_flags' lowest byte -> 1 if SHF_EXECINSTR is set, else 0 (section_executable).
_EXECINSTR_BYTE: Final = bytes(1 if i & SHF_EXECINSTR else 0 for i in range(256))
# The reserved st_shndx values a symbol may hold as they are.
_SPECIAL_SHNDX: Final = frozenset((SHN_ABS, SHN_COMMON))
# tuple.__new__(Symbol, fields): what Symbol._make does, minus a Python call per symbol.
_new_tuple = tuple.__new__
_SYMBOL_NAME: Final = itemgetter(1)
# One Elf64_Sym as _read_symbols unpacks it: st_name, (st_info and st_other
# skipped), st_shndx, st_value, st_size.
_SYM_COLUMNS: Final = "I2xHQQ"


# True: the section table and the symbols are read by the careful paths only
# (the per-section walks, the per-record symbol reader), which the fast paths
# hand over to on anything unusual; the tests compare the two ways.
_CAREFUL = False


# A table as items of one size, for slicing fields out as columns.
Words: TypeAlias = "memoryview[int] | array[int]"


def _words(
    data: bytes, start: int, end: int, code: Literal["H", "I", "Q"], order: ByteOrder
) -> Words:
    """``data[start:end]`` as ``code`` items in the file's byte order, so a
    table's fields can be sliced out as columns (every ELF64 field is naturally
    aligned inside its record, and records are multiples of 8 bytes): a view
    when the file is in host order (nothing copied), else a byte-swapped array.
    ``end - start`` must be a multiple of the item size."""
    if order == _HOST_ORDER:
        return memoryview(data)[start:end].cast(code)
    out = array(code, data[start:end])
    out.byteswap()
    return out


def _cstring(data: bytes, table: Section, offset: int, kind: str, index: int) -> str:
    """Read a NUL-terminated name at ``offset`` inside string table ``table``.

    ``kind`` and ``index`` say whose name it is; the message is only built on error
    because this runs once per section and per symbol.
    """
    if offset >= table.size:
        what = f"{kind} {index} name"
        raise ELFError(
            f"{what}: name offset {offset} outside string table {table.index} (size {table.size})"
        )
    start = table.offset + offset
    end = data.find(b"\0", start, table.offset + table.size)
    if end < 0:
        what = f"{kind} {index} name"
        raise ELFError(
            f"{what}: name at string table {table.index} offset {offset} is not NUL-terminated"
        )
    raw = data[start:end]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        what = f"{kind} {index} name"
        raise ELFError(
            f"{what}: name at string table {table.index} offset {offset} is not UTF-8: {raw!r}"
        ) from exc


def _name_map(data: bytes, offset: int, size: int) -> dict[int, str]:
    """Offset -> name for every string start of an all-ASCII string table.

    One split of the table is much cheaper than a find and a decode per section
    and per symbol.  Names that start mid-string (LLVM shares tails: ``.maps``
    inside ``.rel.maps``) are not keys (the ELFFile adds the REL sections'
    tails); callers fall back to :func:`_cstring`, which also produces every
    error, so behaviour is the same.
    """
    raw = data[offset : offset + size]
    if not raw.isascii():
        return {}
    parts = raw.decode("ascii").split("\0")
    parts.pop()  # after the last NUL: not a terminated string
    out: dict[int, str] = {}
    pos = 0
    for part in parts:
        out[pos] = part
        pos += len(part) + 1
    return out


def _names_at(names: dict[int, str], offsets: Sequence[int]) -> list[str | None] | None:
    """``[names[o] for o in offsets]`` in one C call; None when ``names`` lacks
    one (the tail of another string, or a fault) for the caller to look for.

    (A function of its own because an exception in a long one costs tens of
    thousands of instructions: 3.11 finds the traceback's line number by
    walking the code's line table from its start.)
    """
    try:
        if len(offsets) > 1:
            return list(itemgetter(*offsets)(names))
        return [names[offsets[0]]] if offsets else []
    except KeyError:
        return None


class ELFFile:
    """An ELF64 eBPF object, parsed eagerly up to the section table.

    The whole section table is checked up front, but a :class:`Section` object is
    only built when asked for (:meth:`section`, :attr:`sections`): a loader uses a
    handful of an object's 30-odd sections, mostly not the debug ones.  Symbols
    are read on first access of :attr:`symbols`; relocations are read per target
    section by :meth:`relocations`.
    """

    __slots__ = (
        "_data",
        "_flags",
        "_layouts",
        "_names",
        "_offsets",
        "_quads",
        "_rel_for",
        "_rows",
        "_section_names",
        "_sections",
        "_shoff",
        "_sizes",
        "_symbol_names",
        "_symbol_rows",
        "_symbols",
        "_symtab_index",
        "_types",
        "_words",
        "byte_order",
        "machine",
        "shstrndx",
        "type",
    )

    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        if not isinstance(data, bytes):
            data = bytes(data)
        self._data: bytes = data
        size = len(data)
        order: ByteOrder
        # The usual ident (ELF64, either byte order) in one test; anything else
        # is looked at field by field, for the message.
        ident = data[:6]
        if ident == _IDENT_LSB and size >= EHDR_SIZE:
            order = "<"
        elif ident == _IDENT_MSB and size >= EHDR_SIZE:
            order = ">"
        else:
            if size < EHDR_SIZE:
                raise ELFError(
                    f"file of {size} bytes is shorter than the ELF64 header ({EHDR_SIZE})"
                )
            if data[:4] != ELFMAG:
                raise ELFError(f"offset 0: bad ELF magic {data[:4]!r}")
            if data[EI_CLASS] != ELFCLASS64:
                raise ELFError(
                    f"offset {EI_CLASS}: ELF class {data[EI_CLASS]} is not ELFCLASS64 (2)"
                )
            raise ELFError(
                f"offset {EI_DATA}: ELF data encoding {data[EI_DATA]} is neither LSB nor MSB"
            )
        self.byte_order: ByteOrder = order
        lay = LAYOUTS[order]
        self._layouts = lay
        e_type, e_machine, e_shoff, e_shentsize, e_shnum, e_shstrndx = (
            _EHDR_READ[order].unpack_from(data, 16)
        )
        if e_machine != EM_BPF and e_machine != EM_NONE:
            raise ELFError(f"offset 18: e_machine {e_machine} is not EM_BPF ({EM_BPF}) or EM_NONE")
        self.machine: int = e_machine
        self.type: int = e_type
        self._symbols: list[Symbol] | None = None
        self._symbol_rows: list[SymbolRow] | None = None
        self._symbol_names: list[str] | None = None
        # The section table as columns (one per field a loader tests); whole
        # header tuples and Section objects are built on demand.  (The columns
        # are set once, below, when the table has been read.)
        self._shoff = e_shoff
        self._rows: list[tuple[int, ...]] | None = None
        self._flags: list[int] | None = None
        if e_shoff == 0:
            if e_shnum != 0:
                raise ELFError(f"offset 60: e_shnum {e_shnum} with e_shoff 0")
            # The SHT_SYMTAB's index (-1: none); its Section is built on demand.
            self._symtab_index = -1
            # Target section index -> index of the SHT_REL section applying to it.
            self._rel_for: dict[int, int] = {}
            # (string table index, offset -> name) of the section names.
            self._names: tuple[int, dict[int, str]] = (-1, {})
            self._rows = []
            self._quads: Words = array("Q")
            self._words: Words = array("I")
            self._types: list[int] = []
            self._sizes: list[int] = []
            self._offsets: list[int] = []
            self._section_names: list[str] = []
            self._sections: list[Section | None] = []
            self.shstrndx = 0
            return
        if e_shentsize != SHDR_SIZE:
            raise ELFError(f"offset 58: e_shentsize {e_shentsize} is not {SHDR_SIZE}")
        if e_shoff > size or size - e_shoff < SHDR_SIZE:
            raise ELFError(
                f"offset 40: e_shoff {e_shoff} leaves no room for a section header "
                f"in a file of {size} bytes"
            )
        shdr = lay.shdr
        if e_shnum == 0 or e_shstrndx == SHN_XINDEX:
            # Extended numbering: section 0 carries the real count and shstrndx.
            zero = shdr.unpack_from(data, e_shoff)
            if e_shnum == 0:
                e_shnum = zero[5]
                if e_shnum == 0:
                    raise ELFError("offset 60: e_shnum 0 and section 0 sh_size 0")
            if e_shstrndx == SHN_XINDEX:
                e_shstrndx = zero[6]
        if e_shnum > (size - e_shoff) // SHDR_SIZE:
            raise ELFError(
                f"offset 60: {e_shnum} section headers at offset {e_shoff} run past the end "
                f"of the file ({size} bytes)"
            )
        if e_shstrndx >= e_shnum:
            raise ELFError(f"offset 62: e_shstrndx {e_shstrndx} out of range ({e_shnum} sections)")
        self.shstrndx = e_shstrndx
        table_end = e_shoff + e_shnum * SHDR_SIZE
        # Elf64_Shdr as 16 u32 / 8 u64 items: sh_name 0, sh_type 1 (u32);
        # sh_flags 1, sh_offset 3, sh_size 4 (u64); sh_info 11 (u32).
        words: Words
        quads: Words
        if order == _HOST_ORDER:
            # (What _words does, without two calls.)
            table = memoryview(data)[e_shoff:table_end]
            words = self._words = table.cast("I")
            quads = self._quads = table.cast("Q")
        else:
            words = self._words = _words(data, e_shoff, table_end, "I", order)
            quads = self._quads = _words(data, e_shoff, table_end, "Q", order)
        types = self._types = words[1::16].tolist()
        str_type = types[e_shstrndx]
        if str_type != SHT_STRTAB:
            raise ELFError(
                f"offset 62: e_shstrndx {e_shstrndx} names section of type {str_type}, "
                f"not SHT_STRTAB"
            )
        str_off = quads[8 * e_shstrndx + 3]
        str_size = quads[8 * e_shstrndx + 4]
        if str_off > size or str_size > size - str_off:
            raise ELFError(
                f"section {e_shstrndx}: offset {str_off} + size {str_size} runs past the end "
                f"of the file ({size} bytes)"
            )
        names = _name_map(data, str_off, str_size)
        # Kept for the symbol names: LLVM writes one .strtab for both.
        self._names = (e_shstrndx, names)
        self._sections = [None] * e_shnum
        self._sizes = sizes = quads[4::8].tolist()
        name_offs = words[0::16].tolist()
        # Target section index -> REL section.  Faults (two RELs for one
        # section, an sh_info out of range) are only noted here: the walk at the
        # end reports them in index order, after any name or bounds fault.
        rel_for: dict[int, int] = {}
        self._rel_for = rel_for
        rels = types.count(SHT_REL)
        if rels:
            infos = words[11::16].tolist()
            get = names.get
            find = types.index
            index = -1
            for _ in range(rels):
                index = find(SHT_REL, index + 1)
                rel_for[infos[index]] = index
                # LLVM names a REL section ".rel" + the name of the section it
                # patches and points that section's name into it: the tail.
                name_off = name_offs[index]
                tail = get(name_off, "")[4:]
                if tail:
                    names[name_off + 4] = tail
        found: list[str | None] | None = _names_at(names, name_offs)
        missing = found is None
        if found is None:
            found = list(map(names.get, name_offs))
        # (A column: section_bytes and the readers take offsets by index.)
        self._offsets = offsets = quads[3::8].tolist()
        if _CAREFUL or max(map(add, offsets, sizes)) > size:
            # A section ending past the file (fine for SHT_NOBITS/SHT_NULL):
            # the per-section checks, in index order.
            strtab = Section(
                e_shstrndx, "", SHT_STRTAB, 0, 0, str_off, str_size, 0, 0, 0, 0, data
            )
            for index, sz in enumerate(sizes):
                off = quads[8 * index + 3]
                if off > size or sz > size - off:
                    typ = types[index]
                    if typ != SHT_NOBITS and typ != SHT_NULL:
                        raise ELFError(
                            f"section {index}: offset {off} + size {sz} runs past the end "
                            f"of the file ({size} bytes)"
                        )
                if found[index] is None:
                    found[index] = _cstring(data, strtab, name_offs[index], "section", index)
        elif missing and None in found:
            # Every section is inside the file, so the only faults are names:
            # those the map lacks (tails of other strings: "action" in
            # "nt_action") are read in index order, as the walk above would.
            # (A map at all means an all-ASCII table: a NUL found is a name.)
            str_end = str_off + str_size
            index = -1
            for _ in range(found.count(None)):
                index = found.index(None, index + 1)
                start = str_off + name_offs[index]
                end = data.find(b"\0", start, str_end) if names and start < str_end else -1
                if end < 0:
                    strtab = Section(
                        e_shstrndx, "", SHT_STRTAB, 0, 0, str_off, str_size, 0, 0, 0, 0, data
                    )
                    found[index] = _cstring(data, strtab, name_offs[index], "section", index)
                else:
                    found[index] = data[start:end].decode("ascii")
        sec_names: list[str] = found  # type: ignore[assignment]  # every None was resolved above
        symtabs = types.count(SHT_SYMTAB)
        if _CAREFUL or symtabs > 1 or (rels and (
            len(rel_for) != rels or 0 in rel_for or max(rel_for) >= e_shnum  # (0 in: min == 0)
        )):
            # Something is wrong: the per-section walk names the first fault.
            rel_for = self._rel_for = {}
            symtab_index = -1
            for index, typ in enumerate(types):
                if typ == SHT_SYMTAB:
                    if symtab_index >= 0:
                        raise ELFError(
                            f"section {index}: second SHT_SYMTAB (first is {symtab_index})"
                        )
                    symtab_index = index
                elif typ == SHT_REL:
                    info = words[16 * index + 11]
                    if info == 0 or info >= e_shnum:
                        raise ELFError(
                            f"section {index} ({sec_names[index]}): sh_info {info} is not a "
                            f"valid target section ({e_shnum} sections)"
                        )
                    other = rel_for.get(info)
                    if other is not None:
                        raise ELFError(
                            f"section {index} ({sec_names[index]}): second SHT_REL for section "
                            f"{info} (first is {other})"
                        )
                    rel_for[info] = index
        self._section_names = sec_names
        self._symtab_index = -1
        if symtabs:
            # (LLVM writes the symbol table last.)
            self._symtab_index = e_shnum - 1 if types[-1] == SHT_SYMTAB else types.index(SHT_SYMTAB)

    @property
    def sections(self) -> list[Section]:
        """Every section header, index 0 included."""
        section = self.section
        return [section(i) for i in range(len(self._types))]

    @property
    def section_names(self) -> list[str]:
        """The name of every section, by index (no Section objects built)."""
        return self._section_names

    @property
    def section_types(self) -> list[int]:
        """Every section's sh_type, by index (do not modify)."""
        return self._types

    @property
    def section_sizes(self) -> list[int]:
        """Every section's sh_size, by index (do not modify)."""
        return self._sizes

    @property
    def section_flags(self) -> list[int]:
        """Every section's sh_flags, by index (do not modify)."""
        flags = self._flags
        if flags is None:
            flags = self._flags = self._quads[1::8].tolist()
        return flags

    @property
    def section_executable(self) -> bytes:
        """One byte per section, by index: 1 if its sh_flags has SHF_EXECINSTR,
        else 0.  (Sliced from the table's bytes and translated in C: a test of
        it is a subscript, where :attr:`section_flags` costs a list and a
        ``& SHF_EXECINSTR`` per section; classification tests every section.)"""
        shoff = self._shoff
        # SHF_EXECINSTR is in sh_flags' lowest byte: offset 8 of an Elf64_Shdr
        # in LSB order, 15 in MSB.
        low = shoff + (8 if self.byte_order == "<" else 15)
        return self._data[low : shoff + len(self._types) * SHDR_SIZE : SHDR_SIZE].translate(
            _EXECINSTR_BYTE
        )

    @property
    def section_headers(self) -> list[tuple[int, ...]]:
        """Every section's raw Elf64_Shdr fields, by index (do not modify)."""
        rows = self._rows
        if rows is None:
            shoff = self._shoff
            rows = self._rows = list(self._layouts.shdr.iter_unpack(
                self._data[shoff : shoff + len(self._types) * SHDR_SIZE]
            ))
        return rows

    def section_header(self, index: int) -> tuple[int, ...]:
        """Section ``index``'s raw Elf64_Shdr fields (sh_name ... sh_entsize)."""
        return self.section_headers[index]

    def section(self, index: int) -> Section:
        """Section ``index`` (0 <= index < number of sections)."""
        sec = self._sections[index]
        if sec is None:
            # (A negative index counts from the end, as it did into a list of rows.)
            row = index if index >= 0 else index + len(self._types)
            data = self._data
            sec = self._sections[index] = _section_of(
                index, self._section_names[index],
                self._layouts.shdr.unpack_from(data, self._shoff + row * SHDR_SIZE), data,
            )
        return sec

    def sections_at(self, indices: list[int]) -> list[Section]:
        """[section(i) for i in indices] (each 0 <= i < number of sections), in
        one call: a loader keeps a Section for each of its programs."""
        cache = self._sections
        names = self._section_names
        unpack = self._layouts.shdr.unpack_from
        data = self._data
        shoff = self._shoff
        out = []
        for index in indices:
            sec = cache[index]
            if sec is None:
                sec = cache[index] = _section_of(
                    index, names[index], unpack(data, shoff + index * SHDR_SIZE), data
                )
            out.append(sec)
        return out

    def section_by_name(self, name: str) -> Section | None:
        try:
            return self.section(self._section_names.index(name))
        except ValueError:
            return None

    @property
    def symtab(self) -> Section | None:
        """The SHT_SYMTAB section, if any."""
        index = self._symtab_index
        return None if index < 0 else self.section(index)

    @property
    def symtab_index(self) -> int:
        """The index of the SHT_SYMTAB section; -1 if there is none (no Section built)."""
        return self._symtab_index

    def section_index(self, name: str) -> int:
        """The index of the first section called ``name``; -1 if there is none
        (:meth:`section_by_name` without building the Section)."""
        try:
            return self._section_names.index(name)
        except ValueError:
            return -1

    def section_bytes(self, index: int) -> bytes:
        """A copy of section ``index``'s contents, ``bytes(section(index).data())``
        without building the Section (0 <= index < number of sections)."""
        typ = self._types[index]
        if typ == SHT_NOBITS or typ == SHT_NULL:
            return b""
        # Bounds were checked when the section table was read.
        off = self._offsets[index]
        return self._data[off : off + self._sizes[index]]

    @property
    def symbol_names(self) -> list[str]:
        """Every symbol's name, by index (do not modify)."""
        names = self._symbol_names
        if names is None:
            names = self._symbol_names = list(map(_SYMBOL_NAME, self.symbol_rows))
        return names

    @property
    def symbols(self) -> list[Symbol]:
        """Every Elf64_Sym of SHT_SYMTAB, index 0 included; empty without a symbol table."""
        symbols = self._symbols
        if symbols is None:
            symbols = self._symbols = list(map(_new_tuple, repeat(Symbol), self.symbol_rows))
        return symbols

    @property
    def symbol_rows(self) -> list[SymbolRow]:
        """:attr:`symbols` as plain tuples, fields in the same order (do not
        modify): for readers that take fields by position."""
        rows = self._symbol_rows
        if rows is None:
            rows = self._symbol_rows = self._read_symbols()
        return rows

    def _read_symbols(self) -> list[SymbolRow]:
        symtab_index = self._symtab_index
        if symtab_index < 0:
            return []
        nsec = len(self._types)
        quads = self._quads
        size = self._sizes[symtab_index]
        link = self._words[16 * symtab_index + 10]
        count = size // SYM_SIZE
        # The usual header, checked from the table's columns (no Section built);
        # anything else is looked at field by field, for the message.
        if not (
            quads[8 * symtab_index + 7] == SYM_SIZE and not size % SYM_SIZE
            and self._words[16 * symtab_index + 11] <= count and 0 < link < nsec
            and self._types[link] == SHT_STRTAB
        ):
            symtab = self.section(symtab_index)
            if symtab.entsize != SYM_SIZE:
                raise ELFError(
                    f"{self._where(symtab)}: sh_entsize {symtab.entsize} is not {SYM_SIZE}"
                )
            if symtab.size % SYM_SIZE:
                raise ELFError(
                    f"{self._where(symtab)}: sh_size {symtab.size} is not a multiple of "
                    f"{SYM_SIZE}"
                )
            if symtab.info > count:
                raise ELFError(
                    f"{self._where(symtab)}: sh_info {symtab.info} exceeds symbol count {count}"
                )
            if link == 0 or link >= nsec:
                raise ELFError(
                    f"{self._where(symtab)}: sh_link {link} out of range ({nsec} sections)"
                )
            link_type = self._types[link]
            raise ELFError(
                f"{self._where(symtab)}: sh_link {link} names section of type {link_type}, "
                f"not SHT_STRTAB"
            )
        data = self._data
        names_of, names = self._names
        if names_of != link:
            names = _name_map(data, self._offsets[link], self._sizes[link])
        base = self._offsets[symtab_index]
        end = base + size
        # Elf64_Sym's st_name, st_shndx, st_value and st_size for every symbol in
        # one flat tuple (st_info and st_other, bytes, are sliced from the file
        # below), then one column per field by slicing it: one unpack in C
        # instead of a view cast three ways and two lists.  Columns, not
        # records: a row is then one step of a zip in C, where a loop over
        # records costs twice that in bytecodes (counted: fewer instructions
        # per load from 14 symbols, the smallest corpus table).
        flat: tuple[int, ...] = struct.unpack_from(
            self.byte_order + _SYM_COLUMNS * count, data, base
        )
        shndx = flat[1::4]
        name_offs = flat[0::4]
        ordinary = set(shndx)
        ordinary -= _SPECIAL_SHNDX
        # (Not worth skipping when every index is in range: the FILE symbol is
        # SHN_ABS in every object LLVM writes.)
        # (Name offset 0 is the empty name whatever the table holds there.)
        if names.get(0) == "" and not (ordinary and max(ordinary) >= nsec) and not _CAREFUL:
            # No st_shndx to resolve or refuse, so the only faults are names:
            # those the map lacks (tails of other strings) are read one by one,
            # in symbol order, as the careful reader would.
            found: list[str | None] | None = _names_at(names, name_offs)
            if found is None:
                found = list(map(names.get, name_offs))
                strtab = self.section(link)
                index = -1
                for _ in range(found.count(None)):
                    index = found.index(None, index + 1)
                    found[index] = _cstring(data, strtab, name_offs[index], "symbol", index)
            info = data[base + 4 : end : SYM_SIZE]
            # (Every column has ``count`` items, by construction: sh_size is a
            # multiple of SYM_SIZE; strict= would cost a keyword argument.)
            symbols: list[SymbolRow] = list(zip(  # noqa: B905
                range(count), found, flat[2::4], flat[3::4],
                info.translate(_ST_BIND), info.translate(_ST_TYPE),
                data[base + 5 : end : SYM_SIZE].translate(_ST_VISIBILITY), shndx,
            ))
            # The names column is symbol_names as it stands.
            self._symbol_names = found  # type: ignore[assignment]  # every None was resolved
            return symbols
        # A name to look at, or an st_shndx to resolve or refuse: one record at a
        # time, resolving extended section indices and naming every fault.
        strtab = self.section(link)
        shndx_table: Section | None = None
        out: list[SymbolRow] = []
        for index, (name_off, info, other, st_shndx, value, sz) in enumerate(
            self._layouts.sym.iter_unpack(data[base:end])
        ):
            if name_off:
                name = names.get(name_off)
                if name is None:
                    name = _cstring(data, strtab, name_off, "symbol", index)
            else:
                name = ""
            if st_shndx >= nsec and st_shndx != SHN_ABS and st_shndx != SHN_COMMON:
                if st_shndx == SHN_XINDEX:
                    if shndx_table is None:
                        shndx_table = self._find_shndx(self.section(symtab_index), count)
                    (st_shndx,) = self._layouts.shndx.unpack_from(
                        data, shndx_table.offset + index * SHNDX_SIZE
                    )
                    if st_shndx >= nsec:
                        raise ELFError(
                            f"symbol {index} ({name}): extended st_shndx {st_shndx} out of "
                            f"range ({nsec} sections)"
                        )
                elif st_shndx < SHN_LORESERVE:
                    raise ELFError(
                        f"symbol {index} ({name}): st_shndx {st_shndx} out of range "
                        f"({nsec} sections)"
                    )
            out.append((index, name, value, sz, info >> 4, info & 0xF, other & 0x3, st_shndx))
        return out

    @staticmethod
    def _where(sec: Section) -> str:
        return f"section {sec.index} ({sec.name})"

    def _find_shndx(self, symtab: Section, count: int) -> Section:
        for sec in self.sections:
            if sec.type == SHT_SYMTAB_SHNDX and sec.link == symtab.index:
                if sec.size < count * SHNDX_SIZE:
                    raise ELFError(
                        f"section {sec.index} ({sec.name}): SHT_SYMTAB_SHNDX of {sec.size} bytes "
                        f"is too small for {count} symbols"
                    )
                return sec
        raise ELFError(
            f"section {symtab.index}: a symbol uses SHN_XINDEX but no SHT_SYMTAB_SHNDX "
            f"links to the symbol table"
        )

    @property
    def rel_sections(self) -> dict[int, int]:
        """Target section index -> index of the SHT_REL section applying to it
        (do not modify)."""
        return self._rel_for

    def rel_section(self, section: Section) -> Section | None:
        """The SHT_REL section whose sh_info targets ``section``, if any."""
        rel = self._rel_for.get(section.index)
        return None if rel is None else self.section(rel)

    def relocation_targets(self, section: Section) -> tuple[list[int], list[int]]:
        """(r_offset list, symbol index list) of :meth:`relocations`, with the
        same checks and errors, without a Relocation object per entry (the rows
        of :meth:`raw_relocations`, their symbol indices checked at once)."""
        offsets = []
        syms = []
        for r_offset, r_info in self.raw_relocations(section):
            offsets.append(r_offset)
            syms.append(r_info >> 32)
        # (Rows at all means a symbol table: relocations() refuses them otherwise.)
        if syms and max(syms) >= self._sizes[self._symtab_index] // SYM_SIZE:
            self.relocations(section)  # raises, naming the first bad entry
        return offsets, syms

    def raw_relocations(self, section: Section) -> Iterator[tuple[int, int]]:
        """An iterator of (r_offset, r_info) over the relocations applying to
        ``section``, with the REL section's layout checked as :meth:`relocations`
        does, but NOT the symbol indices: a caller must test ``r_info >> 32``
        against the symbol count and call :meth:`relocations` for the error when
        one is out of range.  For the hot path of a loader, which looks every
        entry up anyway.
        """
        rel_index = self._rel_for.get(section.index)
        if rel_index is None:
            return iter(())
        quads = self._quads
        size = self._sizes[rel_index]
        symtab_index = self._symtab_index
        # (No symbol table, -1, is covered by the sh_link test: a u32.)
        if (
            quads[8 * rel_index + 7] != REL_SIZE or size % REL_SIZE
            or self._words[16 * rel_index + 10] != symtab_index
        ):
            # Not the usual layout: the full reader says what is wrong.
            return iter([
                (r.offset, r.symbol_index << 32 | r.type) for r in self.relocations(section)
            ])
        off = self._offsets[rel_index]
        return self._layouts.rel.iter_unpack(self._data[off : off + size])

    def relocations(self, section: Section) -> list[Relocation]:
        """The relocations that apply to ``section`` (empty when it has none).

        Callers ask only for code, maps and data sections, so relocations of debug
        sections are never decoded.
        """
        rel_index = self._rel_for.get(section.index)
        if rel_index is None:
            return []
        rel = self.section(rel_index)
        where = f"section {rel.index} ({rel.name})"
        if rel.entsize != REL_SIZE:
            raise ELFError(f"{where}: sh_entsize {rel.entsize} is not {REL_SIZE}")
        if rel.size % REL_SIZE:
            raise ELFError(f"{where}: sh_size {rel.size} is not a multiple of {REL_SIZE}")
        symtab = self.symtab
        if symtab is None or rel.link != symtab.index:
            raise ELFError(
                f"{where}: sh_link {rel.link} is not the symbol table "
                f"({'none' if symtab is None else symtab.index})"
            )
        nsyms = symtab.size // SYM_SIZE
        out: list[Relocation] = []
        base = rel.offset
        for i, (offset, info) in enumerate(
            self._layouts.rel.iter_unpack(self._data[base : base + rel.size])
        ):
            sym = info >> 32
            if sym >= nsyms:
                raise ELFError(
                    f"{where}: relocation {i} (offset {base + i * REL_SIZE}) names symbol "
                    f"{sym}, but the symbol table has {nsyms}"
                )
            out.append(Relocation(offset, sym, info & 0xFFFFFFFF))
        return out
