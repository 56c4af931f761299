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
from dataclasses import dataclass, field

from loader import elf
from loader.btf.spec import Spec as BTFSpec
from loader.errors import CollectionError, RelocationError, UnsupportedError

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


@dataclass(slots=True, eq=False)
class ObjSection:
    section: elf.Section
    kind: Kind
    # Named symbols that mean something in this kind of section, by offset.
    symbols: dict[int, elf.Symbol] = field(default_factory=dict)
    # Relocations applying to this section: byte offset -> symbol.
    relocations: dict[int, elf.Symbol] = field(default_factory=dict)
    # How many relocations (from programs and .maps) point into this section.
    references: int = 0

    @property
    def name(self) -> str:
        return self.section.name


_DATA_NAMES = frozenset({".data", ".rodata", ".bss"})
_DATA_PREFIXES = (".data.", ".rodata.", ".bss.")


def is_data_section(name: str) -> bool:
    """``.data``/``.rodata``/``.bss`` and their ``.NAME`` variants (libbpf's rule)."""
    return name in _DATA_NAMES or name.startswith(_DATA_PREFIXES)


_LEGACY_MAPS_PREFIX = LEGACY_MAPS_SEC + "/"
# Names classified whatever the section type (the rest need PROGBITS/NOBITS).
_SPECIAL_NAMES = frozenset({LICENSE_SEC, VERSION_SEC, LEGACY_MAPS_SEC, BTF_MAPS_SEC,
                            *STRUCT_OPS_SECS})
_SPECIAL_PREFIXES = (_LEGACY_MAPS_PREFIX, ARENA_SEC_PREFIX)


def is_legacy_maps_section(name: str) -> bool:
    # cilium/ebpf also accepts "maps/NAME" (iproute2 style); libbpf 1.x refuses both.
    return name == LEGACY_MAPS_SEC or name.startswith(_LEGACY_MAPS_PREFIX)


