"""One function per bpf() command, in the kernel's vocabulary.

Every function that creates a kernel object returns an :class:`FD` that owns it;
on failure nothing is left open.  fd arguments accept an :class:`FD` or an int.
"""

from __future__ import annotations

import ctypes
import errno
from dataclasses import dataclass

from loader.errors import KernelError
from loader.kernel import attr as A
from loader.kernel.fd import FD
from loader.kernel.log import BTF_LOG, DEFAULT_LOG_SIZE, PROG_LOG, run_with_log
from loader.kernel.syscall import sys_bpf
from loader.uapi import Cmd, MapFlag

FdLike = FD | int
# (records, rec_size, count) as the kernel wants func_info / line_info.
ExtInfo = tuple[bytes, int, int]


def fdnum(fd: FdLike) -> int:
    return fd.fd if isinstance(fd, FD) else fd


def _optfd(fd: FdLike | None) -> int:
    return 0 if fd is None else fdnum(fd)


def _buffer(data: bytes) -> ctypes.Array[ctypes.c_char]:
    # create_string_buffer(b"") would still be one byte: harmless, the size is passed apart.
    return ctypes.create_string_buffer(data, max(len(data), 1))


def _addr(buf: ctypes.Array[ctypes.c_char] | None) -> int:
    return 0 if buf is None else ctypes.addressof(buf)


def _obj_name(command: str, name: str) -> bytes:
    raw = name.encode("ascii", "replace")
    if len(raw) >= A.BPF_OBJ_NAME_LEN:
        raise KernelError(command, errno.EINVAL, f"object name {name!r} longer than 15 bytes")
    return raw


def btf_load(blob: bytes, *, log_level: int = 0, log_size: int = DEFAULT_LOG_SIZE) -> FD:
    """BPF_BTF_LOAD; a rejection raises :class:`VerifierError` with the BTF log."""
    fd, _ = btf_load_with_log(blob, log_level=log_level, log_size=log_size)
    return fd


def btf_load_with_log(
    blob: bytes, *, log_level: int = 1, log_size: int = DEFAULT_LOG_SIZE
) -> tuple[FD, str]:
    """BPF_BTF_LOAD returning the log as well (empty when ``log_level`` is 0)."""
    buf = _buffer(blob)
    attr = A.BTFLoadAttr(btf=_addr(buf), btf_size=len(blob))
    fd, log = run_with_log(Cmd.BTF_LOAD, attr, BTF_LOG, log_level, log_size)
    return FD(fd), log


def map_create(
    map_type: int,
    key_size: int,
    value_size: int,
    max_entries: int,
    *,
    flags: int = 0,
    name: str = "",
    inner_map_fd: FdLike | None = None,
    btf_fd: FdLike | None = None,
    btf_key_type_id: int = 0,
    btf_value_type_id: int = 0,
    btf_vmlinux_value_type_id: int = 0,
    map_extra: int = 0,
    numa_node: int | None = None,
    map_ifindex: int = 0,
) -> FD:
    """BPF_MAP_CREATE.  ``numa_node`` sets BPF_F_NUMA_NODE."""
    attr = A.MapCreateAttr(
        map_type=map_type,
        key_size=key_size,
        value_size=value_size,
        max_entries=max_entries,
        map_flags=flags,
        inner_map_fd=_optfd(inner_map_fd),
        map_name=_obj_name("BPF_MAP_CREATE", name),
        map_ifindex=map_ifindex,
        btf_fd=_optfd(btf_fd),
        btf_key_type_id=btf_key_type_id,
        btf_value_type_id=btf_value_type_id,
        btf_vmlinux_value_type_id=btf_vmlinux_value_type_id,
        map_extra=map_extra,
    )
    if numa_node is not None:
        attr.map_flags |= MapFlag.NUMA_NODE
        attr.numa_node = numa_node
    return FD(sys_bpf(Cmd.MAP_CREATE, attr))


def map_update_elem(fd: FdLike, key: bytes, value: bytes, flags: int = 0) -> None:
    k, v = _buffer(key), _buffer(value)
    attr = A.MapElemAttr(map_fd=fdnum(fd), key=_addr(k), value=_addr(v), flags=flags)
    sys_bpf(Cmd.MAP_UPDATE_ELEM, attr)


