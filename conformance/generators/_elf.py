"""eBPF object models: programs whose instruction streams reference maps, global
data and subprograms through real relocations, with BTF that matches.

Shapes follow what clang 14 emits for the equivalent C: BTF-defined maps as
anonymous structs of ``int (*type)[T]`` style members in ``.maps`` (map-in-map
through a ``values`` flexible array of pointers to the inner definition),
legacy ``bpf_map_def`` in ``maps``, globals in ``.data``/``.rodata``/``.bss``
with a VAR per symbol in the section's DATASEC, bpf-to-bpf calls as
``call -1`` with R_BPF_64_32 against the callee's symbol in ``.text``, and
ld_imm64 with R_BPF_64_64 against map and variable symbols.  Alongside the
model, :class:`Expected` records what a loader must find in it.
"""

from __future__ import annotations

import copy
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from conformance.generators._draw import Draw
from loader import asm, elf
from loader.asm import builders as b
from loader.btf import encode_types
from loader.btf import records as r
from loader.btf import types as t
from loader.elfwrite import (
    R_BPF_64_32,
    R_BPF_64_64,
    ObjectModel,
    RelocationModel,
    SectionModel,
    SymbolModel,
    write_elf,
)
from loader.uapi import MapType

_PROG_SECTIONS = ("xdp", "socket", "kprobe/do_sys_open", "tracepoint/syscalls/sys_enter_openat",
                  "tc", "cgroup_skb/ingress", "raw_tracepoint/sched_switch", "perf_event")
_MAP_TYPES = (MapType.HASH, MapType.ARRAY, MapType.PERCPU_ARRAY, MapType.LRU_HASH,
              MapType.PERCPU_HASH)
_DATA_SECTIONS = (".data", ".rodata", ".bss")
_LICENSES = ("GPL", "Dual BSD/GPL", "MIT")


@dataclass(frozen=True, slots=True)
class ExpectedMap:
    name: str
    type: int
    key_size: int
    value_size: int
    max_entries: int
    flags: int = 0
    legacy: bool = False
    inner: ExpectedMap | None = None


@dataclass(frozen=True, slots=True)
class ExpectedVariable:
    name: str
    section: str
    offset: int
    size: int
    value: int  # the initial value; its bytes depend on the byte order

    def value_bytes(self, byte_order: elf.ByteOrder) -> bytes:
        return self.value.to_bytes(self.size, "little" if byte_order == "<" else "big")


@dataclass(frozen=True, slots=True)
class ExpectedProgram:
    name: str
    section: str
    # The program's own instructions (before linking), encoded little-endian
    # without relocation results, and what each ld_imm64/call refers to.
    instructions: tuple[asm.Instruction, ...]
    references: tuple[str | None, ...]
    calls: tuple[str, ...]


@dataclass(slots=True)
class ELFObject:
    """An object model and what it determines."""

    model: ObjectModel
    license: str
    maps: dict[str, ExpectedMap] = field(default_factory=dict)
    variables: dict[str, ExpectedVariable] = field(default_factory=dict)
    programs: dict[str, ExpectedProgram] = field(default_factory=dict)
    subprograms: dict[str, ExpectedProgram] = field(default_factory=dict)
    has_btf: bool = False
    btf_types: tuple[t.Type, ...] = ()
    # Section contents per byte order (the model's own bytes are placeholders).
    contents: dict[str, Callable[[elf.ByteOrder], bytes]] = field(default_factory=dict)

    @property
    def legacy_maps(self) -> bool:
        return any(m.legacy for m in self.maps.values())

    def model_for(self, byte_order: elf.ByteOrder) -> ObjectModel:
        model = copy.deepcopy(self.model)
        for sec in model.sections:
            fill = self.contents.get(sec.name)
            if fill is not None:
                sec.data = fill(byte_order)
        return model

    def write(self, byte_order: elf.ByteOrder = "<") -> bytes:
        return write_elf(self.model_for(byte_order), byte_order)


