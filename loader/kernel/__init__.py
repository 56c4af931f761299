"""The bpf() syscall layer: attr layouts, fd ownership, one function per command.

``from loader.kernel import bpf`` gives the command functions; the most used
names are re-exported here as well.
"""

from __future__ import annotations

from loader.kernel import bpf
from loader.kernel.bpf import (
    TestRun,
    btf_load,
    btf_load_with_log,
    link_create,
    map_create,
    map_delete_elem,
    map_freeze,
    map_get_next_key,
    map_lookup_batch,
    map_lookup_elem,
    map_update_elem,
    obj_get,
    obj_pin,
    prog_load,
    prog_load_with_log,
    prog_test_run,
)
from loader.kernel.fd import FD
from loader.kernel.info import (
    BTFInfo,
    LinkInfo,
    MapInfo,
    ProgInfo,
    obj_get_info_by_fd,
)
from loader.kernel.syscall import sys_bpf

__all__ = [
    "FD",
    "BTFInfo",
    "LinkInfo",
    "MapInfo",
    "ProgInfo",
    "TestRun",
    "bpf",
    "btf_load",
    "btf_load_with_log",
    "link_create",
    "map_create",
    "map_delete_elem",
    "map_freeze",
    "map_get_next_key",
    "map_lookup_batch",
    "map_lookup_elem",
    "map_update_elem",
    "obj_get",
    "obj_get_info_by_fd",
    "obj_pin",
    "prog_load",
    "prog_load_with_log",
    "prog_test_run",
    "sys_bpf",
]
