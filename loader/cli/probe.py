"""``bpfconform probe``: run the feature probes against the running kernel."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

from loader.features import ProbeResult, claim_violations, run_probes

RESULTS_FORMAT_VERSION = 1
ALLOWLIST = Path(__file__).resolve().parents[2] / "corpus" / "expected" / "probe_allowlist.json"


def load_allowlist(path: Path = ALLOWLIST) -> dict[str, str]:
    """Probe name -> reviewed reason why a claim violation on the host is expected."""
    if not path.exists():
        return {}
    data = json.loads(path.read_text())
    return {str(k): str(v) for k, v in data.items()}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("probe", help="run kernel feature probes")
    p.add_argument("--json", action="store_true", help="print the results document")
    p.add_argument("--only", nargs="+", metavar="NAME", help="run only these probes")
    p.set_defaults(func=run)


def _fmt(res: ProbeResult) -> str:
    return {True: "yes", False: "no", None: "?"}[res.supported]


def run(args: argparse.Namespace) -> int:
    results = run_probes(args.only)
    release = platform.release()
    allow = load_allowlist()
    violations = claim_violations(results, release)
    unexplained = sorted(n for n in violations if n not in allow)
    if args.json:
        doc = {
            "version": RESULTS_FORMAT_VERSION,
            "kernel": {
                "release": release,
                "machine": platform.machine(),
                "uname": os.uname().version,
            },
            "probes": {name: res.to_json() for name, res in results.items()},
            "claim_violations": {n: allow.get(n) for n in sorted(violations)},
        }
        print(json.dumps(doc, indent=2, sort_keys=True))
    else:
        width = max(len(n) for n in results)
        print(f"{'probe':<{width}}  {'min':>5}  ok  error")
        for name, res in results.items():
            mark = "  <-- CLAIM VIOLATION" if name in violations else ""
            print(f"{name:<{width}}  {res.claimed_min:>5}  {_fmt(res):>2}  {res.error or ''}{mark}")
        counts = {
            k: sum(1 for r in results.values() if r.supported is k) for k in (True, False, None)
        }
        print(
            f"\n{len(results)} probes on {release}: {counts[True]} supported, "
            f"{counts[False]} unsupported, {counts[None]} undecided"
        )
    for name in sorted(violations):
        res = violations[name]
        why = f"allowlisted: {allow[name]}" if name in allow else "NOT ALLOWLISTED"
        print(
            f"!!! CLAIM VIOLATION: {name} claims >= {res.claimed_min} but is unsupported on "
            f"{release} ({res.error}); {why}",
            file=sys.stderr,
        )
    return 1 if unexplained else 0
