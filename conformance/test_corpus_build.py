"""The committed corpus objects are what corpus/build.py makes of the sources.

The rebuild runs the pinned clang (14.x); where it is missing or another major
version, the byte comparison is skipped with the reason, the shape checks still run.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "corpus" / "src"
OBJ = ROOT / "corpus" / "obj"


def _build_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("corpus_build", ROOT / "corpus" / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("corpus_build", module)
    spec.loader.exec_module(module)
    return module


def _sources() -> list[Path]:
    return sorted(SRC.glob("*.c"))


def test_enough_sources() -> None:
    assert len(_sources()) >= 12


@pytest.mark.parametrize("source", _sources(), ids=lambda p: p.stem)
def test_source_has_header_comment_and_both_objects(source: Path) -> None:
    text = source.read_text()
    m = re.match(r"/\*(.*?)\*/", text, re.S)
    assert m is not None, f"{source.name} must open with a /* ... */ comment"
    assert len(m.group(1).split()) >= 8, f"{source.name}: header comment says too little"
    for order in ("el", "eb"):
        obj = OBJ / f"{source.stem}.{order}.o"
        assert obj.is_file(), f"missing {obj.relative_to(ROOT)}"
        assert obj.read_bytes()[:4] == b"\x7fELF"


def test_no_orphan_objects() -> None:
    stems = {p.stem for p in _sources()}
    orphans = [p.name for p in OBJ.glob("*.o") if p.name.rsplit(".", 2)[0] not in stems]
    assert orphans == []


def test_program_names_unique_across_corpus() -> None:
    # Later checks load every object into one kernel; names must not collide.
    seen: dict[str, str] = {}
    clashes = []
    # SEC("...") on its own line, then the definition: `int name(` or `int BPF_PROG(name,`.
    pattern = re.compile(r"^SEC\(\"[^\"]+\"\)\s*\n\s*\w[\w\s\*]*?\b(?:BPF_\w+\()?(\w+)[,()]", re.M)
    data_sections = re.compile(r"^SEC\(\"(?:\.maps|\.struct_ops|license|version|maps)\"\)", re.M)
    for source in _sources():
        text = source.read_text()
        names = pattern.findall(text)
        assert len(names) == len(re.findall(r"^SEC\(", text, re.M)) - len(
            data_sections.findall(text)
        ), f"{source.name}: could not name every program"
        for name in names:
            if name in seen:
                clashes.append((name, seen[name], source.stem))
            seen[name] = source.stem
    assert len(seen) > 50
    assert clashes == []


@pytest.mark.oracle
@pytest.mark.slow
def test_rebuild_reproduces_committed_objects() -> None:
    build = _build_module()
    try:
        clang = build.find_clang()
    except build.BuildError as exc:
        pytest.skip(str(exc))
    drifted = build.check(clang, build.sources([]))
    assert drifted == [], "objects drifted from their sources: " + ", ".join(drifted)
