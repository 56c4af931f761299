"""The ``host`` path of the matrix: the agent on this machine, no VM (fast, default suite)."""

from __future__ import annotations

import json
import os

from loader.cli import main
from vm import agent, matrix


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
