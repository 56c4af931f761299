"""A model of the kernel's BTF_LOAD acceptance rules, parameterised by kernel version.

``check(blob, kernel)`` predicts what ``bpf(BPF_BTF_LOAD)`` answers for a raw BTF
blob: accepted, or the errno and the reason (in the words of the kernel's log).
The model follows kernel/bpf/btf.c btf_parse() step by step and in its order,
because the order decides which errno a blob with several faults gets:

1. size limit (E2BIG), header (btf_parse_hdr: hdr_len, trailing header bytes,
   magic, version, flags), section layout (btf_check_sec_info);
2. string section (btf_parse_str_sec), then (7.1+) the layout section
   (btf_parse_layout_sec);
3. type section: alignment, then every record's check_meta (validate_meta);
4. resolution and FUNC_PROTO checks (validate_resolve);
5. type-tag placement in modifier chains (btf_check_type_tags).

Which checks exist in which kernel is in :mod:`loader.btf.validate_facts`.  The
model reads the blob in the host's byte order, as the kernel does: BTF in the
other byte order fails on its magic.

Not modelled: btf_parse_struct_metas (6.2+), which inspects structs named
bpf_spin_lock/bpf_list_head/bpf_rb_root/... and kptr-tagged pointers; and the
contents of the 7.1 layout section (only its place and size are checked).
"""

from __future__ import annotations

import errno
import sys
from dataclasses import dataclass

from loader.btf import records as r
from loader.btf.validate_facts import KernelFacts, facts_for, parse_kernel
from loader.btf.validate_meta import ENOTSUPP, U32_MAX, Reject, Strings, check_all_metas
from loader.btf.validate_resolve import Resolver

__all__ = ["BTF_MAX_SIZE", "ENOTSUPP", "Verdict", "check"]

# btf.c BTF_MAX_SIZE: a larger blob is refused before it is copied in.
BTF_MAX_SIZE = 16 * 1024 * 1024
# sizeof(struct btf_layout): u8 info_sz, u8 elem_sz, u16 flags (uapi btf.h, 7.1+)
BTF_LAYOUT_SIZE = 4

