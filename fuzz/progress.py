"""Parsing libFuzzer's status output into numbers.

libFuzzer prints one line per event, e.g.::

    #1216	NEW    cov: 6 ft: 6 corp: 3/17b lim: 14 exec/s: 608 rss: 47Mb L: 12/12 MS: 4 ...
    #65536	pulse  cov: 8 ft: 8 corp: 4/13b lim: 652 exec/s: 21845 rss: 48Mb

and, with ``-print_final_stats=1``, ``stat::number_of_executed_units: N`` lines at
the end.  Artifacts are announced as ``Test unit written to PATH``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_STATUS = re.compile(
    r"^#(?P<execs>\d+)\s+(?P<event>[A-Z]+|pulse)\s+cov: (?P<cov>\d+) ft: (?P<ft>\d+)"
    r" corp: (?P<corp>\d+)/(?P<corp_size>\d+[bKM]?b?)"
    r"(?: lim: \d+)? exec/s: (?P<eps>\d+) rss: (?P<rss>\d+)Mb"
)
_STAT = re.compile(r"^stat::(?P<name>\w+):\s+(?P<value>\d+)")
_ARTIFACT = re.compile(r"Test unit written to (?P<path>\S+)")


@dataclass(frozen=True)
class Status:
    """One ``#N EVENT cov: ...`` line."""

    execs: int
    event: str
    coverage: int
    features: int
    corpus_units: int
    execs_per_sec: int
    rss_mb: int


def parse_status(line: str) -> Status | None:
    m = _STATUS.match(line)
    if m is None:
        return None
    return Status(
        execs=int(m["execs"]),
        event=m["event"],
        coverage=int(m["cov"]),
        features=int(m["ft"]),
        corpus_units=int(m["corp"]),
        execs_per_sec=int(m["eps"]),
        rss_mb=int(m["rss"]),
    )


def parse_stat(line: str) -> tuple[str, int] | None:
    """A ``stat::name: value`` final-statistics line."""
    m = _STAT.match(line)
    return (m["name"], int(m["value"])) if m else None


def parse_artifact(line: str) -> str | None:
    """The path of a crash/timeout/oom input libFuzzer just wrote, if announced here."""
    m = _ARTIFACT.search(line)
    return m["path"] if m else None
