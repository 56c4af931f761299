"""The bpf() layer against the running kernel: objects, errors, logs, fd hygiene."""

from __future__ import annotations

import ctypes
import errno
import gc
import os
import struct

import pytest

from conformance.kernel_support import kernel_marks, open_fds, program
from loader import asm
from loader.errors import KernelError, VerifierError
from loader.features.common import INT, btf_blob
from loader.kernel import FD, bpf, obj_get_info_by_fd
from loader.kernel import attr as A
from loader.kernel.log import PROG_LOG
from loader.kernel.syscall import sys_bpf
from loader.uapi import Cmd, MapFlag, MapType, ProgType

pytestmark = kernel_marks()

RET0 = program(asm.mov64_imm(0, 0), asm.exit_insn())
# Reads r0 before anything wrote it: the verifier says "R0 !read_ok".
BAD = program(asm.exit_insn())
K = struct.Struct("=I")


def test_map_roundtrip_and_info():
    before = open_fds()
    with bpf.map_create(MapType.HASH, 4, 8, 4, name="conf_map") as m:
        assert bpf.map_lookup_elem(m, K.pack(1), 8) is None
        bpf.map_update_elem(m, K.pack(1), b"abcdefgh")
        assert bpf.map_lookup_elem(m, K.pack(1), 8) == b"abcdefgh"
        assert bpf.map_get_next_key(m, None, 4) == K.pack(1)
        assert bpf.map_get_next_key(m, K.pack(1), 4) is None
        assert bpf.map_lookup_batch(m, 4, 8, 4) == [(K.pack(1), b"abcdefgh")]
        info = obj_get_info_by_fd(m)
        assert isinstance(info, bpf_map_info_type())
        assert (info.type, info.key_size, info.value_size, info.max_entries, info.name) == (
            MapType.HASH,
            4,
            8,
            4,
            "conf_map",
        )
        bpf.map_delete_elem(m, K.pack(1))
        assert bpf.map_lookup_elem(m, K.pack(1), 8) is None
        with pytest.raises(KernelError) as exc:
            bpf.map_delete_elem(m, K.pack(1))
        assert exc.value.errno == errno.ENOENT
    assert open_fds() == before


def bpf_map_info_type():
    from loader.kernel import MapInfo

    return MapInfo


def test_freeze_blocks_user_writes():
    with bpf.map_create(MapType.ARRAY, 4, 4, 1, flags=MapFlag.RDONLY_PROG) as m:
        bpf.map_update_elem(m, K.pack(0), K.pack(7))
        bpf.map_freeze(m)
        with pytest.raises(KernelError) as exc:
            bpf.map_update_elem(m, K.pack(0), K.pack(8))
        assert exc.value.errno == errno.EPERM
        assert bpf.map_lookup_elem(m, K.pack(0), 4) == K.pack(7)


def test_bad_map_is_kernel_error_and_leaks_nothing():
    before = open_fds()
    with pytest.raises(KernelError) as exc:
        bpf.map_create(MapType.ARRAY, 4, 4, 0)  # an array needs max_entries > 0
    assert isinstance(exc.value, OSError) and exc.value.errno == errno.EINVAL
    assert "BPF_MAP_CREATE" in str(exc.value)
    with pytest.raises(KernelError):
        bpf.map_create(MapType.ARRAY, 4, 4, 1, name="x" * 16)
    assert open_fds() == before


def test_prog_load_info_and_test_run():
    before = open_fds()
    with bpf.prog_load(ProgType.SCHED_CLS, RET0, name="conf_prog") as p:
        info = obj_get_info_by_fd(p)
        assert info.name == "conf_prog" and info.type == ProgType.SCHED_CLS
        assert info.gpl_compatible and info.xlated_prog_len == len(RET0)
        run = bpf.prog_test_run(p, bytes(64))
        assert run.retval == 0
    assert open_fds() == before


def test_prog_info_lists_used_maps():
    with bpf.map_create(MapType.ARRAY, 4, 8, 1) as m:
        insns = program(asm.ld_map_fd(1, m.fd), asm.mov64_imm(0, 0), asm.exit_insn())
        with bpf.prog_load(ProgType.SOCKET_FILTER, insns) as p:
            assert obj_get_info_by_fd(p).map_ids == (obj_get_info_by_fd(m).id,)


