"""``bpfconform inspect OBJ [--json]`` through loader.cli.main, as a user runs it.

--json must be the reviewed corpus/expected/NAME.json byte for byte (those files
are produced by corpus/regen_expected.py and guarded there); the text form must
name every program and map of that summary, and its section size table must
agree with pyelftools, an independent ELF reader.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile as PyELFFile

from loader.cli import main

ROOT = Path(__file__).resolve().parent.parent
OBJ_DIR = ROOT / "corpus" / "obj"
EXPECTED_DIR = ROOT / "corpus" / "expected"
LE_OBJECTS = sorted(OBJ_DIR.glob("*.el.o"))


def _ids(p: Path) -> str:
    return p.name.removesuffix(".el.o")


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(["inspect", *argv])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("path", LE_OBJECTS, ids=_ids)
def test_json_is_the_expected_file(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = _run(capsys, str(path), "--json")
    assert (status, err) == (0, "")
    expected = (EXPECTED_DIR / (_ids(path) + ".json")).read_text()
    assert out == expected


@pytest.mark.parametrize("path", LE_OBJECTS, ids=_ids)
def test_text_names_every_program_and_map(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = _run(capsys, str(path))
    assert (status, err) == (0, "")
    summary = json.loads((EXPECTED_DIR / (_ids(path) + ".json")).read_text())
    # Only the program/map/variable listing, not the section table below it.
    body = out[:out.index("\nsections (")]
    names = {m.split()[0] for m in body.splitlines() if m.startswith("  ")}
    assert set(summary["programs"]) <= names
    assert set(summary["maps"]) <= names
    assert f"programs ({len(summary['programs'])}):" in out
    assert f"maps ({len(summary['maps'])}):" in out


@pytest.mark.parametrize("path", LE_OBJECTS, ids=_ids)
def test_text_section_sizes_agree_with_pyelftools(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = _run(capsys, str(path))
    data = path.read_bytes()
    table = out[out.index("\nsections ("):]
    header = re.search(r"sections \((\d+) of (\d+), file (\d+) bytes\)", table)
    assert header is not None
    rows = dict(re.findall(r"^  (\S+) +(\d+) bytes$", table, re.M))
    py = PyELFFile(io.BytesIO(data))
    assert int(header.group(2)) == py.num_sections()
    assert int(header.group(3)) == len(data)
    want = {
        s.name: str(s["sh_size"]) for s in py.iter_sections()
        if s["sh_type"] not in ("SHT_NULL", "SHT_REL", "SHT_SYMTAB", "SHT_STRTAB")
        and not s.name.startswith((".debug", ".rel.debug"))
    }
    assert rows == want
    assert int(header.group(1)) == len(want)
    # Every program section and .BTF are in the table (what the issue asks to see).
    assert ".BTF" in rows
    debug = sum(s["sh_size"] for s in py.iter_sections()
                if s.name.startswith((".debug", ".rel.debug")))
    assert re.search(rf"debug info \(\d+ sections\) +{debug} bytes", table)


def test_malformed_object_is_a_clean_error(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.o"
    bad.write_bytes(b"\x7fELF" + bytes(60))
    status, out, err = _run(capsys, str(bad))
    assert status == 1
    assert out == ""
    assert err.startswith("bpfconform: ") and "ELF class" in err


@pytest.mark.parametrize("command", ["inspect", "load"])
def test_missing_file_is_a_clean_error(tmp_path: Path, command: str,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.o"
    status = main([command, str(missing)])
    out, err = capsys.readouterr()
    assert status == 1
    assert out == ""
    assert err == f"bpfconform: {missing}: No such file or directory\n"
