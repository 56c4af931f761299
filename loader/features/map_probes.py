"""One probe per map type: create the smallest valid map of that type.

A kernel that does not know a type (or was built without it) answers EINVAL
from the type lookup; the attributes used are valid for every kernel that has
the type, so EINVAL here means "missing".  Claimed minimums: the release that
added each type (include/uapi/linux/bpf.h history).  HASH .. ARENA agree with
cilium/ebpf's features/map.go matrix, and with bcc's kernel-versions.md for the
types it lists (up to SK_STORAGE); the Debian matrix kernels bound each claim
(5.10 ends at INODE_STORAGE, 6.1 at USER_RINGBUF, 6.12 and 6.18 at ARENA).
"""

from __future__ import annotations

import errno
import mmap
from collections.abc import Callable

from loader.errors import KernelError
from loader.features.common import INT, array_map, btf_blob, describe, map_outcome
from loader.features.registry import YES, No, Outcome, Probe, add
from loader.kernel import bpf
from loader.uapi import MapFlag, MapType

_EINVAL = (errno.EINVAL,)
# ENOTSUPP (524, kernel-internal) answers a struct_ops map whose value type id is
# not a struct_ops type: the map type itself exists.
_ENOTSUPP = 524


def _simple(
    map_type: MapType, key: int, value: int, entries: int, flags: int = 0
) -> Callable[[], Outcome]:
    def fn() -> Outcome:
        return map_outcome(
            _EINVAL,
            map_type=map_type,
            key_size=key,
            value_size=value,
            max_entries=entries,
            flags=flags,
        )

    return fn


def _map_in_map(map_type: MapType) -> Callable[[], Outcome]:
    def fn() -> Outcome:
        with array_map(4) as inner:
            return map_outcome(
                _EINVAL,
                map_type=map_type,
                key_size=4,
                value_size=4,
                max_entries=1,
                inner_map_fd=inner,
            )

    return fn


def _local_storage(map_type: MapType) -> Callable[[], Outcome]:
    # Storage maps need BTF for key and value, max_entries 0 and no prealloc.
    def fn() -> Outcome:
        with bpf.btf_load(btf_blob(INT)) as btf:
            return map_outcome(
                _EINVAL,
                map_type=map_type,
                key_size=4,
                value_size=4,
                max_entries=0,
                flags=MapFlag.NO_PREALLOC,
                btf_fd=btf,
                btf_key_type_id=1,
                btf_value_type_id=1,
            )

    return fn


def _struct_ops() -> Outcome:
    try:
        fd = bpf.map_create(MapType.STRUCT_OPS, 4, 4, 1, btf_vmlinux_value_type_id=1)
    except KernelError as exc:
        if exc.errno == _ENOTSUPP:
            return YES
        if exc.errno == errno.EINVAL:
            return No(describe(exc))
        raise
    fd.close()
    return YES


_PAGE = mmap.PAGESIZE
_STORAGE_KEY = 16  # sizeof(struct bpf_cgroup_storage_key)

