"""Synthetic BTF and ELF blobs: valid by construction, or invalid in one known way.

The public surface is small: hypothesis strategies for property tests
(``btf_specs``, ``invalid_btf``, ``elf_objects``, ``invalid_elf``) and seeded,
deterministic twins for tools (``random_btf``, ``random_invalid_btf``,
``random_elf``, ``random_invalid_elf``) that ``bpfconform generate`` and the
measurement script use.  Both drive the same builders (private modules), so a
blob a test shrinks to is one the command can produce.  Options are keyword-only
and checked up front.
"""

from __future__ import annotations

import random
from collections.abc import Iterable

from hypothesis import assume
from hypothesis import strategies as st

from conformance.generators._btf import KIND_BY_NAME, KIND_NAMES, BTFShape, build_btf
from conformance.generators._draw import Draw, HypothesisDraw, RandomDraw
from conformance.generators._elf import ELFObject, ExpectedMap, ExpectedProgram, build_elf
from conformance.generators._invalid_btf import (
    FAMILIES,
    UNBREAKABLE,
    InvalidBTF,
    build_invalid,
    rules_for,
)
from conformance.generators._invalid_collection import COLLECTION_FAMILIES
from conformance.generators._invalid_elf import FAMILIES as STRUCTURAL_FAMILIES
from conformance.generators._invalid_elf import InvalidELF, build_invalid_elf
from loader.btf.validate_facts import KernelFacts, facts_for, parse_kernel
from loader.elf import ByteOrder

__all__ = [
    "ELF_FAMILIES",
    "KIND_NAMES",
    "UNBREAKABLE",
    "BTFShape",
    "ELFObject",
    "ExpectedMap",
    "ExpectedProgram",
    "InvalidBTF",
    "InvalidELF",
    "btf_kinds_for",
    "btf_rules_for",
    "btf_specs",
    "elf_objects",
    "invalid_btf",
    "invalid_elf",
    "random_btf",
    "random_elf",
    "random_invalid_btf",
    "random_invalid_elf",
]

MAX_TYPES_LIMIT = 5000
# Rule names invalid_elf can break: the ELF container's and the collection's.
ELF_FAMILIES: frozenset[str] = frozenset(STRUCTURAL_FAMILIES) | frozenset(COLLECTION_FAMILIES)
# A collection family needs something to break (a legacy map, an ld_imm64...):
# objects are drawn until one has it, at most this often.
_MAX_DRAWS = 50


def _facts(kernel: object) -> KernelFacts:
    if not isinstance(kernel, str | tuple):
        raise TypeError(f"kernel must be a version string like '6.18', got {kernel!r}")
    try:
        return facts_for(parse_kernel(kernel))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"kernel={kernel!r}: {exc}") from None


def btf_kinds_for(kernel: str | tuple[int, int] = "6.18") -> list[str]:
    """The kind names a kernel knows (asked of the model's version facts)."""
    f = _facts(kernel)
    return [name for name, k in KIND_BY_NAME.items() if k <= f.kind_max]


def btf_rules_for(kernel: str | tuple[int, int] = "6.18") -> list[str]:
    """The model rules ``invalid_btf`` can break on this kernel."""
    return sorted({fam.rule for fam in rules_for(_facts(kernel))})


def _kinds(kinds: Iterable[str] | None, facts: KernelFacts) -> frozenset[int]:
    known = {name: k for name, k in KIND_BY_NAME.items() if k <= facts.kind_max}
    if kinds is None:
        return frozenset(known.values())
    if isinstance(kinds, str):
        raise TypeError(f"kinds must be a collection of kind names, got the string {kinds!r}")
    names = list(kinds)
    for name in names:
        if name not in KIND_BY_NAME:
            raise ValueError(f"kinds: unknown BTF kind {name!r} (known: {sorted(KIND_BY_NAME)})")
        if name not in known:
            raise ValueError(
                f"kinds: {name!r} does not exist on kernel {facts.version[0]}.{facts.version[1]}")
    chosen = {known[n] for n in names} | {KIND_BY_NAME["int"]}
    # A DATASEC holds VARs and a FUNC needs its FUNC_PROTO: bring them along.
    if KIND_BY_NAME["datasec"] in chosen:
        chosen.add(KIND_BY_NAME["var"])
    if KIND_BY_NAME["func"] in chosen:
        chosen.add(KIND_BY_NAME["func_proto"])
    return frozenset(chosen)


