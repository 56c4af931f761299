"""Target ``btf``: raw BTF through parse_raw, every type decoded, then a round trip.

Oracle: only LoaderError escapes; and a blob that parses and encodes must parse
again to the same types (encode may refuse with a LoaderError: some parsed
blobs, e.g. with strings the encoder cannot place, are not representable).
"""

from __future__ import annotations

from fuzz.mutators import btf_mutator as custom_mutator
from fuzz.targets._oracle import Disagreement
from loader.btf import encode, parse_raw
from loader.errors import LoaderError

__all__ = ["TestOneInput", "custom_mutator"]


def TestOneInput(data: bytes) -> None:
    try:
        spec = parse_raw(data)
        types = spec.types()
        blob = encode(spec)
    except LoaderError:
        return
    try:
        again = parse_raw(blob).types()
    except LoaderError as exc:
        raise Disagreement(f"encode(parse_raw(x)) does not parse: {exc}") from exc
    if again != types:
        first = next(i for i, (a, b) in enumerate(zip(types, again, strict=False)) if a != b) \
            if len(again) == len(types) else -1
        raise Disagreement(f"round trip changed the types (first differing index {first}, "
                           f"{len(types)} -> {len(again)} types)")
