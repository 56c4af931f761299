#!/usr/bin/env python3
"""Regenerate corpus/expected/NAME.json: ``bpfconform inspect --json`` of each
little-endian corpus object.  Review the diff before committing it;
conformance/test_collection_expected.py fails when these drift from the loader.

    python corpus/regen_expected.py          rewrite every expected file
    python corpus/regen_expected.py --check  exit 1 if any would change
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loader.collection import load_collection_spec  # noqa: E402
from loader.collection.summary import summarize  # noqa: E402

OBJ_DIR = ROOT / "corpus" / "obj"
EXPECTED_DIR = ROOT / "corpus" / "expected"
# Files in expected/ that other tools own.
NOT_OURS = {"probe_allowlist.json"}


def render(path: Path) -> str:
    return json.dumps(summarize(load_collection_spec(path)), indent=2, sort_keys=True) + "\n"


def expected_path(obj: Path) -> Path:
    return EXPECTED_DIR / (obj.name.removesuffix(".el.o") + ".json")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args(argv)
    stale = []
    for obj in sorted(OBJ_DIR.glob("*.el.o")):
        out = expected_path(obj)
        text = render(obj)
        if out.exists() and out.read_text() == text:
            continue
        stale.append(out.name)
        if not args.check:
            out.write_text(text)
    verb = "stale" if args.check else "rewritten"
    print(f"{len(stale)} {verb}: {' '.join(stale)}" if stale else "all expected files up to date")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
