"""Feature probes: which kernel features the running kernel has.

Each probe claims the first kernel release with its feature; a probe that
reports "unsupported" on a kernel at or above that release is a claim violation.
"""

from __future__ import annotations

from loader.features.registry import (
    REGISTRY,
    Probe,
    ProbeResult,
    claim_violations,
    kernel_release,
    parse_version,
    run_probes,
)


def all_probes() -> dict[str, Probe]:
    """Every registered probe (importing the catalog on first use)."""
    from loader.features import catalog  # noqa: F401

    return dict(REGISTRY)


__all__ = [
    "REGISTRY",
    "Probe",
    "ProbeResult",
    "all_probes",
    "claim_violations",
    "kernel_release",
    "parse_version",
    "run_probes",
]
