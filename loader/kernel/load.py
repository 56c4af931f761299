"""Loading a CollectionSpec into the running kernel, the way libbpf's
bpf_object__load does it.

Order: BTF (sanitised for this kernel), maps (inner map templates first, data
section contents written, ``.rodata``/``.kconfig`` frozen, struct_ops maps laid
out for the kernel's struct), map-in-map initialisers, then each program
(references rewritten to fds, externs resolved, CO-RE applied against vmlinux
BTF, func_info/line_info attached), then prog-array initialisers and
struct_ops values.

Every fd is owned by the returned :class:`LoadedCollection`; when anything
raises on the way, everything opened so far is closed before the error leaves.
"""

from __future__ import annotations

import copy
import re
import struct
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType

from loader import asm
from loader.asm import opcodes as op
from loader.asm.instruction import Instruction
from loader.btf import types as t
from loader.btf.ext import FuncInfo, LineInfo
from loader.btf.spec import Spec as BTFSpec
from loader.collection.spec import CollectionSpec, ExternSpec, MapSpec, ProgramSpec
from loader.collection.structops import BPF_F_LINK
from loader.errors import (
    KernelError,
    LoaderError,
    RelocationError,
    UnsupportedError,
    VerifierError,
)
from loader.kernel import bpf, core, kenv, structops
from loader.kernel.fd import FD
from loader.kernel.sanitize import KCONFIG_SEC, BTFSupport, sanitize_btf
from loader.uapi import AttachType, MapType, ProgType

NATIVE = "<" if sys.byteorder == "little" else ">"
_OBJ_NAME_LEN = 15
_FUNC_INFO_REC = struct.Struct("=II")
_LINE_INFO_REC = struct.Struct("=IIII")
_LINE_SHIFT = 10
# Map types whose create refuses BTF key/value ids (libbpf clears them too).
_NO_BTF_KV = frozenset({
    MapType.PERF_EVENT_ARRAY, MapType.CGROUP_ARRAY, MapType.STACK_TRACE,
    MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS, MapType.DEVMAP, MapType.DEVMAP_HASH,
    MapType.CPUMAP, MapType.XSKMAP, MapType.SOCKMAP, MapType.SOCKHASH, MapType.QUEUE,
    MapType.STACK,
})
_MAP_IN_MAP = frozenset({MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS})
# Attach types whose target is a BTF object in vmlinux: (BTF name prefix, BTF kind).
_BTF_TARGETS: dict[int, tuple[str, type]] = {
    AttachType.TRACE_RAW_TP: ("btf_trace_", t.Typedef),
    AttachType.TRACE_FENTRY: ("", t.Func),
    AttachType.TRACE_FEXIT: ("", t.Func),
    AttachType.MODIFY_RETURN: ("", t.Func),
    AttachType.LSM_MAC: ("bpf_lsm_", t.Func),
    AttachType.LSM_CGROUP: ("bpf_lsm_", t.Func),
    AttachType.TRACE_ITER: ("bpf_iter_", t.Func),
}


def kernel_name(name: str) -> str:
    """An object name the kernel takes: [A-Za-z0-9_.], at most 15 bytes."""
    return re.sub(r"[^A-Za-z0-9_.]", "_", name)[:_OBJ_NAME_LEN]