def test_verifier_error_carries_the_log():
    before = open_fds()
    with pytest.raises(VerifierError) as exc:
        bpf.prog_load(ProgType.SOCKET_FILTER, BAD)  # log_level 0: retried with a log
    assert exc.value.errno == errno.EACCES
    assert "R0 !read_ok" in exc.value.log
    assert "R0 !read_ok" in exc.value.log_tail
    assert "R0 !read_ok" in str(exc.value)
    assert open_fds() == before


def test_btf_load_error_carries_the_log():
    blob = bytearray(btf_blob(INT))
    struct.pack_into("=I", blob, 24, 0xFFFF)  # the INT's name_off: past the strings
    with pytest.raises(VerifierError) as exc:
        bpf.btf_load(bytes(blob))
    assert exc.value.errno == errno.EINVAL
    assert "Invalid name" in exc.value.log or "name" in exc.value.log.lower()
    with bpf.btf_load(btf_blob(INT)) as b:
        info = obj_get_info_by_fd(b)
        assert info.btf_size == len(btf_blob(INT)) and not info.kernel_btf


def test_log_grows_on_enospc():
    # Oracle first: the kernel itself refuses a verbose log in a 128-byte buffer.
    code = ctypes.create_string_buffer(RET0)
    lic = ctypes.create_string_buffer(b"GPL")
    small = ctypes.create_string_buffer(128)
    attr = A.ProgLoadAttr(
        prog_type=ProgType.SOCKET_FILTER,
        insn_cnt=2,
        insns=ctypes.addressof(code),
        license=ctypes.addressof(lic),
        log_level=2,
        log_size=128,
        log_buf=ctypes.addressof(small),
    )
    with pytest.raises(KernelError) as exc:
        os.close(sys_bpf(Cmd.PROG_LOAD, attr))
    assert exc.value.errno == errno.ENOSPC
    assert PROG_LOG.true_size == "log_true_size"
    # Ours grows the buffer and gets the whole log.
    fd, log = bpf.prog_load_with_log(ProgType.SOCKET_FILTER, RET0, log_level=2, log_size=128)
    with fd:
        assert len(log) > 128 and "processed 2 insns" in log


def test_pin_and_get(tmp_path):
    if not os.path.isdir("/sys/fs/bpf"):
        pytest.skip("no bpffs at /sys/fs/bpf")
    path = f"/sys/fs/bpf/bpfconform_test_{os.getpid()}"
    with bpf.map_create(MapType.ARRAY, 4, 4, 1) as m:
        bpf.obj_pin(m, path)
        try:
            with bpf.obj_get(path) as again:
                assert obj_get_info_by_fd(again).id == obj_get_info_by_fd(m).id
        finally:
            os.unlink(path)


def test_fd_ownership():
    before = open_fds()
    m = bpf.map_create(MapType.ARRAY, 4, 4, 1)
    assert m.fd >= 3
    d = m.dup()
    assert d.fd != m.fd and obj_get_info_by_fd(d).id == obj_get_info_by_fd(m).id
    m.close()
    m.close()  # idempotent
    assert m.closed
    with pytest.raises(KernelError):
        _ = m.fd
    with d:
        pass
    assert d.closed
    leaked = bpf.map_create(MapType.ARRAY, 4, 4, 1)
    del leaked
    gc.collect()
    assert open_fds() == before


def test_fd_moves_off_stdio_numbers():
    before = open_fds()
    r, w = os.pipe()
    saved = os.dup(0)
    try:
        os.dup2(r, 0)
        os.close(0)  # fd 0 is now free: the kernel would hand it out next
        fd = FD(
            sys_bpf(
                Cmd.MAP_CREATE,
                A.MapCreateAttr(map_type=MapType.ARRAY, key_size=4, value_size=4, max_entries=1),
            )
        )
        assert fd.fd >= 3
        fd.close()
    finally:
        os.dup2(saved, 0)
        os.close(saved)
        os.close(r)
        os.close(w)
    assert open_fds() == before
