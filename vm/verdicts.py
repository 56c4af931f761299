"""Judging merged matrix results: claim violations, model disagreements, cell marks.

Pure functions over the merged JSON (no I/O), shared by the terminal table, the
HTML page and the exit status.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ALLOWLIST_PATH = Path(__file__).resolve().parent.parent / "corpus" / "expected" / (
    "probe_allowlist.json"
)
# Objects our loader fails on although bpftool loads them in the same kernel, each
# with the reviewed reason: {object name: reason | {kernel line or "*": reason}}.
OBJECT_ALLOWLIST_PATH = ALLOWLIST_PATH.with_name("object_allowlist.json")
# Object entries share the allowlist mapping with probes under this prefix.
OBJECT_KEY = "object:"


def version_tuple(text: str) -> tuple[int, int] | None:
    match = re.match(r"^(\d+)\.(\d+)", text or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def _read_allowlist(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected an object of name -> reason")
    return {k: v for k, v in data.items() if not k.startswith("_")}


def load_allowlist(path: Path = ALLOWLIST_PATH,
                   objects_path: Path | None = OBJECT_ALLOWLIST_PATH) -> dict[str, Any]:
    """probe name -> reason (or {kernel line or "*": reason}); object entries from
    ``objects_path`` under ``object:NAME``. Keys starting with "_" are comments."""
    data = _read_allowlist(path)
    if objects_path is not None:
        for name, reason in _read_allowlist(objects_path).items():
            data[OBJECT_KEY + name] = reason
    return data


def allow_reason(allowlist: dict[str, Any], probe: str, line: str) -> str | None:
    entry = allowlist.get(probe)
    if isinstance(entry, str):
        return entry
    if isinstance(entry, dict):
        reason = entry.get(line, entry.get("*"))
        return reason if isinstance(reason, str) else None
    return None


def section_ok(section: Any) -> bool:
    """A section holds results (not a {"status": ...} placeholder)."""
    return isinstance(section, dict) and "status" not in section


@dataclass(frozen=True)
class Cell:
    text: str
    css: str  # yes, no, violation, allowed, unknown, absent, agree, disagree, info
    title: str


def kernel_line(result: dict[str, Any]) -> str:
    kernel = result.get("kernel") or {}
    release = str(kernel.get("release", ""))
    vt = version_tuple(release)
    return f"{vt[0]}.{vt[1]}" if vt else release


def probe_cell(result: dict[str, Any], probe: str, allowlist: dict[str, Any]) -> Cell:
    if result.get("status") != "ok" or not section_ok(result.get("probes")):
        return Cell(".", "absent", result.get("failure") or "no probe results")
    entry = result["probes"].get(probe)
    if entry is None:
        return Cell(".", "absent", "probe not run on this kernel")
    supported, claimed = entry.get("supported"), str(entry.get("claimed_min", ""))
    error = entry.get("error") or ""
    if supported is True:
        return Cell("+", "yes", f"supported (claimed since {claimed})")
    if supported is None:
        return Cell("?", "unknown", f"could not decide: {error}")
    line = kernel_line(result)
    kv, cv = version_tuple(line), version_tuple(claimed)
    if kv is not None and cv is not None and kv >= cv:
        reason = allow_reason(allowlist, probe, line)
        if reason is not None:
            return Cell("a", "allowed", f"unsupported at {line} >= {claimed} (allowlisted: "
                        f"{reason}) {error}".strip())
        return Cell("X", "violation", f"CLAIM VIOLATION: unsupported on {line}, claimed since "
                    f"{claimed}: {error}".strip())
    return Cell("-", "no", f"unsupported (claimed since {claimed}): {error}".strip())


def bpftool_verdict(entry: dict[str, Any]) -> bool | None:
    """bpftool's verdict on an object entry (schema 2), None when it did not run."""
    bt = entry.get("bpftool")
    if isinstance(bt, dict) and isinstance(bt.get("loaded"), bool):
        return bool(bt["loaded"])
    return None


def _ours_text(entry: dict[str, Any]) -> str:
    if entry.get("loaded"):
        return "ours: loaded"
    return f"ours: errno {entry.get('errno')}: {entry.get('log_tail') or ''}".strip()


def _bpftool_text(entry: dict[str, Any]) -> str:
    bt = entry.get("bpftool")
    if not isinstance(bt, dict):
        return "bpftool: not run"
    if "loaded" not in bt:
        return f"bpftool: {bt.get('status', 'not run')} ({bt.get('detail', '')})"
    if bt["loaded"]:
        return "bpftool: loaded"
    return f"bpftool: rc {bt.get('rc')}: {bt.get('error') or ''}".strip()


