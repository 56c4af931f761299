"""The probe registry: each probe names the kernel release it claims to need.

A probe function returns :data:`YES` or a :class:`No` carrying the kernel's
answer that shows the feature is missing (a specific errno or verifier
message).  Anything else it meets (EPERM, an unexpected errno, a missing
vmlinux BTF) is raised and becomes "could not decide": ``supported`` None.
"""

from __future__ import annotations

import os
import platform
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final

from loader.errors import LoaderError


@dataclass(frozen=True)
class No:
    """The feature is missing; ``why`` quotes the kernel's answer."""

    why: str


class _Yes:
    def __repr__(self) -> str:
        return "YES"


YES: Final = _Yes()
Outcome = _Yes | No


@dataclass(frozen=True)
class Probe:
    name: str
    claimed_min: str  # "x.y": the first release that has the feature
    category: str  # "btf", "map_type", "prog_type", "misc", "helper"
    fn: Callable[[], Outcome]


@dataclass(frozen=True)
class ProbeResult:
    supported: bool | None
    claimed_min: str
    error: str | None

    def to_json(self) -> dict[str, object]:
        return {"supported": self.supported, "claimed_min": self.claimed_min, "error": self.error}


REGISTRY: dict[str, Probe] = {}


def probe(
    name: str, claimed_min: str, category: str
) -> Callable[[Callable[[], Outcome]], Callable[[], Outcome]]:
    """Decorator registering ``fn`` as probe ``name``."""

    def register(fn: Callable[[], Outcome]) -> Callable[[], Outcome]:
        add(Probe(name, claimed_min, category, fn))
        return fn

    return register


def add(p: Probe) -> None:
    if p.name in REGISTRY:
        raise ValueError(f"probe {p.name!r} registered twice")
    if not re.fullmatch(r"\d+\.\d+", p.claimed_min):
        raise ValueError(f"probe {p.name!r}: claimed_min {p.claimed_min!r} is not x.y")
    REGISTRY[p.name] = p


def parse_version(text: str) -> tuple[int, int]:
    """(major, minor) of "6.18" or of a release string "6.18.44-fc-v669"."""
    m = re.match(r"(\d+)\.(\d+)", text)
    if m is None:
        raise LoaderError(f"not a kernel version: {text!r}")
    return int(m.group(1)), int(m.group(2))


def kernel_release() -> str:
    return platform.release()


def run_one(p: Probe) -> ProbeResult:
    try:
        outcome = p.fn()
    except (LoaderError, OSError) as exc:
        return ProbeResult(None, p.claimed_min, f"{type(exc).__name__}: {exc}")
    if isinstance(outcome, No):
        return ProbeResult(False, p.claimed_min, outcome.why)
    return ProbeResult(True, p.claimed_min, None)


_CACHE: dict[tuple[str, str], ProbeResult] = {}

# Before 5.11 the kernel charged map and program memory to RLIMIT_MEMLOCK (5.11:
# "bpf: memcg-based memory accounting for bpf maps"), and a closed map is only
# uncharged later, from a work queue.  With the old 64 KiB default, a run of
# probes then fails at random with EPERM (seen: map_type_sockhash on Debian 5.10).
# libbpf raises the limit the same way when the kernel lacks memcg accounting.
_MEMCG_ACCOUNTING = (5, 11)


def _raise_memlock(release: str) -> None:
    try:
        if parse_version(release) >= _MEMCG_ACCOUNTING:
            return
    except LoaderError:
        return
    import resource

    inf = resource.RLIM_INFINITY
    try:
        if resource.getrlimit(resource.RLIMIT_MEMLOCK)[0] != inf:
            resource.setrlimit(resource.RLIMIT_MEMLOCK, (inf, inf))
    except (ValueError, OSError):
        pass  # not privileged to raise it: probes may then answer EPERM (undecided)


def run_probes(names: Iterable[str] | None = None) -> dict[str, ProbeResult]:
    """Run the named probes (all when None); results are cached per kernel release."""
    from loader.features import catalog  # noqa: F401  (fills REGISTRY)

    release = kernel_release()
    _raise_memlock(release)
    wanted = list(REGISTRY) if names is None else list(names)
    unknown = [n for n in wanted if n not in REGISTRY]
    if unknown:
        raise LoaderError(f"unknown probe(s): {', '.join(unknown)}")
    out: dict[str, ProbeResult] = {}
    for name in wanted:
        key = (release, name)
        if key not in _CACHE:
            _CACHE[key] = run_one(REGISTRY[name])
        out[name] = _CACHE[key]
    return out


def claim_violations(
    results: dict[str, ProbeResult], release: str | None = None
) -> dict[str, ProbeResult]:
    """Probes that say "unsupported" on a kernel at or above their claimed minimum."""
    have = parse_version(release or kernel_release())
    return {
        name: res
        for name, res in results.items()
        if res.supported is False and have >= parse_version(res.claimed_min)
    }


def linux_version_code() -> int:
    """KERNEL_VERSION(a, b, c) of the running kernel (kprobes needed it before 5.0)."""
    m = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", os.uname().release)
    if m is None:
        return 0
    a, b, c = (int(x or 0) for x in m.groups())
    return (a << 16) + (b << 8) + min(c, 255)
