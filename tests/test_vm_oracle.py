"""bpftool as the per-kernel oracle for corpus objects: real bpftool, real kernel.

The expected verdicts are corpus/expected/load_verdicts.json, written by a real run
(python -m conformance.load_verdicts --write) on this host.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from vm import agent

ROOT = Path(__file__).resolve().parents[1]
VERDICTS = json.loads((ROOT / "corpus" / "expected" / "load_verdicts.json").read_text())

needs_root_bpftool = pytest.mark.skipif(
    os.geteuid() != 0 or agent.find_bpftool() is None or not agent.is_bpffs(agent.BPFFS),
    reason="needs root, bpftool and bpffs at /sys/fs/bpf")


def _our_pins() -> set[str]:
    return {p.name for p in agent.BPFFS.iterdir() if p.name.startswith("bpfconform-agent-")}


# Tests that compare the host's /sys/fs/bpf before and after, or that run the agent
# on the host, hold one lock (tests/conftest.py): side by side under xdist, each saw
# the other's pin directory come and go.
host_bpffs = pytest.mark.usefixtures("host_bpffs_lock")


def _pinned_by_name(path: Path) -> list[str]:
    from loader.collection import load_collection_spec
    from loader.collection.spec import PIN_BY_NAME

    return [n for n, m in load_collection_spec(path).maps.items() if m.pinning == PIN_BY_NAME]


@needs_root_bpftool
@host_bpffs
def test_agent_bpftool_verdicts_match_the_recorded_host_run(tmp_path):
    before = _our_pins()
    oracles: dict = {}
    objects = agent.objects_section(oracles)
    assert oracles["bpftool"]["version"].startswith(oracles["bpftool"]["path"])
    for name, entry in objects.items():
        recorded = VERDICTS[f"{name}.el.o"]
        assert entry["bpftool"]["loaded"] == recorded["bpftool"]["loaded"], (name, entry)
        assert "leaked_pins" not in entry["bpftool"], name
        if not entry["bpftool"]["loaded"]:
            assert entry["bpftool"]["error"], name
    assert _our_pins() == before


@needs_root_bpftool
def test_private_bpffs_is_mounted_used_and_unmounted():
    mnt = Path(tempfile.mkdtemp(prefix="bpfconform-test-bpffs-"))
    obj = ROOT / "corpus" / "obj" / "globals.el.o"
    try:
        assert not agent.is_bpffs(mnt)
        with agent.Bpffs(mnt) as fs:
            assert fs.mounted_here and agent.is_bpffs(mnt)
            before = sorted(p.name for p in mnt.iterdir())  # the kernel's own *.debug
            verdict = agent.bpftool_loadall(agent.find_bpftool() or "bpftool", obj, mnt, [])
            assert sorted(p.name for p in mnt.iterdir()) == before
        assert not agent.is_bpffs(mnt)
    finally:
        shutil.rmtree(mnt, ignore_errors=True)
    assert verdict["loaded"] == VERDICTS["globals.el.o"]["bpftool"]["loaded"]


_PIN_CHECK = """
import json, sys
from pathlib import Path
from vm import agent
from loader.collection import load_collection_spec
from loader.collection.spec import PIN_BY_NAME
obj = Path(sys.argv[1])
pinned = [n for n, m in load_collection_spec(obj).maps.items() if m.pinning == PIN_BY_NAME]
names = pinned if sys.argv[2] == "remove" else []
verdict = agent.bpftool_loadall(agent.find_bpftool(), obj, agent.BPFFS, names)
left = sorted(p.name for p in agent.BPFFS.iterdir() if not p.name.endswith(".debug"))
print(json.dumps({"pinned": pinned, "left": left, "verdict": verdict}))
"""


@needs_root_bpftool
@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare (util-linux)")
@pytest.mark.parametrize("mode", ["remove", "keep"])
def test_pinned_by_name_maps_made_by_the_run_are_removed(mode):
    # maps_btf has a PIN_BY_NAME map; libbpf pins it at /sys/fs/bpf/NAME. Run in a
    # private mount namespace with a fresh bpffs there, so the machine's pins (and
    # other users of it) neither disturb nor get disturbed. "keep" is the control:
    # without the names the pin stays, so this check can fail.
    import subprocess
    import sys

    obj = ROOT / "corpus" / "obj" / "maps_btf.el.o"
    proc = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c",
         f"mount -t bpf bpf {agent.BPFFS} && exec \"$0\" -c \"$1\" \"$2\" \"$3\"",
         sys.executable, _PIN_CHECK, str(obj), mode],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["pinned"]
    assert out["verdict"]["loaded"] == VERDICTS["maps_btf.el.o"]["bpftool"]["loaded"]
    if not out["verdict"]["loaded"]:
        pytest.skip("bpftool did not load maps_btf here, so it pinned nothing")
    assert out["left"] == ([] if mode == "remove" else sorted(out["pinned"]))


def test_bpftool_error_prefers_libbpf_reason_and_log_tail():
    stderr = ("libbpf: prog 'p': BPF program load failed: Invalid argument\n"
              "libbpf: prog 'p': -- BEGIN PROG LOAD LOG --\n0: (85) call unknown#1\n"
              "invalid func unknown#1\nprocessed 1 insns\n-- END PROG LOAD LOG --\n"
              "Error: failed to load object file\n")
    err = agent._bpftool_error(stderr)
    assert err.startswith("prog 'p': BPF program load failed: Invalid argument")
    assert "invalid func unknown#1" in err
    assert agent._bpftool_error("weird\nError: x\n") == "weird | Error: x"


@needs_root_bpftool
@host_bpffs
def test_batched_bpftool_verdicts_match_one_process_per_object():
    bpftool = agent.find_bpftool() or "bpftool"
    objs = sorted((ROOT / "corpus" / "obj").glob("*.el.o"))
    named = [(p.name.removesuffix(".el.o"), p) for p in objs]
    # The PIN_BY_NAME maps too, or maps_btf leaves /sys/fs/bpf/mb_pinned behind.
    by_name = sorted({n for _, p in named for n in _pinned_by_name(p)})
    assert by_name
    before = _our_pins()
    many = agent.bpftool_loadall_many(bpftool, named, agent.BPFFS, by_name)
    assert _our_pins() == before
    assert sorted(many) == sorted(n for n, _ in named)
    for name, path in named:
        one = agent.bpftool_loadall(bpftool, path, agent.BPFFS, _pinned_by_name(path))
        assert many[name]["loaded"] == one["loaded"], name
        if not one["loaded"]:
            # the failing object's own reason, not a neighbour's
            assert many[name]["error"].split(" || ")[0] == one["error"].split(" || ")[0], name
    failing = sum(1 for v in many.values() if not v["loaded"])
    assert max(v["batch"] for v in many.values()) <= failing + 1
