"""The multi-kernel matrix: fetch, boot and run the agent per kernel, then merge.

Kernels run in parallel up to the core count (TCG is CPU-bound). Every step is
bounded: a fetch failure, a boot timeout or a missing result becomes a failed
entry for that kernel and the others carry on.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from vm import boot, kernels, verdicts
from vm.agent import SCHEMA

DEFAULT_KERNELS = ("host", "5.10", "6.1", "6.12", "7.2")
REPO = Path(__file__).resolve().parent.parent
HOST_TIMEOUT_S = 120.0


@dataclass
class KernelRun:
    label: str
    state: str = "queued"
    started: float = field(default_factory=time.monotonic)
    state_since: float = field(default_factory=time.monotonic)


class ProgressBoard:
    """Live per-kernel state: a line on every change, a heartbeat while waiting."""

    def __init__(self, labels: list[str], stream: TextIO = sys.stderr,
                 heartbeat_s: float = 10.0) -> None:
        self.start = time.monotonic()
        self.runs = {label: KernelRun(label) for label in labels}
        self.stream = stream
        self.heartbeat_s = heartbeat_s
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)

    def __enter__(self) -> ProgressBoard:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _print(self, text: str) -> None:
        print(f"[{time.monotonic() - self.start:6.1f}s] {text}", file=self.stream, flush=True)

    def set(self, label: str, state: str, note: str = "") -> None:
        with self._lock:
            run = self.runs[label]
            run.state, run.state_since = state, time.monotonic()
            self._print(f"{label}: {state}{' ' + note if note else ''}")

    def note(self, text: str) -> None:
        with self._lock:
            self._print(text)

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat_s):
            with self._lock:
                now = time.monotonic()
                busy = [f"{r.label} {r.state} {now - r.state_since:.0f}s"
                        for r in self.runs.values() if r.state not in ("done", "failed")]
                if busy:
                    self._print("running: " + ", ".join(busy))


def run_host(outdir: Path, timeout_s: float) -> boot.BootResult:
    """The agent directly on this machine, in a child process like a guest."""
    outdir.mkdir(parents=True, exist_ok=True)
    result = outdir / boot.RESULT_NAME
    result.unlink(missing_ok=True)
    argv = [boot.python_for_guest(), "-m", "vm.agent", "--out", str(result), "--label", "host"]
    start = time.monotonic()
    env = dict(os.environ, PYTHONPATH=str(REPO))
    rc, killed = boot.run_bounded(argv, outdir / boot.CONSOLE_NAME, timeout_s, env)
    elapsed = round(time.monotonic() - start, 2)
    tail = boot._tail(outdir / boot.CONSOLE_NAME)
    doc = json.loads(result.read_text()) if result.exists() else None
    failure = None
    if doc is None:
        failure = killed or f"agent exit {rc}"
    return boot.BootResult("host", doc is not None, doc, failure, tail, elapsed, "none", rc)


def merge_result(label: str, kt: kernels.KernelTree | None, res: boot.BootResult | None,
                 failure: str | None, timing: dict[str, float]) -> dict[str, Any]:
    """One kernel's entry of the merged document: the agent's JSON plus host-side facts."""
    doc: dict[str, Any] = dict(res.doc) if res is not None and res.doc is not None else {}
    kernel = dict(doc.get("kernel") or {})
    if kt is not None:
        kernel.update(package=kt.package, package_version=kt.version, source=kt.source,
                      packages=kt.packages, expected_release=kt.release)
        kernel.setdefault("release", kt.release)
    doc["kernel"] = kernel
    doc["timing"] = {**(doc.get("timing") or {}), **timing}
    if "agent_s" in doc["timing"]:
        doc["timing"]["agent_s"] = round(float(doc["timing"]["agent_s"]), 2)
    failure = failure or (res.failure if res is not None else None)
    ok = res is not None and res.ok and failure is None
    doc["status"] = "ok" if ok else "failed"
    doc["failure"] = None if ok else failure
    doc["console_tail"] = None if ok or res is None else res.console_tail
    return doc


def merge(results: dict[str, dict[str, Any]], allowlist: dict[str, Any], *, accel: str,
          total_s: float) -> dict[str, Any]:
    found = verdicts.findings(results, allowlist)
    return {
        "schema": SCHEMA,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "accel": accel,
        "total_s": round(total_s, 1),
        "kernels": list(results),
        "results": results,
        "allowlist": allowlist,
        "findings": [f.to_json() for f in found],
        "blocking": len(verdicts.blocking(found)),
        "differing_probes": verdicts.differing_probes(results),
    }


def label_for(spec: str) -> str:
    """The column name of a kernel: the spec itself, or local:RELEASE for a path."""
    if kernels.classify(spec) != "path":
        return spec
    image = Path(spec.partition(":")[0]).expanduser()
    return f"local:{kernels.release_of_bzimage(image) or image.name}"


@dataclass
class MatrixOptions:
    kernels: list[str]
    outdir: Path
    accel: str = "tcg"
    timeout_s: float = boot.DEFAULT_TIMEOUT_S
    stall_s: float = boot.DEFAULT_STALL_S
    jobs: int = max(1, os.cpu_count() or 1)
    refresh_index: bool = False


class _AccelChooser:
    """Resolves "auto" once, with the first kernel that is ready (KVM probe)."""

    def __init__(self, accel: str, note: Callable[[str], None]) -> None:
        self.accel = accel
        self.note = note
        self._lock = threading.Lock()

    def get(self, kt: kernels.KernelTree) -> str:
        with self._lock:
            if self.accel == "auto":
                works, why = boot.kvm_works(kt)
                self.accel = "kvm" if works else "tcg"
                self.note(f"accel auto -> {self.accel} ({why})")
            return self.accel


def run_matrix(opts: MatrixOptions, stream: TextIO = sys.stderr) -> dict[str, Any]:
    start = time.monotonic()
    spec_of = {label_for(spec): spec for spec in opts.kernels}
    labels = list(spec_of)
    cpu = threading.Semaphore(opts.jobs)
    allowlist = verdicts.load_allowlist()
    results: dict[str, dict[str, Any]] = {}
    with ProgressBoard(labels, stream) as board:
        chooser = _AccelChooser(opts.accel, board.note)

        def one(label: str) -> dict[str, Any]:
            t0 = time.monotonic()
            timing: dict[str, float] = {}
            kt: kernels.KernelTree | None = None
            res: boot.BootResult | None = None
            failure: str | None = None
            # virtme-ng splits --rwdir on '=' and QEMU options on ','; keep names plain.
            rundir = opts.outdir / "runs" / re.sub(r"[^A-Za-z0-9._-]", "_", label)
            try:
                if label == "host":
                    board.set(label, "waiting for a core")
                    with cpu:
                        board.set(label, "agent")
                        res = run_host(rundir, HOST_TIMEOUT_S)
                    timing["boot_s"] = 0.0
                else:
                    board.set(label, "fetching")
                    t1 = time.monotonic()
                    kt = kernels.fetch(spec_of[label], refresh_index=opts.refresh_index,
                                       progress=lambda m: board.note(m))
                    timing["fetch_s"] = round(time.monotonic() - t1, 2)
                    board.set(label, "waiting for a core", f"{kt.package} {kt.version}")
                    with cpu:
                        accel = chooser.get(kt)
                        board.set(label, "booting", f"{kt.release} ({accel})")
                        res = boot.boot(kt, rundir, label, accel=accel,
                                        timeout_s=opts.timeout_s, stall_s=opts.stall_s,
                                        on_phase=lambda p: board.set(label, p))
                    timing["boot_s"] = res.boot_s
            except (kernels.KernelError, OSError, subprocess.SubprocessError) as exc:
                failure = f"{type(exc).__name__}: {exc}"
            timing["total_s"] = round(time.monotonic() - t0, 2)
            entry = merge_result(label, kt, res, failure, timing)
            if entry["status"] == "ok":
                board.set(label, "done", f"{timing['total_s']:.1f}s")
            else:
                board.set(label, "failed", str(entry["failure"]))
            return entry

        with ThreadPoolExecutor(max_workers=len(labels)) as pool:
            futures = {label: pool.submit(one, label) for label in labels}
            for label in labels:
                results[label] = futures[label].result()
        accel = chooser.accel
    return merge(results, allowlist, accel=accel, total_s=time.monotonic() - start)


def exit_status(merged: dict[str, Any]) -> int:
    """0 clean; 1 blocking claim violations or model disagreements; 2 a kernel failed."""
    found = merged.get("findings", [])
    if any(f["kind"] != "kernel_failed" and not f["allowlisted"] for f in found):
        return 1
    if any(f["kind"] == "kernel_failed" for f in found):
        return 2
    return 0