def _max_types(max_types: object) -> int:
    if not isinstance(max_types, int) or isinstance(max_types, bool) \
            or not 1 <= max_types <= MAX_TYPES_LIMIT:
        raise ValueError(f"max_types must be an int in 1..{MAX_TYPES_LIMIT}, got {max_types!r}")
    return max_types


def _rules(rules: Iterable[str] | None, facts: KernelFacts) -> list[str]:
    available = sorted({fam.rule for fam in rules_for(facts)})
    if rules is None:
        return available
    if isinstance(rules, str):
        raise TypeError(f"rules must be a collection of rule names, got the string {rules!r}")
    wanted = list(rules)
    for rule in wanted:
        if rule not in available:
            known = sorted({fam.rule for fam in FAMILIES})
            why = "unknown rule" if rule not in known else "not breakable on this kernel"
            raise ValueError(f"rules: {rule!r}: {why} (breakable here: {available})")
    if not wanted:
        raise ValueError("rules: empty")
    return wanted


def _shape(draw: Draw, facts: KernelFacts, max_types: int, kinds: frozenset[int]) -> BTFShape:
    return build_btf(draw, facts, max_types=max_types, kinds=kinds)


def _invalid(draw: Draw, facts: KernelFacts, rules: list[str], max_types: int) -> InvalidBTF:
    rule = draw.choice(rules)
    fams = [fam for fam in rules_for(facts) if fam.rule == rule]
    fam = fams[0]
    shape = build_btf(draw, facts, max_types=max_types,
                      kinds=_kinds(None, facts))
    return build_invalid(shape, fam, draw, facts)


# -- hypothesis strategies -----------------------------------------------------
def btf_specs(
    *, kernel: str | tuple[int, int] = "6.18", max_types: int = 40,
    kinds: Iterable[str] | None = None,
) -> st.SearchStrategy[BTFShape]:
    """Valid BTF type graphs for ``kernel`` (``.types``; ``.encode(byte_order)``)."""
    facts = _facts(kernel)
    mt = _max_types(max_types)
    chosen = _kinds(kinds, facts)

    @st.composite
    def strategy(draw: st.DrawFn) -> BTFShape:
        return _shape(HypothesisDraw(draw), facts, mt, chosen)

    return strategy()


def invalid_btf(
    *, kernel: str | tuple[int, int] = "6.18", rules: Iterable[str] | None = None,
    max_types: int = 20,
) -> st.SearchStrategy[InvalidBTF]:
    """``(blob, rule, expected_errno)``: a valid spec broken by one model rule."""
    facts = _facts(kernel)
    chosen = _rules(rules, facts)
    mt = _max_types(max_types)

    @st.composite
    def strategy(draw: st.DrawFn) -> InvalidBTF:
        return _invalid(HypothesisDraw(draw), facts, chosen, mt)

    return strategy()


# -- seeded twins ----------------------------------------------------------------
def random_btf(
    rng: random.Random, *, kernel: str | tuple[int, int] = "6.18", max_types: int = 40,
    kinds: Iterable[str] | None = None,
) -> BTFShape:
    """One valid spec from ``rng`` (same state, same spec)."""
    if not isinstance(rng, random.Random):
        raise TypeError(f"rng must be a random.Random, got {rng!r}")
    facts = _facts(kernel)
    return _shape(RandomDraw(rng), facts, _max_types(max_types), _kinds(kinds, facts))


def random_invalid_btf(
    rng: random.Random, *, kernel: str | tuple[int, int] = "6.18",
    rules: Iterable[str] | None = None, max_types: int = 20,
) -> InvalidBTF:
    if not isinstance(rng, random.Random):
        raise TypeError(f"rng must be a random.Random, got {rng!r}")
    facts = _facts(kernel)
    return _invalid(RandomDraw(rng), facts, _rules(rules, facts), _max_types(max_types))