def map_lookup_elem(fd: FdLike, key: bytes, value_size: int, flags: int = 0) -> bytes | None:
    """The value under ``key``, or None when there is none (ENOENT).

    For per-CPU maps ``value_size`` must be the value size rounded up to 8 times
    the number of possible CPUs.
    """
    k = _buffer(key)
    v = ctypes.create_string_buffer(max(value_size, 1))
    attr = A.MapElemAttr(map_fd=fdnum(fd), key=_addr(k), value=_addr(v), flags=flags)
    try:
        sys_bpf(Cmd.MAP_LOOKUP_ELEM, attr)
    except KernelError as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise
    return v.raw[:value_size]


def map_delete_elem(fd: FdLike, key: bytes) -> None:
    k = _buffer(key)
    sys_bpf(Cmd.MAP_DELETE_ELEM, A.MapElemAttr(map_fd=fdnum(fd), key=_addr(k)))


def map_get_next_key(fd: FdLike, key: bytes | None, key_size: int) -> bytes | None:
    """The key after ``key`` (the first key when None); None at the end."""
    k = None if key is None else _buffer(key)
    nxt = ctypes.create_string_buffer(max(key_size, 1))
    attr = A.MapElemAttr(map_fd=fdnum(fd), key=_addr(k), value=_addr(nxt))
    try:
        sys_bpf(Cmd.MAP_GET_NEXT_KEY, attr)
    except KernelError as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise
    return nxt.raw[:key_size]


def map_freeze(fd: FdLike) -> None:
    """BPF_MAP_FREEZE (5.2): no more writes from user space."""
    sys_bpf(Cmd.MAP_FREEZE, A.MapElemAttr(map_fd=fdnum(fd)))


def map_lookup_batch(
    fd: FdLike, key_size: int, value_size: int, count: int
) -> list[tuple[bytes, bytes]]:
    """The first ``count`` entries through BPF_MAP_LOOKUP_BATCH (5.6)."""
    keys = ctypes.create_string_buffer(max(key_size * count, 1))
    values = ctypes.create_string_buffer(max(value_size * count, 1))
    out_batch = ctypes.create_string_buffer(max(key_size, 8))
    attr = A.MapBatchAttr(
        out_batch=_addr(out_batch),
        keys=_addr(keys),
        values=_addr(values),
        count=count,
        map_fd=fdnum(fd),
    )
    try:
        sys_bpf(Cmd.MAP_LOOKUP_BATCH, attr)
    except KernelError as exc:
        # ENOENT means "this was the last batch"; count says how many were filled.
        if exc.errno != errno.ENOENT:
            raise
    n = attr.count
    return [
        (
            keys.raw[i * key_size : (i + 1) * key_size],
            values.raw[i * value_size : (i + 1) * value_size],
        )
        for i in range(n)
    ]


def prog_load(
    prog_type: int,
    insns: bytes,
    *,
    license: str = "GPL",
    kern_version: int = 0,
    name: str = "",
    expected_attach_type: int = 0,
    prog_btf_fd: FdLike | None = None,
    func_info: ExtInfo | None = None,
    line_info: ExtInfo | None = None,
    attach_btf_id: int = 0,
    attach_btf_obj_fd: FdLike | None = None,
    attach_prog_fd: FdLike | None = None,
    prog_flags: int = 0,
    fd_array: tuple[int, ...] = (),
    log_level: int = 0,
    log_size: int = DEFAULT_LOG_SIZE,
) -> FD:
    """BPF_PROG_LOAD.  A rejection raises :class:`VerifierError` carrying the log.

    ``insns`` are encoded instructions (8 bytes each, in host byte order).
    """
    fd, _ = prog_load_with_log(
        prog_type,
        insns,
        license=license,
        kern_version=kern_version,
        name=name,
        expected_attach_type=expected_attach_type,
        prog_btf_fd=prog_btf_fd,
        func_info=func_info,
        line_info=line_info,
        attach_btf_id=attach_btf_id,
        attach_btf_obj_fd=attach_btf_obj_fd,
        attach_prog_fd=attach_prog_fd,
        prog_flags=prog_flags,
        fd_array=fd_array,
        log_level=log_level,
        log_size=log_size,
    )
    return fd


