"""Target ``elf``: load_collection_spec on raw bytes (the whole ELF reader).

Oracle: only LoaderError escapes.  The structure-aware mutator edits one section
header, symbol, relocation or section body (including .BTF) of a parsed object.
"""

from __future__ import annotations

from fuzz.mutators import elf_mutator as custom_mutator
from loader.collection import load_collection_spec
from loader.errors import LoaderError

__all__ = ["TestOneInput", "custom_mutator"]


def TestOneInput(data: bytes) -> None:
    try:
        load_collection_spec(data)
    except LoaderError:
        pass
