"""The ``host`` path of the matrix: the agent on this machine, no VM (fast, default suite)."""

from __future__ import annotations

import json
import os

import pytest

from loader.cli import main
from vm import agent, matrix

# The agent pins bpftool's programs under the host's /sys/fs/bpf: one at a time with
# tests/test_vm_oracle.py, which checks that nothing is left there.
pytestmark = pytest.mark.usefixtures("host_bpffs_lock")


def test_agent_describes_the_running_kernel(tmp_path):
    out = tmp_path / "r.json"
    assert agent.main(["--out", str(out), "--label", "host"]) == 0
    doc = json.loads(out.read_text())
    assert doc["schema"] == agent.SCHEMA
    assert set(doc) == {"schema", "kernel", "probes", "objects", "btf_cases", "oracles",
                        "timing"}
    assert doc["kernel"]["release"] == os.uname().release
    assert doc["kernel"]["in_vm"] is False
    btf = doc["kernel"]["vmlinux_btf"]
    if os.path.exists("/sys/kernel/btf/vmlinux"):
        assert btf["size_bytes"] == os.path.getsize("/sys/kernel/btf/vmlinux")
    for section in ("probes", "objects", "btf_cases"):
        # either results or an explicit placeholder, never silently empty
        assert doc[section], section
    assert doc["timing"]["agent_s"] >= doc["timing"]["kernel_s"]


def test_host_run_in_a_child_process(tmp_path):
    res = matrix.run_host(tmp_path, timeout_s=120)
    assert res.ok, res.failure
    assert res.doc is not None and res.doc["kernel"]["release"] == os.uname().release


def test_matrix_command_on_host_only(tmp_path, capsys):
    js, page = tmp_path / "m.json", tmp_path / "m.html"
    status = main(["matrix", "--kernels", "host", "--json", str(js), "--html", str(page)])
    merged = json.loads(js.read_text())
    assert merged["kernels"] == ["host"]
    host = merged["results"]["host"]
    assert host["status"] == "ok"
    assert host["kernel"]["release"] == os.uname().release
    assert status == matrix.exit_status(merged)
    assert status in (0, 1)  # 1 only for a real, unallowlisted claim violation on the host
    assert "<table" in page.read_text() or "not available" in page.read_text()
    assert "== Kernels" in capsys.readouterr().out


def test_read_files_cache_serves_fresh_bytes_and_notices_changes(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    paths = []
    for i in range(3):
        p = src / f"c{i}.btf"
        p.write_bytes(bytes([i]) * (i + 1))
        paths.append(p)
    cache = tmp_path / "cache.marshal"
    first = agent.read_files(paths, cache)
    assert first == {p.name: p.read_bytes() for p in paths} and cache.exists()
    stamp = cache.stat().st_mtime_ns
    assert agent.read_files(paths, cache) == first
    assert cache.stat().st_mtime_ns == stamp  # a hit does not rewrite the cache
    paths[1].write_bytes(b"changed contents")
    os.utime(paths[1], ns=(1, 1))
    again = agent.read_files(paths, cache)
    assert again[paths[1].name] == b"changed contents"
    assert agent.read_files(paths, cache) == again
    assert agent.read_files(paths[:2], None) == {p.name: p.read_bytes() for p in paths[:2]}
    cache.write_bytes(b"not marshal data")
    assert agent.read_files(paths, cache) == again


def test_agent_caches_are_used_when_writable(tmp_path):
    # A child process, as in a guest: the bytecode cache changes interpreter state.
    import subprocess
    import sys

    out = tmp_path / "r.json"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(agent.REPO)}
    proc = subprocess.run([sys.executable, "-S", "-m", "vm.agent", "--out", str(out),
                           "--label", "host", "--no-bpftool"], cwd=agent.REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    cache = tmp_path / ".pycache"
    assert (cache / "btf_cases.marshal").exists()
    assert any(cache.rglob("loader/**/*.pyc"))
    doc = json.loads(out.read_text())
    assert all(e["bpftool"]["status"] == "not run" for e in doc["objects"].values())