@dataclass
class LoadedCollection:
    """The kernel objects of one loaded collection.

    ``programs`` maps each program to its fd, or to the error that stopped it
    (only with ``keep_going``); ``map_errors`` likewise for maps that could not
    be created.  ``close()`` (or leaving a ``with`` block) closes every fd.

    ``struct_ops_values`` holds each struct_ops map's value in the kernel's
    layout with the program fds in place (valid while the collection is
    open).  A ``.struct_ops.link`` map already holds it (updating such a map
    only validates it); a plain ``.struct_ops`` map does not: updating it
    registers the struct_ops with the kernel (a TCP congestion control
    becomes selectable system-wide), which is attaching, and libbpf too does
    it only in bpf_map__attach_struct_ops.
    """

    maps: dict[str, FD] = field(default_factory=dict)
    programs: dict[str, FD | LoaderError] = field(default_factory=dict)
    map_errors: dict[str, LoaderError] = field(default_factory=dict)
    struct_ops_values: dict[str, bytes] = field(default_factory=dict)
    btf: FD | None = None
    btf_error: LoaderError | None = None

    @property
    def ok(self) -> bool:
        return not self.map_errors and all(isinstance(v, FD) for v in self.programs.values())

    def program_fd(self, name: str) -> FD:
        got = self.programs[name]
        if isinstance(got, LoaderError):
            raise got
        return got

    def close(self) -> None:
        for fd in self.maps.values():
            fd.close()
        for prog in self.programs.values():
            if isinstance(prog, FD):
                prog.close()
        if self.btf is not None:
            self.btf.close()

    def __enter__(self) -> LoadedCollection:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def load_collection(
    spec: CollectionSpec,
    *,
    log_level: int = 0,
    keep_going: bool = False,
    btf_support: BTFSupport | None = None,
    target_btf: BTFSpec | None = None,
) -> LoadedCollection:
    """Load ``spec`` into the running kernel.

    With ``keep_going`` False (libbpf's behaviour) the first failure closes
    everything and raises; with True every map and program is tried and the
    failures are recorded in the result.  ``log_level`` is the verifier log
    level of successful loads (a failed load is always retried for its log).
    """
    if spec.byte_order != NATIVE:
        raise UnsupportedError(
            "loading an object of the other byte order", None,
            f"object is {'big' if spec.byte_order == '>' else 'little'}-endian, host is not")
    out = LoadedCollection()
    try:
        _Loader(spec, out, log_level, keep_going, btf_support, target_btf).run()
    except BaseException:
        out.close()
        raise
    return out


