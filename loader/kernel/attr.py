"""``union bpf_attr``, one ctypes Structure per command.

Each layout ends with the newest field this loader knows.  The kernel copies
``min(size, sizeof(its union))`` bytes and demands that any bytes past its own
union are zero (``bpf_check_uarg_tail_zero``), so a zero-filled tail makes one
layout valid on old and new kernels alike as long as new fields stay unset.
Fields are commented with the kernel release that added them where it is later
than the command itself.  Offsets are checked against ``<linux/bpf.h>`` by the
conformance suite (a C program built by the host's cc).
"""

from __future__ import annotations

import ctypes
from ctypes import c_char, c_int32, c_uint32, c_uint64

BPF_OBJ_NAME_LEN = 16
BPF_TAG_SIZE = 8

# ``__aligned_u64`` pointers: a plain u64 has 8-byte alignment on every 64-bit ABI.
ptr64 = c_uint64


class MapCreateAttr(ctypes.Structure):
    """BPF_MAP_CREATE (3.18)."""

    _fields_ = [
        ("map_type", c_uint32),
        ("key_size", c_uint32),
        ("value_size", c_uint32),
        ("max_entries", c_uint32),
        ("map_flags", c_uint32),  # 4.6
        ("inner_map_fd", c_uint32),  # 4.12
        ("numa_node", c_uint32),  # 4.14
        ("map_name", c_char * BPF_OBJ_NAME_LEN),  # 4.15
        ("map_ifindex", c_uint32),  # 4.16
        ("btf_fd", c_uint32),  # 4.18
        ("btf_key_type_id", c_uint32),  # 4.18
        ("btf_value_type_id", c_uint32),  # 4.18
        ("btf_vmlinux_value_type_id", c_uint32),  # 5.6
        ("map_extra", c_uint64),  # 5.16
        ("value_type_btf_obj_fd", c_int32),  # 6.9
        ("map_token_fd", c_int32),  # 6.9
    ]


class MapElemAttr(ctypes.Structure):
    """BPF_MAP_{LOOKUP,UPDATE,DELETE}_ELEM, GET_NEXT_KEY, LOOKUP_AND_DELETE, FREEZE."""

    _fields_ = [
        ("map_fd", c_uint32),
        ("key", ptr64),
        ("value", ptr64),  # also next_key
        ("flags", c_uint64),
    ]


class MapBatchAttr(ctypes.Structure):
    """BPF_MAP_*_BATCH (5.6)."""

    _fields_ = [
        ("in_batch", ptr64),
        ("out_batch", ptr64),
        ("keys", ptr64),
        ("values", ptr64),
        ("count", c_uint32),
        ("map_fd", c_uint32),
        ("elem_flags", c_uint64),
        ("flags", c_uint64),
    ]


class ProgLoadAttr(ctypes.Structure):
    """BPF_PROG_LOAD (3.18)."""

    _fields_ = [
        ("prog_type", c_uint32),
        ("insn_cnt", c_uint32),
        ("insns", ptr64),
        ("license", ptr64),
        ("log_level", c_uint32),
        ("log_size", c_uint32),
        ("log_buf", ptr64),
        ("kern_version", c_uint32),  # 4.1
        ("prog_flags", c_uint32),  # 4.12
        ("prog_name", c_char * BPF_OBJ_NAME_LEN),  # 4.15
        ("prog_ifindex", c_uint32),  # 4.15
        ("expected_attach_type", c_uint32),  # 4.17
        ("prog_btf_fd", c_uint32),  # 5.0
        ("func_info_rec_size", c_uint32),  # 5.0
        ("func_info", ptr64),  # 5.0
        ("func_info_cnt", c_uint32),  # 5.0
        ("line_info_rec_size", c_uint32),  # 5.0
        ("line_info", ptr64),  # 5.0
        ("line_info_cnt", c_uint32),  # 5.0
        ("attach_btf_id", c_uint32),  # 5.5
        ("attach_btf_obj_fd", c_uint32),  # 5.5 as attach_prog_fd; union since 5.11
        ("core_relo_cnt", c_uint32),  # 5.17
        ("fd_array", ptr64),  # 5.14
        ("core_relos", ptr64),  # 5.17
        ("core_relo_rec_size", c_uint32),  # 5.17
        ("log_true_size", c_uint32),  # 6.4, output
        ("prog_token_fd", c_int32),  # 6.9
        ("fd_array_cnt", c_uint32),  # 6.14
    ]


