"""An eBPF object's sections sorted by what they hold, with their symbols and
relocations: the common ground of the maps, data, extern and program readers.

Classification follows libbpf's ``bpf_object__elf_collect`` where the two anchor
loaders agree, and cilium/ebpf's ``LoadCollectionSpec`` where only it accepts
something (the legacy ``maps`` section).  Relocations are read only for program
sections, ``.maps`` and ``.struct_ops*``: that is where libbpf applies them; debug sections' are
never decoded.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any

from loader import elf
from loader.btf.spec import Spec as BTFSpec
from loader.errors import CollectionError, RelocationError, UnsupportedError

if TYPE_CHECKING:
    from loader.collection.maps import BTFWords

LICENSE_SEC = "license"
VERSION_SEC = "version"
LEGACY_MAPS_SEC = "maps"
BTF_MAPS_SEC = ".maps"
KCONFIG_SEC = ".kconfig"
KSYMS_SEC = ".ksyms"
STRUCT_OPS_SECS = (".struct_ops", ".struct_ops.link")
ARENA_SEC_PREFIX = ".addr_space."


class Kind(enum.Enum):
    UNDEF = "undef"  # SHN_UNDEF: externs, forward declarations
    LEGACY_MAPS = "maps"
    BTF_MAPS = ".maps"
    DATA = "data"
    PROGRAM = "program"
    STRUCT_OPS = "struct_ops"  # .struct_ops / .struct_ops.link

    # Identity hashing (Enum's __hash__ is a Python call, hash(name)): a Kind
    # keys ObjectFile.of_kind, looked up by every load.  (Members are
    # singletons and compare by identity, so the hash agrees with ==.)
    __hash__ = object.__hash__


class ObjSection:
    """One kept section, its symbols and relocations.

    (A plain class rather than a dataclass: its generated __init__, with
    default factories, cost a quarter more per section, and every load builds
    a few.)
    """

    __slots__ = ("kind", "references", "relocations", "section", "symbols")

    def __init__(self, section: elf.Section, kind: Kind,
                 symbols: dict[int, elf.SymbolRow] | None = None,
                 relocations: dict[int, elf.SymbolRow] | None = None, references: int = 0) -> None:
        self.section = section
        self.kind = kind
        # Named symbols that mean something in this kind of section, by offset.
        self.symbols: dict[int, elf.SymbolRow] = {} if symbols is None else symbols
        # Relocations applying to this section: byte offset -> symbol.
        self.relocations: dict[int, elf.SymbolRow] = {} if relocations is None else relocations
        # How many relocations (from programs and .maps) point into this section.
        self.references = references

    def __repr__(self) -> str:
        return (f"ObjSection(section={self.section!r}, kind={self.kind!r}, "
                f"symbols={self.symbols!r}, relocations={self.relocations!r}, "
                f"references={self.references!r})")

    @property
    def name(self) -> str:
        return self.section.name


class _UndefSection(ObjSection):
    """The SHN_UNDEF entry: what relocations against externs find.  Its
    Section (all zeros in a well-formed object) is built only if asked for:
    the readers look at its kind, never at its header."""

    __slots__ = ("_elf",)

    def __init__(self, ef: elf.ELFFile) -> None:
        # (The other slots set here rather than by ObjSection.__init__, whose
        # section store the property below stands in for.)
        self._elf = ef
        self.kind = _UNDEF
        self.symbols = {}
        self.relocations = {}
        self.references = 0

    @property
    def section(self) -> elf.Section:
        return self._elf.section(0)

    @section.setter
    def section(self, value: elf.Section) -> None:
        raise AttributeError("the SHN_UNDEF entry's section is the object's section 0")


_DATA_NAMES = frozenset({".data", ".rodata", ".bss"})
_DATA_PREFIXES = (".data.", ".rodata.", ".bss.")


def is_data_section(name: str) -> bool:
    """``.data``/``.rodata``/``.bss`` and their ``.NAME`` variants (libbpf's rule)."""
    return name in _DATA_NAMES or name.startswith(_DATA_PREFIXES)


# cilium/ebpf also accepts "maps/NAME" (iproute2 style); libbpf 1.x refuses both.
_LEGACY_MAPS_PREFIX = LEGACY_MAPS_SEC + "/"
# Names classified whatever the section type (as are names starting "maps/" or
# ".addr_space."; the rest need PROGBITS/NOBITS), to their kind (license and
# version are not kinds: ObjectFile keeps them apart).
_LICENSE = object()
_VERSION = object()
# (Typed Any: a Kind, or one of the two markers.)
_KIND_BY_NAME: dict[str, Any] = {
    LICENSE_SEC: _LICENSE, VERSION_SEC: _VERSION, LEGACY_MAPS_SEC: Kind.LEGACY_MAPS,
    BTF_MAPS_SEC: Kind.BTF_MAPS, **dict.fromkeys(STRUCT_OPS_SECS, Kind.STRUCT_OPS),
}
# Every name the classification below acts on is one of these names or starts
# with one of these prefixes (each of five characters or more), so its first
# five characters are one of theirs (a superset: "versions" passes too, and is
# then looked at properly; ".strtab" does not).
_HEAD = 5
_NAME_HEADS = frozenset(name[:_HEAD] for name in (
    LICENSE_SEC, VERSION_SEC, LEGACY_MAPS_SEC, _LEGACY_MAPS_PREFIX, BTF_MAPS_SEC,
    *STRUCT_OPS_SECS, ARENA_SEC_PREFIX, *_DATA_NAMES, *_DATA_PREFIXES,
))

# Names LLVM gives the sections of debug info, BTF, the symbol table and their
# relocations: none has a head above, so a section so named is acted on only
# if it is code, and the name test (a slice and a set lookup) is skipped for
# most of an object's sections by one set lookup.
_PLAIN_NAMES = frozenset((
    ".strtab", ".symtab", ".shstrtab", ".BTF", ".BTF.ext", ".rel.BTF", ".rel.BTF.ext",
    ".llvm_addrsig", ".debug_abbrev", ".debug_info", ".debug_str", ".debug_str_offsets",
    ".debug_addr", ".debug_line", ".debug_line_str", ".debug_frame", ".debug_loclists",
    ".debug_rnglists", ".debug_loc", ".debug_ranges", ".debug_aranges",
    ".rel.debug_info", ".rel.debug_str_offsets", ".rel.debug_addr", ".rel.debug_line",
    ".rel.debug_frame", ".rel.debug_loclists", ".rel.debug_rnglists", ".rel.debug_loc",
    ".rel.debug_ranges", ".rel.debug_aranges",
))
assert not any(name[:_HEAD] in _NAME_HEADS for name in _PLAIN_NAMES)


# What a section's name alone makes of it: a Kind whatever the section type
# (the names above, "maps/NAME"), the license or version, an arena (refused),
# data if PROGBITS or NOBITS (_DATA_NAME), or code if executable PROGBITS
# (_CODE, as is a data name).  Worked out once per name and remembered
# (bounded, in count and in name length: fuzzers make up endless names, some
# huge): the rule's two startswith() calls and the data name test were most
# of classifying a kept section.
_CODE = object()
_DATA_NAME = object()
_ARENA = object()
_RULES_MAX = 4096
_RULE_NAME_MAX = 256


def _name_rule(name: str) -> Any:
    """The rule of ``name`` (see _RULES), remembered."""
    rule = _KIND_BY_NAME.get(name)
    if rule is None:
        if name.startswith(_LEGACY_MAPS_PREFIX):
            rule = Kind.LEGACY_MAPS
        elif name.startswith(ARENA_SEC_PREFIX):
            rule = _ARENA
        elif name in _DATA_NAMES or name.startswith(_DATA_PREFIXES):
            rule = _DATA_NAME
        else:
            rule = _CODE
    if len(_RULES) < _RULES_MAX and len(name) <= _RULE_NAME_MAX:
        _RULES[name] = rule
    return rule


_RULES: dict[str, Any] = {}
for _name in (*_KIND_BY_NAME, *_DATA_NAMES, ".text"):
    _name_rule(_name)
del _name


# Enum members and module constants hoisted: a Kind attribute costs ~40 ns in
# 3.11, and classification reads a dozen per object.
_UNDEF, _LEGACY_MAPS, _BTF_MAPS = Kind.UNDEF, Kind.LEGACY_MAPS, Kind.BTF_MAPS
_DATA, _PROGRAM, _STRUCT_OPS = Kind.DATA, Kind.PROGRAM, Kind.STRUCT_OPS
_SHF_EXECINSTR, _SHT_PROGBITS, _SHT_NOBITS = elf.SHF_EXECINSTR, elf.SHT_PROGBITS, elf.SHT_NOBITS
_STT_FUNC, _STT_NOTYPE, _STT_OBJECT = elf.STT_FUNC, elf.STT_NOTYPE, elf.STT_OBJECT
_STB_LOCAL = elf.STB_LOCAL
_new_object = object.__new__


class ObjectFile:
    """The classified view of one ELF object."""

    __slots__ = ("btf", "by_index", "elf", "license_index", "of_kind", "symbols",
                 "text_index", "version_index", "words")

    def __init__(self, ef: elf.ELFFile, btf: BTFSpec | None) -> None:
        self.elf = ef
        self.btf = btf
        # The readers' one BTFWords over ``btf`` (maps.btf_words builds it on first
        # use): its answers are remembered per type id and hold for the whole load,
        # and building it costs as much as a map definition read.
        self.words: BTFWords | None = None
        self.by_index: dict[int, ObjSection] = {}
        # The license and version sections, by index (-1: none); the reader
        # wants only their bytes.
        self.license_index = -1
        self.version_index = -1
        self.text_index = -1
        if ef.symtab_index < 0:
            # libbpf: "couldn't find symbol table, stripped object file?"
            raise CollectionError("object has no symbol table (SHT_SYMTAB); stripped?")
        self.symbols: list[elf.SymbolRow] = ef.symbol_rows
        self._classify()
        self._assign_symbols()
        self._load_relocations()

    # -- sections -----------------------------------------------------------------

    def _classify(self) -> None:
        # Works on names and header columns: Section objects are built only for
        # the few sections kept (most of an object is debug info).
        ef = self.elf
        by_index = self.by_index
        # The kept sections' indices and kinds: their Sections are built at
        # the end, in one call.
        # SHN_UNDEF first (its Section built only if asked for).
        # (_UndefSection(ef) without a class call, as for the kept sections below.)
        undef = by_index[0] = _new_object(_UndefSection)
        undef._elf = ef
        undef.kind = _UNDEF
        undef.symbols = {}
        undef.relocations = {}
        undef.references = 0
        kept: list[int] = []
        kinds: list[Kind] = []
        names = ef.section_names
        types = ef.section_types
        # (Bytes of 0 or 1: a subscript, no '& SHF_EXECINSTR' per section.)
        executable = ef.section_executable
        sizes = ef.section_sizes
        heads = _NAME_HEADS
        plain = _PLAIN_NAMES
        # Code (by flag) and whatever a name could make special or data: the
        # only sections the rules below can keep or refuse.  (A slice and a set
        # test cost less than startswith() over nine prefixes; the usual
        # debug names skip both.)
        candidates = [
            index for index, name in enumerate(names)
            if executable[index] or (
                name not in plain and name[:5] in heads)  # (5: _HEAD)
        ]
        rules = _RULES
        progbits, nobits = _SHT_PROGBITS, _SHT_NOBITS
        for index in candidates:
            if index == 0:
                continue
            name = names[index]
            rule = rules.get(name)
            if rule is None:
                rule = _name_rule(name)
            if rule is _CODE or rule is _DATA_NAME:
                typ = types[index]
                if typ == progbits and executable[index]:
                    if sizes[index] > 0:
                        kept.append(index)
                        kinds.append(_PROGRAM)
                        if name == ".text":
                            self.text_index = index
                elif rule is _DATA_NAME and (typ == progbits or typ == nobits):
                    kept.append(index)
                    kinds.append(_DATA)
            elif rule is _LICENSE:
                self.license_index = index
            elif rule is _VERSION:
                self.version_index = index
            elif rule is _ARENA:
                # libbpf >= 1.4 makes an arena map of it; we cannot yet.
                raise UnsupportedError(
                    "BPF arena (.addr_space.*) sections", "6.9", f"section {name}"
                )
            else:
                # A special name (or "maps/NAME"), whatever the section type.
                kept.append(index)
                kinds.append(rule)
        # (ObjSection(sec, kind), its fields stored here: a class call runs
        # __init__ in a frame of its own in 3.11, ~1K instructions a section.)
        new = _new_object
        # The kept sections that are neither code nor SHN_UNDEF, by kind, in
        # index order (a kind absent has no key): what the maps, data and
        # struct_ops readers walk, and the reader skips a reader whose kind is
        # absent.  (A few sections, where code can be dozens.)
        of_kind: dict[Kind, list[ObjSection]] = {}
        self.of_kind = of_kind
        for index, sec, kind in zip(kept, ef.sections_at(kept), kinds, strict=True):
            osec = by_index[index] = new(ObjSection)
            osec.section = sec
            osec.kind = kind
            osec.symbols = {}
            osec.relocations = {}
            osec.references = 0
            if kind is not _PROGRAM:
                same = of_kind.get(kind)
                if same is None:
                    of_kind[kind] = [osec]
                else:
                    same.append(osec)

    @property
    def version_sec(self) -> elf.Section | None:
        index = self.version_index
        return None if index < 0 else self.elf.section(index)

    def sections_of(self, kind: Kind) -> list[ObjSection]:
        """The kept sections of ``kind``, in index order."""
        if kind is _PROGRAM or kind is _UNDEF:
            return [s for s in self.by_index.values() if s.kind is kind]
        same = self.of_kind.get(kind)
        return [] if same is None else same[:]

    # -- symbols ------------------------------------------------------------------

    def _assign_symbols(self) -> None:
        # Fields by position (st_shndx 7, name 1, value 2, bind 4, type 5): a
        # namedtuple's unpacking or attributes cost more, once per symbol.
        get = self.by_index.get
        undef, program = _UNDEF, _PROGRAM
        func, notype, obj, local = _STT_FUNC, _STT_NOTYPE, _STT_OBJECT, _STB_LOCAL
        for sym in self.symbols:
            # Anonymous symbols (most of a table: section symbols, debug
            # info) are never map, variable or function names: skipped first.
            if not sym[1]:
                continue
            osec = get(sym[7])
            if osec is None:
                continue
            kind = osec.kind
            if kind is undef:
                continue
            typ = sym[5]
            if kind is program:
                # Old LLVM tags functions NOTYPE; local NOTYPE symbols are jump labels.
                if typ == func or (typ == notype and sym[4] != local):
                    symbols = osec.symbols
                    if typ != func:
                        prev = symbols.get(sym[2])
                        if prev is not None and prev[5] == func:
                            continue
                    symbols[sym[2]] = sym
            elif typ == obj or typ == notype:
                osec.symbols[sym[2]] = sym

    # -- relocations --------------------------------------------------------------

    def _load_relocations(self) -> None:
        ef = self.elf
        symbols = self.symbols
        by_index = self.by_index
        get_target = by_index.get
        raw_relocations = ef.raw_relocations
        relocated = ef.rel_sections
        program, btf_maps, struct_ops = _PROGRAM, _BTF_MAPS, _STRUCT_OPS
        for index, osec in by_index.items():
            # Where libbpf applies relocations; data and legacy maps sections'
            # are not read.  (Identity tests: an Enum's hash is a Python call.)
            # A section no SHT_REL targets has none to read.
            kind = osec.kind
            if (
                kind is not program and kind is not btf_maps and kind is not struct_ops
            ) or index not in relocated:
                continue
            sec = osec.section
            rows = raw_relocations(sec)
            size = sec.size
            out = osec.relocations
            align = 8 if kind is program else 1
            try:
                for offset, info in rows:
                    sym = symbols[info >> 32]
                    target = get_target(sym[7])  # st_shndx
                    if (
                        target is not None and offset < size and offset not in out
                        and not offset % align
                    ):
                        # The usual case, without building the error context.
                        out[offset] = sym
                        target.references += 1
                        continue
                    # A fault: but a symbol index out of range anywhere in the
                    # section is reported first (an ELFError from relocations()).
                    ef.relocation_targets(osec.section)
                    where = f"section {osec.name}: relocation at offset {offset}"
                    if offset >= size:
                        raise RelocationError(
                            f"{where} against {sym[1] or sym[0]!r}: offset outside the "
                            f"section ({size} bytes)"
                        )
                    if osec.kind is Kind.PROGRAM and offset % 8:
                        raise RelocationError(
                            f"{where} against {sym[1] or sym[0]!r}: offset is not at an "
                            f"instruction boundary"
                        )
                    target = by_index.get(sym[7])
                    if target is None:
                        names = ef.section_names
                        tname = (
                            names[sym[7]] if sym[7] < len(names)
                            else f"index {sym[7]:#x}"
                        )
                        raise RelocationError(
                            f"{where}: symbol {sym[1]!r} (index {sym[0]}) is in section "
                            f"{tname!r}, which holds no maps, data or code"
                        )
                    if offset in out:
                        raise RelocationError(f"{where}: second relocation at the same offset")
                    out[offset] = sym
                    target.references += 1
            except IndexError:
                # symbols[...]: an entry names a symbol past the table (the
                # only indexing above that can fail).
                ef.relocations(osec.section)
                raise