def prog_load_with_log(
    prog_type: int,
    insns: bytes,
    *,
    license: str = "GPL",
    kern_version: int = 0,
    name: str = "",
    expected_attach_type: int = 0,
    prog_btf_fd: FdLike | None = None,
    func_info: ExtInfo | None = None,
    line_info: ExtInfo | None = None,
    attach_btf_id: int = 0,
    attach_btf_obj_fd: FdLike | None = None,
    attach_prog_fd: FdLike | None = None,
    prog_flags: int = 0,
    fd_array: tuple[int, ...] = (),
    log_level: int = 1,
    log_size: int = DEFAULT_LOG_SIZE,
) -> tuple[FD, str]:
    """BPF_PROG_LOAD returning the verifier log as well."""
    if len(insns) % 8:
        raise KernelError("BPF_PROG_LOAD", errno.EINVAL, f"{len(insns)} bytes of instructions")
    if attach_btf_obj_fd is not None and attach_prog_fd is not None:
        raise KernelError(
            "BPF_PROG_LOAD", errno.EINVAL, "attach_btf_obj_fd and attach_prog_fd share a field"
        )
    code = _buffer(insns)
    lic = ctypes.create_string_buffer(license.encode())
    attr = A.ProgLoadAttr(
        prog_type=prog_type,
        insn_cnt=len(insns) // 8,
        insns=_addr(code),
        license=_addr(lic),
        kern_version=kern_version,
        prog_flags=prog_flags,
        prog_name=_obj_name("BPF_PROG_LOAD", name),
        expected_attach_type=expected_attach_type,
        prog_btf_fd=_optfd(prog_btf_fd),
        attach_btf_id=attach_btf_id,
        attach_btf_obj_fd=_optfd(attach_btf_obj_fd if attach_prog_fd is None else attach_prog_fd),
    )
    keep: list[object] = [code, lic]
    if func_info is not None:
        data, rec_size, count = func_info
        fi = _buffer(data)
        keep.append(fi)
        attr.func_info, attr.func_info_rec_size, attr.func_info_cnt = _addr(fi), rec_size, count
    if line_info is not None:
        data, rec_size, count = line_info
        li = _buffer(data)
        keep.append(li)
        attr.line_info, attr.line_info_rec_size, attr.line_info_cnt = _addr(li), rec_size, count
    if fd_array:
        arr = (ctypes.c_int32 * len(fd_array))(*fd_array)
        keep.append(arr)
        attr.fd_array = ctypes.addressof(arr)
    fd, log = run_with_log(Cmd.PROG_LOAD, attr, PROG_LOG, log_level, log_size)
    return FD(fd), log


def obj_pin(fd: FdLike, path: str) -> None:
    """BPF_OBJ_PIN: ``path`` must be on a bpffs mount."""
    p = ctypes.create_string_buffer(path.encode())
    sys_bpf(Cmd.OBJ_PIN, A.ObjAttr(pathname=_addr(p), bpf_fd=fdnum(fd)))


def obj_get(path: str, *, file_flags: int = 0) -> FD:
    """BPF_OBJ_GET: open a pinned object."""
    p = ctypes.create_string_buffer(path.encode())
    return FD(sys_bpf(Cmd.OBJ_GET, A.ObjAttr(pathname=_addr(p), file_flags=file_flags)))


def link_create(
    prog_fd: FdLike,
    target_fd: int,
    attach_type: int,
    *,
    flags: int = 0,
    target_btf_id: int = 0,
    iter_info: bytes | None = None,
) -> FD:
    """BPF_LINK_CREATE (5.7).  ``target_fd`` is an fd or an ifindex, by attach type."""
    attr = A.LinkCreateAttr(
        prog_fd=fdnum(prog_fd), target_fd=target_fd, attach_type=attach_type, flags=flags
    )
    info = None
    if iter_info is not None:
        info = _buffer(iter_info)
        attr.iter_info, attr.iter_info_len = _addr(info), len(iter_info)
    elif target_btf_id:
        attr.target_btf_id = target_btf_id
    return FD(sys_bpf(Cmd.LINK_CREATE, attr))


@dataclass(frozen=True)
class TestRun:
    retval: int
    duration_ns: int
    data_out: bytes


def prog_test_run(
    prog_fd: FdLike, data_in: bytes = b"", *, repeat: int = 1, data_size_out: int = 0
) -> TestRun:
    """BPF_PROG_TEST_RUN (4.12): run a program once (or ``repeat`` times) on ``data_in``."""
    din = _buffer(data_in)
    dout = ctypes.create_string_buffer(max(data_size_out, 1)) if data_size_out else None
    attr = A.TestRunAttr(
        prog_fd=fdnum(prog_fd),
        data_size_in=len(data_in),
        data_in=_addr(din) if data_in else 0,
        data_size_out=data_size_out,
        data_out=_addr(dout),
        repeat=repeat,
    )
    sys_bpf(Cmd.PROG_TEST_RUN, attr)
    out = dout.raw[: attr.data_size_out] if dout is not None else b""
    return TestRun(attr.retval, attr.duration, out)
