"""A measured campaign: every target in turn, one process, a JSON report.

``python -m fuzz.campaign --per-target 360 --out DIR [TARGET ...]`` keeps each
target's corpus in ``DIR/corpus/TARGET`` (so a second campaign resumes), files
findings under ``--regress-dir`` and writes ``DIR/campaign.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from fuzz import runner, targets, triage


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fuzz.campaign")
    parser.add_argument("targets", nargs="*", default=list(targets.TARGETS))
    parser.add_argument("--per-target", type=float, default=360.0, metavar="S")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--regress-dir", type=Path, default=triage.REGRESS_ROOT)
    parser.add_argument("--fail-on-new", action="store_true",
                        help="exit 1 when a target files a new finding (CI)")
    parser.add_argument("--no-fail", action="append", default=[], metavar="TARGET",
                        help="file this target's findings but never fail on them (libbpf_diff:"
                             " disagreements are to triage, not all are bugs)")
    args = parser.parse_args(argv)
    new = 0
    args.out.mkdir(parents=True, exist_ok=True)
    report: dict[str, object] = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                 "per_target_s": args.per_target, "targets": {}}
    results: dict[str, object] = {}
    report["targets"] = results
    for name in args.targets:
        opts = runner.Options(target=name, time_s=args.per_target, jobs=1,
                              corpus=args.out / "corpus" / name, regress_root=args.regress_dir)
        try:
            summary = runner.run(opts, workdir=args.out / "work" / name)
        except Exception as exc:  # one broken target must not end the campaign
            results[name] = {"error": f"{type(exc).__name__}: {str(exc)[-2000:]}"}
        else:
            results[name] = summary.as_json()
            if name not in args.no_fail:
                new += sum(f.new for f in summary.findings)
        print(json.dumps({name: results[name]}), flush=True)
        (args.out / "campaign.json").write_text(json.dumps(report, indent=2) + "\n")
    if new and args.fail_on_new:
        print(f"{new} new finding(s) filed under {args.regress_dir}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
