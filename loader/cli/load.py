"""``bpfconform load OBJ [--json]``: load an eBPF object into the running kernel.

Every map and program is tried (a failure does not stop the rest), everything
is closed again before the command exits; the exit status is 0 only when all
of it loaded.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from loader.collection import load_collection_spec
from loader.collection.spec import CollectionSpec
from loader.errors import LoaderError, VerifierError
from loader.kernel.fd import FD
from loader.kernel.load import LoadedCollection, load_collection


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "load", help="load an eBPF object's maps and programs into the running kernel"
    )
    p.add_argument("file", metavar="OBJ", help="eBPF ELF object (host byte order)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--log-level", type=int, default=0,
                   help="verifier log level for successful loads (failures always log)")
    p.set_defaults(func=_load)


def _error_fields(exc: LoaderError | None) -> dict[str, Any]:
    if exc is None:
        return {"errno": None, "log_tail": None, "error": None}
    err = exc.errno if isinstance(exc, OSError) else None
    tail = exc.log_tail if isinstance(exc, VerifierError) and exc.log.strip() else None
    return {"errno": err, "log_tail": tail, "error": f"{type(exc).__name__}: {exc}"}


def report(spec: CollectionSpec, lc: LoadedCollection) -> dict[str, Any]:
    """The ``--json`` document for one loaded (or partly loaded) collection."""
    programs: dict[str, Any] = {}
    for name, prog in spec.programs.items():
        got = lc.programs.get(name)
        if got is None:  # autoload off ('?SEC'), as libbpf skips it
            programs[name] = {"loaded": False, "skipped": True, **_error_fields(None)}
            continue
        ok = isinstance(got, FD)
        programs[name] = {"loaded": ok, **_error_fields(None if ok else got)}  # type: ignore[arg-type]
        del prog
    maps: dict[str, Any] = {}
    for name, m in spec.maps.items():
        err = lc.map_errors.get(name)
        maps[name] = {"created": name in lc.maps, "type": m.type, **_error_fields(err)}
        del maps[name]["log_tail"]
    btf = {"loaded": lc.btf is not None, **_error_fields(lc.btf_error)} if spec.btf else None
    return {"btf": btf, "programs": programs, "maps": maps}


def load_report(path: str, *, log_level: int = 0) -> dict[str, Any]:
    """Load ``path`` with every failure recorded, close everything, report."""
    spec = load_collection_spec(path)
    with load_collection(spec, log_level=log_level, keep_going=True) as lc:
        return report(spec, lc)


def all_loaded(rep: dict[str, Any]) -> bool:
    # A map can be created and still fail (an initial value the kernel refused).
    return all(p["loaded"] or p.get("skipped") for p in rep["programs"].values()) and all(
        m["created"] and m["error"] is None for m in rep["maps"].values())


def _load(args: argparse.Namespace) -> int:
    rep = load_report(args.file, log_level=args.log_level)
    ok = all_loaded(rep)
    if args.json:
        json.dump(rep, sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
        return 0 if ok else 1
    lines = []
    if rep["btf"] is not None:
        b = rep["btf"]
        lines.append("BTF: loaded" if b["loaded"] else f"BTF: not loaded ({b['error']})")
    lines.append(f"maps ({len(rep['maps'])}):")
    for name, m in rep["maps"].items():
        lines.append(f"  {name:<24} " + ("created" if m["created"] else f"FAILED {m['error']}"))
    lines.append(f"programs ({len(rep['programs'])}):")
    for name, p in rep["programs"].items():
        if p.get("skipped"):
            lines.append(f"  {name:<24} skipped (autoload off)")
        elif p["loaded"]:
            lines.append(f"  {name:<24} loaded")
        else:
            lines.append(f"  {name:<24} FAILED {p['error']}")
            for line in (p["log_tail"] or "").splitlines():
                lines.append(f"      | {line}")
    lines.append("all loaded" if ok else "NOT all loaded")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0 if ok else 1
