"""The regression corpus: every input a fuzzer ever filed, replayed on demand.

``corpus/regress/TARGET/NAME`` is an input, ``NAME.txt`` its trace and key.  A
replay runs the target on the input in a fresh interpreter (a hang or a huge
allocation cannot take the test session down) and must end ``ok``: the parser
returned or raised a LoaderError.
"""

from __future__ import annotations

from pathlib import Path

from fuzz.replay import Outcome
from fuzz.triage import REGRESS_ROOT, reproduce

# Per-input limits of a replay: generous, a fixed bug takes milliseconds.
REPLAY_TIMEOUT_S = 20.0
REPLAY_AS_LIMIT_MB = 4096


# Directories of corpus/regress/ that hold no fuzz findings: the property tests'
# counterexamples (conformance/generators/regress.py) are replayed by
# conformance/test_generators.py::test_replay_counterexamples.
NOT_FUZZ_TARGETS = frozenset({"properties"})


def regress_files(root: Path = REGRESS_ROOT) -> list[tuple[str, Path]]:
    """``(target, input)`` for every filed fuzz finding, in a stable order."""
    found = []
    if root.is_dir():
        for target_dir in sorted(p for p in root.iterdir()
                                 if p.is_dir() and p.name not in NOT_FUZZ_TARGETS):
            for path in sorted(target_dir.iterdir()):
                if path.is_file() and path.suffix != ".txt" and not path.name.startswith("."):
                    found.append((target_dir.name, path))
    return found


def replay_file(target: str, path: Path, root: Path = REGRESS_ROOT) -> Outcome:
    return reproduce(target, path, timeout_s=REPLAY_TIMEOUT_S, as_limit_mb=REPLAY_AS_LIMIT_MB,
                     regress_root=root)


def describe(path: Path, outcome: Outcome) -> str:
    """A failure message: what happened now, and what was filed when it was found."""
    txt = path.with_name(path.name + ".txt")
    filed = txt.read_text(errors="replace")[:1500] if txt.exists() else "(no .txt)"
    return (f"{path} still fails: {outcome.kind} {outcome.key}: {outcome.message}\n"
            f"--- now ---\n{outcome.trace[-3000:]}\n--- filed ---\n{filed}")
