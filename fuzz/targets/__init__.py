"""The registry of fuzz targets.

A target is a module with ``TestOneInput(data: bytes) -> None`` (the libFuzzer /
atheris convention), so the same file runs under ``bpfconform fuzz``, plain atheris,
OSS-Fuzz and ClusterFuzzLite.  Its oracle: only :class:`loader.errors.LoaderError`
subclasses may be raised by the code under test; the target swallows those and lets
anything else escape, which the fuzzer then records as a finding.

Optional module attributes:

- ``custom_mutator(data, max_size, seed) -> bytes``: structure-aware mutation.
- ``INSTRUMENT``: extra top-level packages to instrument besides ``loader``.

This module must not import :mod:`loader`: the driver imports targets inside
atheris' import hook so that the loader's bytecode gets coverage instrumentation.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType


@dataclass(frozen=True)
class TargetInfo:
    name: str
    module: str
    description: str
    max_len: int = 8192  # libFuzzer -max_len: larger seeds would be truncated


TARGETS: dict[str, TargetInfo] = {
    info.name: info
    for info in (
        TargetInfo("elf", "fuzz.targets.elf", "load_collection_spec on raw bytes", 65536),
        TargetInfo("elf_container", "fuzz.targets.elf_container", "loader.elf.ELFFile alone",
                   65536),
        TargetInfo("btf", "fuzz.targets.btf", "raw BTF: parse_raw, then encode round trip"),
        TargetInfo("btf_ext", "fuzz.targets.btf_ext", ".BTF.ext with a string table"),
        TargetInfo("asm", "fuzz.targets.asm", "instruction decode + encode round trip", 4097),
        TargetInfo("btf_model", "fuzz.targets.btf_model",
                   "kernel BTF model vs parser on structural validity"),
        TargetInfo("btf_gen", "fuzz.targets.btf_gen",
                   "hypothesis BTF generators (valid + invalid) vs parser and kernel model",
                   4096),
        TargetInfo("libbpf_diff", "fuzz.targets.libbpf_diff",
                   "libbpf bpf_object__open_mem vs our loader: accept/reject disagreements",
                   65536),
    )
}


class TargetUnavailable(RuntimeError):
    """The target exists but what it fuzzes (a parser, an oracle) is not importable."""


def module_name(target: str) -> str:
    """The importable module of a registered name, a dotted module, or a ``.py`` path."""
    if target in TARGETS:
        return TARGETS[target].module
    path = Path(target)
    if path.suffix == ".py":
        # Out-of-tree targets (the planted-bug target of the tests): importing them by
        # name keeps atheris' import hook, which instruments by module name, working.
        parent = str(path.resolve().parent)
        if parent not in sys.path:
            sys.path.insert(0, parent)
        return path.stem
    return target


def load(target: str) -> ModuleType:
    """Import a target; :class:`TargetUnavailable` when its dependencies are missing."""
    name = module_name(target)
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        if exc.name == name:
            raise
        raise TargetUnavailable(f"{target}: needs {exc.name or exc}") from exc
    if not callable(getattr(module, "TestOneInput", None)):
        raise TypeError(f"{target}: module {name} has no TestOneInput(data)")
    return module


def regress_name(target: str) -> str:
    """The directory name under corpus/regress/ for a target."""
    return target if target in TARGETS else Path(target).stem.split(".")[-1]
