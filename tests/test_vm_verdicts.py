"""Claim-violation marking, findings, the merge and the exit status of the matrix."""

from __future__ import annotations

from vm import boot, matrix, verdicts


def _result(release: str, probes: dict, status: str = "ok") -> dict:
    return {"status": status, "failure": None if status == "ok" else "boom",
            "kernel": {"release": release}, "probes": probes,
            "objects": {"status": "not available in this build"},
            "btf_cases": {}}


def _probe(supported, claimed="5.10", error=None):
    return {"supported": supported, "claimed_min": claimed, "error": error}


def test_unsupported_at_or_above_claim_is_a_violation():
    res = _result("5.10.0-32-amd64", {"p": _probe(False, "5.10", "EINVAL")})
    cell = verdicts.probe_cell(res, "p", {})
    assert (cell.text, cell.css) == ("X", "violation")
    assert "EINVAL" in cell.title


def test_unsupported_below_claim_is_expected():
    res = _result("5.10.0-32-amd64", {"p": _probe(False, "5.11")})
    assert verdicts.probe_cell(res, "p", {}).css == "no"


def test_minor_versions_compare_numerically():
    # 6.12 is above 6.2: a string comparison would say the opposite.
    res = _result("6.12.117+deb13-amd64", {"p": _probe(False, "6.2")})
    assert verdicts.probe_cell(res, "p", {}).css == "violation"


def test_allowlist_turns_violation_into_allowed_and_not_blocking():
    res = {"k": _result("6.1.0-50-amd64", {"p": _probe(False, "5.0"), "q": _probe(True)})}
    allow = {"p": "compiled out in Debian configs"}
    found = verdicts.findings(res, allow)
    assert [(f.kind, f.subject, f.allowlisted) for f in found] == [
        ("claim_violation", "p", "compiled out in Debian configs")]
    assert verdicts.blocking(found) == []
    assert verdicts.findings(res, {"p": {"6.1": "only on 6.1"}})[0].allowlisted == "only on 6.1"
    assert verdicts.findings(res, {"p": {"5.10": "elsewhere"}})[0].allowlisted is None


def test_undecided_and_missing_cells():
    res = _result("6.1.0-50-amd64", {"p": _probe(None, error="EPERM")})
    assert verdicts.probe_cell(res, "p", {}).css == "unknown"
    assert verdicts.probe_cell(res, "absent", {}).css == "absent"
    failed = _result("6.1.0-50-amd64", {}, status="failed")
    assert verdicts.probe_cell(failed, "p", {}).css == "absent"


def test_model_disagreement_is_blocking():
    res = _result("6.1.0-50-amd64", {})
    res["btf_cases"] = {
        "ok": {"model": {"accepted": True}, "kernel": {"accepted": True}, "agree": True},
        "bad": {"model": {"accepted": True}, "kernel": {"accepted": False}, "agree": False},
    }
    found = verdicts.findings({"6.1": res}, {})
    assert [(f.kind, f.subject) for f in found] == [("model_disagreement", "bad")]


def test_differing_probes_ignores_failed_kernels():
    results = {
        "a": _result("5.10.0", {"x": _probe(False, "6.0"), "y": _probe(True)}),
        "b": _result("6.1.0", {"x": _probe(True, "6.0"), "y": _probe(True)}),
        "c": _result("6.12.0", {"x": _probe(False)}, status="failed"),
    }
    assert verdicts.differing_probes(results) == {"x": {"a": False, "b": True}}


def test_merge_and_exit_status():
    ok = boot.BootResult("6.1", True, _result("6.1.0-50-amd64", {"p": _probe(True)}), None,
                         "", 12.0, "tcg", 255)
    hung = boot.BootResult("5.10", False, None, "timed out after 5s without a result",
                           "[ 1.0] Booting", 5.0, "tcg", None)
    results = {
        "6.1": matrix.merge_result("6.1", None, ok, None, {"boot_s": 12.0}),
        "5.10": matrix.merge_result("5.10", None, hung, None, {"boot_s": 5.0}),
    }
    assert results["6.1"]["status"] == "ok" and results["6.1"]["console_tail"] is None
    assert results["5.10"]["status"] == "failed"
    assert results["5.10"]["console_tail"] == "[ 1.0] Booting"
    merged = matrix.merge(results, {}, accel="tcg", total_s=17.0)
    assert merged["kernels"] == ["6.1", "5.10"]
    assert matrix.exit_status(merged) == 2
    results["6.1"]["probes"]["p"] = _probe(False, "5.0")
    assert matrix.exit_status(matrix.merge(results, {}, accel="tcg", total_s=1.0)) == 1
    del results["5.10"]
    results["6.1"]["probes"]["p"] = _probe(True)
    assert matrix.exit_status(matrix.merge(results, {}, accel="tcg", total_s=1.0)) == 0


