"""``bpfconform fuzz TARGET [--time S] [--jobs N] [--corpus DIR] [--json]``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from fuzz import runner, targets, triage


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("fuzz", help="run a coverage-guided fuzz target (atheris)",
                              description=__doc__)
    p.add_argument("target", nargs="?", help="a target name (see --list) or a .py file")
    p.add_argument("--list", action="store_true", help="list the targets and exit")
    p.add_argument("--time", type=float, default=60.0, metavar="S", help="seconds to fuzz")
    p.add_argument("--jobs", type=int, default=1, metavar="N", help="parallel processes")
    p.add_argument("--corpus", type=Path, metavar="DIR", help="keep the corpus here")
    p.add_argument("--json", action="store_true", help="end with a JSON summary line")
    p.add_argument("--timeout", type=int, default=5, metavar="S", help="per-input limit")
    p.add_argument("--rss-limit-mb", type=int, default=2048, metavar="MB")
    p.add_argument("--max-len", type=int, metavar="BYTES")
    p.add_argument("--mutator", choices=("structure", "bytes"), default="structure",
                   help="structure-aware custom mutator (when the target has one) or bytes")
    p.add_argument("--no-seeds", action="store_true", help="do not seed from corpus/")
    p.add_argument("--no-minimize", action="store_true", help="skip -minimize_crash")
    p.add_argument("--regress-dir", type=Path, default=triage.REGRESS_ROOT,
                   metavar="DIR", help="where findings are filed (default corpus/regress)")
    p.set_defaults(func=main)


def _list() -> int:
    for info in targets.TARGETS.values():
        try:
            targets.load(info.name)
            state = "ready"
        except targets.TargetUnavailable as exc:
            state = f"unavailable ({exc})"
        print(f"{info.name:<14} {info.description}  [{state}]")
    return 0


class _ProgressLine:
    """A live line on a terminal; a line every few seconds when piped (CI logs)."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.last = 0.0

    def __call__(self, snap: runner.Snapshot) -> None:
        now = time.monotonic()
        if now - self.last < (0.25 if self.tty else 5.0):
            return
        self.last = now
        text = (f"[{snap.elapsed_s:6.0f}s] execs {snap.execs:,}  {snap.execs_per_sec:,.0f}/s  "
                f"cov {snap.coverage}  ft {snap.features}  corpus {snap.corpus_size}  "
                f"crashes {snap.crashes}")
        if self.tty:
            self.stream.write("\r\x1b[K" + text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def done(self) -> None:
        if self.tty and self.last:
            self.stream.write("\n")


def main(args: argparse.Namespace) -> int:
    if args.list:
        return _list()
    if not args.target:
        print("bpfconform fuzz: a TARGET or --list is required", file=sys.stderr)
        return 2
    if args.target not in targets.TARGETS and not args.target.endswith(".py"):
        print(f"bpfconform fuzz: unknown target {args.target!r}; "
              f"known: {', '.join(targets.TARGETS)}", file=sys.stderr)
        return 2
    opts = runner.Options(
        target=args.target, time_s=args.time, jobs=args.jobs, corpus=args.corpus,
        timeout_s=args.timeout, rss_limit_mb=args.rss_limit_mb, max_len=args.max_len,
        mutator=args.mutator, use_seeds=not args.no_seeds, minimize=not args.no_minimize,
        regress_root=args.regress_dir,
    )
    line = _ProgressLine(sys.stderr)
    try:
        summary = runner.run(opts, on_progress=line)
    except runner.RunnerError as exc:
        line.done()
        print(f"bpfconform fuzz: {exc}", file=sys.stderr)
        return 2
    line.done()
    print(f"{summary.target}: {summary.execs:,} execs in {summary.elapsed_s:.0f}s "
          f"({summary.execs_per_sec:,.0f}/s), coverage {summary.coverage}, "
          f"features {summary.features}, corpus {summary.corpus_size}, "
          f"findings {len(summary.findings)} ({sum(f.new for f in summary.findings)} new)")
    for f in summary.findings:
        print(f"  {'NEW ' if f.new else 'known'} {f.kind}: {f.key} -> {f.as_json()['file']}")
    for note in summary.notes:
        print(f"  note: {note}")
    if args.json:
        print(json.dumps(summary.as_json()))
    return 1 if any(f.new for f in summary.findings) else 0
