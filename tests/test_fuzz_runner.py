"""The runner and triage end to end, on a target with two planted bugs.

Proves crashes are caught (atheris + libFuzzer in a subprocess), minimised
(-minimize_crash), deduplicated (one file per exception type + frame, also across
runs) and written to the regress directory with their trace.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fuzz import runner, triage
from fuzz.cli import register
from fuzz.regress import regress_files, replay_file

PLANTED = str(Path(__file__).with_name("fuzz_planted.py"))
KEYS = {
    "IndexError at tests/fuzz_planted.py:_parse",
    "ZeroDivisionError at tests/fuzz_planted.py:_parse",
    "InputTimeout at tests/fuzz_planted.py:_parse",
}


def _opts(tmp_path: Path, **kw) -> runner.Options:
    corpus = tmp_path / "corpus"
    corpus.mkdir(exist_ok=True)
    # A padded seed: the crashing mutants carry the padding, minimisation drops it.
    (corpus / "seed").write_bytes(b"BPFa" + b"padding " * 8)
    # And one near miss per planted bug (one byte value off '!', '#' and '?'), so
    # that each is about as likely to be hit as the others.
    for tag in b' ">':
        (corpus / f"near-{tag:02x}").write_bytes(b"BPF" + bytes([tag]) + b"padding " * 8)
    return runner.Options(target=PLANTED, corpus=corpus, regress_root=tmp_path / "regress",
                          use_seeds=False, timeout_s=1, **kw)


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    """Runs of 15 s on one corpus and regress dir until every planted bug is filed
    (at most three).  Which bug libFuzzer hits first is chance, and each hang costs
    a 1 s timeout plus a restart: one 15 s run once filed only the hang."""
    tmp = tmp_path_factory.mktemp("fuzz")
    summaries: list[runner.Summary] = []
    while len(summaries) < 3:
        summaries.append(runner.run(_opts(tmp, time_s=15), workdir=tmp / f"work{len(summaries)}"))
        if {f.key for s in summaries for f in s.findings} >= KEYS:
            break
    return tmp, summaries


def test_crashes_are_found_and_deduplicated(first_run):
    _tmp, summaries = first_run
    assert summaries[0].execs > 1000
    assert summaries[0].coverage > 0
    # libFuzzer restarts after each crash, so the same bugs are hit many times ...
    assert sum(s.artifacts for s in summaries) >= 2
    # ... but each is filed once, by the run that first hit it.
    found = [f for s in summaries for f in s.findings]
    assert {f.key for f in found} == KEYS
    new = [f.key for f in found if f.new]
    assert sorted(new) == sorted(KEYS)
    kinds = {f.key.split()[0]: f.kind for f in found}
    assert kinds == {"IndexError": "crash", "ZeroDivisionError": "crash",
                     "InputTimeout": "timeout"}


def test_findings_are_minimised_and_written_with_trace(first_run):
    tmp, _summaries = first_run
    files = regress_files(tmp / "regress")
    assert [t for t, _ in files] == ["fuzz_planted"] * 3
    for _target, path in files:
        data = path.read_bytes()
        assert data[:3] == b"BPF" and data[3:4] in (b"!", b"?", b"#")
        if data[3:4] != b"#":  # hangs are not minimised: each try costs a timeout
            assert len(data) == 4, f"{path.name} not minimised: {data!r}"
        txt = path.with_name(path.name + ".txt").read_text()
        assert "key: " in txt and "Traceback (most recent call last)" in txt
        assert sum(e in txt for e in ("IndexError", "ZeroDivisionError", "InputTimeout")) == 1


def test_replay_fails_on_an_unfixed_finding(first_run):
    tmp, _summaries = first_run
    for _target, path in regress_files(tmp / "regress"):
        outcome = replay_file(PLANTED, path)
        assert outcome.status == "finding" and outcome.key in KEYS


def test_second_run_files_nothing_new(first_run):
    tmp, _summaries = first_run
    before = sorted(p.name for p in (tmp / "regress" / "fuzz_planted").iterdir())
    summary = runner.run(_opts(tmp, time_s=6, minimize=False), workdir=tmp / "work2")
    assert summary.findings, "the planted bugs were not hit again"
    assert not any(f.new for f in summary.findings)
    after = sorted(p.name for p in (tmp / "regress" / "fuzz_planted").iterdir())
    assert after == before


def test_target_that_cannot_start_is_an_error(tmp_path):
    broken = tmp_path / "broken_target.py"
    broken.write_text("raise RuntimeError('cannot import me')\n")
    opts = runner.Options(target=str(broken), time_s=5, use_seeds=False,
                          regress_root=tmp_path / "regress")
    with pytest.raises(runner.RunnerError, match="cannot import me"):
        runner.run(opts, workdir=tmp_path / "work")


def test_cli_json_summary(tmp_path, capsys):
    import argparse

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    corpus = tmp_path / "c"
    corpus.mkdir()
    args = parser.parse_args(["fuzz", PLANTED, "--time", "4", "--json", "--no-seeds",
                              "--corpus", str(corpus), "--regress-dir", str(tmp_path / "r")])
    status = args.func(args)
    last = capsys.readouterr().out.strip().splitlines()[-1]
    summary = json.loads(last)
    assert set(summary) >= {"target", "execs", "execs_per_sec", "coverage", "corpus_size",
                            "crashes"}
    assert summary["execs"] > 0
    # Any new finding makes the command fail, like a failing test.
    assert status == (1 if summary["new_crashes"] else 0)


def test_artifact_kinds():
    assert triage.artifact_kind(Path("crash-12ab")) == "crash"
    assert triage.artifact_kind(Path("timeout-12ab")) == "timeout"
    assert triage.artifact_kind(Path("oom-12ab")) == "oom"
    assert triage.artifact_kind(Path("slow-unit-12ab")) is None


def test_one_second_runs(tmp_path):
    # The time left was once truncated to whole seconds, so `--time 1` ran nothing.
    summary = runner.run(_opts(tmp_path, time_s=1, minimize=False), workdir=tmp_path / "w")
    assert summary.execs > 0