def test_run_bounded_kills_a_silent_process_group(tmp_path):
    log = tmp_path / "console.log"
    # the child of the shell keeps the group alive: it must be killed too
    _rc, killed = boot.run_bounded(["sh", "-c", "echo booting; sleep 60 & wait"], log, 30,
                                  stall_s=2)
    assert killed == "no console output for 2s (hung)"
    assert log.read_text() == "booting\n"


def test_run_bounded_hard_timeout_and_output_callback(tmp_path):
    seen = []
    rc, killed = boot.run_bounded(
        ["sh", "-c", "while true; do echo tick; sleep 0.3; done"], tmp_path / "log", 3,
        stall_s=2, on_output=seen.append)
    assert killed == "timed out after 3s"
    assert b"tick" in b"".join(seen)
    rc, killed = boot.run_bounded(["sh", "-c", "exit 7"], tmp_path / "log2", 10)
    assert (rc, killed) == (7, None)


def test_labels_keep_specs_and_name_local_kernels(tmp_path):
    assert matrix.label_for("6.1") == "6.1"
    assert matrix.label_for("host") == "host"
    image = tmp_path / "bzImage"
    image.write_bytes(b"\0" * 0x400)  # no setup header: fall back to the file name
    assert matrix.label_for(f"{image}:{tmp_path}") == "local:bzImage"


def _objects_result(objects: dict) -> dict:
    res = _result("6.1.0-50-amd64", {})
    res["objects"] = objects
    return res


def _obj(ours: bool, bpftool: bool | None, err: str = "EINVAL here") -> dict:
    entry = {"loaded": ours, "errno": None if ours else 22, "log_tail": None if ours else err}
    if bpftool is not None:
        entry["bpftool"] = {"loaded": bpftool, "rc": 0 if bpftool else 255,
                            "error": None if bpftool else "libbpf says no"}
    return entry


def test_object_cells_compare_ours_with_bpftool():
    res = _objects_result({"both": _obj(True, True), "neither": _obj(False, False),
                           "only_bpftool": _obj(False, True), "only_ours": _obj(True, False),
                           "schema1": _obj(False, None)})
    css = {n: verdicts.object_cell(res, n, {}).css for n in res["objects"]}
    assert css == {"both": "yes", "neither": "no", "only_bpftool": "disagree",
                   "only_ours": "info", "schema1": "no"}
    title = verdicts.object_cell(res, "only_bpftool", {}).title
    assert "EINVAL here" in title and "bpftool: loaded" in title
    both_errors = verdicts.object_cell(res, "neither", {}).title
    assert "EINVAL here" in both_errors and "libbpf says no" in both_errors


def test_bpftool_loads_we_do_not_blocks_unless_allowlisted(tmp_path):
    res = {"6.1": _objects_result({"o": _obj(False, True), "i": _obj(True, False)})}
    found = verdicts.findings(res, {})
    assert [(f.kind, f.subject, f.allowlisted) for f in found] == [
        ("object_disagreement", "o", None)]
    assert matrix.exit_status({"findings": [f.to_json() for f in found]}) == 1
    assert verdicts.object_info(res) == [
        {"kernel": "6.1", "subject": "i",
         "detail": verdicts.object_cell(res["6.1"], "i").title}]
    probes, objs = tmp_path / "p.json", tmp_path / "o.json"
    probes.write_text("{}")
    objs.write_text('{"_about": "reviewed", "o": {"6.1": "a kernel fact"}}')
    allow = verdicts.load_allowlist(probes, objs)
    assert allow == {"object:o": {"6.1": "a kernel fact"}}
    found = verdicts.findings(res, allow)
    assert [(f.subject, f.allowlisted) for f in found] == [("o", "a kernel fact")]
    assert verdicts.object_cell(res["6.1"], "o", allow).text == "a"
    assert matrix.exit_status({"findings": [f.to_json() for f in found]}) == 0
