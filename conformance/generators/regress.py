"""Counterexamples of the property tests, kept in corpus/regress/properties/.

When a property fails, the test writes the blob and a JSON note (test, check,
how to reproduce it) before re-raising.  Hypothesis replays the shrunk example
last, and each test overwrites one file per test name, so what stays on disk is
the final, minimal counterexample.  test_replay_counterexamples runs every
stored file forever.

The note's ``hypothesis`` entry reproduces the example exactly: the seed of the
run (when one was forced, e.g. ``--hypothesis-seed``) and the
``@reproduce_failure(version, blob)`` decorator hypothesis itself would print,
built from the choices of the example being run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import hypothesis

REGRESS_DIR = Path(__file__).resolve().parents[2] / "corpus" / "regress" / "properties"


def reproduction() -> dict[str, Any]:
    """How to replay the hypothesis example running now ({} outside one)."""
    # Private hypothesis internals: a newer hypothesis may move them, and a
    # failing property must still be recorded, so any failure here yields less.
    try:
        from hypothesis import core
        from hypothesis.control import current_build_context

        data = current_build_context().data
        blob = core.encode_failure(data.choices)
    except Exception:
        return {}
    seed = getattr(core, "global_force_seed", None)
    return {
        "version": hypothesis.__version__,
        "seed": seed,
        "reproduce_failure": f"@reproduce_failure({hypothesis.__version__!r}, {blob!r})",
    }


@contextmanager
def recorded(test: str, check: str, blob: bytes, **note: object) -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        REGRESS_DIR.mkdir(parents=True, exist_ok=True)
        (REGRESS_DIR / f"{test}.bin").write_bytes(blob)
        doc = {"test": test, "check": check, "error": repr(exc)[:500],
               "hypothesis": reproduction(), **note}
        (REGRESS_DIR / f"{test}.json").write_text(json.dumps(doc, indent=1, default=str) + "\n")
        raise
