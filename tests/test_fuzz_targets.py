"""Every registered target: it loads, its seeds pass, and its oracle can fail."""

from __future__ import annotations

import pytest

from fuzz import seeds, targets
from fuzz.targets._oracle import Disagreement

READY = []
for _name in targets.TARGETS:
    try:
        targets.load(_name)
    except targets.TargetUnavailable:
        continue
    READY.append(_name)


def test_core_targets_are_ready():
    assert {"elf", "elf_container", "btf", "btf_ext", "asm", "btf_model"} <= set(READY)


@pytest.mark.parametrize("name", READY)
def test_seeds_are_handled(name):
    module = targets.load(name)
    blobs = list(seeds.seeds_for(name))
    assert blobs, f"{name} has no seeds"
    for blob in blobs[:60]:
        module.TestOneInput(blob)


@pytest.mark.parametrize("name", READY)
def test_garbage_is_handled(name):
    module = targets.load(name)
    for blob in (b"", b"\x00", b"\x7fELF" + bytes(60), b"\x9f\xeb\x01\x00" + bytes(20),
                 bytes(range(256)) * 4):
        module.TestOneInput(blob)


def test_asm_round_trip_oracle_fails_on_a_lossy_encoder(monkeypatch):
    module = targets.load("asm")
    blob = next(iter(seeds.seeds_for("asm")))
    monkeypatch.setattr(module, "encode", lambda insns, order: b"\x00" * (8 * len(insns)))
    with pytest.raises(Disagreement, match="encode"):
        module.TestOneInput(blob)


def test_btf_round_trip_oracle_fails_on_a_lossy_encoder(monkeypatch):
    module = targets.load("btf")
    real = module.encode
    blob = next(b for b in seeds.seeds_for("btf") if len(b) > 200)

    def drop_last_type(spec):
        out = real(spec)
        # Shrink type_len by one 4-byte word: the re-read differs or fails.
        type_len = int.from_bytes(out[12:16], "little")
        return out[:12] + (type_len - 4).to_bytes(4, "little") + out[16:]

    monkeypatch.setattr(module, "encode", drop_last_type)
    with pytest.raises(Disagreement):
        module.TestOneInput(blob)


def test_elf_target_lets_non_loader_errors_escape(monkeypatch):
    module = targets.load("elf")

    def broken(data):
        raise KeyError("planted")

    monkeypatch.setattr(module, "load_collection_spec", broken)
    with pytest.raises(KeyError):
        module.TestOneInput(b"\x7fELF")


def test_unknown_module_target_raises():
    with pytest.raises(ImportError):
        targets.load("fuzz.targets.no_such_target")
