"""Target ``elf_container``: the ELF layer alone (loader.elf.ELFFile).

Reads everything an eBPF loader asks of it: every section's bytes, the symbols and
the relocations of every section.
"""

from __future__ import annotations

from fuzz.mutators import elf_mutator as custom_mutator
from loader.elf import ELFFile
from loader.errors import LoaderError

__all__ = ["TestOneInput", "custom_mutator"]


def TestOneInput(data: bytes) -> None:
    try:
        elf = ELFFile(data)
        for sec in elf.sections:
            sec.data()
        elf.symbols  # noqa: B018 - the property parses the symbol table
        for sec in elf.sections:
            elf.relocations(sec)
    except LoaderError:
        pass