def object_cell(result: dict[str, Any], name: str,
                allowlist: dict[str, Any] | None = None) -> Cell:
    """Our verdict on an object, next to bpftool's in the same kernel.

    bpftool loads and we do not: a blocking finding unless allowlisted ("B"/"a").
    We load and bpftool does not: informational ("o"), e.g. legacy maps or
    section names libbpf 1.1 does not know.
    """
    if result.get("status") != "ok" or not section_ok(result.get("objects")):
        return Cell(".", "absent", result.get("failure") or "no object results")
    entry = result["objects"].get(name)
    if entry is None:
        return Cell(".", "absent", "object not loaded on this kernel")
    ours, theirs = bool(entry.get("loaded")), bpftool_verdict(entry)
    title = f"{_ours_text(entry)} / {_bpftool_text(entry)}"
    if theirs is None or ours == theirs:
        return Cell("+", "yes", title) if ours else Cell("-", "no", title)
    if ours:
        return Cell("o", "info", "we load, bpftool does not (informational): " + title)
    reason = allow_reason(allowlist or {}, OBJECT_KEY + name, kernel_line(result))
    if reason is not None:
        return Cell("a", "allowed", f"bpftool loads, we do not (allowlisted: {reason}): "
                    + title)
    return Cell("B", "disagree", "BPFTOOL LOADS, WE DO NOT: " + title)


def object_info(results: dict[str, dict[str, Any]]) -> list[dict[str, str]]:
    """The informational disagreements: objects we load and bpftool does not."""
    out: list[dict[str, str]] = []
    for label, result in results.items():
        if result.get("status") != "ok":
            continue
        for name in row_names({label: result}, "objects"):
            cell = object_cell(result, name)
            if cell.css == "info":
                out.append({"kernel": label, "subject": name, "detail": cell.title})
    return out


def btf_case_cell(result: dict[str, Any], name: str) -> Cell:
    if result.get("status") != "ok" or not section_ok(result.get("btf_cases")):
        return Cell(".", "absent", result.get("failure") or "no BTF case results")
    entry = result["btf_cases"].get(name)
    if entry is None:
        return Cell(".", "absent", "case not run on this kernel")
    model, kernel = entry.get("model", {}), entry.get("kernel", {})
    title = f"model: {model} / kernel: {kernel}"
    if entry.get("agree"):
        return Cell("=", "agree", title)
    return Cell("!", "disagree", "MODEL DISAGREES: " + title)


def row_names(results: dict[str, dict[str, Any]], section: str) -> list[str]:
    names: set[str] = set()
    for result in results.values():
        sec = result.get(section)
        if isinstance(sec, dict) and section_ok(sec):
            names.update(sec)
    return sorted(names)


@dataclass(frozen=True)
class Finding:
    kind: str  # claim_violation, model_disagreement, object_disagreement, kernel_failed
    kernel: str
    subject: str
    detail: str
    allowlisted: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "kernel": self.kernel, "subject": self.subject,
                "detail": self.detail, "allowlisted": self.allowlisted}


def findings(results: dict[str, dict[str, Any]], allowlist: dict[str, Any]) -> list[Finding]:
    out: list[Finding] = []
    for label, result in results.items():
        if result.get("status") != "ok":
            out.append(Finding("kernel_failed", label, label, str(result.get("failure"))))
            continue
        for probe in row_names({label: result}, "probes"):
            cell = probe_cell(result, probe, allowlist)
            if cell.css in ("violation", "allowed"):
                reason = allow_reason(allowlist, probe, kernel_line(result))
                out.append(Finding("claim_violation", label, probe, cell.title,
                                   reason if cell.css == "allowed" else None))
        for name in row_names({label: result}, "objects"):
            cell = object_cell(result, name, allowlist)
            if cell.css in ("disagree", "allowed"):
                reason = allow_reason(allowlist, OBJECT_KEY + name, kernel_line(result))
                out.append(Finding("object_disagreement", label, name, cell.title,
                                   reason if cell.css == "allowed" else None))
        for case in row_names({label: result}, "btf_cases"):
            cell = btf_case_cell(result, case)
            if cell.css == "disagree":
                out.append(Finding("model_disagreement", label, case, cell.title))
    return out


def blocking(found: list[Finding]) -> list[Finding]:
    """Findings that make the matrix fail: everything not allowlisted."""
    return [f for f in found if f.allowlisted is None]


def differing_probes(results: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Probes whose answer differs between the kernels that ran: label -> supported."""
    ran = {k: r for k, r in results.items()
           if r.get("status") == "ok" and section_ok(r.get("probes"))}
    out: dict[str, dict[str, Any]] = {}
    for probe in row_names(ran, "probes"):
        answers = {k: r["probes"].get(probe, {}).get("supported") for k, r in ran.items()}
        if len(set(answers.values())) > 1:
            out[probe] = answers
    return out
