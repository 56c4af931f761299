"""The ClusterFuzzLite/OSS-Fuzz build script, run with stand-ins for the image's
tools, and every fuzzer entry it generates run for a few inputs under atheris."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("oss")
    src, out, bin_dir = tmp / "src", tmp / "out", tmp / "bin"
    for d in (src, out, bin_dir):
        d.mkdir()
    (src / "bpfconform").symlink_to(REPO)
    # The image's compile_python_fuzzer packages with PyInstaller; here the entry
    # script itself is the "binary".
    (bin_dir / "compile_python_fuzzer").write_text(
        '#!/bin/sh\ncp "$1" "$OUT/$(basename "$1" .py).py"\n')
    (bin_dir / "pip3").write_text("#!/bin/sh\nexit 0\n")
    # A symlink would lose the virtualenv (found next to the executable's path).
    (bin_dir / "python3").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    for f in bin_dir.iterdir():
        f.chmod(0o755)
    env = dict(os.environ, SRC=str(src), OUT=str(out),
               PATH=f"{bin_dir}:{os.environ['PATH']}")
    proc = subprocess.run(["bash", str(REPO / ".clusterfuzzlite" / "build.sh")], env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def test_build_outputs_every_target(built):
    names = {p.stem for p in built.glob("*.py")}
    assert {"elf", "elf_container", "btf", "btf_ext", "asm", "btf_model"} <= names
    assert "libbpf_diff" not in names
    for name in names:
        assert "max_len" in (built / f"{name}.options").read_text()
        with zipfile.ZipFile(built / f"{name}_seed_corpus.zip") as zf:
            assert zf.namelist(), f"{name}: empty seed corpus"


@pytest.mark.parametrize("name", ["elf", "btf", "asm", "btf_ext"])
def test_entry_fuzzes(built, name, tmp_path):
    with zipfile.ZipFile(built / f"{name}_seed_corpus.zip") as zf:
        zf.extractall(tmp_path / "seeds")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, str(built / f"{name}.py"), "-runs=300",
                           "-max_len=65536", str(tmp_path / "seeds")], env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Done 300 runs" in proc.stderr
