"""The in-guest agent: facts about the running kernel and what it accepts, as one JSON.

Runs inside a virtme-ng guest (the host root is shared, so this is the same checkout
and Python) and, for ``host``, directly on the machine. It writes the per-kernel
document of DESIGN.md::

    {"schema": 2, "kernel": {...}, "probes": {...}, "objects": {...},
     "btf_cases": {...}, "oracles": {...}, "timing": {...}}

Sections whose implementation has not landed in this build are recorded as
``{"status": "not available in this build", "detail": ...}``, never faked.

Schema history:
  1: the first version.
  2: each ``objects`` entry carries ``bpftool``: the verdict of ``bpftool prog
     loadall`` on the same object in the same kernel (``{"loaded": bool, "rc":
     int|null, "error": str|null, "batch": int, "s": float}``: objects run in
     ``bpftool batch`` processes, ``batch`` numbers the process and ``s`` is its
     wall time; or ``{"status": "not run", "detail": ...}`` when bpftool or
     bpffs is missing), and ``oracles.bpftool`` records which bpftool (path,
     version line), where it pinned, its total time and process count.

Usage: ``python -m vm.agent --out FILE [--config PATH] [--label LABEL]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SCHEMA = 2
NOT_AVAILABLE = "not available in this build"
REPO = Path(__file__).resolve().parent.parent
VMLINUX_BTF = Path("/sys/kernel/btf/vmlinux")
BPFFS = Path("/sys/fs/bpf")

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
    opener: Callable[..., Any] = open
    if path.suffix == ".gz":
        import gzip  # only /proc/config.gz needs it

        opener = gzip.open
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
    # sysfs gives the size; the bytes are read once, by whoever parses them (the
    # loader's cached vmlinux_btf() for the running kernel).
    stats: dict[str, Any] = {"present": True, "size_bytes": path.stat().st_size}
    try:
        from loader.btf import parse_raw
    except ImportError as exc:
        # Without the BTF reader only the header can be read: sections, not types.
        # magic, version, flags, hdr_len, type_off, type_len, str_off, str_len
        header = struct.unpack_from("<HBBIIIII", path.read_bytes())
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
            spec = parse_raw(path.read_bytes())
        else:
            spec = vmlinux_btf() if path == VMLINUX_BTF else parse_raw(path.read_bytes())
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
        "python": sys.version.split()[0],
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


# libbpf 1.1 lines (through bpftool) that say why an object failed, most specific
# first: the first pattern with a match names the reason.
_BPFTOOL_REASONS = tuple(re.compile(r"libbpf: (" + p + ")") for p in (
    r"prog '[^']+': BPF program load failed: .*",
    r"elf: legacy map definitions.*",
    r"extern .*",
    r"prog '[^']+': failed to find .*",
    r"failed to guess program type.*",
    r"map '[^']+': failed to .*",
    r"prog '[^']+': failed to .*",
    r".*(?:not found|unsupported|invalid|failed).*",
))
BPFTOOL_TIMEOUT_S = 120.0
# Verifier log lines that are statistics, not the reason.
_LOG_STATS = ("processed ", "verification time", "stack depth", "insns processed")


def find_bpftool() -> str | None:
    # The guest runs with -S and a minimal PATH; Debian installs bpftool in /usr/sbin.
    found = shutil.which("bpftool")
    if found:
        return found
    return next((str(p) for p in (Path("/usr/sbin/bpftool"), Path("/sbin/bpftool"))
                 if os.access(p, os.X_OK)), None)


def is_bpffs(path: Path, mounts: Path = Path("/proc/self/mounts")) -> bool:
    try:
        lines = mounts.read_text().splitlines()
    except OSError:
        return False
    return any(len(f) > 2 and f[1] == str(path) and f[2] == "bpf"
               for f in (line.split() for line in lines))


class Bpffs:
    """bpffs at ``root`` (libbpf pins PIN_BY_NAME maps there): the one already
    mounted, else one mounted for this run (a fresh guest has none) and unmounted
    again on exit."""

    def __init__(self, root: Path = BPFFS) -> None:
        self.root = root
        self.mounted_here = False

    def __enter__(self) -> Bpffs:
        if not is_bpffs(self.root):
            subprocess.run(["mount", "-t", "bpf", "bpf", str(self.root)], check=True,
                           capture_output=True, text=True, timeout=30)
            self.mounted_here = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self.mounted_here:
            subprocess.run(["umount", str(self.root)], capture_output=True, timeout=30)


def _bpftool_error(stderr: str) -> str:
    """The libbpf reason line, then the last lines of the verifier log if any."""
    found = (m for m in (rx.search(stderr) for rx in _BPFTOOL_REASONS) if m is not None)
    first = next(found, None)
    parts = [first.group(1)] if first is not None else []
    if "-- BEGIN PROG LOAD LOG --" in stderr:
        log = stderr.split("-- BEGIN PROG LOAD LOG --", 1)[1].split("-- END PROG LOAD LOG --")[0]
        lines = [ln for ln in log.strip().splitlines() if not ln.startswith(_LOG_STATS)]
        parts.append(" | ".join(lines[-3:]))
    if not parts:
        parts.append(" | ".join(stderr.strip().splitlines()[-3:]))
    return " || ".join(parts)[-600:]


def bpftool_loadall(bpftool: str, obj: Path, bpffs: Path,
                    pinned_maps: list[str]) -> dict[str, Any]:
    """``bpftool prog loadall OBJ DIR`` in this kernel: bpftool's verdict on ``obj``.

    Programs pin under a fresh directory in ``bpffs``; it and every PIN_BY_NAME
    map this run created (``bpffs/NAME``) are removed before returning, so the
    loaded objects go away with the pins (bpftool itself has exited).
    """
    by_name = [bpffs / n for n in pinned_maps]
    existed = {p for p in by_name if p.exists()}
    pin_dir = Path(tempfile.mkdtemp(prefix="bpfconform-agent-", dir=bpffs))
    start = time.monotonic()
    out: dict[str, Any]
    try:
        proc = subprocess.run([bpftool, "prog", "loadall", str(obj), str(pin_dir / "p")],
                              capture_output=True, text=True, timeout=BPFTOOL_TIMEOUT_S)
        out = {"loaded": proc.returncode == 0, "rc": proc.returncode,
               "error": None if proc.returncode == 0 else _bpftool_error(proc.stderr)}
    except subprocess.TimeoutExpired:
        out = {"loaded": False, "rc": None, "error": f"timeout after {BPFTOOL_TIMEOUT_S} s"}
    finally:
        shutil.rmtree(pin_dir, ignore_errors=True)
        for p in by_name:
            if p not in existed and p.exists():
                p.unlink()
    out["s"] = round(time.monotonic() - start, 3)
    leaked = [str(p) for p in [pin_dir, *by_name] if p.exists() and p not in existed]
    if leaked:
        out["leaked_pins"] = leaked
    return out


def bpftool_loadall_many(bpftool: str, objs: list[tuple[str, Path]], bpffs: Path,
                         pinned_maps: list[str]) -> dict[str, dict[str, Any]]:
    """bpftool's verdict on each of ``objs`` (name, path), as ``bpftool_loadall``
    gives it, from as few bpftool processes as possible.

    One ``bpftool batch file`` runs ``prog loadall OBJ DIR`` then ``version`` per
    object; a batch stops at the first failing command, so the number of
    ``version`` lines printed says which object failed (its error is that
    process's stderr) and the next batch starts after it. In a TCG guest each
    bpftool start (exec, dynamic linking over 9p) costs 0.3-1 s. All pins go
    under one fresh directory in ``bpffs``, removed with every PIN_BY_NAME map
    (``bpffs/NAME``) the run created.
    """
    by_name = [bpffs / n for n in pinned_maps]
    existed = {p for p in by_name if p.exists()}
    pin_root = Path(tempfile.mkdtemp(prefix="bpfconform-agent-", dir=bpffs))
    script = Path(tempfile.mkdtemp(prefix="bpfconform-agent-")) / "batch"
    out: dict[str, dict[str, Any]] = {}
    todo = list(enumerate(objs))
    batch = 0
    try:
        while todo:
            batch += 1
            script.write_text("".join(f"prog loadall {path} {pin_root / str(i)}\nversion\n"
                                      for i, (_, path) in todo))
            start = time.monotonic()
            try:
                proc = subprocess.run([bpftool, "batch", "file", str(script)],
                                      capture_output=True, text=True,
                                      timeout=BPFTOOL_TIMEOUT_S * len(todo))
                rc: int | None = proc.returncode
                # "version" prints three lines; "using libbpf" once per command.
                done = proc.stdout.count("using libbpf") if rc != 0 else len(todo)
                stderr = proc.stderr
            except subprocess.TimeoutExpired:
                rc, done, stderr = None, 0, f"timeout after {BPFTOOL_TIMEOUT_S} s"
            took = round(time.monotonic() - start, 3)
            done = min(done, len(todo))
            for _, (name, _) in todo[:done]:
                out[name] = {"loaded": True, "rc": 0, "error": None, "batch": batch, "s": took}
            if done < len(todo):
                name = todo[done][1][0]
                error = _bpftool_error(stderr) if rc is not None else stderr
                out[name] = {"loaded": False, "rc": rc, "error": error, "batch": batch,
                             "s": took}
            todo = todo[done + 1:]
    finally:
        shutil.rmtree(pin_root, ignore_errors=True)
        shutil.rmtree(script.parent, ignore_errors=True)
        for p in by_name:
            if p not in existed and p.exists():
                p.unlink()
    leaked = [str(p) for p in [pin_root, *by_name] if p.exists() and p not in existed]
    if leaked:
        for verdict in out.values():
            verdict["leaked_pins"] = leaked
    return out


def bpftool_version(bpftool: str) -> str:
    proc = subprocess.run([bpftool, "version"], capture_output=True, text=True, timeout=30)
    return " / ".join(proc.stdout.strip().splitlines()) or proc.stderr.strip()


def _our_verdict(path: Path) -> tuple[dict[str, Any], list[str]]:
    """Our loader's verdict on one object and the names of its PIN_BY_NAME maps."""
    from loader.collection.reader import load_collection_spec
    from loader.collection.spec import PIN_BY_NAME
    from loader.kernel.load import load_collection

    entry: dict[str, Any] = {"loaded": False, "errno": None, "log_tail": None}
    pinned: list[str] = []
    try:
        spec = load_collection_spec(path)
        pinned = [n for n, m in spec.maps.items() if m.pinning == PIN_BY_NAME]
        with load_collection(spec, keep_going=True) as loaded:
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
    return entry, pinned


def objects_section(oracles: dict[str, Any] | None = None,
                    use_bpftool: bool = True) -> dict[str, Any]:
    """Load every native-order corpus object into this kernel, like libbpf would,
    and (``use_bpftool``) let bpftool load the same object as the oracle.

    Each object is read with ``loader.collection`` and loaded with
    ``loader.kernel.load.load_collection(keep_going=True)``, so one failing
    program does not hide the others; ``loaded`` means every map and program made
    it. ``bpftool`` holds ``bpftool prog loadall``'s verdict (libbpf's all-or-nothing).
    """
    try:
        import loader.collection.reader
        import loader.kernel.load  # noqa: F401
    except ImportError as exc:
        return _unavailable(exc)
    oracles = {} if oracles is None else oracles
    suffix = ".el.o" if sys.byteorder == "little" else ".eb.o"
    paths = sorted((REPO / "corpus" / "obj").glob("*" + suffix))
    bpftool = find_bpftool() if use_bpftool else None
    not_run: dict[str, Any] | None = None
    if not use_bpftool:
        not_run = {"status": "not run", "detail": "disabled (--no-bpftool)"}
    elif bpftool is None:
        not_run = {"status": "not run", "detail": "bpftool not found"}
    out: dict[str, Any] = {}
    with contextlib.ExitStack() as stack:
        if bpftool is not None:
            try:
                fs = stack.enter_context(Bpffs())
                oracles["bpftool"] = {"path": bpftool, "version": bpftool_version(bpftool),
                                      "bpffs": str(fs.root), "mounted_here": fs.mounted_here}
            except (OSError, subprocess.SubprocessError) as exc:
                not_run = {"status": "not run", "detail": f"no bpffs: {exc}"}
                bpftool = None
        pinned: list[str] = []
        for path in paths:
            name = path.name.removesuffix(suffix)
            entry, pins = _our_verdict(path)
            pinned += pins
            entry["bpftool"] = dict(not_run or {})
            out[name] = entry
        if bpftool is not None:
            start = time.monotonic()
            verdicts = bpftool_loadall_many(
                bpftool, [(p.name.removesuffix(suffix), p) for p in paths], BPFFS, pinned)
            oracles["bpftool"]["s"] = round(time.monotonic() - start, 3)
            oracles["bpftool"]["processes"] = max((v["batch"] for v in verdicts.values()),
                                                  default=0)
            for name, verdict in verdicts.items():
                out[name]["bpftool"] = verdict
    return out


def _read(path: Path) -> bytes:
    # open/read/close: fewer 9p round trips than pathlib's read_bytes (fstat, EOF read).
    fd = os.open(path, os.O_RDONLY)
    try:
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
            if len(chunk) < 1 << 20:
                break
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_files(paths: list[Path], cache: Path | None = None) -> dict[str, bytes]:
    """The bytes of ``paths`` by file name, through a cache file when given.

    In a guest every file operation crosses 9p, and on 5.10 under TCG a round trip
    costs tens of ms: one stat per file (to validate mtime and size) plus one read
    of the cache replaces an open/fstat/read/read/close per file. Stale or new
    entries are read again and the cache rewritten.
    """
    import marshal

    sig = {}
    for p in paths:
        st = os.stat(p)
        sig[p.name] = (st.st_mtime_ns, st.st_size)
    cached: dict[str, Any] = {}
    if cache is not None:
        try:
            loaded = marshal.loads(_read(cache))
            cached = loaded if isinstance(loaded, dict) else {}
        except (OSError, ValueError, EOFError, TypeError):
            cached = {}
    out: dict[str, bytes] = {}
    fresh = True
    for p in paths:
        entry = cached.get(p.name)
        if isinstance(entry, tuple) and len(entry) == 3 and entry[:2] == sig[p.name]:
            out[p.name] = entry[2]
        else:
            out[p.name] = _read(p)
            fresh = False
    if cache is not None and (not fresh or set(cached) != set(sig)):
        with contextlib.suppress(OSError):
            tmp = cache.with_name(cache.name + ".tmp")
            tmp.write_bytes(marshal.dumps({n: (*sig[n], out[n]) for n in out}))
            tmp.replace(cache)
    return out


def btf_cases_section(release: str, cache: Path | None = None) -> dict[str, Any]:
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
    blobs = read_files(cases, cache)
    for path in cases:
        blob = blobs[path.name]
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
        import traceback

        return {"status": "error", "detail": "".join(
            traceback.format_exception_only(type(exc), exc)).strip()[-2000:]}
    finally:
        timing[f"{key}_s"] = round(time.monotonic() - start, 3)


def collect(config_hint: str | None = None, label: str | None = None,
            use_bpftool: bool = True, cache: Path | None = None) -> dict[str, Any]:
    start = time.monotonic()
    timing: dict[str, float] = {}
    oracles: dict[str, Any] = {}
    kernel = _timed(timing, "kernel", lambda: kernel_facts(config_hint))
    if label is not None:
        kernel["label"] = label
    release = kernel.get("release", os.uname().release)
    doc = {
        "schema": SCHEMA,
        "kernel": kernel,
        "probes": _timed(timing, "probes", probes_section),
        "objects": _timed(timing, "objects", lambda: objects_section(oracles, use_bpftool)),
        "btf_cases": _timed(timing, "btf_cases", lambda: btf_cases_section(release, cache)),
        "oracles": oracles,
        "timing": timing,
    }
    timing["agent_s"] = round(time.monotonic() - start, 3)
    return doc


def use_bytecode_cache(cache_dir: Path) -> bool:
    """Read and write this checkout's bytecode under ``cache_dir`` (a pycache prefix).

    The guest runs with PYTHONDONTWRITEBYTECODE and a read-only view of the
    checkout, and the checkout has no __pycache__, so without this every loader
    module is compiled from source on every boot: about 0.3 s natively, many
    seconds under TCG. The run directory is writable and survives the guest,
    so a warm matrix reads the compiled modules back (stale ones are recompiled:
    the source mtime and size are checked as usual).
    """
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        probe = cache_dir / ".writable"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError:
        return False
    sys.pycache_prefix = str(cache_dir)
    sys.dont_write_bytecode = False
    return True


def write_atomic(path: Path, doc: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vm.agent")
    parser.add_argument("--out", type=Path, required=True, help="where to write the JSON")
    parser.add_argument("--config", help="kernel config to read when /proc and /boot have none")
    parser.add_argument("--label", help="the matrix's name for this kernel")
    parser.add_argument("--no-bpftool", action="store_true",
                        help="skip the bpftool oracle for corpus objects")
    parser.add_argument("--pycache", type=Path,
                        help="cache dir for bytecode and corpus/btf blobs (default: "
                             ".pycache next to --out; '-' for none)")
    args = parser.parse_args(argv)
    cache: Path | None = None
    if str(args.pycache) != "-":
        cache = args.pycache or args.out.resolve().parent / ".pycache"
        if not use_bytecode_cache(cache):
            cache = None
    doc = collect(args.config, args.label, use_bpftool=not args.no_bpftool,
                  cache=None if cache is None else cache / "btf_cases.marshal")
    write_atomic(args.out, doc)
    print(f"bpfconform-agent: wrote {args.out} ({doc['kernel'].get('release')})", flush=True)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main())
