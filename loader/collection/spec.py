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

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Protocol, TypeVar

from loader.asm.instruction import Instruction
from loader.btf.ext import CoreRelo, FuncInfo, LineInfo
from loader.btf.spec import Spec as BTFSpec

ByteOrder = Literal["<", ">"]

# libbpf's LIBBPF_PIN_* values of the BTF map `pinning` member.
PIN_NONE = 0
PIN_BY_NAME = 1

_new_object = object.__new__

# Positional constructors beside the classes below: what the loader builds per
# map and per relocation.  Calling a class in 3.11 goes through type.__call__
# and a separate __init__ frame, and a frozen one's __init__ calls
# object.__setattr__ per field (a lookup of the field's slot by name each
# time): these call the slots' own setters, and measured about half the time
# (MapKV) and 15% less (MapSpec).  Each sets every field as __init__ would; a
# test compares each with its class's constructor and field list.


@dataclass(frozen=True, slots=True)
class MapKV:
    """One initial element: ``value`` is bytes, or the name of the map / program
    whose fd goes there (map-in-map and prog-array ``values`` initialisers)."""

    key: int
    value: bytes | str


def map_kv(key: int, value: bytes | str) -> MapKV:
    """``MapKV(key, value)``, faster (see above)."""
    self = _new_object(MapKV)
    _kv_key(self, key)
    _kv_value(self, value)
    return self


# The slot setters of a frozen class (its __setattr__ refuses; these do not).
_kv_key, _kv_value = (MapKV.__dict__[f].__set__ for f in ("key", "value"))


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


def struct_ops_member(member: str, index: int, offset: int, program: str) -> StructOpsMember:
    """``StructOpsMember(member, index, offset, program)``, faster (see above)."""
    self = _new_object(StructOpsMember)
    _som_member(self, member)
    _som_index(self, index)
    _som_offset(self, offset)
    _som_program(self, program)
    return self


_som_member, _som_index, _som_offset, _som_program = (
    StructOpsMember.__dict__[f].__set__ for f in ("member", "index", "offset", "program")
)


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


def map_spec(
    name: str, type: int, key_size: int, value_size: int, max_entries: int, flags: int = 0,
    map_extra: int = 0, numa_node: int = 0, pinning: int = PIN_NONE, key_type_id: int = 0,
    value_type_id: int = 0, inner: MapSpec | None = None, contents: tuple[MapKV, ...] = (),
    section: str = "", section_offset: int = 0, legacy: bool = False, extra: bytes = b"",
    freeze: bool = False, struct_ops: tuple[StructOpsMember, ...] = (),
) -> MapSpec:
    """``MapSpec(...)`` with the same parameters and defaults, positional, faster
    (see above)."""
    self = _new_object(MapSpec)
    self.name = name
    self.type = type
    self.key_size = key_size
    self.value_size = value_size
    self.max_entries = max_entries
    self.flags = flags
    self.map_extra = map_extra
    self.numa_node = numa_node
    self.pinning = pinning
    self.key_type_id = key_type_id
    self.value_type_id = value_type_id
    self.inner = inner
    self.contents = contents
    self.section = section
    self.section_offset = section_offset
    self.legacy = legacy
    self.extra = extra
    self.freeze = freeze
    self.struct_ops = struct_ops
    return self


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


def variable_spec(name: str, section: str, offset: int, size: int, value: bytes,
                  type_id: int = 0, constant: bool = False) -> VariableSpec:
    """``VariableSpec(...)`` with the same parameters and defaults, positional,
    faster (see above: the frozen class's __init__ measured 9.0K instructions,
    this 5.4K)."""
    self = _new_object(VariableSpec)
    _var_name(self, name)
    _var_section(self, section)
    _var_offset(self, offset)
    _var_size(self, size)
    _var_value(self, value)
    _var_type_id(self, type_id)
    _var_constant(self, constant)
    return self


(_var_name, _var_section, _var_offset, _var_size, _var_value, _var_type_id,
 _var_constant) = (VariableSpec.__dict__[f].__set__ for f in (
     "name", "section", "offset", "size", "value", "type_id", "constant"))


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


