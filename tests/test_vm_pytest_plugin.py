"""The pytest plugin: --kernel re-runs pytest in a guest; min_kernel skips or fails."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from vm import pytest_plugin

pytest_plugins = ["pytester"]


def test_inner_args_drop_only_the_kernel_options():
    args = ["--kernel", "6.1", "-x", "--kernel-timeout=30", "conformance/", "-k", "kernel"]
    assert pytest_plugin._inner_args(args) == ["-x", "conformance/", "-k", "kernel"]
    assert pytest_plugin._inner_args(["--kernel=6.1", "tests"]) == ["tests"]


def test_min_kernel_skips_below_and_runs_at_or_above(pytester):
    release = os.uname().release
    major, minor = (int(x) for x in release.split(".")[:2])
    pytester.makepyfile(f"""
        import pytest

        @pytest.mark.min_kernel("{major + 1}.0")
        def test_future():
            pass

        @pytest.mark.min_kernel("{major}.{minor}")
        def test_now():
            pass
    """)
    result = pytester.runpytest("-p", "vm.pytest_plugin", "-rs")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines([f"*needs kernel >= {major + 1}.0, running {release}*"])


@pytest.mark.skipif(os.geteuid() != 0, reason="feature probes need root or CAP_BPF")
def test_min_kernel_fails_when_the_probe_contradicts_the_claim(pytester):
    from loader.features import run_probes

    results = run_probes()
    unsupported = [n for n, r in results.items() if r.supported is False]
    supported = [n for n, r in results.items() if r.supported is True]
    if not unsupported or not supported:
        pytest.skip("need one supported and one unsupported probe on this kernel")
    pytester.makepyfile(f"""
        import pytest

        @pytest.mark.min_kernel("3.0", probe="{unsupported[0]}")
        def test_claims_too_much():
            pass

        @pytest.mark.min_kernel("3.0", probe="{supported[0]}")
        def test_fine():
            pass
    """)
    result = pytester.runpytest("-p", "vm.pytest_plugin")
    # pytest.fail in setup is reported as an error: the run fails either way
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines([f"*probe {unsupported[0]} says unsupported*"])


@pytest.mark.vm
def test_kernel_option_runs_kernel_tests_inside_the_guest():
    # The guest sees the host root (read-only view) but has its own /tmp: put the
    # test file in the checkout's out/ directory.
    out = pytest_plugin.REPO / "out"
    out.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        test = Path(tmp) / "test_where.py"
        test.write_text(
            "import os, pytest\n"
            "@pytest.mark.kernel\n"
            "def test_where():\n"
            "    print('RELEASE=' + os.uname().release)\n"
            "def test_not_a_kernel_test():\n"
            "    pass\n"
        )
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "--kernel", "6.1", "-s", "-p", "no:cacheprovider",
             "--rootdir", tmp, str(test)],
            capture_output=True, text=True, timeout=900, cwd=pytest_plugin.REPO,
        )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "RELEASE=6.1." in proc.stdout  # ran in the guest, not on the host
    assert "1 passed, 1 deselected" in proc.stdout  # only kernel-marked tests
