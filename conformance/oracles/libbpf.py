"""libbpf as an oracle: what ``bpf_object__open_mem`` makes of an object.

A thin ctypes layer over the system's ``libbpf.so.1`` (1.1 on Debian 12).  It
opens an object from memory exactly as a libbpf user would, walks the programs
and maps with the public iterators, copies every field we compare into plain
dataclasses, and closes the object again: nothing of libbpf outlives a call.

Opening never touches the kernel (libbpf probes features only at load time), so
this needs no privileges.  libbpf's log is captured per call (warnings and info
only) so that a rejected object comes back with libbpf's reason.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

LIBBPF_SONAME = "libbpf.so.1"

# enum libbpf_print_level
LIBBPF_WARN = 0
LIBBPF_INFO = 1
LIBBPF_DEBUG = 2

# bpf_object__open_file names the object after the file's basename up to its
# first dot; libbpf keeps at most BPF_OBJ_NAME_LEN - 1 characters.
BPF_OBJ_NAME_LEN = 16

_PrintFn = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)


class LibbpfUnavailable(RuntimeError):
    """libbpf.so.1 (or one of the functions used here) cannot be loaded."""


class LibbpfOpenError(Exception):
    """``bpf_object__open_mem`` returned NULL; ``errno`` and libbpf's log say why."""

    def __init__(self, err: int, log: str) -> None:
        self.errno = err
        self.log = log
        reason = os.strerror(err) if err else "unknown error"
        tail = log.strip().splitlines()[-1] if log.strip() else ""
        super().__init__(f"libbpf open failed: errno {err} ({reason}){': ' + tail if tail else ''}")


class _OpenOpts(ctypes.Structure):
    # The leading fields of struct bpf_object_open_opts; libbpf accepts a shorter
    # struct (it checks only that bytes past what it knows are zero).
    _fields_ = (
        ("sz", ctypes.c_size_t),
        ("object_name", ctypes.c_char_p),
    )


@dataclass(frozen=True, slots=True)
class LibbpfProgram:
    name: str
    section: str
    type: int
    type_name: str | None
    expected_attach_type: int
    attach_type_name: str | None
    insn_cnt: int
    flags: int
    autoload: bool


@dataclass(frozen=True, slots=True)
class LibbpfMap:
    name: str
    type: int
    type_name: str | None
    key_size: int
    value_size: int
    max_entries: int
    map_flags: int
    map_extra: int
    numa_node: int
    is_internal: bool
    btf_key_type_id: int
    btf_value_type_id: int
    initial_value: bytes | None
    inner: LibbpfMap | None


@dataclass(frozen=True, slots=True)
class LibbpfObject:
    name: str
    kversion: int
    programs: tuple[LibbpfProgram, ...]
    maps: tuple[LibbpfMap, ...]
    log: str

    def program(self, name: str) -> LibbpfProgram:
        for prog in self.programs:
            if prog.name == name:
                return prog
        raise KeyError(name)

    def map(self, name: str) -> LibbpfMap:
        for m in self.maps:
            if m.name == name:
                return m
        raise KeyError(name)


def object_name_for(path: str | os.PathLike[str]) -> str:
    """The name ``bpf_object__open_file`` would give the object at *path*."""
    base = Path(path).name
    return base.split(".", 1)[0][: BPF_OBJ_NAME_LEN - 1]


