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
def _kallsyms_text() -> str:
    with open("/proc/kallsyms") as f:
        text = f.read()
    return text if text.endswith("\n") else text + "\n"


def ksym_address(name: str) -> int | None:
    """``kallsyms().get(name)`` without parsing every line: /proc/kallsyms has
    100k+ lines and a loader needs a handful of names (under TCG the full parse
    took seconds). The first line whose symbol field is ``name`` wins, as there."""
    text = _kallsyms_text()
    best: int | None = None
    for end in ("\n", "\t"):
        needle = f" {name}{end}"
        pos = text.find(needle)
        while pos != -1 and (best is None or pos < best):
            start = text.rfind("\n", 0, pos) + 1
            fields = text[start:pos + len(needle) - 1].split()
            if len(fields) == 3 and fields[2] == name:
                best = pos
                break
            pos = text.find(needle, pos + 1)
    if best is None:
        return None
    start = text.rfind("\n", 0, best) + 1
    return int(text[start:text.index(" ", start)], 16)


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
