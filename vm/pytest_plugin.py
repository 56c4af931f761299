"""pytest integration: ``pytest --kernel 6.1 conformance/`` and the ``min_kernel`` marker.

``--kernel SPEC`` boots that kernel under virtme-ng and runs the same pytest
command inside it, restricted to ``kernel``-marked tests (those that talk to
bpf()); the outer pytest exits with the inner one's status, read from a shared
directory. Inside the guest (and on the host without ``--kernel``) the marker
``@pytest.mark.min_kernel("5.7", probe="bpf_link")`` skips below that version and
fails when the named probe says "unsupported" at or above it.

Loaded with ``-p vm.pytest_plugin`` (pyproject addopts). Imports are lazy: loading
the plugin costs nothing when neither feature is used.
"""

from __future__ import annotations

import os
import shlex
import sys
import tempfile
from pathlib import Path

import pytest

IN_GUEST_ENV = "BPFCONFORM_IN_GUEST"
REPO = Path(__file__).resolve().parent.parent


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("bpfconform")
    group.addoption("--kernel", metavar="SPEC", default=None,
                    help="run the kernel-marked tests inside this kernel (6.1, 5.10, a Debian "
                    "version, or VMLINUZ[:MODDIR]) booted with virtme-ng")
    group.addoption("--kernel-timeout", type=float, default=900.0, metavar="S",
                    help="seconds before the guest counts as hung (default 900)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "min_kernel(version, probe=None): skip below kernel version; with probe, fail "
        "when that feature probe says unsupported at or above it",
    )


def _inner_args(args: list[str]) -> list[str]:
    """The outer command line minus --kernel/--kernel-timeout (and their values)."""
    out: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
            continue
        if arg in ("--kernel", "--kernel-timeout"):
            skip = True
            continue
        if arg.startswith(("--kernel=", "--kernel-timeout=")):
            continue
        out.append(arg)
    return out


def pytest_cmdline_main(config: pytest.Config) -> int | None:
    spec = config.getoption("--kernel")
    if not spec or os.environ.get(IN_GUEST_ENV):
        return None
    from vm import boot, kernels

    kt = kernels.fetch(spec, progress=lambda m: print(m, file=sys.stderr, flush=True))
    shared = Path(tempfile.mkdtemp(prefix="bpfconform-pytest-", dir=REPO / "out"
                                   if (REPO / "out").is_dir() else None))
    inner = [boot.python_for_guest(), "-m", "pytest", "-p", "no:cacheprovider",
             "-m", "kernel", *_inner_args(list(config.invocation_params.args))]
    log = shared / "pytest.log"
    status = shared / "status"
    command = (f"cd {shlex.quote(str(config.invocation_params.dir))} && "
               f"{IN_GUEST_ENV}=1 PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1 "
               f"{shlex.join(inner)} > {shlex.quote(str(log))} 2>&1; "
               f"echo $? > {shlex.quote(str(status))}")
    argv = [boot.vng_executable(), "--verbose", "--disable-kvm", "--disable-microvm",
            "--run", kt.vmlinuz, "--memory", "2G", "--cpus", "2", "--rwdir", str(shared),
            "--exec", command]
    print(f"bpfconform: running {shlex.join(inner[2:])} inside {kt.release} "
          f"({kt.package} {kt.version}) under QEMU/TCG", file=sys.stderr, flush=True)
    _rc, killed = boot.run_bounded(argv, shared / boot.CONSOLE_NAME,
                                      config.getoption("--kernel-timeout"), boot.guest_env())
    if log.exists():
        sys.stdout.write(log.read_text(errors="replace"))
    if not status.exists():
        why = killed or "the guest wrote no exit status"
        print(f"bpfconform: {why}; console tail:\n{boot._tail(shared / boot.CONSOLE_NAME)}",
              file=sys.stderr)
        return 3  # pytest's "internal error"
    return int(status.read_text().strip() or 3)


def pytest_runtest_setup(item: pytest.Item) -> None:
    marker = item.get_closest_marker("min_kernel")
    if marker is None:
        return
    from vm.verdicts import version_tuple

    want = str(marker.args[0]) if marker.args else str(marker.kwargs.get("version", ""))
    need = version_tuple(want)
    have = version_tuple(os.uname().release)
    if need is None or have is None:
        pytest.fail(f"min_kernel: cannot compare {want!r} with {os.uname().release!r}")
    if have < need:
        pytest.skip(f"needs kernel >= {want}, running {os.uname().release}")
    probe = marker.kwargs.get("probe")
    if probe:
        from loader.features import run_probes

        result = run_probes([probe])[probe]
        if result.supported is False:
            pytest.fail(f"probe {probe} says unsupported on {os.uname().release} although "
                        f"the test claims it works from {want}: {result.error}")
