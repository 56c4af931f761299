"""Loader-relevant kernel features that are neither a BTF kind, a map type, a
program type nor a helper.  Claimed minimums as cilium/ebpf's features package
and libbpf's features.c state them (see FACTS.md), else the kernel history."""

from __future__ import annotations

import errno
import struct
from collections.abc import Callable

from loader import asm
from loader.asm import opcodes as op
from loader.btf import types as t
from loader.errors import KernelError
from loader.features.common import (
    INT,
    RET0,
    SOCKET_FILTER,
    array_map,
    btf_blob,
    code,
    describe,
    load_outcome,
    map_outcome,
    rejected_by_verifier,
)
from loader.features.registry import YES, No, Outcome, probe
from loader.kernel import FD, bpf
from loader.kernel import attr as A
from loader.kernel.syscall import sys_bpf
from loader.uapi import AttachType, Cmd, MapFlag, MapType, ProgType

_OLD_ATTR = (errno.EINVAL, errno.E2BIG)  # unknown flag / non-zero tail an old kernel does not know


@probe("object_names", "4.15", "misc")
def object_names() -> Outcome:
    return map_outcome(
        _OLD_ATTR,
        map_type=MapType.ARRAY,
        key_size=4,
        value_size=4,
        max_entries=1,
        name="feature_test",
    )


@probe("prog_names", "4.15", "misc")
def prog_names() -> Outcome:
    return load_outcome(
        SOCKET_FILTER,
        code(*RET0),
        name="feature_test",
        missing=lambda e: e.errno in _OLD_ATTR,
    )


@probe("dots_in_names", "5.2", "misc")
def dots_in_names() -> Outcome:
    return map_outcome(
        (errno.EINVAL,),
        map_type=MapType.ARRAY,
        key_size=4,
        value_size=4,
        max_entries=1,
        name=".test",
    )


@probe("rdonly_wronly_maps", "4.15", "misc")
def rdonly_wronly_maps() -> Outcome:
    return map_outcome(
        _OLD_ATTR,
        map_type=MapType.ARRAY,
        key_size=4,
        value_size=4,
        max_entries=1,
        flags=MapFlag.RDONLY,
    )


def _array_with_flag(flag: MapFlag) -> Callable[[], Outcome]:
    def run() -> Outcome:
        return map_outcome(
            _OLD_ATTR, map_type=MapType.ARRAY, key_size=4, value_size=4, max_entries=1,
            flags=flag,
        )

    return run


# One-element arrays whose only novelty is a map_flags bit: an old kernel refuses the
# unknown bit with EINVAL.
for _name, _claimed, _flag in (
    ("rdonly_prog_maps", "5.2", MapFlag.RDONLY_PROG),
    ("wronly_prog_maps", "5.2", MapFlag.WRONLY_PROG),
    ("mmapable_arrays", "5.5", MapFlag.MMAPABLE),
    ("inner_map_flag", "5.10", MapFlag.INNER_MAP),
):
    probe(_name, _claimed, "misc")(_array_with_flag(_flag))


@probe("map_freeze", "5.2", "misc")
def map_freeze() -> Outcome:
    with array_map(4) as m:
        try:
            bpf.map_freeze(m)
        except KernelError as exc:
            if exc.errno == errno.EINVAL:  # unknown command
                return No(describe(exc))
            raise
    return YES


@probe("batch_ops", "5.6", "misc")
def batch_ops() -> Outcome:
    with bpf.map_create(MapType.HASH, 4, 4, 1) as m:
        try:
            bpf.map_lookup_batch(m, 4, 4, 1)  # empty map: ENOENT is swallowed
        except KernelError as exc:
            if exc.errno == errno.EINVAL:  # unknown command
                return No(describe(exc))
            raise
    return YES


@probe("map_btf", "4.18", "misc")
def map_btf() -> Outcome:
    with bpf.btf_load(btf_blob(INT)) as btf:
        return map_outcome(
            _OLD_ATTR,
            map_type=MapType.ARRAY,
            key_size=4,
            value_size=4,
            max_entries=1,
            btf_fd=btf,
            btf_key_type_id=1,
            btf_value_type_id=1,
        )


@probe("prog_func_info", "5.0", "misc")
def prog_func_info() -> Outcome:
    proto = t.FuncProto(return_type=1, params=())
    with bpf.btf_load(btf_blob(INT, proto, t.Func("f", 2, 0))) as btf:
        # struct bpf_func_info {insn_off, type_id}: one record for instruction 0.
        rec = struct.pack("=II", 0, 3)
        return load_outcome(
            SOCKET_FILTER,
            code(*RET0),
            prog_btf_fd=btf,
            func_info=(rec, 8, 1),
            missing=lambda e: e.errno in _OLD_ATTR,
        )


@probe("bpf2bpf_calls", "4.16", "misc")
def bpf2bpf_calls() -> Outcome:
    insns = code(asm.call_pseudo(1), asm.exit_insn(), asm.mov64_imm(0, 0), asm.exit_insn())
    return load_outcome(SOCKET_FILTER, insns, missing=rejected_by_verifier)


@probe("bounded_loops", "5.3", "misc")
def bounded_loops() -> Outcome:
    insns = code(
        asm.mov64_imm(0, 0),
        asm.alu64_imm(op.BPF_ADD, 0, 1),
        asm.jmp_imm(op.BPF_JLT, 0, 4, -2),
        asm.exit_insn(),
    )
    return load_outcome(SOCKET_FILTER, insns, missing=rejected_by_verifier)


