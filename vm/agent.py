"""The in-guest agent: facts about the running kernel and what it accepts, as one JSON.

Runs inside a virtme-ng guest (the host root is shared, so this is the same checkout
and Python) and, for ``host``, directly on the machine. It writes the per-kernel
document of DESIGN.md::

    {"schema": 1, "kernel": {...}, "probes": {...}, "objects": {...},
     "btf_cases": {...}, "timing": {...}}

Sections whose implementation has not landed in this build are recorded as
``{"status": "not available in this build", "detail": ...}``, never faked.

Usage: ``python -m vm.agent --out FILE [--config PATH] [--label LABEL]``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import struct
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

SCHEMA = 1
NOT_AVAILABLE = "not available in this build"
REPO = Path(__file__).resolve().parent.parent
VMLINUX_BTF = Path("/sys/kernel/btf/vmlinux")

# The options that decide what BPF can do; the full config is large and mostly noise.
CONFIG_OPTIONS: tuple[str, ...] = (
    "CONFIG_BPF", "CONFIG_BPF_SYSCALL", "CONFIG_BPF_JIT", "CONFIG_BPF_JIT_ALWAYS_ON",
    "CONFIG_BPF_JIT_DEFAULT_ON", "CONFIG_BPF_UNPRIV_DEFAULT_OFF", "CONFIG_BPF_LSM",
    "CONFIG_BPF_EVENTS", "CONFIG_BPF_STREAM_PARSER", "CONFIG_BPF_PRELOAD",
    "CONFIG_BPF_KPROBE_OVERRIDE", "CONFIG_CGROUP_BPF", "CONFIG_DEBUG_INFO_BTF",
    "CONFIG_DEBUG_INFO_BTF_MODULES", "CONFIG_MODULE_ALLOW_BTF_MISMATCH", "CONFIG_NET_CLS_BPF",
    "CONFIG_NET_ACT_BPF", "CONFIG_NET_SCH_BPF", "CONFIG_XDP_SOCKETS", "CONFIG_KPROBES",
    "CONFIG_KPROBE_EVENTS", "CONFIG_UPROBE_EVENTS", "CONFIG_FPROBE", "CONFIG_FUNCTION_TRACER",
    "CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS", "CONFIG_NETFILTER_BPF_LINK",
    "CONFIG_SCHED_CLASS_EXT", "CONFIG_LWTUNNEL_BPF", "CONFIG_IKCONFIG_PROC",
)


def read_config(path: Path) -> dict[str, str]:
    opener: Callable[..., Any] = gzip.open if path.suffix == ".gz" else open
    values: dict[str, str] = {}
    with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
        for line in fh:
            key, sep, value = line.strip().partition("=")
            if sep and key.startswith("CONFIG_"):
                values[key] = value.strip('"')
    return values


def find_config(release: str, hint: str | None) -> Path | None:
    """/proc/config.gz, /boot/config-RELEASE, else the unpacked package's config."""
    candidates = [Path("/proc/config.gz"), Path(f"/boot/config-{release}")]
    if hint:
        candidates.append(Path(hint))
    return next((p for p in candidates if p.is_file()), None)


def btf_stats(path: Path = VMLINUX_BTF) -> dict[str, Any]:
    """Size and type count of the kernel's own BTF."""
    if not path.exists():
        return {"present": False}
    data = path.read_bytes()
    stats: dict[str, Any] = {"present": True, "size_bytes": len(data)}
    try:
        from loader.btf import parse_raw
    except ImportError as exc:
        # Without the BTF reader only the header can be read: sections, not types.
        # magic, version, flags, hdr_len, type_off, type_len, str_off, str_len
        header = struct.unpack_from("<HBBIIIII", data)
        type_len, str_len = header[5], header[7]
        stats.update(type_count=None, type_len=type_len, str_len=str_len,
                     method=f"header only ({exc})")
        return stats
    try:
        try:
            # The loader caches vmlinux BTF per process; parsing it once instead of
            # twice (again for CO-RE in the objects section) saves seconds under TCG.
            from loader.kernel.kenv import vmlinux_btf
        except ImportError:
            spec = parse_raw(data)
        else:
            spec = vmlinux_btf() if path == VMLINUX_BTF else parse_raw(data)
        stats.update(type_count=len(spec), method="loader.btf.parse_raw")
    except Exception as exc:  # a parser bug on a real kernel's BTF is a result
        stats.update(type_count=None, method="loader.btf.parse_raw",
                     error=f"{type(exc).__name__}: {exc}")
    return stats


def kernel_facts(config_hint: str | None) -> dict[str, Any]:
    uname = os.uname()
    facts: dict[str, Any] = {
        "release": uname.release,
        "version": uname.version,
        "machine": uname.machine,
        "python": platform.python_version(),
        "in_vm": Path("/run/virtme").exists() or "virtme" in Path("/proc/cmdline").read_text(),
        "euid": os.geteuid(),
    }
    config_path = find_config(uname.release, config_hint)
    if config_path is None:
        facts["config"] = {"status": "no config found"}
    else:
        values = read_config(config_path)
        facts["config_source"] = str(config_path)
        facts["config"] = {opt: values.get(opt, "n") for opt in CONFIG_OPTIONS}
    facts["vmlinux_btf"] = btf_stats()
    return facts


