"""Run one input through a target, outside libFuzzer, and say what happened.

Used by triage (to get the trace and the deduplication key of a crash) and by the
regression replay test.  As a command it prints one JSON object:
``python -m fuzz.replay TARGET FILE... [--timeout S] [--as-limit-mb M]`` (one
line per file).
"""

from __future__ import annotations

import argparse
import json
import resource
import signal
import sys
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType, TracebackType

from fuzz import targets

REPO = Path(__file__).resolve().parent.parent
# Frames of the fuzz machinery itself never name the location of a bug.
_MACHINERY = {REPO / "fuzz" / "replay.py", REPO / "fuzz" / "driver.py"}


class InputTimeout(Exception):
    """Raised inside the target by the alarm when one input runs too long."""


@dataclass
class Outcome:
    """``status`` is ``ok`` (returned) or ``finding`` (raised, or ran too long)."""

    status: str
    kind: str = ""  # crash | timeout | oom, for findings
    exc_type: str = ""
    message: str = ""
    frame: str = ""  # innermost project frame, "path:function"
    line: int = 0
    trace: str = ""
    frames: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        """What deduplicates findings: exception type + innermost project frame."""
        return f"{self.exc_type} at {self.frame or '?'}"  # as finding_key()


def innermost_project_frame(tb: TracebackType | None) -> tuple[str, int]:
    """``(relative path:function, line)`` of the deepest frame inside this repository."""
    best = ("", 0)
    while tb is not None:
        code = tb.tb_frame.f_code
        path = Path(code.co_filename)
        if path.is_absolute() and path.is_relative_to(REPO) and path not in _MACHINERY:
            best = (f"{path.relative_to(REPO)}:{code.co_name}", tb.tb_lineno)
        tb = tb.tb_next
    return best


def finding_key_parts(exc: BaseException) -> tuple[str, str, int]:
    """``(type name, innermost project frame, line)`` of a raised exception."""
    exc_type = type(exc).__name__
    where = exc.__traceback__
    if isinstance(exc, AssertionError) and exc.__cause__ is not None:
        # A disagreement raised from one side's error: that side's frame says
        # where the two views part; the target's own line would merge them all.
        exc_type = f"{exc_type}<{type(exc.__cause__).__name__}>"
        where = exc.__cause__.__traceback__
    frame, line = innermost_project_frame(where)
    return exc_type, frame, line


def finding_key(exc: BaseException) -> str:
    """The deduplication key triage files a raised exception under."""
    exc_type, frame, _line = finding_key_parts(exc)
    return f"{exc_type} at {frame or '?'}"


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    raise InputTimeout("input ran longer than the per-input limit")


def run_one(test_one_input: Callable[[bytes], None], data: bytes,
            timeout_s: float = 0.0) -> Outcome:
    """Call the target on ``data``; a raise or an overrun becomes a finding."""
    if timeout_s > 0:
        previous = signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout_s)
    try:
        test_one_input(data)
    except (Exception, SystemExit) as exc:
        exc_type, frame, line = finding_key_parts(exc)
        if isinstance(exc, InputTimeout):
            kind = "timeout"
        elif isinstance(exc, MemoryError):
            kind = "oom"
        else:
            kind = "crash"
        frames = [f"{f.filename}:{f.name}:{f.lineno}"
                  for f in traceback.extract_tb(exc.__traceback__)]
        return Outcome(
            status="finding", kind=kind, exc_type=exc_type,
            message=str(exc)[:500], frame=frame, line=line,
            trace="".join(traceback.format_exception(exc)), frames=frames,
        )
    finally:
        if timeout_s > 0:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    return Outcome(status="ok")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fuzz.replay")
    parser.add_argument("target")
    parser.add_argument("files", type=Path, nargs="+", metavar="FILE")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per input")
    parser.add_argument("--as-limit-mb", type=int, default=0,
                        help="address-space limit, so a huge allocation is a MemoryError")
    args = parser.parse_args(argv)
    module = targets.load(args.target)
    if args.as_limit_mb:
        limit = args.as_limit_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    status = 0
    for path in args.files:
        # One JSON line per file, flushed: if a later input kills the process, the
        # caller still has the outcomes before it.
        outcome = run_one(module.TestOneInput, path.read_bytes(), args.timeout)
        print(json.dumps(asdict(outcome)), flush=True)
        status |= outcome.status != "ok"
    return status


if __name__ == "__main__":
    sys.exit(main())
