"""BPF_OBJ_GET_INFO_BY_FD for programs, maps, BTF objects and links."""

from __future__ import annotations

import ctypes
import errno
import os
from dataclasses import dataclass

from loader.errors import KernelError
from loader.kernel import attr as A
from loader.kernel.bpf import FdLike, fdnum
from loader.kernel.syscall import sys_bpf
from loader.uapi import Cmd

# What /proc/self/fd/N points at for each bpf object (anon inode names).
_KIND_BY_LINK = {
    "anon_inode:bpf-prog": "prog",
    "anon_inode:bpf-map": "map",
    "anon_inode:btf": "btf",
    "anon_inode:bpf_link": "link",
}


@dataclass(frozen=True)
class ProgInfo:
    type: int
    id: int
    tag: str
    name: str
    jited_prog_len: int
    xlated_prog_len: int
    load_time_ns: int
    created_by_uid: int
    map_ids: tuple[int, ...]
    gpl_compatible: bool
    btf_id: int
    nr_func_info: int
    nr_line_info: int
    verified_insns: int
    attach_btf_obj_id: int
    attach_btf_id: int


@dataclass(frozen=True)
class MapInfo:
    type: int
    id: int
    key_size: int
    value_size: int
    max_entries: int
    map_flags: int
    name: str
    btf_id: int
    btf_key_type_id: int
    btf_value_type_id: int
    btf_vmlinux_value_type_id: int
    map_extra: int


@dataclass(frozen=True)
class BTFInfo:
    id: int
    btf_size: int
    name: str
    kernel_btf: bool


@dataclass(frozen=True)
class LinkInfo:
    type: int
    id: int
    prog_id: int


def object_kind(fd: FdLike) -> str:
    """ "prog", "map", "btf" or "link", from the fd's anon inode name."""
    try:
        target = os.readlink(f"/proc/self/fd/{fdnum(fd)}")
    except OSError as exc:
        err = exc.errno or errno.EBADF
        raise KernelError("BPF_OBJ_GET_INFO_BY_FD", err, "no such fd") from None
    kind = _KIND_BY_LINK.get(target)
    if kind is None:
        raise KernelError("BPF_OBJ_GET_INFO_BY_FD", errno.EINVAL, f"fd is {target}, not bpf")
    return kind


def _get_info(fd: FdLike, info: ctypes.Structure) -> int:
    attr = A.InfoAttr(bpf_fd=fdnum(fd), info_len=ctypes.sizeof(info), info=ctypes.addressof(info))
    sys_bpf(Cmd.OBJ_GET_INFO_BY_FD, attr)
    return int(attr.info_len)


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


def prog_info(fd: FdLike) -> ProgInfo:
    info = A.BpfProgInfo()
    _get_info(fd, info)
    map_ids: tuple[int, ...] = ()
    if info.nr_map_ids:
        # Second call: the kernel fills only the arrays we hand it room for.
        ids = (ctypes.c_uint32 * info.nr_map_ids)()
        again = A.BpfProgInfo(nr_map_ids=info.nr_map_ids, map_ids=ctypes.addressof(ids))
        _get_info(fd, again)
        map_ids = tuple(ids[: min(again.nr_map_ids, info.nr_map_ids)])
    return ProgInfo(
        type=info.type,
        id=info.id,
        tag=bytes(info.tag).hex(),
        name=_text(info.name),
        jited_prog_len=info.jited_prog_len,
        xlated_prog_len=info.xlated_prog_len,
        load_time_ns=info.load_time,
        created_by_uid=info.created_by_uid,
        map_ids=map_ids,
        gpl_compatible=bool(info.gpl_compatible),
        btf_id=info.btf_id,
        nr_func_info=info.nr_func_info,
        nr_line_info=info.nr_line_info,
        verified_insns=info.verified_insns,
        attach_btf_obj_id=info.attach_btf_obj_id,
        attach_btf_id=info.attach_btf_id,
    )


def map_info(fd: FdLike) -> MapInfo:
    info = A.BpfMapInfo()
    _get_info(fd, info)
    return MapInfo(
        type=info.type,
        id=info.id,
        key_size=info.key_size,
        value_size=info.value_size,
        max_entries=info.max_entries,
        map_flags=info.map_flags,
        name=_text(info.name),
        btf_id=info.btf_id,
        btf_key_type_id=info.btf_key_type_id,
        btf_value_type_id=info.btf_value_type_id,
        btf_vmlinux_value_type_id=info.btf_vmlinux_value_type_id,
        map_extra=info.map_extra,
    )


def btf_info(fd: FdLike) -> BTFInfo:
    name = ctypes.create_string_buffer(256)
    # name/name_len arrived in 5.11; older kernels ignore nothing here, they reject
    # the non-zero tail with E2BIG, so retry without them.
    info = A.BpfBtfInfo(name=ctypes.addressof(name), name_len=len(name))
    try:
        _get_info(fd, info)
    except KernelError as exc:
        if exc.errno != errno.E2BIG:
            raise
        info = A.BpfBtfInfo()
        _get_info(fd, info)
    return BTFInfo(
        id=info.id, btf_size=info.btf_size, name=_text(name.raw), kernel_btf=bool(info.kernel_btf)
    )


def link_info(fd: FdLike) -> LinkInfo:
    info = A.BpfLinkInfo()
    _get_info(fd, info)
    return LinkInfo(type=info.type, id=info.id, prog_id=info.prog_id)


def obj_get_info_by_fd(fd: FdLike) -> ProgInfo | MapInfo | BTFInfo | LinkInfo:
    """The kernel's info record for whatever bpf object ``fd`` is."""
    kind = object_kind(fd)
    if kind == "prog":
        return prog_info(fd)
    if kind == "map":
        return map_info(fd)
    if kind == "btf":
        return btf_info(fd)
    return link_info(fd)