class ObjAttr(ctypes.Structure):
    """BPF_OBJ_PIN / BPF_OBJ_GET (4.4)."""

    _fields_ = [
        ("pathname", ptr64),
        ("bpf_fd", c_uint32),
        ("file_flags", c_uint32),  # 4.15
        ("path_fd", c_int32),  # 6.5
    ]


class TestRunAttr(ctypes.Structure):
    """BPF_PROG_TEST_RUN (4.12)."""

    _fields_ = [
        ("prog_fd", c_uint32),
        ("retval", c_uint32),
        ("data_size_in", c_uint32),
        ("data_size_out", c_uint32),
        ("data_in", ptr64),
        ("data_out", ptr64),
        ("repeat", c_uint32),
        ("duration", c_uint32),
        ("ctx_size_in", c_uint32),  # 5.2
        ("ctx_size_out", c_uint32),  # 5.2
        ("ctx_in", ptr64),  # 5.2
        ("ctx_out", ptr64),  # 5.2
        ("flags", c_uint32),  # 5.10
        ("cpu", c_uint32),  # 5.10
        ("batch_size", c_uint32),  # 5.18
    ]


class InfoAttr(ctypes.Structure):
    """BPF_OBJ_GET_INFO_BY_FD (4.13)."""

    _fields_ = [
        ("bpf_fd", c_uint32),
        ("info_len", c_uint32),
        ("info", ptr64),
    ]


class BTFLoadAttr(ctypes.Structure):
    """BPF_BTF_LOAD (4.18)."""

    _fields_ = [
        ("btf", ptr64),
        ("btf_log_buf", ptr64),
        ("btf_size", c_uint32),
        ("btf_log_size", c_uint32),
        ("btf_log_level", c_uint32),
        ("btf_log_true_size", c_uint32),  # 6.4, output
        ("btf_flags", c_uint32),  # 6.9
        ("btf_token_fd", c_int32),  # 6.9
    ]


class _LinkCreateIter(ctypes.Structure):
    _fields_ = [
        ("iter_info", ptr64),  # 5.9
        ("iter_info_len", c_uint32),
    ]


class _LinkCreateKprobeMulti(ctypes.Structure):
    _fields_ = [
        ("flags", c_uint32),  # 5.18
        ("cnt", c_uint32),
        ("syms", ptr64),
        ("addrs", ptr64),
        ("cookies", ptr64),
    ]


class _LinkCreateTracing(ctypes.Structure):
    _fields_ = [
        ("target_btf_id", c_uint32),
        ("cookie", c_uint64),  # 6.0
    ]


class _LinkCreateTarget(ctypes.Union):
    _anonymous_ = ("iter",)
    _fields_ = [
        ("target_btf_id", c_uint32),  # 5.10
        ("iter", _LinkCreateIter),
        ("kprobe_multi", _LinkCreateKprobeMulti),
        ("tracing", _LinkCreateTracing),
    ]


class LinkCreateAttr(ctypes.Structure):
    """BPF_LINK_CREATE (5.7)."""

    _anonymous_ = ("target",)
    _fields_ = [
        ("prog_fd", c_uint32),
        ("target_fd", c_uint32),  # also target_ifindex
        ("attach_type", c_uint32),
        ("flags", c_uint32),
        ("target", _LinkCreateTarget),
    ]


class ProgAttachAttr(ctypes.Structure):
    """BPF_PROG_ATTACH / BPF_PROG_DETACH (4.10)."""

    _fields_ = [
        ("target_fd", c_uint32),
        ("attach_bpf_fd", c_uint32),
        ("attach_type", c_uint32),
        ("attach_flags", c_uint32),
        ("replace_bpf_fd", c_uint32),  # 5.6
    ]


