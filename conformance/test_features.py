"""Feature probes on the host kernel: claims, hygiene, and bpftool as an oracle."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from conformance.kernel_support import kernel_marks, open_fds
from loader.cli import main as cli_main
from loader.cli.probe import load_allowlist
from loader.features import all_probes, claim_violations, kernel_release, run_probes
from loader.features.registry import ProbeResult, parse_version


def needs_kernel(fn):
    for mark in kernel_marks():
        fn = mark(fn)
    return fn


def test_registry_size_and_categories():
    probes = all_probes()
    assert len(probes) >= 60
    cats = {p.category for p in probes.values()}
    assert cats == {"btf", "map_type", "prog_type", "misc", "helper"}
    for p in probes.values():
        parse_version(p.claimed_min)


def test_claim_violation_rule():
    res = {
        "a": ProbeResult(False, "5.2", "EINVAL"),
        "b": ProbeResult(False, "7.1", "E2BIG"),
        "c": ProbeResult(None, "4.1", "EPERM"),
        "d": ProbeResult(True, "4.1", None),
    }
    assert set(claim_violations(res, "6.18.1")) == {"a"}


def test_allowlist_is_reviewed():
    allow = load_allowlist()
    probes = all_probes()
    for name, reason in allow.items():
        assert name in probes, f"allowlist names unknown probe {name}"
        assert len(reason) > 40, f"{name}: give the reason"


@needs_kernel
def test_no_unexplained_claim_violation():
    before = open_fds()
    results = run_probes()
    assert open_fds() == before, "a probe left an fd behind"
    allow = load_allowlist()
    unexplained = {n: r for n, r in claim_violations(results).items() if n not in allow}
    assert unexplained == {}
    # Stale allowlist entries hide nothing but must not accumulate either.
    assert set(allow) <= set(claim_violations(results))
    # The cache: a second run returns the very same objects.
    again = run_probes()
    assert all(again[n] is results[n] for n in results)


@pytest.mark.oracle
@needs_kernel
@pytest.mark.skipif(shutil.which("bpftool") is None, reason="bpftool not installed")
def test_bpftool_agrees_on_map_and_prog_types():
    out = subprocess.run(
        ["bpftool", "feature", "probe", "kernel", "-j"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    doc = json.loads(out)
    theirs: dict[str, bool] = {}
    for key, val in doc["program_types"].items():
        theirs["prog_type_" + key.removeprefix("have_").removesuffix("_prog_type")] = val
    for key, val in doc["map_types"].items():
        theirs["map_type_" + key.removeprefix("have_").removesuffix("_map_type")] = val
    ours = run_probes([n for n in theirs if n in all_probes()])
    # bpftool 7.1 (libbpf 1.1) names types by libbpf 1.1's tables; every one we
    # know must be among ours.
    assert len(ours) >= 55
    disagree = {
        n: (ours[n].supported, theirs[n], ours[n].error)
        for n in ours
        if ours[n].supported is not None and ours[n].supported != theirs[n]
    }
    assert disagree == {}


@needs_kernel
def test_cli_json(capsys):
    status = cli_main(["probe", "--json", "--only", "btf", "map_type_hash", "isa_v4"])
    doc = json.loads(capsys.readouterr().out)
    assert status == 0
    assert doc["kernel"]["release"] == kernel_release()
    assert set(doc["probes"]) == {"btf", "map_type_hash", "isa_v4"}
    for entry in doc["probes"].values():
        assert set(entry) == {"supported", "claimed_min", "error"}
        assert entry["supported"] is True
