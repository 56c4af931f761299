"""Real kernels really booted: virtme-ng under QEMU/TCG, the agent's JSON back via --rwdir."""

from __future__ import annotations

import pytest

from vm import boot, kernels

pytestmark = pytest.mark.vm


@pytest.fixture(scope="module")
def kernel_6_1():
    return kernels.fetch("6.1", progress=print)


def test_boot_6_1_runs_the_agent(kernel_6_1, tmp_path):
    res = boot.boot(kernel_6_1, tmp_path, "6.1", accel="tcg", timeout_s=300)
    assert res.ok, f"{res.failure}\n{res.console_tail}"
    assert res.doc is not None
    kernel = res.doc["kernel"]
    assert kernel["release"] == kernel_6_1.release
    assert kernel["release"].startswith("6.1.")
    assert kernel["in_vm"] is True
    assert kernel["config"]["CONFIG_BPF_SYSCALL"] == "y"
    # the package's config, placed where an installed Debian kernel has it
    assert kernel["config_source"] == f"/boot/config-{kernel_6_1.release}"
    objects = res.doc["objects"]
    if "externs" in objects:  # .kconfig externs resolve from /boot/config-*
        assert "kernel config not supported" not in (objects["externs"]["log_tail"] or "")
    assert kernel["vmlinux_btf"]["present"] is True
    # the guest's own answers, not the host's: the host runs a different release
    assert res.doc["probes"]
    assert (tmp_path / boot.RESULT_NAME).is_file()


def test_hung_boot_becomes_a_recorded_failure(kernel_6_1, tmp_path):
    # 4 s is far too short for TCG to reach the agent: this is what a hang looks like.
    res = boot.boot(kernel_6_1, tmp_path, "6.1", accel="tcg", timeout_s=4)
    assert not res.ok
    assert res.failure is not None and "timed out after 4s" in res.failure
    assert res.boot_s < 20  # the process group was killed, not waited for
    assert res.console_tail  # something to diagnose with


def test_kvm_probe_agrees_with_a_kvm_boot(kernel_6_1, tmp_path):
    works, why = boot.kvm_works(kernel_6_1, timeout_s=10)
    assert why
    if not works:
        pytest.skip(f"KVM unusable here, the matrix falls back to TCG: {why}")
    # the probe said yes: then a real KVM boot must deliver the agent's JSON
    res = boot.boot(kernel_6_1, tmp_path, "6.1", accel="kvm", timeout_s=120)
    assert res.ok, f"KVM probe said {why!r} but the boot failed: {res.failure}"
