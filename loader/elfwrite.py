"""Write ELF64 relocatable eBPF objects: the inverse of :mod:`loader.elf`.

An :class:`ObjectModel` holds sections (with their bytes), symbols and REL
relocations by target section name; :func:`write_elf` lays them out in either
byte order with the record layouts declared once in :mod:`loader.elf`
(``LAYOUTS``), adding the symbol table, its string table, the ``.rel<name>``
sections and the section-name table the way clang does: locals before globals
in ``.symtab`` (``sh_info`` is the first global), ``.strtab`` linked from it,
each REL section linked to ``.symtab`` with ``sh_info`` naming its target.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from loader import elf
from loader.errors import ELFError

# Relocation types clang emits for BPF (llvm/lib/Target/BPF).
R_BPF_NONE = 0
R_BPF_64_64 = 1  # ld_imm64: maps, data, function pointers
R_BPF_64_ABS64 = 2
R_BPF_64_ABS32 = 3
R_BPF_64_32 = 10  # bpf-to-bpf calls


@dataclass(slots=True)
class SectionModel:
    name: str
    type: int = elf.SHT_PROGBITS
    flags: int = elf.SHF_ALLOC
    data: bytes = b""
    # SHT_NOBITS sections have a size but no bytes in the file.
    nobits_size: int = 0
    addralign: int = 8
    entsize: int = 0

    @property
    def size(self) -> int:
        return self.nobits_size if self.type == elf.SHT_NOBITS else len(self.data)


@dataclass(frozen=True, slots=True)
class SymbolModel:
    name: str
    # Section name, or None for an undefined symbol (externs).
    section: str | None
    value: int = 0
    size: int = 0
    bind: int = elf.STB_GLOBAL
    type: int = elf.STT_NOTYPE
    visibility: int = elf.STV_DEFAULT


@dataclass(frozen=True, slots=True)
class RelocationModel:
    offset: int
    # Symbol name; section symbols are named after their section.
    symbol: str
    type: int = R_BPF_64_64


@dataclass(slots=True)
class ObjectModel:
    sections: list[SectionModel] = field(default_factory=list)
    symbols: list[SymbolModel] = field(default_factory=list)
    relocations: dict[str, list[RelocationModel]] = field(default_factory=dict)
    machine: int = elf.EM_BPF

    def section(self, name: str) -> SectionModel:
        for sec in self.sections:
            if sec.name == name:
                return sec
        raise KeyError(name)


class _StrTab:
    def __init__(self) -> None:
        self.data = bytearray(b"\0")
        self.offsets: dict[str, int] = {"": 0}

    def add(self, text: str) -> int:
        off = self.offsets.get(text)
        if off is None:
            off = self.offsets[text] = len(self.data)
            self.data += text.encode("utf-8") + b"\0"
        return off


def _align(n: int, a: int) -> int:
    return -(-n // a) * a if a > 1 else n


def write_elf(model: ObjectModel, byte_order: elf.ByteOrder = "<") -> bytes:
    """Serialise ``model`` to an ELF64 ET_REL object in ``byte_order``."""
    if byte_order not in elf.LAYOUTS:
        raise ELFError(f"byte order {byte_order!r} is neither '<' nor '>'")
    lay = elf.LAYOUTS[byte_order]
    names = [s.name for s in model.sections]
    if len(set(names)) != len(names):
        raise ELFError(f"duplicate section names in {names}")
    index = {name: i + 1 for i, name in enumerate(names)}

    # Section symbols for every section a relocation names by section.
    syms = list(model.symbols)
    named = {s.name for s in syms}
    for rels in model.relocations.values():
        for rel in rels:
            if rel.symbol not in named and rel.symbol in index:
                syms.append(SymbolModel(rel.symbol, rel.symbol, bind=elf.STB_LOCAL,
                                        type=elf.STT_SECTION))
                named.add(rel.symbol)
    locals_ = [s for s in syms if s.bind == elf.STB_LOCAL]
    globals_ = [s for s in syms if s.bind != elf.STB_LOCAL]
    ordered = locals_ + globals_
    sym_index = {s.name: i + 1 for i, s in enumerate(ordered)}

    strtab = _StrTab()
    symtab = bytearray(lay.sym.pack(0, 0, 0, 0, 0, 0))
    data: bytes | bytearray
    for s in ordered:
        if s.section is None:
            shndx = elf.SHN_UNDEF
        elif s.section not in index:
            raise ELFError(f"symbol {s.name!r}: no section {s.section!r}")
        else:
            shndx = index[s.section]
        # Section symbols are unnamed in clang's output; the reader names them
        # after their section.
        name_off = 0 if s.type == elf.STT_SECTION else strtab.add(s.name)
        symtab += lay.sym.pack(name_off, (s.bind << 4) | s.type, s.visibility, shndx,
                               s.value, s.size)

    # (name, type, flags, data, nobits_size, link, info, align, entsize)
    out: list[tuple[str, int, int, bytes, int, int, int, int, int]] = []
    for sm in model.sections:
        out.append((sm.name, sm.type, sm.flags, sm.data, sm.nobits_size, 0, 0, sm.addralign,
                    sm.entsize))
    n_user = len(out)
    rel_targets = [t for t in names if model.relocations.get(t)]
    symtab_index = n_user + len(rel_targets) + 1
    for target in rel_targets:
        data = bytearray()
        for rel in model.relocations[target]:
            if rel.symbol not in sym_index:
                raise ELFError(f"relocation in {target}: no symbol {rel.symbol!r}")
            data += lay.rel.pack(rel.offset, (sym_index[rel.symbol] << 32) | rel.type)
        out.append((".rel" + target, elf.SHT_REL, elf.SHF_INFO_LINK, bytes(data), 0,
                    symtab_index, index[target], 8, elf.REL_SIZE))
    strtab_index = symtab_index + 1
    out.append((".symtab", elf.SHT_SYMTAB, 0, bytes(symtab), 0, strtab_index,
                len(locals_) + 1, 8, elf.SYM_SIZE))
    out.append((".strtab", elf.SHT_STRTAB, 0, bytes(strtab.data), 0, 0, 0, 1, 0))
    shstr = _StrTab()
    name_offs = [shstr.add(o[0]) for o in out]
    name_offs.append(shstr.add(".shstrtab"))
    out.append((".shstrtab", elf.SHT_STRTAB, 0, b"", 0, 0, 0, 1, 0))
    out[-1] = (".shstrtab", elf.SHT_STRTAB, 0, bytes(shstr.data), 0, 0, 0, 1, 0)

    body = bytearray()
    pos = elf.EHDR_SIZE
    headers = [lay.shdr.pack(0, 0, 0, 0, 0, 0, 0, 0, 0, 0)]
    for (_name, typ, flags, data, nobits, link, info, align, entsize), noff in zip(
        out, name_offs, strict=True
    ):
        start = _align(pos, align)
        body += bytes(start - pos)
        pos = start
        size = nobits if typ == elf.SHT_NOBITS else len(data)
        if typ != elf.SHT_NOBITS:
            body += data
            pos += len(data)
        headers.append(lay.shdr.pack(noff, typ, flags, 0, start, size, link, info, align,
                                     entsize))
    shoff = _align(pos, 8)
    body += bytes(shoff - pos)
    ident = bytes([0x7F, 0x45, 0x4C, 0x46, elf.ELFCLASS64,
                   elf.ELFDATA2LSB if byte_order == "<" else elf.ELFDATA2MSB, 1, 0])
    ident += bytes(8)
    ehdr = lay.ehdr.pack(elf.ET_REL, model.machine, 1, 0, 0, shoff, 0, elf.EHDR_SIZE, 0, 0,
                         elf.SHDR_SIZE, len(headers), len(headers) - 1)
    return ident + ehdr + bytes(body) + b"".join(headers)