_MAPS: list[tuple[MapType, str, Callable[[], Outcome]]] = [
    (MapType.HASH, "3.19", _simple(MapType.HASH, 4, 4, 1)),
    (MapType.ARRAY, "3.19", _simple(MapType.ARRAY, 4, 4, 1)),
    (MapType.PROG_ARRAY, "4.2", _simple(MapType.PROG_ARRAY, 4, 4, 1)),
    (MapType.PERF_EVENT_ARRAY, "4.3", _simple(MapType.PERF_EVENT_ARRAY, 4, 4, 1)),
    (MapType.PERCPU_HASH, "4.6", _simple(MapType.PERCPU_HASH, 4, 4, 1)),
    (MapType.PERCPU_ARRAY, "4.6", _simple(MapType.PERCPU_ARRAY, 4, 4, 1)),
    (MapType.STACK_TRACE, "4.6", _simple(MapType.STACK_TRACE, 4, 8, 1)),
    (MapType.CGROUP_ARRAY, "4.8", _simple(MapType.CGROUP_ARRAY, 4, 4, 1)),
    (MapType.LRU_HASH, "4.10", _simple(MapType.LRU_HASH, 4, 4, 1)),
    (MapType.LRU_PERCPU_HASH, "4.10", _simple(MapType.LRU_PERCPU_HASH, 4, 4, 1)),
    (MapType.LPM_TRIE, "4.11", _simple(MapType.LPM_TRIE, 8, 4, 1, MapFlag.NO_PREALLOC)),
    (MapType.ARRAY_OF_MAPS, "4.12", _map_in_map(MapType.ARRAY_OF_MAPS)),
    (MapType.HASH_OF_MAPS, "4.12", _map_in_map(MapType.HASH_OF_MAPS)),
    (MapType.DEVMAP, "4.14", _simple(MapType.DEVMAP, 4, 4, 1)),
    (MapType.SOCKMAP, "4.14", _simple(MapType.SOCKMAP, 4, 4, 1)),
    (MapType.CPUMAP, "4.15", _simple(MapType.CPUMAP, 4, 4, 1)),
    (MapType.XSKMAP, "4.18", _simple(MapType.XSKMAP, 4, 4, 1)),
    (MapType.SOCKHASH, "4.18", _simple(MapType.SOCKHASH, 4, 4, 1)),
    (MapType.CGROUP_STORAGE, "4.19", _simple(MapType.CGROUP_STORAGE, _STORAGE_KEY, 4, 0)),
    (MapType.REUSEPORT_SOCKARRAY, "4.19", _simple(MapType.REUSEPORT_SOCKARRAY, 4, 4, 1)),
    (
        MapType.PERCPU_CGROUP_STORAGE,
        "4.20",
        _simple(MapType.PERCPU_CGROUP_STORAGE, _STORAGE_KEY, 4, 0),
    ),
    (MapType.QUEUE, "4.20", _simple(MapType.QUEUE, 0, 4, 1)),
    (MapType.STACK, "4.20", _simple(MapType.STACK, 0, 4, 1)),
    (MapType.SK_STORAGE, "5.2", _local_storage(MapType.SK_STORAGE)),
    (MapType.DEVMAP_HASH, "5.4", _simple(MapType.DEVMAP_HASH, 4, 4, 1)),
    (MapType.STRUCT_OPS, "5.6", _struct_ops),
    (MapType.RINGBUF, "5.8", _simple(MapType.RINGBUF, 0, 0, _PAGE)),
    (MapType.INODE_STORAGE, "5.10", _local_storage(MapType.INODE_STORAGE)),
    (MapType.TASK_STORAGE, "5.11", _local_storage(MapType.TASK_STORAGE)),
    (MapType.BLOOM_FILTER, "5.16", _simple(MapType.BLOOM_FILTER, 0, 4, 1)),
    (MapType.USER_RINGBUF, "6.1", _simple(MapType.USER_RINGBUF, 0, 0, _PAGE)),
    (MapType.CGRP_STORAGE, "6.2", _local_storage(MapType.CGRP_STORAGE)),
    (MapType.ARENA, "6.9", _simple(MapType.ARENA, 0, 0, 1, MapFlag.MMAPABLE)),
    # bpf_insn_array_value is 16 bytes (u32 orig_off, xlated_off, jitted_off, pad).
    # UNVERIFIED release: the BTF of the kernels checked has it in 7.2 and not in
    # 6.18 (host); 6.19 (Anton Protopopov's indirect-jump series, late 2025) is not
    # confirmed from a primary source.
    (MapType.INSN_ARRAY, "6.19", _simple(MapType.INSN_ARRAY, 4, 16, 1)),
    # UNVERIFIED release: in 7.2's BTF, not in 6.18's; nothing read here names the
    # release between them (selftests carry 2026 copyrights).
    (MapType.RHASH, "7.0", _simple(MapType.RHASH, 4, 4, 1, MapFlag.NO_PREALLOC)),
]

for _type, _min, _fn in _MAPS:
    add(Probe(f"map_type_{_type.name.lower()}", _min, "map_type", _fn))
