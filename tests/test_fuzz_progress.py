from __future__ import annotations

from fuzz import progress

# Lines as atheris 3.0.0's libFuzzer prints them (seen on this machine).
NEW = ("#1216\tNEW    cov: 6 ft: 7 corp: 3/17b lim: 14 exec/s: 608 rss: 47Mb L: 12/12 MS: 4 "
       "ShuffleBytes-CrossOver-ChangeByte-CMP- DE: \"F\\000\"-")
PULSE = "#65536\tpulse  cov: 323 ft: 1336 corp: 199/55Kb exec/s: 2551 rss: 61Mb"
INITED = "#168\tINITED cov: 309 ft: 965 corp: 81/50Kb exec/s: 0 rss: 46Mb"
REDUCE = "#1254\tREDUCE cov: 6 ft: 6 corp: 3/13b lim: 14 exec/s: 0 rss: 47Mb L: 8/8 MS: 5 X-"
DONE = "#59392\tDONE   cov: 323 ft: 1374 corp: 211/61Kb lim: 8192 exec/s: 2827 rss: 63Mb"


def test_status_lines():
    s = progress.parse_status(NEW)
    assert s is not None
    assert (s.execs, s.event, s.coverage, s.features, s.corpus_units, s.execs_per_sec,
            s.rss_mb) == (1216, "NEW", 6, 7, 3, 608, 47)
    p = progress.parse_status(PULSE)
    assert p is not None and (p.execs, p.event, p.coverage, p.corpus_units) == (65536, "pulse",
                                                                                   323, 199)
    i = progress.parse_status(INITED)
    assert i is not None and i.event == "INITED" and i.features == 965
    r = progress.parse_status(REDUCE)
    assert r is not None and r.event == "REDUCE"
    d = progress.parse_status(DONE)
    assert d is not None and d.execs == 59392 and d.execs_per_sec == 2827


def test_other_lines_are_not_status():
    for line in ("INFO: Seed: 507811445", "ValueError: boom", "#12 cov: 3",
                 "MS: 3 PersAutoDict-; base unit: e91d", ""):
        assert progress.parse_status(line) is None


def test_final_stats_and_artifacts():
    assert progress.parse_stat("stat::number_of_executed_units: 15919") == (
        "number_of_executed_units", 15919)
    assert progress.parse_stat("stat::average_exec_per_sec:     0") == (
        "average_exec_per_sec", 0)
    assert progress.parse_stat("INFO: stat") is None
    line = "artifact_prefix='/tmp/fz/'; Test unit written to /tmp/fz/crash-cdb2e1f366"
    assert progress.parse_artifact(line) == "/tmp/fz/crash-cdb2e1f366"
    assert progress.parse_artifact("Base64: RlVa") is None
