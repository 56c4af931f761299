"""What a target raises when the code under test is wrong without crashing."""

from __future__ import annotations


class Disagreement(AssertionError):
    """Two views of the same bytes disagree (round trip, model vs parser, libbpf vs us).

    Raised ``from`` the error that one side gave, so triage keys the finding on where
    that side rejected the input rather than on the target's own line.
    """