class Libbpf:
    """A loaded libbpf.so.1.  Construct once; methods are safe to call repeatedly."""

    _lock = threading.Lock()

    def __init__(self, soname: str = LIBBPF_SONAME) -> None:
        try:
            lib = ctypes.CDLL(soname, use_errno=True)
        except OSError as exc:
            raise LibbpfUnavailable(f"cannot load {soname}: {exc}") from exc
        libc_name = ctypes.util.find_library("c") or "libc.so.6"
        self._libc = ctypes.CDLL(libc_name)
        self._lib = lib
        self._log: list[str] = []
        # Keep the callback object alive as long as libbpf may call it.
        self._print_cb = _PrintFn(self._print)
        try:
            self._declare()
        except AttributeError as exc:
            raise LibbpfUnavailable(f"{soname} lacks a needed function: {exc}") from exc
        self._set_print(None)

    def _declare(self) -> None:
        lib = self._lib
        vp, cp, u32, i32 = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_uint32, ctypes.c_int
        table: dict[str, tuple[type | None, list[type]]] = {
            "bpf_object__open_mem": (vp, [vp, ctypes.c_size_t, ctypes.POINTER(_OpenOpts)]),
            "bpf_object__close": (None, [vp]),
            "bpf_object__name": (cp, [vp]),
            "bpf_object__kversion": (u32, [vp]),
            "bpf_object__next_program": (vp, [vp, vp]),
            "bpf_object__next_map": (vp, [vp, vp]),
            "bpf_program__name": (cp, [vp]),
            "bpf_program__section_name": (cp, [vp]),
            "bpf_program__type": (i32, [vp]),
            "bpf_program__expected_attach_type": (i32, [vp]),
            "bpf_program__insn_cnt": (ctypes.c_size_t, [vp]),
            "bpf_program__flags": (u32, [vp]),
            "bpf_program__autoload": (ctypes.c_bool, [vp]),
            "bpf_map__name": (cp, [vp]),
            "bpf_map__type": (i32, [vp]),
            "bpf_map__key_size": (u32, [vp]),
            "bpf_map__value_size": (u32, [vp]),
            "bpf_map__max_entries": (u32, [vp]),
            "bpf_map__map_flags": (u32, [vp]),
            "bpf_map__map_extra": (ctypes.c_uint64, [vp]),
            "bpf_map__numa_node": (u32, [vp]),
            "bpf_map__is_internal": (ctypes.c_bool, [vp]),
            "bpf_map__btf_key_type_id": (u32, [vp]),
            "bpf_map__btf_value_type_id": (u32, [vp]),
            "bpf_map__initial_value": (vp, [vp, ctypes.POINTER(ctypes.c_size_t)]),
            "bpf_map__inner_map": (vp, [vp]),
            "libbpf_bpf_prog_type_str": (cp, [i32]),
            "libbpf_bpf_map_type_str": (cp, [i32]),
            "libbpf_bpf_attach_type_str": (cp, [i32]),
            "libbpf_set_print": (vp, [vp]),
        }
        for name, (restype, argtypes) in table.items():
            fn = getattr(lib, name)
            fn.restype = restype
            fn.argtypes = argtypes
        self._libc.vsnprintf.restype = ctypes.c_int
        self._libc.vsnprintf.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p,
                                         ctypes.c_void_p]

    # -- logging ----------------------------------------------------------------

    def _print(self, level: int, fmt: bytes | None, args: int | None) -> int:
        if level > LIBBPF_INFO or fmt is None:
            return 0
        buf = ctypes.create_string_buffer(1024)
        self._libc.vsnprintf(buf, len(buf), fmt, args)
        self._log.append(buf.value.decode("utf-8", "replace"))
        return 0

    def _set_print(self, fn: ctypes._CFunctionType | None) -> None:
        ptr = ctypes.cast(fn, ctypes.c_void_p) if fn is not None else None
        self._lib.libbpf_set_print(ptr)

    # -- names ------------------------------------------------------------------

    def prog_type_str(self, value: int) -> str | None:
        raw: bytes | None = self._lib.libbpf_bpf_prog_type_str(value)
        return raw.decode() if raw is not None else None

    def map_type_str(self, value: int) -> str | None:
        raw: bytes | None = self._lib.libbpf_bpf_map_type_str(value)
        return raw.decode() if raw is not None else None

    def attach_type_str(self, value: int) -> str | None:
        raw: bytes | None = self._lib.libbpf_bpf_attach_type_str(value)
        return raw.decode() if raw is not None else None

    # -- opening ----------------------------------------------------------------

    def _open(self, data: bytes, object_name: str) -> int:
        opts = _OpenOpts(ctypes.sizeof(_OpenOpts), object_name.encode())
        obj: int | None = self._lib.bpf_object__open_mem(data, len(data), ctypes.byref(opts))
        if not obj:
            raise LibbpfOpenError(ctypes.get_errno(), "\n".join(self._log))
        return obj

    def open_mem(self, data: bytes, object_name: str) -> LibbpfObject:
        """Open *data* with libbpf, copy out programs and maps, close it again.

        *object_name* matters: libbpf derives the names of internal maps
        (``.data``, ``.rodata``, ...) from it.  Raises :class:`LibbpfOpenError`.
        """
        with self._lock:
            self._log = []
            self._set_print(self._print_cb)
            try:
                obj = self._open(data, object_name)
                try:
                    return self._snapshot(obj)
                finally:
                    self._lib.bpf_object__close(obj)
            finally:
                self._set_print(None)

    def open_close(self, data: bytes, object_name: str) -> None:
        """Open and close, nothing else, with logging off: for timing."""
        opts = _OpenOpts(ctypes.sizeof(_OpenOpts), object_name.encode())
        obj = self._lib.bpf_object__open_mem(data, len(data), ctypes.byref(opts))
        if not obj:
            raise LibbpfOpenError(ctypes.get_errno(), "")
        self._lib.bpf_object__close(obj)

    def time_open_close(self, data: bytes, object_name: str, repeat: int) -> list[float]:
        """Seconds per open+close, *repeat* samples, ctypes call overhead included."""
        lib = self._lib
        opts = ctypes.byref(_OpenOpts(ctypes.sizeof(_OpenOpts), object_name.encode()))
        size = len(data)
        open_mem, close = lib.bpf_object__open_mem, lib.bpf_object__close
        clock = time.perf_counter
        samples = []
        for _ in range(repeat):
            t0 = clock()
            obj = open_mem(data, size, opts)
            close(obj)
            samples.append(clock() - t0)
            if not obj:
                raise LibbpfOpenError(ctypes.get_errno(), "")
        return samples

    # -- copying out ----------------------------------------------------------------

    def _snapshot(self, obj: int) -> LibbpfObject:
        lib = self._lib
        programs = []
        prog = lib.bpf_object__next_program(obj, None)
        while prog:
            ptype = lib.bpf_program__type(prog)
            atype = lib.bpf_program__expected_attach_type(prog)
            programs.append(LibbpfProgram(
                name=_text(lib.bpf_program__name(prog)),
                section=_text(lib.bpf_program__section_name(prog)),
                type=ptype,
                type_name=self.prog_type_str(ptype),
                expected_attach_type=atype,
                attach_type_name=self.attach_type_str(atype),
                insn_cnt=lib.bpf_program__insn_cnt(prog),
                flags=lib.bpf_program__flags(prog),
                autoload=bool(lib.bpf_program__autoload(prog)),
            ))
            prog = lib.bpf_object__next_program(obj, prog)
        maps = []
        m = lib.bpf_object__next_map(obj, None)
        while m:
            maps.append(self._map(m))
            m = lib.bpf_object__next_map(obj, m)
        return LibbpfObject(
            name=_text(lib.bpf_object__name(obj)),
            kversion=lib.bpf_object__kversion(obj),
            programs=tuple(programs),
            maps=tuple(maps),
            log="\n".join(self._log),
        )

    def _map(self, m: int) -> LibbpfMap:
        lib = self._lib
        size = ctypes.c_size_t(0)
        ptr = lib.bpf_map__initial_value(m, ctypes.byref(size))
        initial = ctypes.string_at(ptr, size.value) if ptr else None
        inner_ptr = lib.bpf_map__inner_map(m)
        mtype = lib.bpf_map__type(m)
        return LibbpfMap(
            name=_text(lib.bpf_map__name(m)),
            type=mtype,
            type_name=self.map_type_str(mtype),
            key_size=lib.bpf_map__key_size(m),
            value_size=lib.bpf_map__value_size(m),
            max_entries=lib.bpf_map__max_entries(m),
            map_flags=lib.bpf_map__map_flags(m),
            map_extra=lib.bpf_map__map_extra(m),
            numa_node=lib.bpf_map__numa_node(m),
            is_internal=bool(lib.bpf_map__is_internal(m)),
            btf_key_type_id=lib.bpf_map__btf_key_type_id(m),
            btf_value_type_id=lib.bpf_map__btf_value_type_id(m),
            initial_value=initial,
            inner=self._map(inner_ptr) if inner_ptr else None,
        )


def _text(raw: bytes | None) -> str:
    return raw.decode("utf-8", "replace") if raw is not None else ""


def internal_map_name(object_name: str, section_name: str) -> str:
    """The name libbpf 1.1 gives the map of data section *section_name*.

    libbpf prefixes ``.data``/``.rodata``/``.bss``/``.kconfig`` with as much of
    the object name as fits next to a suffix of at least 7 characters in the
    kernel's 15; sections with a second dot (``.data.foo``) get no prefix; both
    are cut at 15 characters and characters the kernel refuses become '_'.
    """
    limit = BPF_OBJ_NAME_LEN - 1
    sfx_len = min(max(7, len(section_name)), limit)
    if "." in section_name[1:]:
        pfx_len = 0
    else:
        pfx_len = min(limit - sfx_len, len(object_name))
    name = object_name[:pfx_len] + section_name[:sfx_len]
    return "".join(c if (c.isascii() and c.isalnum()) or c in "_." else "_" for c in name)
