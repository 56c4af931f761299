"""fuzz.replay and fuzz.triage without libFuzzer: outcomes, keys, filing."""

from __future__ import annotations

from pathlib import Path

from fuzz import replay, triage
from fuzz.targets._oracle import Disagreement
from loader.errors import BTFError, LoaderError


def _parser(data: bytes) -> int:
    if data == b"hang":
        while True:
            pass
    if data == b"big":
        raise MemoryError
    if data == b"bad":
        raise BTFError("bad blob")
    return data[7]


def target(data: bytes) -> None:
    try:
        _parser(data)
    except LoaderError:
        pass


def test_ok_and_loader_errors_are_not_findings():
    assert replay.run_one(target, b"12345678").status == "ok"
    assert replay.run_one(target, b"bad").status == "ok"


def test_crash_is_keyed_on_type_and_innermost_project_frame():
    out = replay.run_one(target, b"short")
    assert (out.status, out.kind, out.exc_type) == ("finding", "crash", "IndexError")
    assert out.frame == "tests/test_fuzz_replay.py:_parser"
    assert out.key == "IndexError at tests/test_fuzz_replay.py:_parser"
    assert "Traceback" in out.trace


def test_hang_becomes_a_timeout_finding_with_its_frame():
    out = replay.run_one(target, b"hang", timeout_s=0.3)
    assert (out.kind, out.exc_type, out.frame) == ("timeout", "InputTimeout",
                                                   "tests/test_fuzz_replay.py:_parser")


def test_memory_error_is_an_oom_finding():
    assert replay.run_one(target, b"big").kind == "oom"


def test_disagreement_is_keyed_on_its_cause():
    def differ(data: bytes) -> None:
        try:
            _parser(b"bad")
        except BTFError as exc:
            raise Disagreement("model accepts, parser rejects") from exc

    out = replay.run_one(differ, b"")
    assert out.key == "Disagreement<BTFError> at tests/test_fuzz_replay.py:_parser"


def test_filing_dedups_by_key(tmp_path: Path):
    out = replay.run_one(target, b"short")
    first = triage.file_finding("t", "t", b"short", out, tmp_path)
    again = triage.file_finding("t", "t", b"other", replay.run_one(target, b"other"), tmp_path)
    assert first.new and not again.new and again.path == first.path
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == [
        first.path.name, first.path.name + ".txt"]
    assert triage.filed_keys(tmp_path / "t") == {out.key: first.path}


def test_batch_replay_survives_a_dying_interpreter(tmp_path: Path):
    # A parser bug below Python (a segfault in a C library) kills the replaying
    # process; the inputs after it must still be replayed.
    mod = tmp_path / "dying_target.py"
    mod.write_text(
        "import os\n\n"
        "def TestOneInput(data):\n"
        "    if data == b'abort':\n"
        "        os.abort()\n"
        "    if data == b'index':\n"
        "        b''[1]\n"
    )
    files = []
    for name in ("ok", "abort", "index"):
        (tmp_path / name).write_bytes(name.encode())
        files.append(tmp_path / name)
    outs = triage.reproduce_many(str(mod), files, timeout_s=5, as_limit_mb=0)
    assert [o.status for o in outs] == ["ok", "finding", "finding"]
    assert outs[1].exc_type == "exit-6" and outs[1].kind == "crash"
    assert outs[2].exc_type == "IndexError"