class _Loader:
    def __init__(self, spec: CollectionSpec, out: LoadedCollection, log_level: int,
                 keep_going: bool, btf_support: BTFSupport | None,
                 target_btf: BTFSpec | None) -> None:
        self.spec = spec
        self.out = out
        self.log_level = log_level
        self.keep_going = keep_going
        self.btf_support = btf_support
        self._target_btf = target_btf
        self._core: core.Relocator | None = None
        self._st_ops: dict[str, structops.KernStructOps] = {}
        # struct_ops program -> (attach_btf_id, expected_attach_type).
        self._st_targets: dict[str, tuple[int, int]] = {}

    # -- helpers ------------------------------------------------------------------

    def target_btf(self) -> BTFSpec:
        if self._target_btf is None:
            self._target_btf = kenv.vmlinux_btf()
        return self._target_btf

    def _fail(self, exc: LoaderError) -> None:
        if not self.keep_going:
            raise exc

    def run(self) -> None:
        self.load_btf()
        self.create_maps()
        self.fill_map_in_maps()
        for name, prog in self.spec.programs.items():
            if not prog.autoload:
                continue
            try:
                self.out.programs[name] = self.load_program(prog)
            except LoaderError as exc:
                self.out.programs[name] = exc
                self._fail(exc)
        self.fill_prog_arrays()
        self.fill_struct_ops()

    # -- BTF ----------------------------------------------------------------------

    def load_btf(self) -> None:
        btf = self.spec.btf
        if btf is None:
            return
        kcfg = self.spec.maps.get(KCONFIG_SEC)
        offsets = {e.name: e.offset for e in self.spec.externs.values() if e.kind == "kconfig"}
        have = self.btf_support if self.btf_support is not None else BTFSupport.probe()
        try:
            blob = sanitize_btf(btf, have, kconfig_offsets=offsets,
                                kconfig_size=kcfg.value_size if kcfg else None)
            self.out.btf = bpf.btf_load(blob, log_level=0)
        except LoaderError as exc:
            # libbpf goes on without BTF when the kernel refuses it; so do we,
            # unless something needs it (programs report that themselves).
            self.out.btf_error = exc

    # -- maps ---------------------------------------------------------------------

    def _create(self, m: MapSpec, name: str, inner: FD | None = None) -> FD:
        btf_fd = self.out.btf
        key_id, value_id = m.key_type_id, m.value_type_id
        if m.type in _NO_BTF_KV:
            key_id = value_id = 0
        max_entries = m.max_entries
        if m.type == MapType.PERF_EVENT_ARRAY and max_entries == 0:
            max_entries = _possible_cpus()
        kwargs = dict(flags=m.flags, name=kernel_name(name), inner_map_fd=inner,
                      map_extra=m.map_extra, numa_node=m.numa_node or None)
        if btf_fd is not None and (key_id or value_id):
            try:
                return bpf.map_create(m.type, m.key_size, m.value_size, max_entries,
                                      btf_fd=btf_fd, btf_key_type_id=key_id,
                                      btf_value_type_id=value_id,
                                      **kwargs)  # type: ignore[arg-type]
            except KernelError:
                pass  # libbpf retries without BTF, and so do we
        return bpf.map_create(m.type, m.key_size, m.value_size, max_entries,
                              **kwargs)  # type: ignore[arg-type]

    def create_maps(self) -> None:
        for name, m in self.spec.maps.items():
            try:
                self.out.maps[name] = self._create_one(name, m)
            except LoaderError as exc:
                self.out.map_errors[name] = _with_context(exc, f"map {name!r}")
                self._fail(self.out.map_errors[name])

    def _create_one(self, name: str, m: MapSpec) -> FD:
        if m.type == MapType.STRUCT_OPS:
            return self._create_struct_ops(name, m)
        inner: FD | None = None
        if m.type in _MAP_IN_MAP:
            if m.inner is None:
                raise UnsupportedError("map-in-map without an inner map definition", None,
                                       f"map {name!r}")
            inner = self._create(m.inner, m.inner.name)
        try:
            fd = self._create(m, name, inner)
        finally:
            # The kernel copies what it needs of the template at create time.
            if inner is not None:
                inner.close()
        try:
            if name == KCONFIG_SEC:
                bpf.map_update_elem(fd, b"\0" * 4, self.kconfig_value(m))
            elif m.type not in _MAP_IN_MAP and m.type != MapType.PROG_ARRAY:
                for kv in m.contents:
                    if isinstance(kv.value, bytes):
                        bpf.map_update_elem(fd, _key(kv.key, m.key_size), kv.value)
            if m.freeze:
                bpf.map_freeze(fd)
        except BaseException:
            fd.close()
            raise
        return fd

    def _create_struct_ops(self, name: str, m: MapSpec) -> FD:
        btf = self.spec.btf
        if btf is None or self.out.btf is None:
            # The kernel finds the kernel struct through the object's BTF.
            why = f": {self.out.btf_error}" if self.out.btf_error else ""
            raise RelocationError(f"struct_ops map {name!r} needs the object's BTF "
                                  f"loaded{why}")
        ko = structops.prepare(btf, m, self.target_btf())
        # Programs get their member from the layout, before the map exists, as
        # in libbpf: a map the kernel refuses does not stop them loading.
        structops.bind_programs(ko, self._st_targets)
        fd = bpf.map_create(m.type, m.key_size, len(ko.value), m.max_entries, flags=m.flags,
                            name=kernel_name(name), btf_fd=self.out.btf,
                            btf_vmlinux_value_type_id=ko.value_type_id)
        self._st_ops[name] = ko
        return fd

    def fill_struct_ops(self) -> None:
        for name, ko in self._st_ops.items():
            fd = self.out.maps.get(name)
            if fd is None:
                continue
            progs = {p: self.out.programs.get(p) for p, _ in ko.slots}
            missing = sorted(p for p, got in progs.items() if not isinstance(got, FD))
            if missing:
                exc: LoaderError = RelocationError(
                    f"struct_ops map {name!r}: programs {missing} were not loaded")
                self.out.map_errors[name] = exc
                self._fail(exc)
                continue
            value = ko.value_with({p: got.fd for p, got in progs.items()
                                   if isinstance(got, FD)})
            self.out.struct_ops_values[name] = value
            if not self.spec.maps[name].flags & BPF_F_LINK:
                continue  # see LoadedCollection: for these maps, updating is attaching
            try:
                bpf.map_update_elem(fd, b"\0" * 4, value)
            except LoaderError as exc2:
                self.out.map_errors[name] = _with_context(exc2, f"struct_ops map {name!r}")
                self._fail(self.out.map_errors[name])

    def fill_map_in_maps(self) -> None:
        self._fill_initial(_MAP_IN_MAP, "map", "created",
                           lambda ref: self.out.maps.get(ref))

    def fill_prog_arrays(self) -> None:
        self._fill_initial(frozenset({MapType.PROG_ARRAY}), "program", "loaded",
                           lambda ref: self.out.programs.get(ref))

    def _fill_initial(self, types: frozenset[int], noun: str, done: str,
                      lookup: Callable[[str], FD | LoaderError | None]) -> None:
        """Write each created map's initial values: the fds of the maps or
        programs its contents name."""
        for name, m in self.spec.maps.items():
            if m.type not in types or name not in self.out.maps:
                continue
            for kv in m.contents:
                got = lookup(str(kv.value))
                if not isinstance(got, FD):
                    exc: LoaderError = RelocationError(
                        f"map {name!r}: initial value for key {kv.key} names {noun} "
                        f"{kv.value!r}, which was not {done}")
                    self.out.map_errors[name] = exc
                    self._fail(exc)
                    continue
                self._put_initial(name, m, kv.key, got.fd)

    def _put_initial(self, name: str, m: MapSpec, key: int, fd: int) -> None:
        # The kernel can refuse an entry (a program of another type than the
        # prog array's owner, an inner map unlike the template): that is this
        # map's failure, recorded like any other under keep_going.
        try:
            bpf.map_update_elem(self.out.maps[name], _key(key, m.key_size),
                                struct.pack("=I", fd))
        except LoaderError as exc:
            self.out.map_errors[name] = _with_context(
                exc, f"map {name!r}: initial value for key {key}")
            self._fail(self.out.map_errors[name])

    # -- externs ------------------------------------------------------------------

    def kconfig_value(self, m: MapSpec) -> bytes:
        buf = bytearray(m.value_size)
        config = kenv.kernel_config()
        btf = self.spec.btf
        assert btf is not None  # .kconfig maps come from BTF
        for ext in self.spec.externs.values():
            if ext.kind != "kconfig":
                continue
            data = _kconfig_bytes(btf, ext, config)
            buf[ext.offset:ext.offset + len(data)] = data
        return bytes(buf)

    # -- programs -----------------------------------------------------------------

    def load_program(self, prog: ProgramSpec) -> FD:
        where = f"program {prog.name!r} (section {prog.section})"
        insns = [copy.copy(i) for i in prog.instructions]
        slot_of = []
        pos = 0
        for ins in insns:
            slot_of.append(pos)
            pos += ins.slots
        symbols = {ins.symbol: slot_of[i] for i, ins in enumerate(insns) if ins.symbol}
        for i, ins in enumerate(insns):
            if ins.reference is not None:
                self._resolve(where, ins, slot_of[i], symbols)
        poisoned = self._apply_core(where, prog, insns)
        final: list[Instruction] = []
        for i, ins in enumerate(insns):
            final.extend(core.poison(ins) if i in poisoned else (ins,))
        code = asm.encode(final, NATIVE)  # type: ignore[arg-type]

        attach_btf_id = 0
        expected = prog.attach_type
        if prog.type == ProgType.EXT:
            raise UnsupportedError("freplace programs (need a target program fd)", None, where)
        if prog.type == ProgType.STRUCT_OPS:
            # The kernel checks the program against the member it implements.
            target = self._st_targets.get(prog.name)
            if target is None:
                raise RelocationError(f"{where}: no struct_ops map (laid out for this "
                                      f"kernel) uses it, so its member is unknown")
            attach_btf_id, expected = target
        if prog.type in (ProgType.TRACING, ProgType.LSM) and expected in _BTF_TARGETS:
            attach_btf_id = self._attach_btf_id(where, prog)
        kern_version = prog.kernel_version
        if prog.type == ProgType.KPROBE and not kern_version:
            kern_version = kenv.linux_version_code()
        btf_fd = self.out.btf
        func_info = line_info = None
        if btf_fd is not None and self.spec.btf is not None:
            func_info = _func_info(prog.func_infos, slot_of)
            line_info = _line_info(self.spec.btf, prog.line_infos, slot_of)
        kwargs = dict(
            license=prog.license or "", kern_version=kern_version,
            name=kernel_name(prog.name), expected_attach_type=expected,
            prog_btf_fd=btf_fd if func_info or line_info else None,
            func_info=func_info, line_info=line_info, attach_btf_id=attach_btf_id,
            prog_flags=prog.flags,
        )
        try:
            return bpf.prog_load(prog.type, code, log_level=self.log_level,
                                 **kwargs)  # type: ignore[arg-type]
        except KernelError as exc:
            if self.log_level or (isinstance(exc, VerifierError) and exc.log):
                raise _with_context(exc, where) from None
            # Retry once with a verifier log so that the error carries the reason.
            try:
                fd = bpf.prog_load(prog.type, code, log_level=1,
                                   **kwargs)  # type: ignore[arg-type]
            except KernelError as exc2:
                raise _with_context(exc2, where) from None
            return fd

    def _resolve(self, where: str, ins: Instruction, slot: int,
                 symbols: Mapping[str, int]) -> None:
        ref = ins.reference
        assert ref is not None
        if (ins.opcode == op.CALL and ins.src == op.BPF_PSEUDO_CALL) or (
                ins.is_ld_imm64 and ins.src == op.BPF_PSEUDO_FUNC):
            target = symbols.get(ref)
            if target is None:
                raise RelocationError(f"{where}: call to {ref!r}, which is not linked in")
            ins.imm = target - slot - 1
            return
        if ins.opcode == op.CALL and ins.src == op.BPF_PSEUDO_KFUNC_CALL:
            self._kfunc(where, ins, ref)
            return
        if ins.is_ld_imm64 and ins.src in (op.BPF_PSEUDO_MAP_FD, op.BPF_PSEUDO_MAP_VALUE):
            fd = self.out.maps.get(ref)
            if fd is None:
                why = self.out.map_errors.get(ref)
                raise RelocationError(f"{where}: references map {ref!r}, which was not "
                                      f"created" + (f" ({why})" if why else ""))
            if ins.src == op.BPF_PSEUDO_MAP_FD:
                ins.imm = fd.fd
            else:
                ins.imm = (ins.imm & ~0xFFFFFFFF) | fd.fd
            return
        ext = self.spec.externs.get(ref)
        if ins.is_ld_imm64 and ext is not None and ext.kind == "ksym":
            self._ksym(where, ins, ext)
            return
        raise RelocationError(f"{where}: cannot resolve reference to {ref!r} on opcode "
                              f"{ins.opcode:#04x} (src {ins.src})")

    def _kfunc(self, where: str, ins: Instruction, name: str) -> None:
        vml = self.target_btf()
        ids = [i for i in vml.types_by_name(name) if isinstance(vml.type_by_id(i), t.Func)]
        if not ids:
            ext = self.spec.externs.get(name)
            if ext is not None and ext.weak:
                # A weak kfunc that the kernel lacks: libbpf leaves imm 0 and the
                # verifier removes the call when it is dead code.
                ins.imm, ins.off = 0, 0
                return
            raise RelocationError(f"{where}: kfunc {name!r} not found in vmlinux BTF")
        ins.imm, ins.off = ids[0], 0

    def _ksym(self, where: str, ins: Instruction, ext: ExternSpec) -> None:
        if ext.typed:
            vml = self.target_btf()
            ids = [i for i in vml.types_by_name(ext.name) if isinstance(vml.type_by_id(i), t.Var)]
            if ids:
                ins.src = op.BPF_PSEUDO_BTF_ID
                ins.imm = ids[0]  # high half: BTF object fd 0 = vmlinux
                return
            if not ext.weak:
                raise RelocationError(f"{where}: ksym {ext.name!r} not found in vmlinux BTF")
            ins.src, ins.imm = 0, 0
            return
        addr = kenv.ksym_address(ext.name)
        if addr is None:
            if not ext.weak:
                raise RelocationError(f"{where}: ksym {ext.name!r} not in /proc/kallsyms")
            addr = 0
        ins.src = 0
        ins.imm = addr - (1 << 64) if addr >= (1 << 63) else addr

    def _apply_core(self, where: str, prog: ProgramSpec, insns: list[Instruction]) -> set[int]:
        poisoned: set[int] = set()
        if not prog.core_relos:
            return poisoned
        if self._core is None:
            if self.spec.btf is None:
                raise RelocationError(f"{where}: CO-RE relocations without BTF")
            self._core = core.Relocator(self.spec.btf, self.target_btf(), self.spec.byte_order)
        for idx, rec in prog.core_relos:
            res = self._core.compute(rec)
            if res.poison:
                poisoned.add(idx)
                continue
            core.patch(insns[idx], res, f"{where}: CO-RE relocation at instruction {idx}")
        return poisoned

    def _attach_btf_id(self, where: str, prog: ProgramSpec) -> int:
        prefix, kind = _BTF_TARGETS[prog.attach_type]
        if not prog.attach_to:
            raise RelocationError(f"{where}: no attach target in the section name")
        name = prefix + prog.attach_to
        vml = self.target_btf()
        for tid in vml.types_by_name(name):
            if isinstance(vml.type_by_id(tid), kind):
                return tid
        raise RelocationError(f"{where}: attach target {name!r} ({kind.__name__}) not in "
                              f"vmlinux BTF")