class _BTF:
    """The object's .BTF, built type by type (ids from 1)."""

    def __init__(self) -> None:
        self.types: list[t.Type] = []
        self.int_id = self.add(t.Int("int", 4, r.BTF_INT_SIGNED, 0, 32))
        self.u64_id = self.add(t.Int("long long unsigned int", 8, 0, 0, 64))
        self.char_id = self.add(t.Int("char", 1, r.BTF_INT_SIGNED, 0, 8))
        self._uint: dict[int, int] = {}

    def add(self, typ: t.Type) -> int:
        self.types.append(typ)
        return len(self.types)

    def uint_ptr(self, value: int) -> int:
        """``int (*)[value]``: libbpf's __uint() encoding."""
        if value not in self._uint:
            arr = self.add(t.Array(self.int_id, self.int_id, value))
            self._uint[value] = self.add(t.Pointer(arr))
        return self._uint[value]

    def sized(self, size: int) -> int:
        if size == 4:
            return self.int_id
        if size == 8:
            return self.u64_id
        return self.add(t.Array(self.char_id, self.int_id, size))

    def map_struct(self, m: ExpectedMap, inner_struct: int = 0) -> int:
        members = [t.Member("type", self.uint_ptr(m.type), 0),
                   t.Member("max_entries", self.uint_ptr(m.max_entries), 64)]
        off = 128
        if m.flags:
            members.append(t.Member("map_flags", self.uint_ptr(m.flags), off))
            off += 64
        members.append(t.Member("key", self.add(t.Pointer(self.sized(m.key_size))), off))
        off += 64
        if inner_struct:
            values = self.add(t.Array(self.add(t.Pointer(inner_struct)), self.int_id, 0))
            members.append(t.Member("values", values, off))
        else:
            members.append(t.Member("value", self.add(t.Pointer(self.sized(m.value_size))),
                                    off))
            off += 64
        return self.add(t.Struct("", off // 8, tuple(members)))


def build_elf(draw: Draw, *, legacy_maps: bool | None, btf: bool | None) -> ELFObject:
    model = ObjectModel()
    use_btf = draw.bool(0.8) if btf is None else btf
    use_legacy = (draw.bool(0.2) if legacy_maps is None else legacy_maps)
    bt = _BTF()
    lic = draw.choice(_LICENSES)
    obj = ELFObject(model, lic, has_btf=use_btf)
    datasec_vars: dict[str, list[t.VarSecinfo]] = {}

    # -- maps ---------------------------------------------------------------
    targets: list[str] = []  # symbols an ld_imm64 may reference
    if use_legacy:
        data = bytearray()
        for i in range(draw.int(1, 3)):
            name = f"legacy_map{i}"
            m = ExpectedMap(name, int(draw.choice(_MAP_TYPES)), draw.choice((4, 8)),
                            draw.choice((4, 8, 16)), draw.int(1, 1024), legacy=True)
            model.symbols.append(SymbolModel(name, "maps", len(data), 20,
                                             type=elf.STT_OBJECT))
            data += bytes(20)
            obj.maps[name] = m
            targets.append(name)
        defs = [m for m in obj.maps.values() if m.legacy]
        obj.contents["maps"] = lambda bo: b"".join(
            struct.pack(bo + "5I", m.type, m.key_size, m.value_size, m.max_entries, m.flags)
            for m in defs)
        model.sections.append(SectionModel("maps", data=bytes(data), flags=elf.SHF_ALLOC
                                           | elf.SHF_WRITE, addralign=4))
    if use_btf:
        off = 0
        entries: list[t.VarSecinfo] = []
        for i in range(draw.int(0, 3)):
            name = f"map{i}"
            inner: ExpectedMap | None = None
            inner_struct = 0
            if draw.bool(0.25):
                inner = ExpectedMap("", int(MapType.ARRAY), 4, draw.choice((4, 8)),
                                    draw.int(1, 64))
                inner_struct = bt.map_struct(inner)
                mtype = int(draw.choice((MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS)))
                m = ExpectedMap(name, mtype, 4, 4, draw.int(1, 64), inner=inner)
            else:
                flags = 1 if draw.bool(0.2) else 0  # BPF_F_NO_PREALLOC
                mtype = int(MapType.HASH) if flags else int(draw.choice(_MAP_TYPES))
                m = ExpectedMap(name, mtype, draw.choice((4, 8, 12)),
                                draw.choice((4, 8, 16, 24)), draw.int(1, 4096), flags)
            sid = bt.map_struct(m, inner_struct)
            size = sum(8 for _ in _members(bt, sid))
            vid = bt.add(t.Var(name, sid, r.BTF_VAR_GLOBAL_ALLOCATED))
            entries.append(t.VarSecinfo(vid, off, size))
            model.symbols.append(SymbolModel(name, ".maps", off, size, type=elf.STT_OBJECT))
            obj.maps[name] = m
            targets.append(name)
            off += size
        if entries:
            model.sections.append(SectionModel(".maps", data=bytes(off),
                                               flags=elf.SHF_ALLOC | elf.SHF_WRITE))
            datasec_vars[".maps"] = entries

    # -- global data ---------------------------------------------------------
    for sec in _DATA_SECTIONS:
        if not draw.bool(0.4):
            continue
        data = bytearray()
        entries = []
        for i in range(draw.int(1, 3)):
            name = f"{sec[1:]}_var{i}"
            size = draw.choice((4, 8))
            off = len(data)
            value = 0 if sec == ".bss" else draw.int(0, 0xFFFF)
            data += bytes(size)
            model.symbols.append(SymbolModel(name, sec, off, size, type=elf.STT_OBJECT))
            obj.variables[name] = ExpectedVariable(name, sec, off, size, value)
            if use_btf:
                tid = bt.sized(size)
                if sec == ".rodata":
                    tid = bt.add(t.Const(tid))
                vid = bt.add(t.Var(name, tid, r.BTF_VAR_GLOBAL_ALLOCATED))
                entries.append(t.VarSecinfo(vid, off, size))
            targets.append(name)
        flags = elf.SHF_ALLOC | (0 if sec == ".rodata" else elf.SHF_WRITE)
        if sec == ".bss":
            model.sections.append(SectionModel(sec, elf.SHT_NOBITS, flags,
                                               nobits_size=len(data)))
        else:
            model.sections.append(SectionModel(sec, data=bytes(data), flags=flags))
            in_sec = [v for v in obj.variables.values() if v.section == sec]
            obj.contents[sec] = _values_writer(in_sec)
        if use_btf:
            datasec_vars[sec] = entries

    # -- subprograms in .text -------------------------------------------------
    text = bytearray()
    subs: list[str] = []
    for i in range(draw.int(0, 2)):
        name = f"sub{i}"
        body = [b.mov64_reg(0, 1), b.alu64_imm(asm.opcodes.BPF_ADD, 0, draw.int(0, 99)),
                b.exit_insn()]
        model.symbols.append(SymbolModel(name, ".text", len(text), 8 * len(body),
                                         type=elf.STT_FUNC))
        obj.subprograms[name] = ExpectedProgram(name, ".text", tuple(body),
                                                (None,) * len(body), ())
        text += bytes(8 * len(body))
        subs.append(name)
        if use_btf:
            proto = bt.add(t.FuncProto(bt.int_id, (t.FuncParam("x", bt.int_id),)))
            bt.add(t.Func(name, proto, r.BTF_FUNC_GLOBAL))

    # -- programs ---------------------------------------------------------------
    prog_secs: dict[str, list[tuple[str, list[asm.Instruction], list[str | None]]]] = {}
    for i in range(draw.int(1, 3)):
        sec = draw.choice(_PROG_SECTIONS)
        name = f"prog{i}"
        insns: list[asm.Instruction] = []
        refs: list[str | None] = []
        calls: list[str] = []
        for _ in range(draw.int(0, 4)):
            if targets and draw.bool(0.6):
                target = draw.choice(targets)
                insns.append(b.ld_imm64(draw.int(1, 5), 0))
                refs.append(target)
            elif subs:
                callee = draw.choice(subs)
                insns.append(b.call_pseudo(-1))
                refs.append(callee)
                if callee not in calls:
                    calls.append(callee)
        insns += [b.mov64_imm(0, draw.int(0, 2)), b.exit_insn()]
        refs += [None, None]
        prog_secs.setdefault(sec, []).append((name, insns, refs))
        obj.programs[name] = ExpectedProgram(name, sec, tuple(insns), tuple(refs),
                                             tuple(calls))
        if use_btf:
            ctx = bt.add(t.Pointer(0))
            proto = bt.add(t.FuncProto(bt.int_id, (t.FuncParam("ctx", ctx),)))
            bt.add(t.Func(name, proto, r.BTF_FUNC_GLOBAL))
    if text:
        model.sections.append(SectionModel(".text", data=bytes(text),
                                           flags=elf.SHF_ALLOC | elf.SHF_EXECINSTR))
        sub_insns = [list(p.instructions) for p in obj.subprograms.values()]
        obj.contents[".text"] = _code_writer(sub_insns)
    for sec, progs in prog_secs.items():
        data = bytearray()
        relocs = model.relocations.setdefault(sec, [])
        for name, insns, refs in progs:
            start = len(data)
            model.symbols.append(SymbolModel(name, sec, start, 0, type=elf.STT_FUNC))
            slot = start
            for ins, ref in zip(insns, refs, strict=True):
                if ref is not None:
                    kind = R_BPF_64_32 if ins.opcode == asm.opcodes.CALL else R_BPF_64_64
                    relocs.append(RelocationModel(slot, ref, kind))
                slot += 8 * ins.slots
            data += bytes(8 * sum(i.slots for i in insns))
        model.sections.append(SectionModel(sec, data=bytes(data),
                                           flags=elf.SHF_ALLOC | elf.SHF_EXECINSTR))
        streams = [list(i) for _, i, _ in progs]
        obj.contents[sec] = _code_writer(streams)
    # symbol sizes of programs: the writer needs them only for readers that check
    model.symbols = [
        SymbolModel(s.name, s.section, s.value,
                    8 * sum(i.slots for i in obj.programs[s.name].instructions), s.bind,
                    s.type) if s.name in obj.programs else s
        for s in model.symbols
    ]
    model.sections.append(SectionModel("license", data=lic.encode() + b"\0",
                                       flags=elf.SHF_ALLOC | elf.SHF_WRITE, addralign=1))
    if use_btf:
        for sec, entries in datasec_vars.items():
            size = model.section(sec).size
            bt.add(t.Datasec(sec, size, tuple(entries)))
        model.sections.append(SectionModel(".BTF", data=b"", flags=0, addralign=4))
        obj.btf_types = tuple(bt.types)
        types = obj.btf_types
        obj.contents[".BTF"] = lambda bo: encode_types(types, bo)
    return obj


def _members(bt: _BTF, sid: int) -> tuple[t.Member, ...]:
    s = bt.types[sid - 1]
    assert isinstance(s, t.Struct)
    return s.members


def _code_writer(streams: list[list[asm.Instruction]]) -> Callable[[elf.ByteOrder], bytes]:
    return lambda bo: b"".join(asm.encode(i, bo) for i in streams)


def _values_writer(variables: list[ExpectedVariable]) -> Callable[[elf.ByteOrder], bytes]:
    return lambda bo: b"".join(v.value_bytes(bo) for v in variables)
