"""Malformed ELF: every class of damage becomes ELFError naming where and what.

Each case patches one field of a real corpus object (located through pyelftools,
so the test does not trust loader.elf to find what it breaks) and expects
ELFError with the bad value in the message.  A bounded hypothesis test then
mutates corpus objects at random: only LoaderError may escape.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile as PyELFFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loader.asm import decode
from loader.elf import SHN_XINDEX, SHT_REL, SHT_SYMTAB, ELFFile
from loader.errors import ELFError, LoaderError

CORPUS_OBJ = Path(__file__).resolve().parents[1] / "corpus" / "obj"
OBJECTS = sorted(CORPUS_OBJ.glob("*.o"))

# Field offsets in Elf64_Ehdr / Elf64_Shdr / Elf64_Sym (from the ELF specification).
E_MACHINE, E_SHOFF, E_SHENTSIZE, E_SHNUM, E_SHSTRNDX = 18, 40, 58, 60, 62
SH_NAME, SH_TYPE, SH_OFFSET, SH_SIZE, SH_LINK, SH_INFO, SH_ENTSIZE = 0, 4, 24, 32, 40, 44, 56
ST_NAME, ST_SHNDX = 0, 6


def _pick(order: str) -> Path:
    suffix = ".el.o" if order == "<" else ".eb.o"
    for path in OBJECTS:
        if path.name.endswith(suffix):
            return path
    pytest.fail(f"no {suffix} object in {CORPUS_OBJ}")


class Obj:
    """A mutable copy of a corpus object and where its records live."""

    def __init__(self, order: str) -> None:
        self.order = order
        self.data = bytearray(_pick(order).read_bytes())
        ref = PyELFFile(io.BytesIO(bytes(self.data)))
        self.shoff: int = ref["e_shoff"]
        self.shnum: int = ref["e_shnum"]
        self.index = {s.name: i for i, s in enumerate(ref.iter_sections())}
        kinds = [s["sh_type"] for s in ref.iter_sections()]
        self.symtab = kinds.index("SHT_SYMTAB")
        self.strtab: int = ref.get_section(self.symtab)["sh_link"]
        self.shstrndx: int = ref["e_shstrndx"]
        self.rel = next(i for i, s in enumerate(ref.iter_sections())
                        if s["sh_type"] == "SHT_REL" and not s.name.startswith(".rel.debug")
                        and not s.name.startswith(".rel.BTF"))
        self.sym_off: int = ref.get_section(self.symtab)["sh_offset"]
        target = ref.get_section(self.rel)["sh_info"]
        # A section no other case relies on, to retype.
        self.spare = next(i for i in range(1, self.shnum)
                          if i not in (self.shstrndx, self.symtab, self.rel, target))

    def put(self, fmt: str, offset: int, value: int) -> None:
        struct.pack_into(self.order + fmt, self.data, offset, value)

    def get(self, fmt: str, offset: int) -> int:
        value: int = struct.unpack_from(self.order + fmt, self.data, offset)[0]
        return value

    def shdr(self, index: int, field: int) -> int:
        return self.shoff + index * 64 + field

    def parse(self) -> ELFFile:
        elf = ELFFile(bytes(self.data))
        _ = elf.symbols
        for sec in elf.sections:
            elf.relocations(sec)
        return elf


Case = Callable[[Obj], str]


def _short(o: Obj) -> str:
    del o.data[40:]
    return "40 bytes"


def _magic(o: Obj) -> str:
    o.data[0:4] = b"\x7fELG"
    return "ELG"


def _class32(o: Obj) -> str:
    o.data[4] = 1
    return "ELF class 1"


def _data_enc(o: Obj) -> str:
    o.data[5] = 7
    return "encoding 7"


def _machine(o: Obj) -> str:
    o.put("H", E_MACHINE, 62)
    return "e_machine 62"


def _shoff_past_end(o: Obj) -> str:
    o.put("Q", E_SHOFF, len(o.data) + 4096)
    return f"e_shoff {len(o.data) + 4096}"


def _shnum_absurd(o: Obj) -> str:
    o.put("H", E_SHNUM, 0xFEFF)
    return f"{0xFEFF} section headers"


def _shentsize(o: Obj) -> str:
    o.put("H", E_SHENTSIZE, 40)
    return "e_shentsize 40"


def _shstrndx_range(o: Obj) -> str:
    o.put("H", E_SHSTRNDX, o.shnum + 3)
    return f"e_shstrndx {o.shnum + 3}"


def _shstrndx_type(o: Obj) -> str:
    o.put("H", E_SHSTRNDX, o.symtab)
    return f"e_shstrndx {o.symtab}"


def _xindex_extended_count_zero(o: Obj) -> str:
    o.put("H", E_SHNUM, 0)  # extended numbering, but section 0's sh_size is 0
    return "sh_size 0"


def _section_past_end(o: Obj) -> str:
    i = o.index[".BTF"] if ".BTF" in o.index else o.symtab
    o.put("Q", o.shdr(i, SH_SIZE), len(o.data))
    return f"size {len(o.data)}"


def _section_offset_overflow(o: Obj) -> str:
    o.put("Q", o.shdr(o.symtab, SH_OFFSET), 2**64 - 8)
    return str(2**64 - 8)


def _name_outside_strtab(o: Obj) -> str:
    o.put("I", o.shdr(1, SH_NAME), 0x7FFFFFF0)
    return f"name offset {0x7FFFFFF0}"


def _name_unterminated(o: Obj) -> str:
    # Make every byte of .shstrtab non-NUL from section 1's name on.
    start = o.get("Q", o.shdr(o.shstrndx, SH_OFFSET))
    size = o.get("Q", o.shdr(o.shstrndx, SH_SIZE))
    name = o.get("I", o.shdr(1, SH_NAME))
    o.data[start + name : start + size] = b"A" * (size - name)
    return "not NUL-terminated"


def _name_not_utf8(o: Obj) -> str:
    start = o.get("Q", o.shdr(o.shstrndx, SH_OFFSET))
    name = o.get("I", o.shdr(1, SH_NAME))
    o.data[start + name] = 0xFF
    return "not UTF-8"


def _symtab_entsize(o: Obj) -> str:
    o.put("Q", o.shdr(o.symtab, SH_ENTSIZE), 16)
    return "sh_entsize 16"


def _symtab_size(o: Obj) -> str:
    size = o.get("Q", o.shdr(o.symtab, SH_SIZE))
    o.put("Q", o.shdr(o.symtab, SH_SIZE), size - 5)
    return f"sh_size {size - 5}"


def _symtab_link_range(o: Obj) -> str:
    o.put("I", o.shdr(o.symtab, SH_LINK), 999)
    return "sh_link 999"


def _symtab_link_type(o: Obj) -> str:
    o.put("I", o.shdr(o.symtab, SH_LINK), o.symtab)
    return f"sh_link {o.symtab}"


def _symtab_info(o: Obj) -> str:
    o.put("I", o.shdr(o.symtab, SH_INFO), 100000)
    return "sh_info 100000"


def _second_symtab(o: Obj) -> str:
    o.put("I", o.shdr(o.spare, SH_TYPE), SHT_SYMTAB)
    return "second SHT_SYMTAB"


def _st_shndx(o: Obj) -> str:
    o.put("H", o.sym_off + 24 + ST_SHNDX, 0xFE00)
    return f"st_shndx {0xFE00}"


def _xindex_without_table(o: Obj) -> str:
    o.put("H", o.sym_off + 24 + ST_SHNDX, SHN_XINDEX)
    return "no SHT_SYMTAB_SHNDX"


def _symbol_name(o: Obj) -> str:
    o.put("I", o.sym_off + 24 + ST_NAME, 0x0FFFFFFF)
    return f"name offset {0x0FFFFFFF}"


def _rel_info_range(o: Obj) -> str:
    o.put("I", o.shdr(o.rel, SH_INFO), 4000)
    return "sh_info 4000"


def _rel_entsize(o: Obj) -> str:
    o.put("Q", o.shdr(o.rel, SH_ENTSIZE), 24)
    return "sh_entsize 24"


def _rel_size(o: Obj) -> str:
    size = o.get("Q", o.shdr(o.rel, SH_SIZE))
    o.put("Q", o.shdr(o.rel, SH_SIZE), size - 3)
    return f"sh_size {size - 3}"


def _rel_link(o: Obj) -> str:
    o.put("I", o.shdr(o.rel, SH_LINK), o.strtab)
    return f"sh_link {o.strtab}"


def _rel_symbol(o: Obj) -> str:
    off = o.get("Q", o.shdr(o.rel, SH_OFFSET))
    info = o.get("Q", off + 8)
    o.put("Q", off + 8, (0xABCDE << 32) | (info & 0xFFFFFFFF))
    return f"symbol {0xABCDE}"


def _second_rel(o: Obj) -> str:
    # Turn a spare section into a second REL for the same target.
    target = o.get("I", o.shdr(o.rel, SH_INFO))
    o.put("I", o.shdr(o.spare, SH_TYPE), SHT_REL)
    o.put("I", o.shdr(o.spare, SH_INFO), target)
    return f"second SHT_REL for section {target}"


CASES: dict[str, Case] = {f.__name__.lstrip("_"): f for f in (
    _short, _magic, _class32, _data_enc, _machine, _shoff_past_end, _shnum_absurd,
    _shentsize, _shstrndx_range, _shstrndx_type, _xindex_extended_count_zero,
    _section_past_end, _section_offset_overflow, _name_outside_strtab, _name_unterminated,
    _name_not_utf8, _symtab_entsize, _symtab_size, _symtab_link_range, _symtab_link_type,
    _symtab_info, _second_symtab, _st_shndx, _xindex_without_table, _symbol_name,
    _rel_info_range, _rel_entsize, _rel_size, _rel_link, _rel_symbol, _second_rel,
)}


@pytest.mark.parametrize("order", ["<", ">"], ids=["el", "eb"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_raises_elf_error(case: str, order: str) -> None:
    obj = Obj(order)
    obj.parse()  # intact, it parses
    expected = CASES[case](obj)
    with pytest.raises(ELFError) as info:
        obj.parse()
    assert expected in str(info.value)


def _load_everything(data: bytes) -> None:
    elf = ELFFile(data)
    _ = elf.symbols
    for sec in elf.sections:
        if sec.name.startswith(".debug"):
            continue
        elf.relocations(sec)
        if sec.is_executable:
            decode(sec.data(), elf.byte_order)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    which=st.integers(min_value=0, max_value=max(len(OBJECTS) - 1, 0)),
    edits=st.lists(
        st.tuples(st.integers(min_value=0, max_value=1 << 20), st.integers(0, 255)),
        min_size=1, max_size=8,
    ),
    focus=st.sampled_from(["header", "shdrs", "anywhere"]),
    cut=st.one_of(st.none(), st.integers(min_value=0, max_value=1 << 20)),
)
def test_mutated_objects_raise_only_loader_errors(
    which: int, edits: list[tuple[int, int]], focus: str, cut: int | None
) -> None:
    assert OBJECTS, f"no corpus objects in {CORPUS_OBJ}"
    data = bytearray(OBJECTS[which].read_bytes())
    shoff = int.from_bytes(data[40:48], "little" if data[5] == 1 else "big")
    for pos, byte in edits:
        if focus == "header":
            pos %= 64
        elif focus == "shdrs" and shoff < len(data):
            pos = shoff + pos % (len(data) - shoff)
        else:
            pos %= len(data)
        data[pos] = byte
    if cut is not None:
        del data[cut % (len(data) + 1) :]
    try:
        _load_everything(bytes(data))
    except LoaderError:
        pass


@pytest.mark.parametrize("order", ["<", ">"], ids=["el", "eb"])
def test_extended_section_numbering_is_read(order: str) -> None:
    """e_shnum 0 / e_shstrndx SHN_XINDEX defer to section 0's sh_size / sh_link."""
    obj = Obj(order)
    before = [(s.name, s.type, s.offset) for s in obj.parse().sections]
    obj.put("Q", obj.shdr(0, SH_SIZE), obj.shnum)
    obj.put("I", obj.shdr(0, SH_LINK), obj.shstrndx)
    obj.put("H", E_SHNUM, 0)
    obj.put("H", E_SHSTRNDX, SHN_XINDEX)
    after = [(s.name, s.type, s.offset) for s in obj.parse().sections]
    assert after[1:] == before[1:]