# -- pure helpers ---------------------------------------------------------------------


def _key(key: int, size: int) -> bytes:
    return key.to_bytes(size, sys.byteorder)


def _possible_cpus() -> int:
    try:
        with open("/sys/devices/system/cpu/possible") as f:
            text = f.read().strip()
    except OSError:
        return 1
    n = 0
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        n += int(hi or lo) - int(lo) + 1
    return n


def _func_info(infos: list[tuple[int, FuncInfo]], slot_of: list[int]
               ) -> tuple[bytes, int, int] | None:
    if not infos:
        return None
    recs = sorted((slot_of[i], rec.type_id) for i, rec in infos)
    return b"".join(_FUNC_INFO_REC.pack(*r) for r in recs), _FUNC_INFO_REC.size, len(recs)


def _line_info(btf: BTFSpec, infos: list[tuple[int, LineInfo]], slot_of: list[int]
               ) -> tuple[bytes, int, int] | None:
    if not infos:
        return None
    offset_of = btf.strings.offset_of
    recs = []
    for i, rec in sorted(infos, key=lambda p: p[0]):
        file_off = offset_of(rec.file_name)
        line_off = offset_of(rec.line_text)
        if file_off is None or line_off is None:
            raise RelocationError(f"line_info at instruction {i}: string not in BTF")
        recs.append(_LINE_INFO_REC.pack(slot_of[i], file_off, line_off,
                                        (rec.line << _LINE_SHIFT) | rec.column))
    return b"".join(recs), _LINE_INFO_REC.size, len(recs)


