"""Target ``libbpf_diff``: libbpf (``bpf_object__open_mem``) against our loader.

Both open the same bytes; when one accepts and the other rejects, that is a
finding to triage.  Not every one is our bug: libbpf 1.1 is lenient in places
(and strict about section names newer than itself), so the regress files of this
target are reviewed, not fixed blindly.  A crash inside libbpf itself kills the
process and is filed like any other crash (kind ``crash``, type ``exitN``).
"""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path

from conformance.oracles.libbpf import Libbpf, LibbpfOpenError, LibbpfUnavailable
from fuzz.mutators import elf_mutator as custom_mutator
from fuzz.replay import finding_key
from fuzz.targets._oracle import Disagreement
from fuzz.triage import REGRESS_ROOT, filed_keys
from loader.collection import load_collection_spec
from loader.errors import LoaderError

__all__ = ["TRIAGED_LIBBPF_REJECTS", "LibbpfAccepts", "LibbpfRejects", "TestOneInput",
           "custom_mutator"]

try:
    _LIBBPF = Libbpf()
except LibbpfUnavailable as exc:  # the registry reports the target as unavailable
    raise ImportError(str(exc), name="libbpf.so.1") from exc


# Disagreements are common and many are by design (libbpf does not check
# line_info strings at open; we accept objects libbpf 1.1 has no SEC() for).  Once
# a kind is filed in corpus/regress/libbpf_diff/ it is known and no longer stops
# the fuzzer, which otherwise restarts on the same disagreement all day.
_REGRESS = Path(os.environ.get("BPFCONFORM_FUZZ_REGRESS_DIR", REGRESS_ROOT)) / "libbpf_diff"

_HERE = "fuzz/targets/libbpf_diff.py:TestOneInput"

# The "libbpf rejects, we accept" classes that were triaged, each a deliberate
# difference, with the reason (libbpf 1.1.2 source read for the check; cilium/ebpf
# at HEAD for what it accepts).  A class is keyed by libbpf's errno only, so a
# triaged class also hides any other libbpf rejection with the same errno: look
# at libbpf's log (conformance.oracles.libbpf captures it) before filing a new
# input under one of these.  conformance/test_regress.py replays each one and
# requires the disagreement to still be exactly this.  A class our loader comes
# to reject as well leaves this table (its regress file then replays as agreement).
TRIAGED_LIBBPF_REJECTS: dict[str, str] = {
    f"LibbpfRejects<ENOTSUP> at {_HERE}":
        "legacy bpf_map_def maps in a 'maps' section: libbpf 1.0+ refuses them at open "
        "('legacy map definitions in 'maps' section are not supported'); cilium/ebpf "
        "accepts them and so do we, by design (issue 3: iproute2-style objects; the spec "
        "says the maps are legacy).",
    f"LibbpfRejects<EINVAL> at {_HERE}":
        "a data section (.bss, NOBITS) of size 0xfffffff9..0xffffffff: libbpf rounds the "
        "u32 value_size up to 8 in 32-bit arithmetic, which wraps to 0, so its mmap of the "
        "content buffer fails ('failed to alloc map ... content buffer: -22'); larger "
        "NOBITS sizes it silently truncates to u32.  An overflow in libbpf, not a rule: "
        "we bound value_size at U32_MAX exactly like cilium/ebpf (loader/collection/"
        "datasec.py) and leave the kernel's own limit (E2BIG at map create) to load time.",
    f"LibbpfRejects<ENOENT> at {_HERE}":
        "a DATASEC VAR whose ELF symbol is not STT_OBJECT (the regress input: 'LICENSE' "
        "with st_type 7): libbpf's DATASEC fix-up only matches global/weak STT_OBJECT "
        "symbols ('failed to find ELF symbol for VAR', debug level, so the log is empty); "
        "cilium/ebpf matches a VAR against every symbol of its section whatever its type, "
        "and so do we (loader/btf/elf.py fixup_datasecs).  The kernel never sees ELF "
        "symbols.",
    f"LibbpfRejects<LIBBPF_ERRNO_4005> at {_HERE}":
        "LIBBPF_ERRNO__RELOC for a function reference (ld_imm64 function pointer, or a "
        "bpf2bpf call) to a function in another program section, not .text (the regress "
        "input: 'tr_tp_free' loads the address of program 'tr_btf_fork'): libbpf 1.1 links "
        "only .text subprograms ('bad map relo' / 'bad call relo against ... in section "
        "...'); cilium/ebpf accepts global functions of any program section and links the "
        "callee into the caller, and so do we (loader/collection/relocations.py, linker.py).  "
        "The kernel sees only the linked instruction stream.",
}

_KNOWN = frozenset(filed_keys(_REGRESS)) | TRIAGED_LIBBPF_REJECTS.keys()


class LibbpfRejects(Disagreement):
    """We produced a CollectionSpec; libbpf refused the object."""


class LibbpfAccepts(Disagreement):
    """libbpf opened the object; we raised a LoaderError."""


# e_ident[EI_DATA] of objects libbpf can open here: libbpf refuses objects whose
# byte order differs from the host's (LIBBPF_ERRNO__ENDIAN), so it is no oracle
# for those.
_HOST_EI_DATA = 1 if sys.byteorder == "little" else 2


_ERRNO_TYPES: dict[int, type[Exception]] = {}


def _errno_reason(err: int, text: str) -> Exception:
    # Named after libbpf's errno (ENOENT, EOPNOTSUPP, LIBBPF_ERRNO_4003, ...) so that
    # triage keys "we accept what libbpf rejects" per reason, not all as one finding.
    cls = _ERRNO_TYPES.get(err)
    if cls is None:
        name = errno.errorcode.get(err, f"LIBBPF_ERRNO_{err}")
        cls = _ERRNO_TYPES[err] = type(name, (Exception,), {"__module__": __name__})
    return cls(text)


def TestOneInput(data: bytes) -> None:
    if len(data) > 5 and data[5] != _HOST_EI_DATA:
        return
    ours: LoaderError | None = None
    try:
        load_collection_spec(data)
    except LoaderError as exc:
        ours = exc
    try:
        try:
            _LIBBPF.open_close(data, "fuzz")
        except LibbpfOpenError as theirs:
            if ours is None:
                try:
                    raise _errno_reason(theirs.errno, str(theirs))
                except Exception as reason:
                    raise LibbpfRejects(f"libbpf rejects ({theirs}), we accept") from reason
            return
        if ours is not None:
            raise LibbpfAccepts(f"libbpf accepts, we reject: {ours}") from ours
    except Disagreement as found:
        if finding_key(found) not in _KNOWN:
            raise