# What a lazily built ProgramSpec computes on first access: (instructions,
# func_infos, line_infos, core_relos).
ProgramBody = tuple[list[Instruction], list[tuple[int, FuncInfo]], list[tuple[int, LineInfo]],
                    list[tuple[int, CoreRelo]]]

_T = TypeVar("_T")


class FunctionCode(Protocol):
    """Where the loader keeps a program section's code until it is looked at:
    the code of the function at ``index`` (:class:`loader.collection.programs.
    SectionCode`)."""

    def program_body(self, index: int) -> ProgramBody: ...

    def instructions_of(self, index: int) -> list[Instruction]: ...

    def infos_of(self, index: int) -> tuple[
        list[tuple[int, FuncInfo]], list[tuple[int, LineInfo]], list[tuple[int, CoreRelo]]
    ]: ...


def _own_code() -> ProgramBody:
    """The body of a spec made by :meth:`ProgramSpec.function`: its function's
    own code (a marker; ``_build`` reads it from ``_code`` at ``_index``)."""
    raise AssertionError("a marker, never called")


class _Built(Generic[_T]):
    """A ProgramSpec attribute the deferred body builds: reading or replacing it
    runs the body first (once), so no access sees the unbuilt state."""

    __slots__ = ("slot",)

    def __init__(self, slot: str) -> None:
        self.slot = slot

    def __get__(self, spec: ProgramSpec | None, owner: type[ProgramSpec]) -> _T:
        if spec is None:  # looked up on the class: there is no value to build
            raise AttributeError(self.slot.lstrip("_"))
        if spec._body is not None:
            spec._build()
        value: _T = getattr(spec, self.slot)
        return value

    def __set__(self, spec: ProgramSpec, value: _T) -> None:
        if spec._body is not None:
            spec._build()
        setattr(spec, self.slot, value)

_PROGRAM_FIELDS = (
    "name", "section", "type", "attach_type", "flags", "attach_to", "license",
    "kernel_version", "instructions", "insn_slots", "byte_order", "linked", "section_offset",
    "autoload", "global_binding", "func_infos", "line_infos", "core_relos",
)


