"""Crash triage: minimise, reproduce, deduplicate, and file into corpus/regress/.

Each libFuzzer artifact (``crash-*``, ``timeout-*``, ``oom-*``) is

1. minimised with libFuzzer's ``-minimize_crash=1`` (crashes only: minimising a
   hang costs a full timeout per attempt),
2. replayed in a fresh process by :mod:`fuzz.replay` to get its trace,
3. keyed by exception type + innermost project frame, and
4. written to ``corpus/regress/TARGET/NAME`` with ``NAME.txt`` (the key and the
   trace) unless a finding with the same key is already filed there.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from fuzz.replay import REPO, Outcome

REGRESS_ROOT = REPO / "corpus" / "regress"
_KIND_PREFIXES = ("crash", "timeout", "oom", "leak")


@dataclass
class Finding:
    target: str
    kind: str
    key: str
    path: Path  # the regress file (new or the one already filed under this key)
    new: bool
    size: int
    message: str

    def as_json(self) -> dict[str, object]:
        return {"kind": self.kind, "key": self.key, "file": _display(self.path),
                "new": self.new, "size": self.size, "message": self.message}


def _display(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def artifact_kind(path: Path) -> str | None:
    prefix = path.name.split("-", 1)[0]
    return prefix if prefix in _KIND_PREFIXES else None


def minimize(wrapper: Path, artifact: Path, out: Path, *, timeout_s: int,
             max_time_s: int = 30, runs: int = 4000) -> Path:
    """Shrink a crashing input with libFuzzer; the original when nothing smaller crashes."""
    cmd = [str(wrapper), "-minimize_crash=1", f"-runs={runs}", f"-max_total_time={max_time_s}",
           f"-timeout={timeout_s}", f"-exact_artifact_path={out}", str(artifact)]
    try:
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=max_time_s * 3 + 30, check=False)
    except subprocess.TimeoutExpired:
        pass
    if out.exists() and 0 < out.stat().st_size <= artifact.stat().st_size:
        return out
    return artifact


def reproduce_many(target: str, paths: list[Path], *, timeout_s: float, as_limit_mb: int,
                   regress_root: Path = REGRESS_ROOT) -> list[Outcome]:
    """Replay in a fresh interpreter, so a hang or an allocation cannot hurt this one.

    All inputs go through one process (an interpreter start costs more than most
    inputs); when one of them kills it, the rest are replayed after it.
    """
    outcomes: list[Outcome] = []
    while len(outcomes) < len(paths):
        rest = paths[len(outcomes):]
        cmd = [sys.executable, "-m", "fuzz.replay", target, *map(str, rest),
               f"--timeout={timeout_s}", f"--as-limit-mb={as_limit_mb}"]
        pythonpath = os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
        env = dict(os.environ, PYTHONPATH=pythonpath,
                   BPFCONFORM_FUZZ_REGRESS_DIR=str(regress_root))
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env,
                                  timeout=timeout_s * (len(rest) + 2) + 30, check=False)
            stdout, stderr, code = proc.stdout, proc.stderr, proc.returncode
            died = None
        except subprocess.TimeoutExpired as exc:
            stdout = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
            stderr, code = "", None
            died = Outcome(status="finding", kind="timeout", exc_type="Hang",
                           message="replay process did not finish")
        for line in stdout.splitlines():
            if line.startswith("{"):
                outcomes.append(Outcome(**json.loads(line)))
        if len(outcomes) < len(paths) and (died is not None or code not in (0, 1)):
            # The next input killed the interpreter (a C-level crash) or hung it.
            outcomes.append(died or Outcome(
                status="finding", kind="crash", exc_type=f"exit{code}",
                message=stderr[-500:], trace=stderr[-4000:]))
        elif len(outcomes) < len(paths):
            raise RuntimeError(f"replay of {target} stopped early: {stderr[-2000:]}")
    return outcomes


def reproduce(target: str, path: Path, *, timeout_s: float, as_limit_mb: int,
              regress_root: Path = REGRESS_ROOT) -> Outcome:
    return reproduce_many(target, [path], timeout_s=timeout_s, as_limit_mb=as_limit_mb,
                          regress_root=regress_root)[0]


def filed_keys(target_dir: Path) -> dict[str, Path]:
    """Keys of the findings already in ``corpus/regress/TARGET``."""
    keys: dict[str, Path] = {}
    if target_dir.is_dir():
        for txt in sorted(target_dir.glob("*.txt")):
            for line in txt.read_text(errors="replace").splitlines():
                if line.startswith("key: "):
                    keys[line[5:]] = txt.with_suffix("")
                    break
    return keys


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "_." else "_" for c in text)[:40]


def file_finding(target: str, regress_name: str, data: bytes, outcome: Outcome,
                 regress_root: Path = REGRESS_ROOT) -> Finding:
    """Write the regress file and its ``.txt``, unless the key is already filed."""
    target_dir = regress_root / regress_name
    existing = filed_keys(target_dir).get(outcome.key)
    if existing is not None:
        return Finding(target, outcome.kind, outcome.key, existing, False, len(data),
                       outcome.message)
    function = outcome.frame.rsplit(":", 1)[-1] if outcome.frame else "unknown"
    digest = hashlib.sha1(data).hexdigest()
    name = f"{outcome.kind}-{_safe(outcome.exc_type)}-{_safe(function)}-{digest[:10]}"
    target_dir.mkdir(parents=True, exist_ok=True)
    path = target_dir / name
    path.write_bytes(data)
    when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    header = [
        f"target: {target}",
        f"kind: {outcome.kind}",
        f"key: {outcome.key}",
        f"line: {outcome.line}",
        f"size: {len(data)} bytes",
        f"sha1: {digest}",
        f"found: {when}",
        f"replay: python -m fuzz.replay {regress_name} {_display(path)}",
        "",
    ]
    (target_dir / f"{name}.txt").write_text("\n".join(header) + (outcome.trace or outcome.message)
                                            + "\n")
    return Finding(target, outcome.kind, outcome.key, path, True, len(data), outcome.message)


def triage(target: str, regress_name: str, artifacts: list[Path], *, wrapper: Path,
           workdir: Path, timeout_s: int, as_limit_mb: int, minimize_crashes: bool = True,
           regress_root: Path = REGRESS_ROOT) -> tuple[list[Finding], list[str]]:
    """Triage all artifacts of a run: the distinct findings, and notes on the rest."""
    findings: dict[str, Finding] = {}
    notes: list[str] = []
    unique: dict[str, Path] = {}
    for artifact in artifacts:
        if artifact_kind(artifact) is not None:
            unique.setdefault(hashlib.sha1(artifact.read_bytes()).hexdigest(), artifact)
    todo = list(unique.values())
    outcomes = reproduce_many(target, todo, timeout_s=timeout_s, as_limit_mb=as_limit_mb,
                              regress_root=regress_root) if todo else []
    for artifact, outcome in zip(todo, outcomes, strict=True):
        kind = artifact_kind(artifact)
        if outcome.status == "ok":
            # Flaky, or an rss-limit oom that only shows under libFuzzer's sampling.
            notes.append(f"{artifact.name}: {kind} did not reproduce outside libFuzzer")
            continue
        if outcome.key in findings:
            continue
        filed = filed_keys(regress_root / regress_name).get(outcome.key)
        path = artifact
        if filed is None and kind == "crash" and minimize_crashes:
            # Minimise only new keys: the same bug recurs after every restart.
            smaller = minimize(wrapper, artifact, workdir / f"min-{artifact.name}",
                               timeout_s=timeout_s)
            if smaller != artifact:
                again = reproduce(target, smaller, timeout_s=timeout_s, as_limit_mb=as_limit_mb,
                                  regress_root=regress_root)
                if again.key == outcome.key:
                    path, outcome = smaller, again
        findings[outcome.key] = file_finding(target, regress_name, path.read_bytes(), outcome,
                                             regress_root)
    return list(findings.values()), notes
