"""Target ``btf_model``: the kernel BTF_LOAD model against the parser.

Oracle: ``validate.check`` gives a verdict for every blob and never raises; and
what the model says the kernel accepts, the parser must read in full (the kernel
is the stricter of the two, so the parser rejecting an accepted blob is a bug in
one of them).  The other direction is not checked: the parser reads BTF the
kernel refuses on purpose (foreign byte order, newer header layouts).
"""

from __future__ import annotations

from fuzz.mutators import btf_mutator as custom_mutator
from fuzz.targets._oracle import Disagreement
from loader.btf import parse_raw
from loader.btf.validate import check
from loader.errors import LoaderError

KERNEL = (6, 18)
__all__ = ["KERNEL", "TestOneInput", "custom_mutator"]


def TestOneInput(data: bytes) -> None:
    verdict = check(data, KERNEL)
    if not verdict.accepted:
        return
    try:
        parse_raw(data).types()
    except LoaderError as exc:
        raise Disagreement(f"kernel model accepts, parser rejects: {exc}") from exc
