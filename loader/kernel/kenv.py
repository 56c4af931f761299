"""What the running kernel tells a loader: its BTF, config, symbols and version.

Everything is read once per process and cached: vmlinux BTF (/sys/kernel/btf/vmlinux),
the kernel config (/proc/config.gz, else /boot/config-$(uname -r)) and
/proc/kallsyms.
"""

from __future__ import annotations

import functools
import gzip
import os

from loader.btf import parse_raw
from loader.btf.spec import Spec
from loader.errors import UnsupportedError

VMLINUX_BTF = "/sys/kernel/btf/vmlinux"


@functools.lru_cache(maxsize=1)
def vmlinux_btf() -> Spec:
    try:
        with open(VMLINUX_BTF, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise UnsupportedError("vmlinux BTF", "5.4", f"{VMLINUX_BTF}: {exc.strerror}") from None
    return parse_raw(data)


def _config_text() -> str | None:
    try:
        with gzip.open("/proc/config.gz", "rt", errors="replace") as f:
            return f.read()
    except OSError:
        pass
    try:
        with open(f"/boot/config-{os.uname().release}", errors="replace") as f:
            return f.read()
    except OSError:
        return None


@functools.lru_cache(maxsize=1)
def kernel_config() -> dict[str, str] | None:
    """CONFIG_X -> raw value ("y", "m", "42", '"text"'); None when no config is readable.

    "# CONFIG_X is not set" lines record "n", as libbpf reads them.
    """
    text = _config_text()
    if text is None:
        return None
    out: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("CONFIG_") and "=" in line:
            name, _, value = line.partition("=")
            out[name] = value
        elif line.startswith("# CONFIG_") and line.endswith(" is not set"):
            out[line[2:-len(" is not set")]] = "n"
    return out


@functools.lru_cache(maxsize=1)
def kallsyms() -> dict[str, int]:
    """Symbol -> address from /proc/kallsyms (first occurrence wins, as libbpf's
    reader keeps the first one it sees)."""
    out: dict[str, int] = {}
    with open("/proc/kallsyms") as f:
        for line in f:
            parts = line.split()
            if len(parts) < 3:
                continue
            name = parts[2]
            if name not in out:
                out[name] = int(parts[0], 16)
    return out


def linux_version_code() -> int:
    """KERNEL_VERSION(a, b, c) of the running kernel, c capped at 255."""
    from loader.features.registry import linux_version_code as code

    return code()
