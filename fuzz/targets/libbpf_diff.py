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

__all__ = ["LibbpfAccepts", "LibbpfRejects", "TestOneInput", "custom_mutator"]

try:
    _LIBBPF = Libbpf()
except LibbpfUnavailable as exc:  # the registry reports the target as unavailable
    raise ImportError(str(exc), name="libbpf.so.1") from exc


# Disagreements are common and many are by design (libbpf does not check
# line_info strings at open; we accept objects libbpf 1.1 has no SEC() for).  Once
# a kind is filed in corpus/regress/libbpf_diff/ it is known and no longer stops
# the fuzzer, which otherwise restarts on the same disagreement all day.
_REGRESS = Path(os.environ.get("BPFCONFORM_FUZZ_REGRESS_DIR", REGRESS_ROOT)) / "libbpf_diff"
_KNOWN = frozenset(filed_keys(_REGRESS))


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