_HOST_RECORDS = r.LITTLE if sys.byteorder == "little" else r.BIG


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the kernel answers: ``errno`` is None exactly when ``accepted``."""

    accepted: bool
    errno: int | None
    reason: str

    def as_dict(self) -> dict[str, object]:
        return {"accepted": self.accepted, "errno": self.errno, "reason": self.reason}


ACCEPTED = Verdict(True, None, "accepted")


def check(blob: bytes, kernel: str | tuple[int, int]) -> Verdict:
    """Predict BTF_LOAD's answer for ``blob`` on ``kernel`` (``"6.1"``, ``(5, 15)``,
    ``"host"``).  Raises only for arguments of the wrong type or an unreadable
    kernel version; every blob gets a verdict."""
    if isinstance(blob, (bytearray, memoryview)):
        blob = bytes(blob)
    if not isinstance(blob, bytes):
        raise TypeError(f"blob must be bytes, got {type(blob).__name__}")
    facts = facts_for(parse_kernel(kernel))
    try:
        _btf_parse(blob, facts, _HOST_RECORDS)
    except Reject as rej:
        return Verdict(False, rej.err, rej.reason)
    return ACCEPTED


@dataclass(frozen=True, slots=True)
class _Header:
    magic: int
    version: int
    flags: int
    hdr_len: int
    type_off: int
    type_len: int
    str_off: int
    str_len: int
    layout_off: int = 0
    layout_len: int = 0
    # the kernel knows the 32-byte header and hdr_len covers it (7.1+)
    full: bool = False

    @property
    def has_layout(self) -> bool:
        return self.full and self.layout_len != 0


def _btf_parse(blob: bytes, facts: KernelFacts, bo: r.Records) -> None:
    if len(blob) > BTF_MAX_SIZE:
        raise Reject(errno.E2BIG, f"blob of {len(blob)} bytes exceeds BTF_MAX_SIZE")
    hdr = _parse_hdr(blob, facts, bo)
    nohdr = blob[hdr.hdr_len:]
    strings = _parse_str_sec(blob, nohdr, hdr)
    if hdr.has_layout:
        _parse_layout_sec(hdr)
    if hdr.type_off & 3:
        raise Reject(errno.EINVAL, "Unaligned type_off")
    if not hdr.type_len:
        raise Reject(errno.EINVAL, "No type found")
    type_data = nohdr[hdr.type_off:hdr.type_off + hdr.type_len]
    types = check_all_metas(type_data, bo, strings, facts)
    resolver = Resolver(types, strings, facts)
    resolver.check_all_types()
    resolver.check_type_tags()


def _parse_hdr(blob: bytes, facts: KernelFacts, bo: r.Records) -> _Header:
    size = len(blob)
    if size < bo.preamble.size:
        raise Reject(errno.EINVAL, "hdr_len not found")
    hdr_len = bo.preamble.unpack_from(blob)[3]
    if size < hdr_len:
        raise Reject(errno.EINVAL, "btf_header not found")
    # Bytes of a longer header than the kernel knows must be zero (E2BIG, not EINVAL).
    known = facts.header_size
    if hdr_len > known and any(blob[known:hdr_len]):
        raise Reject(errno.E2BIG, "Unsupported btf_header")
    # The kernel copies min(hdr_len, its header size) bytes over a zeroed header,
    # so a short hdr_len leaves the fields past it (even hdr_len itself) zero.
    copied = blob[:min(hdr_len, known)].ljust(known, b"\0")
    magic, version, flags, copied_hdr_len = bo.preamble.unpack_from(copied)
    type_off, type_len, str_off, str_len = bo.header_v1.unpack_from(copied, bo.preamble.size)
    full = known == r.BTF_HEADER_LAYOUT_SIZE and copied_hdr_len >= known
    layout_off = layout_len = 0
    if full:
        layout_off, layout_len = bo.header_layout.unpack_from(
            copied, r.BTF_HEADER_V1_SIZE)
    hdr = _Header(magic, version, flags, copied_hdr_len, type_off, type_len, str_off, str_len,
                  layout_off, layout_len, full)
    if hdr.magic != r.BTF_MAGIC:
        raise Reject(errno.EINVAL, f"Invalid magic 0x{hdr.magic:x}")
    if hdr.version != r.BTF_VERSION:
        raise Reject(ENOTSUPP, f"Unsupported version {hdr.version}")
    if hdr.flags:
        raise Reject(ENOTSUPP, f"Unsupported flags 0x{hdr.flags:x}")
    if size == hdr.hdr_len:
        raise Reject(errno.EINVAL, "No data")
    _check_sec_info(size, hdr)
    return hdr


def _as_s32(x: int) -> int:
    x &= U32_MAX
    return x - (1 << 32) if x & 0x80000000 else x


def _sec_cmp(a: tuple[int, int], b: tuple[int, int]) -> int:
    return _as_s32(a[0] - b[0]) or _as_s32(a[1] - b[1])


def _check_sec_info(size: int, hdr: _Header) -> None:
    secs = [(hdr.type_off, hdr.type_len), (hdr.str_off, hdr.str_len)]
    # btf_sec_info_cmp compares with a truncating (int) subtraction; with two
    # sections the kernel's sort swaps them unless the first compares lower.
    a, b = secs
    if _sec_cmp(a, b) >= 0:
        secs = [b, a]
    if hdr.has_layout:
        # 7.1+: the layout section is the third; insertion keeps the kernel's
        # order for the offsets that matter (comparisons within 2 GiB)
        lay = (hdr.layout_off, hdr.layout_len)
        at = next((i for i, s in enumerate(secs) if _sec_cmp(lay, s) < 0), len(secs))
        secs.insert(at, lay)
    total = 0
    expected_total = size - hdr.hdr_len
    for off, length in secs:
        if expected_total < off:
            raise Reject(errno.EINVAL, "Invalid section offset")
        if total < off:
            raise Reject(errno.EINVAL, "Unsupported section found (gap)")
        if total > off:
            raise Reject(errno.EINVAL, "Section overlap found")
        if expected_total - total < length:
            raise Reject(errno.EINVAL, "Total section length too long")
        total += length
    if expected_total != total:
        raise Reject(errno.EINVAL, "Unsupported section found (trailing data)")


def _parse_layout_sec(hdr: _Header) -> None:
    # btf_parse_layout_sec (7.1+); its bounds were already checked with the others
    if hdr.layout_off & 3:
        raise Reject(errno.EINVAL, "Unaligned layout_off")
    if hdr.layout_len < BTF_LAYOUT_SIZE:
        raise Reject(errno.EINVAL, "Layout section is too small")
    if hdr.layout_len % BTF_LAYOUT_SIZE:
        raise Reject(errno.EINVAL, f"layout_len is not multiple of {BTF_LAYOUT_SIZE}")


def _parse_str_sec(blob: bytes, nohdr: bytes, hdr: _Header) -> Strings:
    # 7.1+: with the full 32-byte header another section may follow the strings
    if not hdr.full and hdr.hdr_len + hdr.str_off + hdr.str_len != len(blob):
        raise Reject(errno.EINVAL, "String section is not at the end")
    data = nohdr[hdr.str_off:hdr.str_off + hdr.str_len]
    if not hdr.str_len or hdr.str_len - 1 > r.BTF_MAX_NAME_OFFSET or data[-1]:
        raise Reject(errno.EINVAL, "Invalid string section (empty, too long or not NUL-ended)")
    if data[0]:
        raise Reject(errno.EINVAL, "Invalid string section (does not start with NUL)")
    return Strings(data)