# -- ELF ---------------------------------------------------------------------------
def _byte_order(byte_order: object) -> ByteOrder | None:
    if byte_order not in (None, "<", ">"):
        raise ValueError(f"byte_order must be None, '<' or '>', got {byte_order!r}")
    return byte_order


def _opt_bool(name: str, value: object) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise TypeError(f"{name} must be None or a bool, got {value!r}")
    return value


def _elf(draw: Draw, legacy: bool | None, btf: bool | None) -> ELFObject:
    return build_elf(draw, legacy_maps=legacy, btf=btf)


def elf_objects(
    *, byte_order: str | None = None, legacy_maps: bool | None = None,
    btf: bool | None = None,
) -> st.SearchStrategy[tuple[ELFObject, str]]:
    """``(object, byte_order)``: an object model (``.write(order)`` serialises it)
    and the byte order to write it in (drawn when ``byte_order`` is None)."""
    order = _byte_order(byte_order)
    legacy = _opt_bool("legacy_maps", legacy_maps)
    use_btf = _opt_bool("btf", btf)

    @st.composite
    def strategy(draw: st.DrawFn) -> tuple[ELFObject, str]:
        d = HypothesisDraw(draw)
        obj = _elf(d, legacy, use_btf)
        return obj, order if order is not None else d.choice(("<", ">"))

    return strategy()


def invalid_elf(*, byte_order: str | None = None,
                rules: Iterable[str] | None = None) -> st.SearchStrategy[InvalidELF]:
    """``(blob, rule, error class)``: a valid object with one rule broken (an ELF
    structural rule or a collection rule of load_collection_spec)."""
    order = _byte_order(byte_order)
    chosen = _elf_rules(rules)

    @st.composite
    def strategy(draw: st.DrawFn) -> InvalidELF:
        d = HypothesisDraw(draw)
        case = _invalid_elf(d, order, chosen, tries=3)
        # Nothing to break in the drawn objects: let hypothesis draw again.
        assume(case is not None)
        assert case is not None
        return case

    return strategy()


def _elf_rules(rules: Iterable[str] | None) -> list[str]:
    if rules is None:
        return sorted(ELF_FAMILIES)
    if isinstance(rules, str):
        raise TypeError(f"rules must be a collection of rule names, got the string {rules!r}")
    wanted = list(rules)
    for rule in wanted:
        if rule not in ELF_FAMILIES:
            raise ValueError(f"rules: unknown ELF rule {rule!r} (known: {sorted(ELF_FAMILIES)})")
    if not wanted:
        raise ValueError("rules: empty")
    return wanted


def _invalid_elf(d: Draw, order: ByteOrder | None, rules: list[str],
                 tries: int = _MAX_DRAWS) -> InvalidELF | None:
    rule = d.choice(rules)
    bo: ByteOrder = order if order is not None else d.choice(("<", ">"))
    fam = COLLECTION_FAMILIES.get(rule)
    if fam is None:
        return build_invalid_elf(_elf(d, None, None), rule, d, bo)
    for _ in range(tries):
        blob = fam.mutate(_elf(d, fam.legacy_maps, fam.btf), d, bo)
        if blob is not None:
            return InvalidELF(blob, rule, fam.error)
    if tries < _MAX_DRAWS:
        return None
    raise RuntimeError(f"invalid_elf: no object with something to break for {rule!r} "
                       f"in {_MAX_DRAWS} draws")


def random_elf(rng: random.Random, *, legacy_maps: bool | None = None,
               btf: bool | None = None) -> ELFObject:
    if not isinstance(rng, random.Random):
        raise TypeError(f"rng must be a random.Random, got {rng!r}")
    return _elf(RandomDraw(rng), _opt_bool("legacy_maps", legacy_maps), _opt_bool("btf", btf))


def random_invalid_elf(rng: random.Random, *, byte_order: str | None = None,
                       rules: Iterable[str] | None = None) -> InvalidELF:
    if not isinstance(rng, random.Random):
        raise TypeError(f"rng must be a random.Random, got {rng!r}")
    case = _invalid_elf(RandomDraw(rng), _byte_order(byte_order), _elf_rules(rules))
    assert case is not None  # with _MAX_DRAWS tries it raises instead
    return case