class ProgramSpec:
    """One program (or hidden function) and its linked code.

    Plain data like the other specs, except that the loader may hand over the
    code unbuilt: ``instructions`` and the .BTF.ext lists are then decoded,
    annotated and linked on first access (libbpf too decodes and links at load,
    not open; every malformed input has already raised at open).  Comparison,
    repr and copying see the built values.
    """

    __slots__ = ("_body", "_callees", "_code", "_core_relos", "_func_infos", "_index",
                 "_instructions", "_line_infos",
                 "attach_to", "attach_type", "autoload", "byte_order", "flags",
                 "global_binding", "insn_slots", "kernel_version", "license", "linked", "name",
                 "section", "section_offset", "type")

    # Set only on the specs the loader makes with function(): what linking reads.
    _code: FunctionCode
    _index: int
    _callees: Sequence[str]

    # Mutable and compared by value, like a non-frozen dataclass.
    __hash__ = None  # type: ignore[assignment]

    def __init__(
        self, name: str, section: str, type: int, attach_type: int, flags: int,
        attach_to: str, license: str, kernel_version: int, instructions: list[Instruction],
        insn_slots: int, byte_order: ByteOrder, linked: tuple[str, ...] = (),
        section_offset: int = 0, autoload: bool = True, global_binding: bool = True,
        func_infos: list[tuple[int, FuncInfo]] | None = None,
        line_infos: list[tuple[int, LineInfo]] | None = None,
        core_relos: list[tuple[int, CoreRelo]] | None = None,
    ) -> None:
        self.name = name
        self.section = section
        self.type = type
        self.attach_type = attach_type
        # BPF_F_SLEEPABLE, BPF_F_XDP_HAS_FRAGS, ... as the section name implies.
        self.flags = flags
        # What follows the section prefix (function, tracepoint, ...), "" if nothing.
        self.attach_to = attach_to
        self.license = license
        self.kernel_version = kernel_version
        # 8-byte slots of the program's own code before linking (libbpf's insn_cnt at open).
        self.insn_slots = insn_slots
        self.byte_order: ByteOrder = byte_order
        # Names of the functions appended by linking, in order.
        self.linked = linked
        # Byte offset of the function inside its section.
        self.section_offset = section_offset
        # False for '?SEC' programs: libbpf opens them with autoload off.
        self.autoload = autoload
        # STB_GLOBAL/STB_WEAK vs static.
        self.global_binding = global_binding
        self._body: Callable[[], ProgramBody] | None = None
        # The program's own code followed by every function it reaches (linked).
        self._instructions = instructions
        # .BTF.ext records, each attached to an index into ``instructions``.
        self._func_infos = [] if func_infos is None else func_infos
        self._line_infos = [] if line_infos is None else line_infos
        self._core_relos = [] if core_relos is None else core_relos

    @classmethod
    def function(
        cls, name: str, section: str, type: int, attach_type: int, flags: int,
        attach_to: str, license: str, kernel_version: int, insn_slots: int,
        byte_order: ByteOrder, section_offset: int, autoload: bool, global_binding: bool,
        code: FunctionCode, index: int,
    ) -> ProgramSpec:
        """The spec of one function of a program section, as the loader opens it,
        its code unbuilt: function ``index`` of ``code``, decoded (with its
        .BTF.ext lists) on first access (the loader makes one per function, most
        never looked at).  The loader links it later (setting ``linked`` and a
        body of the linked code) if it is a program that calls anything;
        ``_callees`` (the functions it references, by name, set by the loader)
        and ``_code`` and ``_index`` are what linking reads.  (The spec itself
        is the linker's node: no second object per function.)
        """
        # Positional, and the code slots are left unset rather than filled with
        # empty lists that the first access replaces: every read of them goes
        # through ``_build`` first (the properties, ``_values``), so none can see
        # the difference.  Keyword matching against __init__'s 18 parameters
        # measured ~8x slower; the fields are written out as in __init__ rather
        # than set by a shared helper: one more call per function measured 1-3%
        # of a whole load.
        self = _new_object(cls)
        self.name = name
        self.section = section
        self.type = type
        self.attach_type = attach_type
        self.flags = flags
        self.attach_to = attach_to
        self.license = license
        self.kernel_version = kernel_version
        self.insn_slots = insn_slots
        self.byte_order = byte_order
        self.linked = ()
        self.section_offset = section_offset
        self.autoload = autoload
        self.global_binding = global_binding
        self._body = _own_code
        self._code = code
        self._index = index
        self._callees = ()
        return self

    def link(self, linked: tuple[str, ...], body: Callable[[], ProgramBody]) -> None:
        """Make this unbuilt function spec a linked program: ``linked`` names the
        functions appended, ``body`` builds the linked code on first access."""
        assert self._body is not None, "linking a spec whose code is built"
        self.linked = linked
        self._body = body

    def _build(self) -> None:
        body = self._body
        assert body is not None
        (self._instructions, self._func_infos, self._line_infos, self._core_relos) = (
            self._code.program_body(self._index) if body is _own_code else body()
        )
        self._body = None

    instructions: _Built[list[Instruction]] = _Built("_instructions")
    func_infos: _Built[list[tuple[int, FuncInfo]]] = _Built("_func_infos")
    line_infos: _Built[list[tuple[int, LineInfo]]] = _Built("_line_infos")
    core_relos: _Built[list[tuple[int, CoreRelo]]] = _Built("_core_relos")

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, f) for f in _PROGRAM_FIELDS)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, ProgramSpec)
        return self._values() == other._values()

    def __repr__(self) -> str:
        inner = ", ".join(f"{f}={getattr(self, f)!r}" for f in _PROGRAM_FIELDS)
        return f"{self.__class__.__qualname__}({inner})"

    def __reduce__(self) -> tuple[type[ProgramSpec], tuple[Any, ...]]:
        # Copies and pickles carry the built code, never the builder.
        return (self.__class__, self._values())


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