@probe("large_insn_limit", "5.2", "misc")
def large_insn_limit() -> Outcome:
    # One more than BPF_MAXINSNS (4096), the old limit: older kernels say E2BIG.
    insns = code(*([asm.mov64_imm(0, 0)] * 4096), asm.exit_insn())
    return load_outcome(
        SOCKET_FILTER, insns, missing=lambda e: e.errno == errno.E2BIG or rejected_by_verifier(e)
    )


@probe("isa_v2", "4.14", "misc")
def isa_v2() -> Outcome:
    # BPF_JLT and friends.
    insns = code(asm.mov64_imm(0, 0), asm.jmp_imm(op.BPF_JLT, 0, 0, 0), asm.exit_insn())
    return load_outcome(SOCKET_FILTER, insns, missing=rejected_by_verifier)


@probe("isa_v3", "5.1", "misc")
def isa_v3() -> Outcome:
    # The BPF_JMP32 class.
    insns = code(asm.mov64_imm(0, 0), asm.jmp32_imm(op.BPF_JLT, 0, 0, 0), asm.exit_insn())
    return load_outcome(SOCKET_FILTER, insns, missing=rejected_by_verifier)


@probe("isa_v4", "6.6", "misc")
def isa_v4() -> Outcome:
    # Sign-extending move (BPF_MOVSX), new in the v4 ISA.
    insns = code(asm.mov64_imm(0, 0), asm.movsx64_reg(0, 0, 8), asm.exit_insn())
    return load_outcome(SOCKET_FILTER, insns, missing=rejected_by_verifier)


@probe("atomics_fetch", "5.12", "misc")
def atomics_fetch() -> Outcome:
    # BPF_ATOMIC with BPF_FETCH (atomic_fetch_add) on the stack.
    insns = code(
        asm.st_mem(op.BPF_DW, 10, -8, 0),
        asm.mov64_imm(1, 1),
        asm.atomic_op(op.BPF_DW, op.BPF_ADD, 10, 1, -8, fetch=True),
        asm.mov64_imm(0, 0),
        asm.exit_insn(),
    )
    return load_outcome(SOCKET_FILTER, insns, missing=rejected_by_verifier)


@probe("global_data", "5.2", "misc")
def global_data() -> Outcome:
    # ld_imm64 of a map value address (BPF_PSEUDO_MAP_VALUE), as .data/.bss need.
    with array_map(8) as m:
        insns = code(
            asm.ld_map_value(1, m.fd, 0),
            asm.st_mem(op.BPF_DW, 1, 0, 42),
            asm.mov64_imm(0, 0),
            asm.exit_insn(),
        )
        return load_outcome(SOCKET_FILTER, insns, missing=rejected_by_verifier)


@probe("kfunc_calls", "5.13", "misc")
def kfunc_calls() -> Outcome:
    # A kfunc call (src_reg BPF_PSEUDO_KFUNC_CALL) to type id 1, which is not a
    # function: kernels with kfuncs say so, older ones reject the call encoding.
    insns = code(asm.call_kfunc(1), asm.mov64_imm(0, 0), asm.exit_insn())
    try:
        bpf.prog_load(ProgType.SCHED_CLS, insns, log_level=1).close()
    except KernelError as exc:
        log = getattr(exc, "log", "")
        if "kernel btf_id" in log or "kernel function" in log:
            return YES
        if rejected_by_verifier(exc):
            return No(describe(exc))
        raise
    return YES


@probe("bpf_link", "5.7", "misc")
def bpf_link() -> Outcome:
    # LINK_CREATE with no program: kernels that know the command look the fd up
    # (EBADF); older ones refuse the unknown command (EINVAL).
    attr = A.LinkCreateAttr(
        prog_fd=0xFFFFFFFF, target_fd=0xFFFFFFFF, attach_type=AttachType.CGROUP_INET_INGRESS
    )
    try:
        fd = sys_bpf(Cmd.LINK_CREATE, attr)
    except KernelError as exc:
        if exc.errno == errno.EBADF:
            return YES
        if exc.errno == errno.EINVAL:
            return No(describe(exc))
        raise
    FD(fd).close()
    raise KernelError("BPF_LINK_CREATE", errno.EIO, "a link was created from invalid fds")


@probe("prog_test_run", "4.12", "misc")
def prog_test_run() -> Outcome:
    with bpf.prog_load(ProgType.SCHED_CLS, code(*RET0)) as p:
        try:
            bpf.prog_test_run(p, bytes(64))
        except KernelError as exc:
            if exc.errno == errno.EINVAL:
                return No(describe(exc))
            raise
    return YES


@probe("ringbuf", "5.8", "misc")
def ringbuf() -> Outcome:
    # A ring buffer a program writes through bpf_ringbuf_output.
    import mmap

    with bpf.map_create(MapType.RINGBUF, 0, 0, mmap.PAGESIZE) as rb:
        insns = code(
            asm.ld_map_fd(1, rb.fd),
            asm.mov64_reg(2, 10),
            asm.alu64_imm(op.BPF_ADD, 2, -8),
            asm.st_mem(op.BPF_DW, 10, -8, 0),
            asm.mov64_imm(3, 8),
            asm.mov64_imm(4, 0),
            asm.call_helper(130),  # bpf_ringbuf_output
            asm.mov64_imm(0, 0),
            asm.exit_insn(),
        )
        return load_outcome(SOCKET_FILTER, insns, missing=rejected_by_verifier)