def _with_context(exc: LoaderError, where: str) -> LoaderError:
    """The same error, its message prefixed with where it happened."""
    if isinstance(exc, VerifierError):
        return VerifierError(exc.command, exc.errno or 0, exc.log, where)
    if isinstance(exc, KernelError):
        return KernelError(exc.command, exc.errno or 0, where)
    return exc


_TRISTATE = {"y": 1, "n": 0, "m": 2}


def _kconfig_bytes(btf: BTFSpec, ext: ExternSpec, config: dict[str, str] | None) -> bytes:
    """The bytes libbpf writes for one kconfig extern."""
    name = ext.name
    size = ext.size
    var = btf.type_by_id(ext.type_id)
    tid = var.type if isinstance(var, t.Var) else ext.type_id
    _, typ = core.skip_mods(btf, tid)
    if name == "LINUX_KERNEL_VERSION":
        return kenv.linux_version_code().to_bytes(size, sys.byteorder)
    if name.startswith("CONFIG_") and config is None:
        if ext.weak:
            return bytes(size)
        raise UnsupportedError("kernel config", None,
                               f"kconfig extern {name!r}: no /proc/config.gz or /boot/config")
    raw = (config or {}).get(name)
    if raw is None:
        if ext.weak:
            return bytes(size)
        raise RelocationError(f"kconfig extern {name!r}: not set in the kernel config")
    where = f"kconfig extern {name!r} = {raw!r}"
    if isinstance(typ, t.Enum) and typ.name == "libbpf_tristate":
        if raw not in _TRISTATE:
            raise RelocationError(f"{where}: not a tristate")
        return _TRISTATE[raw].to_bytes(size, sys.byteorder)
    if isinstance(typ, t.Int) and typ.encoding & 4:  # BTF_INT_BOOL
        if raw not in ("y", "n"):
            raise RelocationError(f"{where}: not a bool")
        return bytes([raw == "y"]) + bytes(size - 1)
    if isinstance(typ, t.Int) and typ.encoding & 2 and size == 1:  # BTF_INT_CHAR
        if raw not in _TRISTATE:
            raise RelocationError(f"{where}: not y/n/m for a char")
        return raw.encode()
    if isinstance(typ, t.Array):
        if not (raw.startswith('"') and raw.endswith('"')):
            raise RelocationError(f"{where}: not a string")
        text = raw[1:-1].encode()[:size - 1]
        return text + bytes(size - len(text))
    if isinstance(typ, t.Int | t.Enum):
        try:
            value = int(raw, 0)
        except ValueError:
            raise RelocationError(f"{where}: not a number") from None
        signed = isinstance(typ, t.Int) and bool(typ.encoding & 1)
        try:
            return value.to_bytes(size, sys.byteorder, signed=signed or value < 0)
        except OverflowError:
            raise RelocationError(f"{where}: does not fit {size} bytes") from None
    raise RelocationError(f"{where}: unsupported extern type {type(typ).__name__}")


__all__ = ["LoadedCollection", "kernel_name", "load_collection"]

