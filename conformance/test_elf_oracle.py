"""loader.elf against pyelftools 0.33 on every corpus object, both byte orders.

Section headers, every symbol field and the relocations of every REL section
that targets a non-debug section must equal what pyelftools reads.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from elftools.elf import enums as pe_enums
from elftools.elf.elffile import ELFFile as PyELFFile
from elftools.elf.relocation import RelocationSection
from elftools.elf.sections import SymbolTableSection

from loader.elf import SHT_REL, ELFFile

CORPUS_OBJ = Path(__file__).resolve().parents[1] / "corpus" / "obj"
OBJECTS = sorted(CORPUS_OBJ.glob("*.o"))

pytestmark = pytest.mark.oracle


def _value(raw: Any, table: dict[str, int]) -> int:
    """pyelftools turns known enum values into names; map them back to numbers."""
    return raw if isinstance(raw, int) else table[raw]


def _is_debug(name: str) -> bool:
    return name.startswith(".debug") or name.startswith(".BTF")


def test_corpus_has_both_byte_orders() -> None:
    names = {p.name for p in OBJECTS}
    assert names, f"no corpus objects in {CORPUS_OBJ}"
    for name in names:
        twin = name.replace(".el.o", ".eb.o") if ".el.o" in name else name.replace(".eb.o", ".el.o")
        assert twin in names, f"{name} has no twin of the other byte order"


def test_corpus_has_code_relocations() -> None:
    total = 0
    for path in OBJECTS:
        elf = ELFFile(path.read_bytes())
        total += sum(len(elf.relocations(s)) for s in elf.sections if s.is_executable)
    assert total > 0, "no corpus object has a relocation in code: the oracle test is vacuous"


def test_header_and_sections_match_pyelftools(corpus_object: Path) -> None:
    data = corpus_object.read_bytes()
    ours = ELFFile(data)
    theirs = PyELFFile(io.BytesIO(data))
    assert ours.byte_order == ("<" if theirs.little_endian else ">")
    assert ours.machine == _value(theirs["e_machine"], pe_enums.ENUM_E_MACHINE)
    assert ours.type == _value(theirs["e_type"], pe_enums.ENUM_E_TYPE)
    their_sections = list(theirs.iter_sections())
    assert len(ours.sections) == len(their_sections)
    for sec, ref in zip(ours.sections, their_sections, strict=True):
        h = ref.header
        got = (sec.name, sec.type, sec.flags, sec.addr, sec.offset, sec.size, sec.link,
               sec.info, sec.addralign, sec.entsize)
        want = (ref.name, _value(h["sh_type"], pe_enums.ENUM_SH_TYPE_BASE), h["sh_flags"],
                h["sh_addr"], h["sh_offset"], h["sh_size"], h["sh_link"], h["sh_info"],
                h["sh_addralign"], h["sh_entsize"])
        assert got == want, f"section {sec.index}"
        if want[1] != 8:  # SHT_NOBITS has no bytes in the file
            assert bytes(sec.data()) == ref.data(), f"section {sec.index} ({sec.name}) contents"
        assert ours.section_by_name(sec.name) is not None


def test_symbols_match_pyelftools(corpus_object: Path) -> None:
    data = corpus_object.read_bytes()
    ours = ELFFile(data)
    theirs = PyELFFile(io.BytesIO(data))
    tables = [s for s in theirs.iter_sections() if isinstance(s, SymbolTableSection)
              and s["sh_type"] == "SHT_SYMTAB"]
    assert len(tables) == 1
    want = []
    for i, sym in enumerate(tables[0].iter_symbols()):
        e = sym.entry
        want.append((
            i, sym.name, e["st_value"], e["st_size"],
            _value(e["st_info"]["bind"], pe_enums.ENUM_ST_INFO_BIND),
            _value(e["st_info"]["type"], pe_enums.ENUM_ST_INFO_TYPE),
            _value(e["st_other"]["visibility"], pe_enums.ENUM_ST_VISIBILITY),
            _value(e["st_shndx"], pe_enums.ENUM_ST_SHNDX),
        ))
    got = [tuple(s) for s in ours.symbols]
    assert len(got) > 1
    assert got == want


def test_relocations_match_pyelftools(corpus_object: Path) -> None:
    data = corpus_object.read_bytes()
    ours = ELFFile(data)
    theirs = PyELFFile(io.BytesIO(data))
    for ref in theirs.iter_sections():
        if not isinstance(ref, RelocationSection) or ref["sh_type"] != "SHT_REL":
            continue
        target = ours.sections[ref["sh_info"]]
        rel = ours.rel_section(target)
        assert rel is not None and rel.name == ref.name and rel.type == SHT_REL
        if _is_debug(target.name):
            continue
        want = [(r["r_offset"], r["r_info_sym"], r["r_info_type"]) for r in ref.iter_relocations()]
        got = [tuple(r) for r in ours.relocations(target)]
        assert got == want, f"{ref.name}"
    # Some objects have no code relocations; test_corpus_has_code_relocations
    # checks that the corpus as a whole has them, so this is not vacuous.
