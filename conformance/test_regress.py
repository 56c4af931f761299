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


def _triaged_libbpf_rejects():
    try:
        module = targets.load("libbpf_diff")
    except targets.TargetUnavailable as exc:
        pytest.skip(f"target libbpf_diff unavailable here: {exc}")
    return module.TRIAGED_LIBBPF_REJECTS


def test_triaged_libbpf_rejects_are_still_exactly_that():
    # Each "libbpf rejects, we accept" class documented as deliberate in the target
    # has its regress input, and that input still shows exactly the documented
    # disagreement: libbpf refuses it with the class's errno and our loader opens it.
    # Should the loader start rejecting one, the class leaves the table.
    import errno

    from conformance.oracles.libbpf import Libbpf, LibbpfOpenError
    from fuzz.triage import REGRESS_ROOT, filed_keys
    from loader.collection import load_collection_spec

    triaged = _triaged_libbpf_rejects()
    filed = filed_keys(REGRESS_ROOT / "libbpf_diff")
    libbpf = Libbpf()
    for key, reason in triaged.items():
        assert reason, key
        assert key in filed, f"{key}: no regress input filed"
        name = key[key.index("<") + 1:key.index(">")]
        want = (int(name.removeprefix("LIBBPF_ERRNO_")) if name.startswith("LIBBPF_ERRNO_")
                else getattr(errno, name))
        data = filed[key].read_bytes()
        load_collection_spec(data)
        with pytest.raises(LibbpfOpenError) as caught:
            libbpf.open_close(data, "fuzz")
        assert caught.value.errno == want, key
