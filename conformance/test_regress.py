"""Replay every fuzzer finding in corpus/regress/: fixed bugs never come back.

Each input must now make its target return or raise a LoaderError subclass
(which the target swallows).  Anything else, a hang past the limit, or a
MemoryError fails the test with the trace and the original finding's notes.
"""

from __future__ import annotations

import pytest

from fuzz import targets
from fuzz.regress import describe, regress_files, replay_file

CASES = regress_files()


@pytest.mark.parametrize(("target", "path"), CASES,
                         ids=[f"{t}/{p.name}" for t, p in CASES])
def test_regress_input_is_handled(target, path):
    try:
        targets.load(target)
    except targets.TargetUnavailable as exc:
        pytest.skip(f"target {target} unavailable here: {exc}")
    outcome = replay_file(target, path)
    assert outcome.status == "ok", describe(path, outcome)


def test_every_regress_dir_is_a_target():
    # A finding filed under a name no target answers to would never be replayed.
    dirs = {t for t, _ in CASES}
    assert dirs <= set(targets.TARGETS), sorted(dirs - set(targets.TARGETS))
