"""``bpfconform kernels list|fetch|prune`` and ``bpfconform matrix``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from vm import boot, kernels, matrix, report

DEFAULT_OUT = matrix.REPO / "out"


def register(subparsers: Any) -> None:
    kp = subparsers.add_parser("kernels", help="the Debian kernel cache used by the matrix")
    ksub = kp.add_subparsers(dest="kernels_command", metavar="ACTION", required=True)
    lp = ksub.add_parser("list", help="cached kernels")
    lp.add_argument("--json", action="store_true", help="print the manifests as JSON")
    lp.set_defaults(func=_list)
    fp = ksub.add_parser("fetch", help="resolve and download kernels into the cache")
    fp.add_argument("specs", nargs="+", metavar="SPEC",
                    help="5.10, 6.1, 6.12, 7.2, 7.3-rc, a Debian version, a package name, "
                    "or VMLINUZ[:MODDIR]")
    fp.add_argument("--refresh", action="store_true", help="re-download the package indexes")
    fp.set_defaults(func=_fetch)
    pp = ksub.add_parser("prune", help="delete all but the newest kernel of each line")
    pp.add_argument("--all", action="store_true", help="delete every cached kernel")
    pp.set_defaults(func=_prune)

    mp = subparsers.add_parser("matrix", help="boot kernels, run probes and corpus in each")
    mp.add_argument("--kernels", default=",".join(matrix.DEFAULT_KERNELS),
                    help="comma-separated kernel specs (default: %(default)s)")
    mp.add_argument("--json", type=Path, default=DEFAULT_OUT / "matrix.json",
                    help="merged JSON (default: out/matrix.json)")
    mp.add_argument("--html", type=Path, default=DEFAULT_OUT / "matrix.html",
                    help="HTML page (default: out/matrix.html)")
    mp.add_argument("--timeout", type=float, default=boot.DEFAULT_TIMEOUT_S,
                    help="seconds per kernel boot before it counts as hung (default: "
                    "%(default)s)")
    mp.add_argument("--stall", type=float, default=boot.DEFAULT_STALL_S,
                    help="seconds without console output before a guest counts as hung "
                    "(default: %(default)s)")
    mp.add_argument("--accel", choices=boot.ACCELS, default="tcg",
                    help="tcg (default; KVM hangs on nested setups), kvm, or auto (probe "
                    "KVM briefly, fall back to tcg)")
    mp.add_argument("--jobs", type=int, default=matrix.MatrixOptions([], Path()).jobs,
                    help="kernels booted at once (default: cores)")
    mp.add_argument("--refresh", action="store_true", help="re-download the package indexes")
    mp.set_defaults(func=_matrix)


def _list(args: argparse.Namespace) -> int:
    cached = kernels.list_cached()
    if args.json:
        print(json.dumps([k.to_json() for k in cached], indent=2))
        return 0
    if not cached:
        print(f"no kernels cached in {kernels.cache_root()}")
    for kt in cached:
        print(f"{kt.line:6} {kt.release:26} {kt.package:36} {kt.version}")
    return 0


def _fetch(args: argparse.Namespace) -> int:
    status = 0
    for spec in args.specs:
        try:
            kt = kernels.fetch(spec, refresh_index=args.refresh,
                               progress=lambda m: print(m, file=sys.stderr, flush=True))
        except kernels.KernelError as exc:
            print(f"bpfconform: {exc}", file=sys.stderr)
            status = 1
            continue
        print(f"{spec}: {kt.package} {kt.version} release {kt.release} at {kt.root}")
    return status


def _prune(args: argparse.Namespace) -> int:
    removed = kernels.prune(everything=args.all)
    for item in removed:
        print(f"removed {item}")
    if not removed:
        print("nothing to prune")
    return 0


def _matrix(args: argparse.Namespace) -> int:
    specs = [s.strip() for s in args.kernels.split(",") if s.strip()]
    for spec in specs:
        kernels.classify(spec)  # reject a typo before anything boots
    outdir = args.json.parent
    opts = matrix.MatrixOptions(kernels=specs, outdir=outdir, accel=args.accel,
                                timeout_s=args.timeout, stall_s=args.stall,
                                jobs=max(1, args.jobs),
                                refresh_index=args.refresh)
    merged = matrix.run_matrix(opts)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(merged, indent=1, sort_keys=False) + "\n")
    args.html.parent.mkdir(parents=True, exist_ok=True)
    args.html.write_text(report.html_page(merged))
    print(report.terminal(merged))
    print(f"\nwrote {args.json} and {args.html} ({merged['total_s']} s)")
    return matrix.exit_status(merged)