def _unavailable(exc: BaseException) -> dict[str, Any]:
    return {"status": NOT_AVAILABLE, "detail": f"{type(exc).__name__}: {exc}"}


def probes_section() -> dict[str, Any]:
    try:
        from loader.features import run_probes
    except ImportError as exc:
        return _unavailable(exc)
    results = run_probes()
    return {name: result.to_json() for name, result in sorted(results.items())}


def _error_fields(exc: BaseException) -> dict[str, Any]:
    log_tail = getattr(exc, "log_tail", None) or f"{type(exc).__name__}: {exc}"
    return {"errno": getattr(exc, "errno", None), "log_tail": str(log_tail)[-400:]}


def objects_section() -> dict[str, Any]:
    """Load every native-order corpus object into this kernel, like libbpf would.

    Each object is read with ``loader.collection`` and loaded with
    ``loader.kernel.load.load_collection(keep_going=True)``, so one failing
    program does not hide the others; ``loaded`` means every map and program made it.
    """
    try:
        from loader.collection.reader import load_collection_spec
        from loader.kernel.load import load_collection
    except ImportError as exc:
        return _unavailable(exc)
    suffix = ".el.o" if sys.byteorder == "little" else ".eb.o"
    out: dict[str, Any] = {}
    for path in sorted((REPO / "corpus" / "obj").glob("*" + suffix)):
        name = path.name.removesuffix(suffix)
        entry: dict[str, Any] = {"loaded": False, "errno": None, "log_tail": None}
        try:
            with load_collection(load_collection_spec(path), keep_going=True) as loaded:
                failures: dict[str, BaseException] = {
                    f"map {k}": v for k, v in loaded.map_errors.items()}
                failures.update({f"program {k}": v for k, v in loaded.programs.items()
                                 if isinstance(v, BaseException)})
                if loaded.btf_error is not None:
                    failures["btf"] = loaded.btf_error
                entry["programs"] = len(loaded.programs)
                entry["failed"] = sorted(failures)
                entry["loaded"] = not failures
                if failures:
                    first, first_exc = min(failures.items())
                    entry.update(_error_fields(first_exc))
                    entry["log_tail"] = f"{first}: {entry['log_tail']}"
        except Exception as exc:  # a loader crash on a corpus object is a result too
            entry.update(_error_fields(exc))
        out[name] = entry
    return out


def btf_cases_section(release: str) -> dict[str, Any]:
    """Hook: every raw BTF case through the kernel model and the real BTF_LOAD.

    Needs ``loader.btf.validate.check`` and ``loader.kernel.btf_load``; cases come
    from ``corpus/btf/*.btf``.
    """
    try:
        from loader.btf.validate import check
        from loader.kernel import btf_load
    except ImportError as exc:
        return _unavailable(exc)
    cases = sorted((REPO / "corpus" / "btf").glob("*.btf"))
    if not cases:
        return {"status": "no cases in corpus/btf"}
    major, minor = (int(x) for x in release.split(".")[:2])
    out: dict[str, Any] = {}
    for path in cases:
        blob = path.read_bytes()
        model = check(blob, (major, minor))
        try:
            fd = btf_load(blob)
            close = getattr(fd, "close", None)
            if callable(close):
                close()
            kernel: dict[str, Any] = {"accepted": True, "errno": None}
        except OSError as exc:
            kernel = {"accepted": False, "errno": exc.errno}
        out[path.stem] = {
            "model": model.as_dict(),
            "kernel": kernel,
            "agree": model.accepted == kernel["accepted"]
            and (model.accepted or model.errno == kernel["errno"]),
        }
    return out


def _timed(timing: dict[str, float], key: str, fn: Callable[[], Any]) -> Any:
    # A line per section on the console: the host's stall detector sees progress.
    print(f"bpfconform-agent: {key}", flush=True)
    start = time.monotonic()
    try:
        return fn()
    except Exception as exc:
        # One broken section must not cost the others: record it and go on.
        return {"status": "error", "detail": "".join(
            traceback.format_exception_only(type(exc), exc)).strip()[-2000:]}
    finally:
        timing[f"{key}_s"] = round(time.monotonic() - start, 3)


def collect(config_hint: str | None = None, label: str | None = None) -> dict[str, Any]:
    start = time.monotonic()
    timing: dict[str, float] = {}
    kernel = _timed(timing, "kernel", lambda: kernel_facts(config_hint))
    if label is not None:
        kernel["label"] = label
    release = kernel.get("release", os.uname().release)
    doc = {
        "schema": SCHEMA,
        "kernel": kernel,
        "probes": _timed(timing, "probes", probes_section),
        "objects": _timed(timing, "objects", objects_section),
        "btf_cases": _timed(timing, "btf_cases", lambda: btf_cases_section(release)),
        "timing": timing,
    }
    timing["agent_s"] = round(time.monotonic() - start, 3)
    return doc


def write_atomic(path: Path, doc: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vm.agent")
    parser.add_argument("--out", type=Path, required=True, help="where to write the JSON")
    parser.add_argument("--config", help="kernel config to read when /proc and /boot have none")
    parser.add_argument("--label", help="the matrix's name for this kernel")
    args = parser.parse_args(argv)
    doc = collect(args.config, args.label)
    write_atomic(args.out, doc)
    print(f"bpfconform-agent: wrote {args.out} ({doc['kernel'].get('release')})", flush=True)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main())