def _with_shndx_table(obj: Obj) -> tuple[int, int, int]:
    """Retype a spare section into SHT_SYMTAB_SHNDX for the symbol table; move one
    symbol's st_shndx into it.  Returns (symbol index, its section, table offset)."""
    ref = obj.parse()
    count = len(ref.symbols)
    sym = next(s for s in ref.symbols if 0 < s.shndx < len(ref.sections))
    spare = next(s for s in ref.sections if s.index not in (0, obj.shstrndx, obj.symtab)
                 and s.size >= 4 * count and s.type != 8)
    obj.put("I", obj.shdr(spare.index, SH_TYPE), 18)  # SHT_SYMTAB_SHNDX
    obj.put("I", obj.shdr(spare.index, SH_LINK), obj.symtab)
    obj.put("H", obj.sym_off + 24 * sym.index + ST_SHNDX, SHN_XINDEX)
    return sym.index, sym.shndx, spare.offset + 4 * sym.index


@pytest.mark.parametrize("order", ["<", ">"], ids=["el", "eb"])
def test_shn_xindex_resolved_through_symtab_shndx(order: str) -> None:
    obj = Obj(order)
    index, shndx, slot = _with_shndx_table(obj)
    obj.put("I", slot, shndx)
    assert obj.parse().symbols[index].shndx == shndx
    obj.put("I", slot, 70000)
    with pytest.raises(ELFError, match="extended st_shndx 70000"):
        obj.parse()
