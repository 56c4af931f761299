"""Target ``btf_gen``: hypothesis-generated BTF, driven by the fuzzer's bytes.

The fuzzer's input is the choice sequence behind the strategies of
:mod:`conformance.generators` (``fuzz_one_input``), so coverage guidance steers
the generator instead of flipping bytes.  Byte 0 picks the property:

- even: a valid spec (``btf_specs``) encoded in either byte order must parse to the
  same types, and the kernel model must accept it in the host's byte order;
- odd: a spec broken by one model rule (``invalid_btf``) must get that rule's errno
  from the model, and the parser may only raise LoaderError on it.
"""

from __future__ import annotations

import sys
from typing import Literal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.generators import BTFShape, InvalidBTF, btf_specs, invalid_btf
from fuzz.targets._oracle import Disagreement
from loader.btf import parse_raw
from loader.btf.validate import check
from loader.errors import LoaderError

KERNEL = (6, 18)
_HOST = "<" if sys.byteorder == "little" else ">"
_SETTINGS = settings(database=None, deadline=None, suppress_health_check=list(HealthCheck))


@_SETTINGS
@given(shape=btf_specs(kernel=KERNEL), big_endian=st.booleans())
def _valid(shape: BTFShape, big_endian: bool) -> None:
    order: Literal["<", ">"] = ">" if big_endian else "<"
    blob = shape.encode(order)
    try:
        types = parse_raw(blob).types()
    except LoaderError as exc:
        raise Disagreement(f"generated valid BTF does not parse: {exc}") from exc
    if tuple(types) != tuple(shape.types):
        raise Disagreement("parsed types differ from the generated ones")
    if order == _HOST:
        verdict = check(blob, KERNEL)
        if not verdict.accepted:
            raise Disagreement(f"model rejects generated valid BTF: {verdict.reason}")


@_SETTINGS
@given(case=invalid_btf(kernel=KERNEL))
def _invalid(case: InvalidBTF) -> None:
    verdict = check(case.blob, KERNEL)
    if verdict.errno != case.expected_errno:
        raise Disagreement(f"rule {case.rule}: model says errno {verdict.errno} "
                           f"({verdict.reason}), generator expects {case.expected_errno}")
    try:
        parse_raw(case.blob).types()
    except LoaderError:
        pass


def TestOneInput(data: bytes) -> None:
    if not data:
        return
    prop = _invalid if data[0] & 1 else _valid
    prop.hypothesis.fuzz_one_input(data[1:])  # type: ignore[attr-defined]
