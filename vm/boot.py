"""Boot a kernel under virtme-ng/QEMU and run the agent in it.

The guest sees the host root over 9p, so it runs this checkout with this Python.
The result comes back as JSON in a ``--rwdir`` directory: virtme-ng 1.42 exits 255
even when the guest command succeeded ("cannot find script I/O ports"), so its exit
code means nothing. Every boot is bounded by a timeout that kills the whole process
group; a kernel that panics, hangs or writes no JSON is a failure with its console
tail, not a lost matrix.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vm.kernels import KernelTree

REPO = Path(__file__).resolve().parent.parent
RESULT_NAME = "result.json"
CONSOLE_NAME = "console.log"
# Measured on a 2-core machine shared with other jobs (load ~7): 5.10 took 143 s;
# on an idle machine 25-45 s. Hangs are caught sooner by the stall limit.
DEFAULT_TIMEOUT_S = 300.0
DEFAULT_STALL_S = 90.0
# virtme-ng-init prints this when it hands over to our command.
AGENT_STARTED = b"starting script"
ACCELS = ("tcg", "kvm", "auto")
KVM_PROBE_TIMEOUT_S = 15.0


def python_for_guest() -> str:
    venv = REPO / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def vng_executable() -> str:
    # vng runs `virtme-run` through PATH, so the venv's bin dir must be on it.
    here = Path(sys.executable).parent / "vng"
    found = str(here) if here.exists() else shutil.which("vng")
    if found is None:
        raise FileNotFoundError("vng (virtme-ng) not found: ./dev setup installs it")
    return found


def guest_command(result: Path, kt: KernelTree, label: str) -> str:
    # -S: the agent needs only the stdlib and this checkout (the cwd); skipping site
    # saves the venv's .pth processing (the editable-install finder alone took 9 s of
    # a TCG guest's time on 5.10, measured with -X importtime).
    argv = [python_for_guest(), "-S", "-m", "vm.agent", "--out", str(result), "--label", label]
    if kt.config:
        argv += ["--config", kt.config]
    # Without entropy early in a TCG guest, Python dies initialising hash
    # randomisation; a fixed seed avoids the wait (FACTS.md).
    env = "PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1"
    setup = ""
    if kt.config:
        # Debian kernels have no /proc/config.gz; an installed one has
        # /boot/config-$(uname -r), where loaders (libbpf, ours) look for .kconfig
        # externs. The guest sees the host's /boot: put a tmpfs over it (guest only)
        # holding the package's config, so the guest looks like a real install.
        setup = (f"mount -t tmpfs tmpfs /boot && cp {shlex.quote(kt.config)} "
                 f'"/boot/config-$(uname -r)"; ')
    return f"{setup}cd {shlex.quote(str(REPO))} && {env} {shlex.join(argv)}"


def vng_argv(kt: KernelTree, outdir: Path, label: str, accel: str, *,
             memory: str = "1G", cpus: int = 1) -> list[str]:
    # --force-9p: otherwise vng first waits ~10 s for virtiofsd before falling back to 9p.
    argv = [vng_executable(), "--verbose", "--force-9p", "--run", kt.vmlinuz,
            "--memory", memory, "--cpus", str(cpus), "--rwdir", str(outdir),
            "--exec", guest_command(outdir / RESULT_NAME, kt, label)]
    if accel == "tcg":
        # microvm needs KVM-only features; with TCG use the standard q35 machine.
        argv[1:1] = ["--disable-kvm", "--disable-microvm"]
    return argv


@dataclass
class BootResult:
    label: str
    ok: bool
    doc: dict[str, Any] | None
    failure: str | None
    console_tail: str
    boot_s: float
    accel: str
    returncode: int | None


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=5)
            return
        except subprocess.TimeoutExpired:
            continue


def run_bounded(argv: list[str], log: Path, timeout_s: float,
                env: dict[str, str] | None = None, *, stall_s: float | None = None,
                on_output: Callable[[bytes], None] | None = None) -> tuple[int | None, str | None]:
    """Run argv with output to log; (returncode, why it was killed or None).

    Killed (the whole process group) after ``timeout_s`` in total, or after
    ``stall_s`` without any new output: a hung guest goes silent, a guest that is
    merely slow on a loaded machine keeps printing.
    """
    start = time.monotonic()
    last_growth, seen = start, 0
    with log.open("wb") as fh:
        proc = subprocess.Popen(argv, stdout=fh, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        try:
            while True:
                try:
                    return proc.wait(timeout=1.0), None
                except subprocess.TimeoutExpired:
                    pass
                now = time.monotonic()
                size = log.stat().st_size
                if size > seen:
                    if on_output is not None:
                        with log.open("rb") as rd:
                            rd.seek(seen)
                            on_output(rd.read(size - seen))
                    seen, last_growth = size, now
                if now - start > timeout_s:
                    _kill_group(proc)
                    return proc.returncode, f"timed out after {timeout_s:.0f}s"
                if stall_s is not None and now - last_growth > stall_s:
                    _kill_group(proc)
                    return proc.returncode, f"no console output for {stall_s:.0f}s (hung)"
        finally:
            if proc.poll() is None:
                _kill_group(proc)


def guest_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(vng_executable()).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def boot(kt: KernelTree, outdir: Path, label: str, *, accel: str = "tcg",
         timeout_s: float = DEFAULT_TIMEOUT_S, stall_s: float | None = DEFAULT_STALL_S,
         on_phase: Callable[[str], None] | None = None) -> BootResult:
    """Boot one kernel, run the agent in it, and read its JSON back."""
    if accel not in ("tcg", "kvm"):
        raise ValueError(f"accel must be tcg or kvm here, got {accel!r}")
    outdir.mkdir(parents=True, exist_ok=True)
    result = outdir / RESULT_NAME
    result.unlink(missing_ok=True)
    console = outdir / CONSOLE_NAME
    start = time.monotonic()
    tail_bytes = b""

    def watch(chunk: bytes) -> None:
        nonlocal tail_bytes
        # The marker may straddle two reads: keep a little of the previous chunk.
        window = tail_bytes + chunk
        if on_phase is not None and AGENT_STARTED in window:
            on_phase("agent")
        tail_bytes = b"" if AGENT_STARTED in window else window[-64:]

    rc, killed = run_bounded(vng_argv(kt, outdir, label, accel), console, timeout_s,
                             guest_env(), stall_s=stall_s, on_output=watch)
    elapsed = round(time.monotonic() - start, 2)
    tail = _tail(console)
    doc: dict[str, Any] | None = None
    failure: str | None = None
    if result.exists():
        try:
            doc = json.loads(result.read_text())
        except ValueError as exc:
            failure = f"agent JSON unreadable: {exc}"
    if doc is None and failure is None:
        if "Kernel panic" in tail:
            failure = "kernel panic" + (f" ({killed})" if killed else "")
        elif killed:
            failure = f"{killed} without a result"
        else:
            failure = f"no result JSON (vng exit {rc})"
    elif doc is not None and doc.get("kernel", {}).get("release") != kt.release:
        failure = (f"agent ran on {doc.get('kernel', {}).get('release')!r}, "
                   f"expected {kt.release!r}")
        doc = None
    return BootResult(label=label, ok=doc is not None, doc=doc, failure=failure,
                      console_tail=tail, boot_s=elapsed, accel=accel, returncode=rc)


def kvm_works(kt: KernelTree, timeout_s: float = KVM_PROBE_TIMEOUT_S) -> tuple[bool, str]:
    """Does a KVM guest get as far as printing the kernel banner?

    Where nested virtualisation is broken, /dev/kvm opens but the guest hangs at
    "Booting from ROM" (FACTS.md); a working KVM prints "Linux version" in well
    under a second. No root fs is given: the kernel panics right after, which is fine.
    """
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False, "/dev/kvm not accessible"
    qemu = shutil.which("qemu-system-x86_64")
    if qemu is None:
        return False, "qemu-system-x86_64 not found"
    # -cpu host as virtme-ng uses it with KVM; some nested setups fail right there.
    argv = [qemu, "-accel", "kvm", "-cpu", "host", "-m", "256", "-nographic", "-nodefaults",
            "-no-reboot", "-serial", "stdio", "-kernel", kt.vmlinuz,
            "-append", "console=ttyS0 panic=-1 earlyprintk=serial"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    assert proc.stdout is not None
    os.set_blocking(proc.stdout.fileno(), False)
    seen = b""
    deadline = time.monotonic() + timeout_s
    exited = False
    try:
        while time.monotonic() < deadline and not exited:
            chunk = proc.stdout.read(65536) or b""
            seen += chunk
            if b"Linux version" in seen:
                return True, "kernel banner seen under KVM"
            exited = proc.poll() is not None and not chunk
            time.sleep(0.1)
    finally:
        _kill_group(proc)
    last = seen.decode("utf-8", "replace").strip().splitlines()[-2:]
    how = f"qemu exited {proc.returncode}" if proc.returncode is not None else "hung"
    return False, f"no kernel banner under KVM ({how}): {' | '.join(last)[-300:]}"
