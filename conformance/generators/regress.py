"""Counterexamples of the property tests, kept in corpus/regress/properties/.

When a property fails, the test writes the blob and a JSON note (test, check,
hypothesis seed when known) before re-raising.  Hypothesis replays the shrunk
example last, and each test overwrites one file per test name, so what stays
on disk is the final, minimal counterexample.  test_properties_replay runs
every stored file forever.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REGRESS_DIR = Path(__file__).resolve().parents[2] / "corpus" / "regress" / "properties"


@contextmanager
def recorded(test: str, check: str, blob: bytes, **note: object) -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        REGRESS_DIR.mkdir(parents=True, exist_ok=True)
        (REGRESS_DIR / f"{test}.bin").write_bytes(blob)
        doc = {"test": test, "check": check, "error": repr(exc)[:500], **note}
        (REGRESS_DIR / f"{test}.json").write_text(json.dumps(doc, indent=1, default=str) + "\n")
        raise
