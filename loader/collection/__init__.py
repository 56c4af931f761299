"""The ELF reader proper: maps, global data, externs, programs, relocations and
subprogram linking, producing a :class:`CollectionSpec`."""

from __future__ import annotations

from loader.collection.reader import load_collection_spec
from loader.collection.spec import (
    CollectionSpec,
    ExternSpec,
    MapKV,
    MapSpec,
    ProgramSpec,
    StructOpsMember,
    VariableSpec,
)

__all__ = [
    "CollectionSpec",
    "ExternSpec",
    "MapKV",
    "MapSpec",
    "ProgramSpec",
    "StructOpsMember",
    "VariableSpec",
    "load_collection_spec",
]
