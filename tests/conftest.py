"""Test options for tests/: ``vm``-marked tests boot real kernels and are opt-in."""

from __future__ import annotations

import fcntl
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--vm", action="store_true", default=False,
        help="run vm-marked tests (download Debian kernels, boot them under QEMU)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Selecting the marker explicitly (-m vm, -m "vm and slow") counts as opting in;
    # -m "not vm" does not.
    markexpr = config.getoption("-m") or ""
    if config.getoption("--vm") or re.search(r"(?<!not )\bvm\b", markexpr):
        return
    skip = pytest.mark.skip(
        reason="boots kernels under QEMU/TCG (~30 s each, network for the first fetch): "
        "run with --vm, -m vm, or tox -e vm"
    )
    for item in items:
        if "vm" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def host_bpffs_lock() -> Iterator[None]:
    """Serialise tests that pin under the host's /sys/fs/bpf across xdist workers."""
    with open(Path(tempfile.gettempdir()) / "bpfconform-host-bpffs.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
