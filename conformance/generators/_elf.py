"""eBPF object models: programs whose instruction streams reference maps, global
data, functions and externs through real relocations, with .BTF and .BTF.ext
that match the code.

Shapes follow what clang 14 emits for the equivalent C: BTF-defined maps in
``.maps`` (map-in-map and prog arrays with ``values`` initialised through
relocations against ``.maps``), legacy ``bpf_map_def`` in ``maps``, globals in
``.data``/``.rodata``/``.bss`` and custom ``.data.NAME``/``.rodata.NAME``
sections with a VAR per symbol in the section's DATASEC, global and static
functions in ``.text`` reached by calls and callbacks, ``__kconfig``/``__ksym``
externs and kfunc calls, several programs per section, and func_info,
line_info and CO-RE records in ``.BTF.ext`` (:mod:`._elf_code` says how each
reference is encoded).  Alongside the model, the ``Expected*`` records say what
a loader must find in it.
"""

from __future__ import annotations

import copy
import struct
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from conformance.generators._draw import Draw
from conformance.generators._elf_btf import ExpectedExtern, ObjectBTF, declare_externs
from conformance.generators._elf_code import (
    SOURCE_FILE,
    Body,
    Callee,
    CoreSite,
    byte_offsets,
    line_records,
    program_body,
)
from loader import asm, elf
from loader.asm import builders as b
from loader.asm import opcodes as op
from loader.btf import encode_types
from loader.btf import records as r
from loader.btf import types as t
from loader.btf.ext import CoreRelo, ExtInfos, FuncInfo, LineInfo, encode_ext
from loader.btf.strings import StringTable
from loader.elfwrite import (
    R_BPF_64_ABS64,
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
_DATA_SECTIONS = (".data", ".rodata", ".bss", ".data.counters", ".rodata.config")
_LICENSES = ("GPL", "Dual BSD/GPL", "MIT")
_POINTER = 8


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
    # Initial `values`: (slot, name of the map or program whose fd goes there).
    contents: tuple[tuple[int, str], ...] = ()


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
    # The function's own instructions (before linking), encoded little-endian
    # without relocation results, and the reference each must resolve to.
    instructions: tuple[asm.Instruction, ...]
    references: tuple[str | None, ...]
    calls: tuple[str, ...]
    global_binding: bool = True
    # .BTF.ext records as stored (insn_off: bytes into the section), each with
    # the index of the own instruction it belongs to.
    func_infos: tuple[tuple[int, FuncInfo], ...] = ()
    line_infos: tuple[tuple[int, LineInfo], ...] = ()
    core_relos: tuple[tuple[int, CoreRelo], ...] = ()


@dataclass(slots=True)
class ELFObject:
    """An object model and what it determines."""

    model: ObjectModel
    license: str
    maps: dict[str, ExpectedMap] = field(default_factory=dict)
    variables: dict[str, ExpectedVariable] = field(default_factory=dict)
    programs: dict[str, ExpectedProgram] = field(default_factory=dict)
    subprograms: dict[str, ExpectedProgram] = field(default_factory=dict)
    externs: dict[str, ExpectedExtern] = field(default_factory=dict)
    has_btf: bool = False
    has_ext: bool = False
    btf_types: tuple[t.Type, ...] = ()
    # The string table .BTF (and .BTF.ext) are written with.
    btf_strings: StringTable | None = None
    # Type ids the loader's DATASEC fix-up may rewrite (.kconfig's layout).
    btf_fixed_up: frozenset[int] = frozenset()
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


@dataclass(slots=True)
class _Code:
    """A function before placement."""

    name: str
    section: str
    body: Body
    is_global: bool
    func_id: int


def build_elf(draw: Draw, *, legacy_maps: bool | None, btf: bool | None) -> ELFObject:
    use_btf = draw.bool(0.8) if btf is None else btf
    use_legacy = draw.bool(0.2) if legacy_maps is None else legacy_maps
    bt = ObjectBTF()
    obj = ELFObject(ObjectModel(), draw.choice(_LICENSES), has_btf=use_btf)
    datasecs: dict[str, list[t.VarSecinfo]] = {}
    targets: list[tuple[str, str]] = []  # (symbol, expected reference) of ld_imm64
    if use_legacy:
        _legacy_maps(draw, obj, targets)
    prog_arrays: list[tuple[str, int]] = []
    if use_btf:
        prog_arrays = _btf_maps(draw, obj, bt, targets, datasecs)
    _data(draw, obj, bt if use_btf else None, targets, datasecs)
    kconfig: list[str] = []
    ksym_vars: list[str] = []
    kfuncs: list[str] = []
    core: CoreSite | None = None
    if use_btf:
        first_extern = len(bt.types) + 1
        obj.externs, kconfig, ksym_vars, kfuncs = declare_externs(draw, bt)
        obj.btf_fixed_up = _kconfig_ids(bt, first_extern)
        for name, ext in obj.externs.items():
            obj.model.symbols.append(SymbolModel(
                name, None, bind=elf.STB_WEAK if ext.weak else elf.STB_GLOBAL))
        if draw.bool(0.4):
            core = CoreSite(*bt.core_struct())

    # -- .text functions: global or static, reached by calls and callbacks ----------
    text: list[_Code] = []
    callees: list[Callee] = []
    pos = 0
    for i in range(draw.int(0, 3)):
        is_global = draw.bool(0.6)
        name = f"sub{i}" if is_global else f"static_sub{i}"
        body = Body([b.mov64_reg(0, 1), b.alu64_imm(op.BPF_ADD, 0, draw.int(0, 99)),
                     b.exit_insn()], [None] * 3, [], [])
        fid = bt.func(name, r.BTF_FUNC_GLOBAL if is_global else r.BTF_FUNC_STATIC) \
            if use_btf else 0
        text.append(_Code(name, ".text", body, is_global, fid))
        callees.append(Callee(name, pos, is_global))
        pos += 8 * len(body.instructions)

    # -- programs, several to a section at times --------------------------------------
    progs: list[_Code] = []
    for i in range(draw.int(1, 3)):
        sec = progs[-1].section if progs and draw.bool(0.3) else draw.choice(_PROG_SECTIONS)
        name = f"prog{i}"
        body = program_body(draw, targets=targets, callees=callees, kconfig=kconfig,
                            ksym_vars=ksym_vars, kfuncs=kfuncs, core=core)
        fid = bt.func(name, r.BTF_FUNC_GLOBAL, ctx=True) if use_btf else 0
        progs.append(_Code(name, sec, body, True, fid))
    for map_name, slots in prog_arrays:
        _init_prog_array(draw, obj, map_name, slots, [p.name for p in progs])

    infos = ExtInfos()
    line = 1
    for sec in [".text"] * bool(text) + list(dict.fromkeys(p.section for p in progs)):
        in_sec = [c for c in (text if sec == ".text" else progs) if c.section == sec]
        line = _place(draw, obj, sec, in_sec, infos, line, use_btf)

    obj.model.sections.append(SectionModel("license", data=obj.license.encode() + b"\0",
                                           flags=elf.SHF_ALLOC | elf.SHF_WRITE, addralign=1))
    if use_btf:
        _finish_btf(draw, obj, bt, datasecs, infos)
    return obj


def _kconfig_ids(bt: ObjectBTF, first: int) -> frozenset[int]:
    ids: set[int] = set()
    for tid in range(first, len(bt.types) + 1):
        typ = bt.types[tid - 1]
        if isinstance(typ, t.Datasec) and typ.name == ".kconfig":
            ids.add(tid)
            ids.update(v.type for v in typ.vars)
    return frozenset(ids)


def _legacy_maps(draw: Draw, obj: ELFObject, targets: list[tuple[str, str]]) -> None:
    model = obj.model
    defs: list[ExpectedMap] = []
    for i in range(draw.int(1, 3)):
        name = f"legacy_map{i}"
        m = ExpectedMap(name, int(draw.choice(_MAP_TYPES)), draw.choice((4, 8)),
                        draw.choice((4, 8, 16)), draw.int(1, 1024), legacy=True)
        model.symbols.append(SymbolModel(name, "maps", 20 * i, 20, type=elf.STT_OBJECT))
        obj.maps[name] = m
        defs.append(m)
        targets.append((name, name))
    obj.contents["maps"] = lambda bo: b"".join(
        struct.pack(bo + "5I", m.type, m.key_size, m.value_size, m.max_entries, m.flags)
        for m in defs)
    model.sections.append(SectionModel("maps", data=bytes(20 * len(defs)),
                                       flags=elf.SHF_ALLOC | elf.SHF_WRITE, addralign=4))


def _btf_maps(draw: Draw, obj: ELFObject, bt: ObjectBTF, targets: list[tuple[str, str]],
              datasecs: dict[str, list[t.VarSecinfo]]) -> list[tuple[str, int]]:
    """BTF maps; returns the prog arrays as (name, initialised slots), to be
    filled once the programs exist."""
    model = obj.model
    entries: list[t.VarSecinfo] = []
    plain: list[str] = []
    prog_arrays: list[tuple[str, int]] = []
    relocs: list[RelocationModel] = []
    off = 0

    def place(name: str, m: ExpectedMap, sid: int, slots: int) -> None:
        nonlocal off
        struct_t = bt.types[sid - 1]
        assert isinstance(struct_t, t.Struct)
        # An initialised `values` array makes the variable longer than its type.
        size = struct_t.size + _POINTER * slots
        vid = bt.add(t.Var(name, sid, r.BTF_VAR_GLOBAL_ALLOCATED))
        entries.append(t.VarSecinfo(vid, off, size))
        model.symbols.append(SymbolModel(name, ".maps", off, size, type=elf.STT_OBJECT))
        obj.maps[name] = m
        targets.append((name, name))
        off += size

    for i in range(draw.int(0, 3)):
        name = f"map{i}"
        flags = 1 if draw.bool(0.2) else 0  # BPF_F_NO_PREALLOC
        mtype = int(MapType.HASH) if flags else int(draw.choice(_MAP_TYPES))
        m = ExpectedMap(name, mtype, draw.choice((4, 8, 12)), draw.choice((4, 8, 16, 24)),
                        draw.int(1, 4096), flags)
        place(name, m, bt.map_struct(m.type, m.max_entries, m.key_size, m.value_size, flags),
              0)
        plain.append(name)
    for i in range(draw.int(0, 2) if draw.bool(0.4) else 0):
        name = f"outer{i}"
        inner = ExpectedMap("", int(MapType.ARRAY), 4, draw.choice((4, 8)), draw.int(1, 64))
        inner_sid = bt.map_struct(inner.type, inner.max_entries, 4, inner.value_size)
        mtype = int(draw.choice((MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS)))
        max_entries = draw.int(1, 64)
        # Initial slots point at other (non-nested) maps of this object.
        slots = draw.int(0, min(2, max_entries)) if plain else 0
        contents = tuple((k, draw.choice(plain)) for k in range(slots))
        start = off
        sid = bt.map_struct(mtype, max_entries, 4, 4, values_of=inner_sid)
        place(name, ExpectedMap(name, mtype, 4, 4, max_entries, inner=inner, contents=contents),
              sid, slots)
        values_at = _members_size(bt, sid)
        relocs += [RelocationModel(start + values_at + _POINTER * k, target, R_BPF_64_ABS64)
                   for k, target in contents]
    if draw.bool(0.3):
        slots = draw.int(1, 2)
        proto = bt.add(t.FuncProto(bt.int_id, (t.FuncParam("", bt.add(t.Pointer(0))),)))
        max_entries = draw.int(slots, 16)
        sid = bt.map_struct(int(MapType.PROG_ARRAY), max_entries, 4, 4, values_of=proto)
        place("jmp_table", ExpectedMap("jmp_table", int(MapType.PROG_ARRAY), 4, 4,
                                       max_entries), sid, slots)
        prog_arrays.append(("jmp_table", slots))
    if entries:
        model.sections.append(SectionModel(".maps", data=bytes(off),
                                           flags=elf.SHF_ALLOC | elf.SHF_WRITE))
        datasecs[".maps"] = entries
        if relocs:
            model.relocations[".maps"] = relocs
    return prog_arrays


def _members_size(bt: ObjectBTF, sid: int) -> int:
    s = bt.types[sid - 1]
    assert isinstance(s, t.Struct)
    return s.size


def _init_prog_array(draw: Draw, obj: ELFObject, name: str, slots: int,
                     programs: list[str]) -> None:
    sym = next(s for s in obj.model.symbols if s.name == name)
    m = obj.maps[name]
    sid_size = sym.size - _POINTER * slots
    contents = tuple((k, draw.choice(programs)) for k in range(slots))
    obj.maps[name] = ExpectedMap(m.name, m.type, m.key_size, m.value_size, m.max_entries,
                                 contents=contents)
    obj.model.relocations.setdefault(".maps", []).extend(
        RelocationModel(sym.value + sid_size + _POINTER * k, prog, R_BPF_64_ABS64)
        for k, prog in contents)


def _data(draw: Draw, obj: ELFObject, bt: ObjectBTF | None, targets: list[tuple[str, str]],
          datasecs: dict[str, list[t.VarSecinfo]]) -> None:
    model = obj.model
    for sec in _DATA_SECTIONS:
        if not draw.bool(0.4 if sec.count(".") == 1 else 0.2):
            continue
        size_total = 0
        entries = []
        in_sec: list[ExpectedVariable] = []
        for i in range(draw.int(1, 3)):
            name = f"{sec[1:].replace('.', '_')}_var{i}"
            size = draw.choice((4, 8))
            value = 0 if sec == ".bss" else draw.int(0, 0xFFFF)
            var = ExpectedVariable(name, sec, size_total, size, value)
            model.symbols.append(SymbolModel(name, sec, size_total, size, type=elf.STT_OBJECT))
            obj.variables[name] = var
            in_sec.append(var)
            if bt is not None:
                tid = bt.sized(size)
                if sec.startswith(".rodata"):
                    tid = bt.add(t.Const(tid))
                vid = bt.add(t.Var(name, tid, r.BTF_VAR_GLOBAL_ALLOCATED))
                entries.append(t.VarSecinfo(vid, size_total, size))
            targets.append((name, sec))
            size_total += size
        flags = elf.SHF_ALLOC | (0 if sec.startswith(".rodata") else elf.SHF_WRITE)
        if sec == ".bss":
            model.sections.append(SectionModel(sec, elf.SHT_NOBITS, flags,
                                               nobits_size=size_total))
        else:
            model.sections.append(SectionModel(sec, data=bytes(size_total), flags=flags))
            obj.contents[sec] = _values_writer(in_sec)
        if bt is not None:
            datasecs[sec] = entries


def _place(draw: Draw, obj: ELFObject, sec: str, funcs: list[_Code], infos: ExtInfos,
           line: int, use_btf: bool) -> int:
    """Lay ``funcs`` out in section ``sec`` with their symbols, relocations and
    .BTF.ext records; returns the next free source line."""
    model = obj.model
    relocs = model.relocations.setdefault(sec, [])
    start = 0
    streams = []
    for fn in funcs:
        insns = fn.body.instructions
        offs = byte_offsets(insns)
        size = 8 * sum(i.slots for i in insns)
        model.symbols.append(SymbolModel(
            fn.name, sec, start, size, elf.STB_GLOBAL if fn.is_global else elf.STB_LOCAL,
            elf.STT_FUNC))
        for at, ref in zip(offs, fn.body.refs, strict=True):
            if ref is not None:
                relocs.append(RelocationModel(start + at, ref.symbol, ref.kind))
        fis: tuple[tuple[int, FuncInfo], ...] = ()
        lis: list[tuple[int, LineInfo]] = []
        cos: list[tuple[int, CoreRelo]] = []
        if use_btf:
            fis = ((0, FuncInfo(start, fn.func_id)),)
            for i, li in line_records(draw, fn.name, insns, line):
                lis.append((i, LineInfo(start + li.insn_off, li.file_name, li.line_text,
                                        li.line, li.column)))
            line = lis[-1][1].line + 2
            for i, co in fn.body.core:
                cos.append((i, CoreRelo(start + offs[i], co.type_id, co.access_str, co.kind)))
            infos.func_infos.setdefault(sec, []).extend(rec for _, rec in fis)
            infos.line_infos.setdefault(sec, []).extend(rec for _, rec in lis)
            if cos:
                infos.core_relos.setdefault(sec, []).extend(rec for _, rec in cos)
        exp = ExpectedProgram(fn.name, sec, tuple(insns),
                              tuple(ref.reference if ref else None for ref in fn.body.refs),
                              tuple(fn.body.calls), fn.is_global, fis, tuple(lis), tuple(cos))
        (obj.subprograms if sec == ".text" else obj.programs)[fn.name] = exp
        streams.append(list(insns))
        start += size
    if not relocs:
        del model.relocations[sec]
    model.sections.append(SectionModel(sec, data=bytes(start),
                                       flags=elf.SHF_ALLOC | elf.SHF_EXECINSTR))
    obj.contents[sec] = _code_writer(streams)
    return line


def _finish_btf(draw: Draw, obj: ELFObject, bt: ObjectBTF,
                datasecs: dict[str, list[t.VarSecinfo]], infos: ExtInfos) -> None:
    model = obj.model
    for sec, entries in datasecs.items():
        bt.add(t.Datasec(sec, model.section(sec).size, tuple(entries)))
    model.sections.append(SectionModel(".BTF", data=b"", flags=0, addralign=4))
    obj.btf_types = types = tuple(bt.types)
    # Strings .BTF.ext refers to go into .BTF's table first (clang puts them
    # there too), so one table serves both sections.
    wanted = [*infos.func_infos, *infos.line_infos, SOURCE_FILE]
    wanted += [li.line_text for lst in infos.line_infos.values() for li in lst]
    wanted += [c.access_str for lst in infos.core_relos.values() for c in lst]
    raw = b"\0" + b"".join(s.encode() + b"\0" for s in dict.fromkeys(wanted))
    obj.btf_strings = strings = StringTable(raw)
    obj.contents[".BTF"] = lambda bo: encode_types(types, bo, strings=strings)
    if infos.func_infos and draw.bool(0.9):
        obj.has_ext = True
        if not infos.core_relos:
            # clang writes an empty block as length 0 (the 32-byte header stays):
            # libbpf refuses a block holding a record size but no records.
            infos.core_relo_rec_size = None
        model.sections.append(SectionModel(".BTF.ext", data=b"", flags=0, addralign=4))
        obj.contents[".BTF.ext"] = lambda bo: encode_ext(infos, bo, strings)
    else:
        # No .BTF.ext written: no records to find.
        for funcs in (obj.programs, obj.subprograms):
            for name, p in funcs.items():
                funcs[name] = replace(p, func_infos=(), line_infos=(), core_relos=())


def _code_writer(streams: list[list[asm.Instruction]]) -> Callable[[elf.ByteOrder], bytes]:
    return lambda bo: b"".join(asm.encode(i, bo) for i in streams)


def _values_writer(variables: list[ExpectedVariable]) -> Callable[[elf.ByteOrder], bytes]:
    return lambda bo: b"".join(v.value_bytes(bo) for v in variables)
