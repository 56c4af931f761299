"""``bpfconform generate btf|elf``: synthetic blobs plus a manifest of expectations.

Deterministic per seed: blob i comes from ``random.Random(f"{seed}:{i}")``, so the
same seed writes identical bytes (and one blob can be regenerated alone).
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("generate", help="write synthetic BTF or ELF blobs with a manifest")
    p.add_argument("what", choices=("btf", "elf"))
    p.add_argument("--count", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--kernel", default="6.18", help="kernel the BTF expectations are for")
    p.add_argument("--invalid-ratio", type=float, default=0.5)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from conformance import generators as g

    if args.count < 0:
        raise SystemExit(f"bpfconform generate: --count must be >= 0, got {args.count}")
    if not 0.0 <= args.invalid_ratio <= 1.0:
        raise SystemExit(f"bpfconform generate: --invalid-ratio must be in [0, 1], "
                         f"got {args.invalid_ratio}")
    try:
        g.btf_kinds_for(args.kernel)
    except ValueError as exc:
        raise SystemExit(f"bpfconform generate: --kernel: {exc}") from None
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, dict[str, Any]] = {}
    for i in range(args.count):
        rng = random.Random(f"{args.seed}:{i}")
        invalid = rng.random() < args.invalid_ratio
        if args.what == "btf":
            name = f"{i:06d}.btf"
            if invalid:
                case = g.random_invalid_btf(rng, kernel=args.kernel)
                blob, expect = case.blob, {"accepted": False, "errno": case.expected_errno,
                                           "rule": case.rule}
            else:
                blob = g.random_btf(rng, kernel=args.kernel).encode("<")
                expect = {"accepted": True, "errno": None, "rule": None}
        else:
            name = f"{i:06d}.o"
            if invalid:
                ecase = g.random_invalid_elf(rng)
                blob, expect = ecase.blob, {"valid": False, "errno": None, "rule": ecase.rule,
                                            "error": ecase.error.__name__}
            else:
                order = rng.choice(("<", ">"))
                blob = g.random_elf(rng).write(order)  # type: ignore[arg-type]
                expect = {"valid": True, "errno": None, "rule": None}
        (out / name).write_bytes(blob)
        manifest[name] = {"expect": expect}
    doc = {"what": args.what, "seed": args.seed, "kernel": args.kernel, "files": manifest}
    (out / "manifest.json").write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    print(f"wrote {args.count} {args.what} blobs and manifest.json to {out}")
    return 0