class BpfProgInfo(ctypes.Structure):
    """``struct bpf_prog_info`` (4.13; grown through 5.15)."""

    _fields_ = [
        ("type", c_uint32),
        ("id", c_uint32),
        ("tag", ctypes.c_uint8 * BPF_TAG_SIZE),
        ("jited_prog_len", c_uint32),
        ("xlated_prog_len", c_uint32),
        ("jited_prog_insns", ptr64),
        ("xlated_prog_insns", ptr64),
        ("load_time", c_uint64),  # 4.15
        ("created_by_uid", c_uint32),  # 4.15
        ("nr_map_ids", c_uint32),  # 4.15
        ("map_ids", ptr64),  # 4.15
        ("name", c_char * BPF_OBJ_NAME_LEN),  # 4.15
        ("ifindex", c_uint32),  # 4.16
        ("gpl_compatible", c_uint32, 1),  # 4.18
        ("_pad0", c_uint32, 31),
        ("netns_dev", c_uint64),
        ("netns_ino", c_uint64),
        ("nr_jited_ksyms", c_uint32),  # 4.18
        ("nr_jited_func_lens", c_uint32),
        ("jited_ksyms", ptr64),
        ("jited_func_lens", ptr64),
        ("btf_id", c_uint32),  # 5.0
        ("func_info_rec_size", c_uint32),
        ("func_info", ptr64),
        ("nr_func_info", c_uint32),
        ("nr_line_info", c_uint32),
        ("line_info", ptr64),
        ("jited_line_info", ptr64),
        ("nr_jited_line_info", c_uint32),
        ("line_info_rec_size", c_uint32),
        ("jited_line_info_rec_size", c_uint32),
        ("nr_prog_tags", c_uint32),
        ("prog_tags", ptr64),
        ("run_time_ns", c_uint64),  # 5.1
        ("run_cnt", c_uint64),  # 5.1
        ("recursion_misses", c_uint64),  # 5.12
        ("verified_insns", c_uint32),  # 5.16
        ("attach_btf_obj_id", c_uint32),  # 5.16
        ("attach_btf_id", c_uint32),  # 5.16
        ("_pad1", c_uint32),
    ]


class BpfMapInfo(ctypes.Structure):
    """``struct bpf_map_info`` (4.13)."""

    _fields_ = [
        ("type", c_uint32),
        ("id", c_uint32),
        ("key_size", c_uint32),
        ("value_size", c_uint32),
        ("max_entries", c_uint32),
        ("map_flags", c_uint32),
        ("name", c_char * BPF_OBJ_NAME_LEN),  # 4.15
        ("ifindex", c_uint32),  # 4.16
        ("btf_vmlinux_value_type_id", c_uint32),  # 5.6
        ("netns_dev", c_uint64),
        ("netns_ino", c_uint64),
        ("btf_id", c_uint32),  # 4.18
        ("btf_key_type_id", c_uint32),
        ("btf_value_type_id", c_uint32),
        ("_pad0", c_uint32),
        ("map_extra", c_uint64),  # 5.16
    ]


class BpfBtfInfo(ctypes.Structure):
    """``struct bpf_btf_info`` (4.18)."""

    _fields_ = [
        ("btf", ptr64),
        ("btf_size", c_uint32),
        ("id", c_uint32),
        ("name", ptr64),  # 5.11
        ("name_len", c_uint32),
        ("kernel_btf", c_uint32),
    ]


class BpfLinkInfo(ctypes.Structure):
    """``struct bpf_link_info`` (5.8): the common head and room for its union."""

    _fields_ = [
        ("type", c_uint32),
        ("id", c_uint32),
        ("prog_id", c_uint32),
        ("_pad0", c_uint32),
        ("_union", c_uint64 * 8),  # the per-link-type union, read by type
    ]


# Where each layout lives in C, for the offset oracle: the prefix of its members
# inside ``union bpf_attr`` (anonymous structs have none), or the info struct.
C_LAYOUTS: dict[type[ctypes.Structure], tuple[str, str]] = {
    MapCreateAttr: ("union bpf_attr", ""),
    MapElemAttr: ("union bpf_attr", ""),
    MapBatchAttr: ("union bpf_attr", "batch."),
    ProgLoadAttr: ("union bpf_attr", ""),
    ObjAttr: ("union bpf_attr", ""),
    TestRunAttr: ("union bpf_attr", "test."),
    InfoAttr: ("union bpf_attr", "info."),
    BTFLoadAttr: ("union bpf_attr", ""),
    LinkCreateAttr: ("union bpf_attr", "link_create."),
    ProgAttachAttr: ("union bpf_attr", ""),
    BpfProgInfo: ("struct bpf_prog_info", ""),
    BpfMapInfo: ("struct bpf_map_info", ""),
    BpfBtfInfo: ("struct bpf_btf_info", ""),
    BpfLinkInfo: ("struct bpf_link_info", ""),
}
