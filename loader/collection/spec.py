"""What an eBPF object declares, as plain data.

These are the results of :func:`loader.collection.load_collection_spec`: no file
handles, no kernel objects.  Type fields hold the numeric uapi values
(:mod:`loader.uapi` names them); BTF types are referred to by id into
``CollectionSpec.btf``.

Naming: maps and programs carry the names the ELF gives them (symbol names; the
section name for data section maps, as cilium/ebpf does).  libbpf renames data
section maps at open time (``<obj>.data``, cut to 15 characters); that is a
kernel-facing name, derived, and the libbpf oracle test derives it explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from loader.asm.instruction import Instruction
from loader.btf.ext import CoreRelo, FuncInfo, LineInfo
from loader.btf.spec import Spec as BTFSpec

ByteOrder = Literal["<", ">"]

# libbpf's LIBBPF_PIN_* values of the BTF map `pinning` member.
PIN_NONE = 0
PIN_BY_NAME = 1


@dataclass(frozen=True, slots=True)
class MapKV:
    """One initial element: ``value`` is bytes, or the name of the map / program
    whose fd goes there (map-in-map and prog-array ``values`` initialisers)."""

    key: int
    value: bytes | str


@dataclass(frozen=True, slots=True)
class StructOpsMember:
    """A function-pointer member of a struct_ops map's value, filled by a program
    (a relocation in ``.struct_ops``).  ``index`` is the member's position in the
    struct: what libbpf passes as the program's expected_attach_type."""

    member: str
    index: int
    # Byte offset of the member inside the map value.
    offset: int
    program: str


@dataclass(slots=True)
class MapSpec:
    name: str
    type: int
    key_size: int
    value_size: int
    max_entries: int
    flags: int = 0
    map_extra: int = 0
    numa_node: int = 0
    pinning: int = PIN_NONE
    # BTF type ids (0: none) of key and value; for data sections the value is the DATASEC.
    key_type_id: int = 0
    value_type_id: int = 0
    inner: MapSpec | None = None
    contents: tuple[MapKV, ...] = ()
    # The ELF section the definition came from.
    section: str = ""
    # Byte offset of the definition in that section (0 for data sections).
    section_offset: int = 0
    # A bpf_map_def from a legacy `maps` section: cilium/ebpf accepts these,
    # libbpf >= 1.0 refuses the whole object.
    legacy: bool = False
    # Bytes of a legacy definition past bpf_map_def (iproute2 keeps its own fields there).
    extra: bytes = b""
    # Data section maps of .rodata* (and .kconfig) are frozen after loading.
    freeze: bool = False
    # struct_ops maps: the members that programs implement, by member offset.
    struct_ops: tuple[StructOpsMember, ...] = ()


@dataclass(frozen=True, slots=True)
class VariableSpec:
    """A global variable of a data section (non-static, not hidden)."""

    name: str
    section: str
    offset: int
    size: int
    value: bytes
    # The BTF VAR's id, or 0 when the object has no BTF for it.
    type_id: int = 0
    constant: bool = False


@dataclass(frozen=True, slots=True)
class ExternSpec:
    """An ``extern`` resolved at load time: a kconfig value or a kernel symbol."""

    name: str
    kind: Literal["kconfig", "ksym"]
    # "var" for variables, "func" for kfuncs (ksyms only).
    what: Literal["var", "func"]
    weak: bool
    # The BTF VAR/FUNC id in .kconfig/.ksyms; 0 for an untyped ksym without BTF.
    type_id: int
    # Typed ksyms have a real BTF type; `extern const void sym __ksym` is untyped.
    typed: bool = True
    # Byte offset inside the .kconfig map (kconfig only).
    offset: int = 0
    size: int = 0


@dataclass(slots=True)
class ProgramSpec:
    name: str
    section: str
    type: int
    attach_type: int
    # BPF_F_SLEEPABLE, BPF_F_XDP_HAS_FRAGS, ... as the section name implies.
    flags: int
    # What follows the section prefix (function, tracepoint, ...), "" if nothing.
    attach_to: str
    license: str
    kernel_version: int
    # The program's own code followed by every function it reaches (linked).
    instructions: list[Instruction]
    # 8-byte slots of the program's own code before linking (libbpf's insn_cnt at open).
    insn_slots: int
    byte_order: ByteOrder
    # Names of the functions appended by linking, in order.
    linked: tuple[str, ...] = ()
    # Byte offset of the function inside its section.
    section_offset: int = 0
    # False for '?SEC' programs: libbpf opens them with autoload off.
    autoload: bool = True
    # STB_GLOBAL/STB_WEAK vs static.
    global_binding: bool = True
    # .BTF.ext records, each attached to an index into ``instructions``.
    func_infos: list[tuple[int, FuncInfo]] = field(default_factory=list)
    line_infos: list[tuple[int, LineInfo]] = field(default_factory=list)
    core_relos: list[tuple[int, CoreRelo]] = field(default_factory=list)


@dataclass(slots=True)
class CollectionSpec:
    maps: dict[str, MapSpec]
    programs: dict[str, ProgramSpec]
    variables: dict[str, VariableSpec]
    externs: dict[str, ExternSpec]
    btf: BTFSpec | None
    byte_order: ByteOrder
    license: str = ""
    kernel_version: int = 0
    # Functions only in .text: not programs, only reachable through calls.
    functions: dict[str, ProgramSpec] = field(default_factory=dict)
