"""Shared fixtures: the corpus objects, the host's vmlinux BTF, external tools."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[1]
CORPUS_OBJ = ROOT / "corpus" / "obj"
VMLINUX_BTF = Path("/sys/kernel/btf/vmlinux")

# Hypothesis profiles: `ci` (default) keeps the property tests to seconds;
# `deep` (HYPOTHESIS_PROFILE=deep or --hypothesis-profile=deep) runs long.
settings.register_profile("ci", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("deep", max_examples=5000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def corpus_object_paths() -> list[Path]:
    return sorted(CORPUS_OBJ.glob("*.o"))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # `corpus_object`: one test per committed object (both byte orders).
    if "corpus_object" in metafunc.fixturenames:
        paths = corpus_object_paths()
        metafunc.parametrize(
            "corpus_object", paths or [None], ids=[p.name for p in paths] or ["no-corpus"],
            indirect=True,
        )


@pytest.fixture
def corpus_object(request: pytest.FixtureRequest) -> Path:
    if request.param is None:
        pytest.fail(f"no corpus objects in {CORPUS_OBJ} (run ./dev corpus)")
    path: Path = request.param
    return path


@pytest.fixture(scope="session")
def corpus_objects() -> list[Path]:
    paths = corpus_object_paths()
    if not paths:
        pytest.fail(f"no corpus objects in {CORPUS_OBJ} (run ./dev corpus)")
    return paths


@pytest.fixture(scope="session")
def vmlinux_btf_path() -> Path:
    if not VMLINUX_BTF.exists():
        pytest.skip(f"{VMLINUX_BTF} absent: kernel without CONFIG_DEBUG_INFO_BTF")
    return VMLINUX_BTF


@pytest.fixture(scope="session")
def vmlinux_btf_bytes(vmlinux_btf_path: Path) -> bytes:
    return vmlinux_btf_path.read_bytes()


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not installed")
    return path
