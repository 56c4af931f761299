"""The generators' facade, the generate command, and replay of stored counterexamples."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from conformance import generators as g
from conformance.btf_cases import CASES
from conformance.generators.regress import REGRESS_DIR
from loader.btf import parse_raw
from loader.btf.validate import check
from loader.cli import main
from loader.collection import load_collection_spec
from loader.errors import CollectionError, ELFError, LoaderError, RelocationError


@pytest.mark.parametrize(("call", "message"), [
    (lambda: g.btf_specs(kernel="banana"), "'banana'"),
    (lambda: g.btf_specs(max_types=0), "got 0"),
    (lambda: g.btf_specs(kinds=["struct", "bogus"]), "'bogus'"),
    (lambda: g.btf_specs(kernel="5.10", kinds=["enum64"]), "'enum64'"),
    (lambda: g.invalid_btf(rules=["no.such.rule"]), "'no.such.rule'"),
    (lambda: g.invalid_btf(rules=["name.dot"]), "not breakable"),
    (lambda: g.elf_objects(byte_order="little"), "'little'"),
])
def test_options_are_validated_up_front(call: object, message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message.replace("(", r"\(")):
        call()  # type: ignore[operator]


def test_every_model_rule_has_a_family_or_a_reason() -> None:
    model_rules = {c.rule for c in CASES}
    families = {f.rule for f in g._invalid_btf.FAMILIES}
    assert model_rules - families - set(g.UNBREAKABLE) == set()
    assert families - model_rules == set()  # names are the model's


def test_kinds_follow_the_model_facts() -> None:
    assert "enum64" not in g.btf_kinds_for("5.10")
    assert len(g.btf_kinds_for("6.18")) == 19
    shape = g.random_btf(random.Random(1), kernel="5.10", max_types=200)
    assert check(shape.encode("<"), "5.10").accepted


def _generate(tmp: Path, what: str, seed: int, count: int = 60) -> dict[str, object]:
    assert main(["generate", what, "--count", str(count), "--seed", str(seed),
                 "--out", str(tmp)]) == 0
    doc: dict[str, object] = json.loads((tmp / "manifest.json").read_text())
    return doc


@pytest.mark.parametrize("what", ["btf", "elf"])
def test_generate_is_deterministic(tmp_path: Path, what: str) -> None:
    _generate(tmp_path / "a", what, 7)
    _generate(tmp_path / "b", what, 7)
    _generate(tmp_path / "c", what, 8)
    a = {p.name: p.read_bytes() for p in (tmp_path / "a").iterdir()}
    b = {p.name: p.read_bytes() for p in (tmp_path / "b").iterdir()}
    c = {p.name: p.read_bytes() for p in (tmp_path / "c").iterdir()}
    assert a == b
    assert a != c


def test_generate_btf_manifest_matches_model(tmp_path: Path) -> None:
    doc = _generate(tmp_path, "btf", 3, count=200)
    files = doc["files"]
    assert isinstance(files, dict)
    valid = sum(1 for e in files.values() if e["expect"]["accepted"])
    assert 60 <= valid <= 140  # about half
    kinds: set[int] = set()
    for name, entry in files.items():
        blob = (tmp_path / name).read_bytes()
        verdict = check(blob, "6.18")
        assert (verdict.accepted, verdict.errno) == (
            entry["expect"]["accepted"], entry["expect"]["errno"]), name
        if verdict.accepted:
            kinds |= {t.kind for t in parse_raw(blob).types()}
    assert len(kinds) >= 15


def test_generate_elf_manifest(tmp_path: Path) -> None:
    doc = _generate(tmp_path, "elf", 5, count=40)
    files = doc["files"]
    assert isinstance(files, dict)
    rules = {e["expect"]["rule"] for e in files.values() if not e["expect"]["valid"]}
    assert 8 <= len([e for e in files.values() if e["expect"]["valid"]]) <= 32  # about half
    assert any(r.startswith("collection.") for r in rules)
    assert any(r.startswith("elf.") for r in rules)
    for name, entry in files.items():
        blob = (tmp_path / name).read_bytes()
        if entry["expect"]["valid"]:
            load_collection_spec(blob)
        else:
            errors = {c.__name__: c for c in (ELFError, CollectionError, RelocationError)}
            with pytest.raises(errors[entry["expect"]["error"]]):
                load_collection_spec(blob)


_STORED = sorted(REGRESS_DIR.glob("*.json"))


@pytest.mark.parametrize("note", _STORED or [None], ids=[p.stem for p in _STORED] or ["none"])
def test_replay_counterexamples(note: Path | None) -> None:
    """Every stored counterexample: the loader must not raise anything but
    LoaderError, and BTF the model accepts must parse and round trip."""
    if note is None:
        pytest.skip(f"no counterexamples stored in {REGRESS_DIR}")
    blob = note.with_suffix(".bin").read_bytes()
    if note.stem.startswith("btf"):
        verdict = check(blob, "6.18")
        if verdict.accepted:
            parse_raw(blob).validate()
    else:
        try:
            load_collection_spec(blob)
        except LoaderError:
            pass


def test_counterexample_note_reproduces_the_example(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The JSON note carries hypothesis's reproduce_failure blob, and that blob
    replays the very example that failed."""
    from hypothesis import given, reproduce_failure, settings
    from hypothesis import strategies as st

    from conformance.generators import regress

    monkeypatch.setattr(regress, "REGRESS_DIR", tmp_path)

    @settings(database=None, max_examples=50)
    @given(st.integers(0, 10_000))
    def prop(n: int) -> None:
        with regress.recorded("demo", "demo", n.to_bytes(2, "little")):
            assert n < 1000

    with pytest.raises(AssertionError):
        prop()
    note = json.loads((tmp_path / "demo.json").read_text())
    failing = int.from_bytes((tmp_path / "demo.bin").read_bytes(), "little")
    assert failing >= 1000
    repro = note["hypothesis"]
    assert repro["version"] and "seed" in repro
    args = eval(repro["reproduce_failure"][len("@reproduce_failure"):])
    seen: list[int] = []

    @reproduce_failure(*args)
    @settings(database=None)
    @given(st.integers(0, 10_000))
    def replay(n: int) -> None:
        seen.append(n)
        assert n < 1000

    with pytest.raises(AssertionError):
        replay()
    assert seen[-1] == failing


def test_generate_bad_kernel_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["generate", "btf", "--out", str(tmp_path / "out"), "--kernel", "bogus"])
    assert "--kernel" in str(exc.value.code) and "'bogus'" in str(exc.value.code)
    assert not (tmp_path / "out").exists()


def test_generate_unwritable_out_is_a_clean_error(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    status = main(["generate", "btf", "--count", "1", "--out", str(blocker / "out")])
    assert status == 1
    assert capsys.readouterr().err.startswith(f"bpfconform: {blocker / 'out'}: ")
