"""BTF: reading, writing and dumping the BPF Type Format.

``parse_raw`` opens a raw blob by indexing it (one pass over the type section,
no per-type objects) and decodes types on demand; see :mod:`loader.btf.spec`.
"""

from __future__ import annotations

from loader.btf.elf import parse_elf
from loader.btf.encode import encode, encode_types, spec_from_types
from loader.btf.spec import Spec
from loader.btf.spec import open_raw as parse_raw

__all__ = ["Spec", "encode", "encode_types", "parse_elf", "parse_raw", "spec_from_types"]
