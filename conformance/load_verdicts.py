"""Per-object load verdicts, ours and bpftool's, for corpus/expected/load_verdicts.json.

``python -m conformance.load_verdicts --write`` regenerates the file (as root, on
the host whose kernel the file describes); the conformance test compares a fresh
run with it, so a change in either loader's verdict is a visible diff.  Only
little-endian objects: an x86 kernel loads host-order instructions only.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VERDICTS = ROOT / "corpus" / "expected" / "load_verdicts.json"
BPFFS = Path("/sys/fs/bpf")
# libbpf lines that say why an object failed, most specific first.
_REASON = re.compile(
    r"libbpf: (prog '[^']+': BPF program load failed: .*|elf: legacy map definitions.*|"
    r"prog '[^']+': failed to .*|failed to guess program type.*|map '[^']+': failed to .*)")


def corpus_el_objects() -> list[Path]:
    return sorted((ROOT / "corpus" / "obj").glob("*.el.o"))


def bpftool_loadall(obj: Path) -> tuple[dict[str, Any], dict[str, tuple[str, int]]]:
    """bpftool's verdict for ``obj`` and, when it loaded, each program's tag and
    translated length (the kernel's view of the submitted instructions).

    The pins go to a fresh directory under /sys/fs/bpf that is always removed.
    """
    # libbpf pins PIN_BY_NAME maps at /sys/fs/bpf/NAME: remove those this run made.
    by_name = [BPFFS / n for n in _pinned_map_names(obj)]
    existed = {p for p in by_name if p.exists()}
    pin_dir = Path(tempfile.mkdtemp(prefix="bpfconform-load-", dir=BPFFS))
    tags: dict[str, tuple[str, int]] = {}
    try:
        proc = subprocess.run(["bpftool", "prog", "loadall", str(obj), str(pin_dir / "p")],
                              capture_output=True, text=True, timeout=120)
        reasons = [m.group(1) for m in _REASON.finditer(proc.stderr)]
        verdict: dict[str, Any] = {"loaded": proc.returncode == 0,
                                   "reason": reasons[0] if reasons else None}
        if proc.returncode == 0:
            tags = _pinned_tags(pin_dir / "p")
    finally:
        shutil.rmtree(pin_dir, ignore_errors=True)
        for p in by_name:
            if p not in existed and p.exists():
                p.unlink()
    return verdict, tags


def _pinned_map_names(obj: Path) -> list[str]:
    from loader.collection import load_collection_spec
    from loader.collection.spec import PIN_BY_NAME
    from loader.errors import LoaderError

    try:
        spec = load_collection_spec(obj)
    except LoaderError:
        return []
    return [n for n, m in spec.maps.items() if m.pinning == PIN_BY_NAME]


def _pinned_tags(prog_dir: Path) -> dict[str, tuple[str, int]]:
    from loader.kernel import obj_get, obj_get_info_by_fd
    from loader.kernel.info import ProgInfo

    out: dict[str, tuple[str, int]] = {}
    for pin in sorted(prog_dir.iterdir()):
        with obj_get(str(pin)) as fd:
            info = obj_get_info_by_fd(fd)
            assert isinstance(info, ProgInfo)
            out[pin.name] = (info.tag, info.xlated_prog_len)
    return out


def our_verdict(obj: Path) -> dict[str, Any]:
    from loader.cli.load import load_report

    rep = load_report(str(obj))
    return {
        "programs": {n: {"loaded": p["loaded"], "errno": p["errno"]}
                     for n, p in rep["programs"].items()},
        "maps": {n: {"created": m["created"], "errno": m["errno"]} for n, m in rep["maps"].items()},
    }


def verdicts() -> dict[str, Any]:
    out: dict[str, Any] = {
        "_about": "kernel verdicts on the host named in 'kernel'; little-endian objects "
                  "only; regenerate with python -m conformance.load_verdicts --write",
        "kernel": os.uname().release,
    }
    for obj in corpus_el_objects():
        bt, _ = bpftool_loadall(obj)
        out[obj.name] = {"bpftool": bt, "ours": our_verdict(obj)}
    return out


def main(argv: list[str]) -> int:
    doc = verdicts()
    text = json.dumps(doc, indent=2, sort_keys=True) + "\n"
    if "--write" in argv:
        VERDICTS.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