class ObjectFile:
    """The classified view of one ELF object."""

    __slots__ = ("btf", "by_index", "elf", "license_sec", "symbols", "text_index",
                 "version_sec")

    def __init__(self, ef: elf.ELFFile, btf: BTFSpec | None) -> None:
        self.elf = ef
        self.btf = btf
        self.by_index: dict[int, ObjSection] = {}
        self.license_sec: elf.Section | None = None
        self.version_sec: elf.Section | None = None
        self.text_index = -1
        if ef.symtab is None:
            # libbpf: "couldn't find symbol table, stripped object file?"
            raise CollectionError("object has no symbol table (SHT_SYMTAB); stripped?")
        self.symbols: list[elf.Symbol] = ef.symbols
        self._classify()
        self._assign_symbols()
        self._load_relocations()

    # -- sections -----------------------------------------------------------------

    def _classify(self) -> None:
        # Works on names and raw headers: Section objects are built only for the
        # few sections kept (most of an object is debug info).
        ef = self.elf
        section = ef.section
        by_index = self.by_index
        by_index[elf.SHN_UNDEF] = ObjSection(section(0), Kind.UNDEF)
        names = ef.section_names
        rows = ef.section_headers
        special = _SPECIAL_NAMES
        progbits, nobits = elf.SHT_PROGBITS, elf.SHT_NOBITS
        for index in range(1, len(names)):
            name = names[index]
            typ = rows[index][1]
            if typ != progbits and typ != nobits and name not in special and not (
                name.startswith(_SPECIAL_PREFIXES)
            ):
                # Most of an object (debug info, REL, string and symbol tables):
                # neither code nor data, and no name that means something.
                continue
            if name == LICENSE_SEC:
                self.license_sec = section(index)
            elif name == VERSION_SEC:
                self.version_sec = section(index)
            elif name == LEGACY_MAPS_SEC or name.startswith(_LEGACY_MAPS_PREFIX):
                by_index[index] = ObjSection(section(index), Kind.LEGACY_MAPS)
            elif name == BTF_MAPS_SEC:
                by_index[index] = ObjSection(section(index), Kind.BTF_MAPS)
            elif name in STRUCT_OPS_SECS:
                by_index[index] = ObjSection(section(index), Kind.STRUCT_OPS)
            elif name.startswith(ARENA_SEC_PREFIX):
                # libbpf >= 1.4 makes an arena map of it; we cannot yet.
                raise UnsupportedError(
                    "BPF arena (.addr_space.*) sections", "6.9", f"section {name}"
                )
            else:
                row = rows[index]
                flags, size = row[2], row[5]
                if typ == progbits and flags & elf.SHF_EXECINSTR:
                    if size > 0:
                        by_index[index] = ObjSection(section(index), Kind.PROGRAM)
                        if name == ".text":
                            self.text_index = index
                elif (typ == elf.SHT_PROGBITS or typ == elf.SHT_NOBITS) and (
                    is_data_section(name)
                ):
                    by_index[index] = ObjSection(section(index), Kind.DATA)

    def sections_of(self, kind: Kind) -> list[ObjSection]:
        return [s for s in self.by_index.values() if s.kind is kind]

    # -- symbols ------------------------------------------------------------------

    def _assign_symbols(self) -> None:
        by_index = self.by_index
        for sym in self.symbols:
            if not sym.name:
                # Anonymous symbols are section symbols or debug info: never map,
                # variable or function names.
                continue
            osec = by_index.get(sym.shndx)
            if osec is None or osec.kind is Kind.UNDEF:
                continue
            typ = sym.type
            if osec.kind is Kind.PROGRAM:
                # Old LLVM tags functions NOTYPE; local NOTYPE symbols are jump labels.
                if typ == elf.STT_FUNC or (typ == elf.STT_NOTYPE and sym.bind != elf.STB_LOCAL):
                    prev = osec.symbols.get(sym.value)
                    if prev is not None and prev.type == elf.STT_FUNC and typ != elf.STT_FUNC:
                        continue
                    osec.symbols[sym.value] = sym
            elif typ == elf.STT_OBJECT or typ == elf.STT_NOTYPE:
                osec.symbols[sym.value] = sym

    # -- relocations --------------------------------------------------------------

    def _load_relocations(self) -> None:
        ef = self.elf
        symbols = self.symbols
        by_index = self.by_index
        for osec in list(by_index.values()):
            if osec.kind is Kind.DATA or osec.kind is Kind.LEGACY_MAPS or (
                osec.kind is Kind.UNDEF
            ):
                continue
            offsets, sym_indices = ef.relocation_targets(osec.section)
            if not offsets:
                continue
            size = osec.section.size
            out = osec.relocations
            align = 8 if osec.kind is Kind.PROGRAM else 1
            for offset, sym_index in zip(offsets, sym_indices, strict=True):
                sym = symbols[sym_index]
                target = by_index.get(sym.shndx)
                if (
                    target is not None and offset < size and offset not in out
                    and not offset % align
                ):
                    # The usual case, without building the error context.
                    out[offset] = sym
                    target.references += 1
                    continue
                where = f"section {osec.name}: relocation at offset {offset}"
                if offset >= size:
                    raise RelocationError(
                        f"{where} against {sym.name or sym.index!r}: offset outside the "
                        f"section ({size} bytes)"
                    )
                if osec.kind is Kind.PROGRAM and offset % 8:
                    raise RelocationError(
                        f"{where} against {sym.name or sym.index!r}: offset is not at an "
                        f"instruction boundary"
                    )
                target = by_index.get(sym.shndx)
                if target is None:
                    names = ef.section_names
                    tname = (
                        names[sym.shndx] if sym.shndx < len(names) else f"index {sym.shndx:#x}"
                    )
                    raise RelocationError(
                        f"{where}: symbol {sym.name!r} (index {sym.index}) is in section "
                        f"{tname!r}, which holds no maps, data or code"
                    )
                if offset in out:
                    raise RelocationError(f"{where}: second relocation at the same offset")
                out[offset] = sym
                target.references += 1
