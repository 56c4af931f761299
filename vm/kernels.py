"""Kernel acquisition: resolve a kernel spec to a Debian package, fetch, unpack, cache.

Specs:
  ``host``                  the running kernel (no VM, nothing to fetch)
  ``5.10``, ``6.1`` ...     the newest generic amd64 image of that line
  ``7.3-rc``                the newest release candidate of 7.3 (experimental)
  ``6.1.176-1``             an exact Debian package version
  ``linux-image-...-amd64`` an exact package name (newest version of it)
  ``PATH[:MODDIR]``         a user-built bzImage/vmlinuz, optionally with its modules dir

Unpacked kernels live in ``$XDG_CACHE_HOME/bpfconform/kernels/trees/<pkg>_<version>/``
with a ``bpfconform.json`` manifest; the .deb files are deleted after unpacking (the
tree is the cache), so each package is downloaded once.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from vm import debver
from vm.apt import AptError, AptState, machine_mirror

Progress = Callable[[str], None]
MANIFEST = "bpfconform.json"

_LINE_RE = re.compile(r"^(\d+)\.(\d+)(-rc)?$")
# linux-image-<abi>-amd64; other flavours put their name before the arch
# (-cloud-amd64, -rt-amd64) and lack 9p or are realtime: virtme-ng needs the generic one.
_IMAGE_NAME_RE = re.compile(r"^linux-image-(?P<abi>\d+\.\d+\S*)-amd64$")
_OTHER_FLAVOURS = ("-cloud", "-rt")
_BINARY_DEP_RE = re.compile(r"\blinux-binary-(\S+)\s*\(= ([^)]+)\)")


class KernelError(RuntimeError):
    """A kernel spec could not be resolved, fetched or unpacked."""


def _no_progress(_msg: str) -> None:
    pass


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bpfconform" / "kernels"


def apt_state(root: Path | None = None) -> AptState:
    return AptState((root or cache_root()) / "apt", mirror=machine_mirror())


@dataclass(frozen=True)
class DebPackage:
    name: str
    version: str
    size_bytes: int
    filename: str
    suite: str = ""


@dataclass(frozen=True)
class Resolved:
    """What a spec resolved to in the index: the image package and the debs to fetch."""

    spec: str
    image_package: str
    version: str
    debs: tuple[DebPackage, ...]

    @property
    def tree_name(self) -> str:
        return f"{self.image_package}_{self.version}"


@dataclass
class KernelTree:
    """An unpacked kernel ready for virtme-ng."""

    release: str
    vmlinuz: str
    moddir: str | None
    config: str | None
    package: str
    version: str
    source: str  # "debian" or "local"
    packages: list[dict[str, str | int]] = field(default_factory=list)
    root: str = ""

    @property
    def line(self) -> str:
        return line_of_release(self.release)

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["line"] = self.line
        return data


def line_of_release(release: str) -> str:
    match = re.match(r"^(\d+)\.(\d+)", release)
    return f"{match.group(1)}.{match.group(2)}" if match else release


def classify(spec: str) -> str:
    """One of host, line, version, package, path."""
    if spec == "host":
        return "host"
    if "/" in spec or spec.startswith("."):
        return "path"
    if _LINE_RE.match(spec):
        return "line"
    if spec.startswith("linux-"):
        return "package"
    if re.match(r"^\d+\.\d+[\w.~+]*-[\w.~+]+$", spec):
        return "version"
    raise KernelError(
        f"kernel spec {spec!r}: expected host, a line like 6.1 or 7.3-rc, a Debian "
        "package version like 6.1.176-1, a package name, or a path to a vmlinuz"
    )


def version_matches_line(version: str, line: str) -> bool:
    """True when a Debian package version belongs to a kernel line (6.1 is not 6.12)."""
    match = _LINE_RE.match(line)
    if not match:
        return False
    _epoch, upstream, _rev = debver.split(version)
    base = f"{match.group(1)}.{match.group(2)}"
    if match.group(3):
        return upstream.startswith(base + "~rc")
    return upstream == base or upstream.startswith(base + ".")


# --- the index -----------------------------------------------------------------------


def parse_stanzas(text: str) -> list[dict[str, str]]:
    """Parse apt-cache show output (RFC822-like stanzas, continuation lines folded)."""
    stanzas: list[dict[str, str]] = []
    current: dict[str, str] = {}
    key = ""
    for line in text.splitlines():
        if not line.strip():
            if current:
                stanzas.append(current)
            current, key = {}, ""
        elif line[0] in " \t" and key:
            current[key] += "\n" + line.strip()
        elif ":" in line:
            key, _, value = line.partition(":")
            current[key] = value.strip()
    if current:
        stanzas.append(current)
    return stanzas


def parse_madison(text: str) -> dict[tuple[str, str], str]:
    """(package, version) -> suite from apt-cache madison output."""
    suites: dict[tuple[str, str], str] = {}
    for line in text.splitlines():
        parts = [p.strip() for p in line.split("|")]
        if len(parts) >= 3:
            where = parts[2].split()
            suite = where[1].split("/")[0] if len(where) > 1 else ""
            suites.setdefault((parts[0], parts[1]), suite)
    return suites


class Index:
    """The private apt index, queried through apt-cache."""

    def __init__(self, state: AptState) -> None:
        self.state = state
        self._stanzas: list[dict[str, str]] | None = None
        self._suites: dict[tuple[str, str], str] = {}

    def generic_image_names(self) -> list[str]:
        out = self.state.run(["apt-cache", "pkgnames", "linux-image-"])
        names = []
        for name in out.split():
            match = _IMAGE_NAME_RE.match(name)
            if match and not match.group("abi").endswith(_OTHER_FLAVOURS):
                names.append(name)
        return sorted(names)

    def stanzas(self) -> list[dict[str, str]]:
        if self._stanzas is None:
            names = self.generic_image_names()
            if not names:
                raise KernelError("the private apt index lists no linux-image-*-amd64 package")
            self._stanzas = parse_stanzas(self.state.run(["apt-cache", "show", *names]))
            self._suites = parse_madison(self.state.run(["apt-cache", "madison", *names]))
        return self._stanzas

    def show(self, name: str, version: str) -> dict[str, str]:
        out = self.state.run(["apt-cache", "show", f"{name}={version}"])
        stanzas = parse_stanzas(out)
        if not stanzas:
            raise KernelError(f"{name}={version} not in the index")
        return stanzas[0]

    def suite_of(self, name: str, version: str) -> str:
        self.stanzas()
        return self._suites.get((name, version), "")


def pick_image(stanzas: list[dict[str, str]], spec: str) -> dict[str, str]:
    """The newest image stanza matching a line, exact version or package name."""
    kind = classify(spec)
    if kind == "line":
        matches = [s for s in stanzas if version_matches_line(s.get("Version", ""), spec)]
    elif kind == "version":
        matches = [s for s in stanzas if s.get("Version") == spec]
    elif kind == "package":
        matches = [s for s in stanzas if s.get("Package") == spec]
    else:
        raise KernelError(f"{spec!r} is not resolved through the Debian index")
    if not matches:
        raise KernelError(f"no Debian generic amd64 kernel image matches {spec!r}")
    # Several ABIs of one line may coexist (6.1.0-47, 6.1.0-50): newest version wins.
    return max(matches, key=lambda s: debver.sort_key(s["Version"]))


def resolve(spec: str, index: Index) -> Resolved:
    image = pick_image(index.stanzas(), spec)
    name, version = image["Package"], image["Version"]
    # Since 7.x Debian splits the kernel: linux-image-X is a 2 KB meta package that
    # depends on linux-binary-X (vmlinuz), linux-modules-X and linux-base-X (config,
    # modules.builtin, which depmod needs to see 9p/virtio as built in); fetch those.
    dep = _BINARY_DEP_RE.search(image.get("Depends", ""))
    if dep:
        abi_flavour, dep_version = dep.group(1), dep.group(2)
        names = [f"linux-{part}-{abi_flavour}" for part in ("binary", "modules", "base")]
        stanzas = [index.show(n, dep_version) for n in names]
    else:
        stanzas = [image]
    debs = tuple(
        DebPackage(
            name=s["Package"],
            version=s["Version"],
            size_bytes=int(s.get("Size", "0")),
            filename=s.get("Filename", ""),
            suite=index.suite_of(name, version),
        )
        for s in stanzas
    )
    return Resolved(spec=spec, image_package=name, version=version, debs=debs)


# --- the cache -----------------------------------------------------------------------


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    """Serialise index updates and unpacking between concurrent bpfconform runs."""
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def read_manifest(tree: Path) -> KernelTree | None:
    try:
        data = json.loads((tree / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    data.pop("line", None)
    try:
        return KernelTree(**data)
    except TypeError:
        return None


def list_cached(root: Path | None = None) -> list[KernelTree]:
    trees_dir = (root or cache_root()) / "trees"
    found = []
    if trees_dir.is_dir():
        for tree in sorted(trees_dir.iterdir()):
            kt = read_manifest(tree)
            if kt is not None:
                found.append(kt)
    return found


def _find_kernel_files(tree: Path) -> tuple[str, Path, Path | None, Path | None]:
    """(release, vmlinuz, moddir, config) inside an unpacked package tree."""
    for moddir_parent in (tree / "lib" / "modules", tree / "usr" / "lib" / "modules"):
        if not moddir_parent.is_dir():
            continue
        for moddir in sorted(moddir_parent.iterdir()):
            release = moddir.name
            for vmlinuz in (moddir / "vmlinuz", tree / "boot" / f"vmlinuz-{release}"):
                if vmlinuz.is_file():
                    configs = [moddir / "config", tree / "boot" / f"config-{release}"]
                    config = next((c for c in configs if c.is_file()), None)
                    return release, vmlinuz, moddir, config
    raise KernelError(f"{tree}: no vmlinuz with a matching modules directory")


def run_depmod(moddir: Path, release: str) -> None:
    """virtme-ng loads 9p/virtio modules by alias, which needs modules.dep."""
    if (moddir / "modules.dep").exists():
        return
    # depmod -b BASE looks in BASE/lib/modules/RELEASE.
    base = moddir.parent.parent.parent
    proc = subprocess.run(
        ["depmod", "-a", "-b", str(base), release],
        capture_output=True, text=True, check=False, timeout=300,
    )
    if proc.returncode != 0 or not (moddir / "modules.dep").exists():
        raise KernelError(f"depmod for {moddir} failed: {proc.stderr.strip()[-300:]}")


def _download(state: AptState, debs: tuple[DebPackage, ...], dest: Path, progress: Progress,
              label: str) -> list[Path]:
    dest.mkdir(parents=True, exist_ok=True)
    total = sum(d.size_bytes for d in debs)
    done = threading.Event()

    def report() -> None:
        while not done.wait(1.0):
            # apt writes into its partial dir first, then moves the file to dest.
            partial = state.root / "cache" / "archives" / "partial"
            files = [*dest.glob("*.deb"), *partial.glob("*.deb")]
            have = sum(p.stat().st_size for p in files if p.exists())
            progress(f"{label}: downloading {have / 1e6:.0f}/{total / 1e6:.0f} MB")

    watcher = threading.Thread(target=report, daemon=True)
    progress(f"{label}: downloading {', '.join(d.name for d in debs)} ({total / 1e6:.0f} MB)")
    watcher.start()
    try:
        state.run(
            ["apt-get", "download", "-q", *(f"{d.name}={d.version}" for d in debs)],
            cwd=dest, log=dest / "apt.log",
        )
    finally:
        done.set()
        watcher.join()
    files = sorted(dest.glob("*.deb"))
    if len(files) != len(debs):
        raise KernelError(f"apt-get download left {len(files)} of {len(debs)} debs in {dest}")
    return files


def _unpack(resolved: Resolved, root: Path, progress: Progress, label: str) -> KernelTree:
    state = apt_state(root)
    staging = root / "downloads" / resolved.tree_name
    final = root / "trees" / resolved.tree_name
    shutil.rmtree(staging, ignore_errors=True)
    files = _download(state, resolved.debs, staging, progress, label)
    progress(f"{label}: unpacking")
    tree = staging / "tree"
    for deb in files:
        subprocess.run(["dpkg-deb", "-x", str(deb), str(tree)], check=True, timeout=600)
    release, vmlinuz, moddir, config = _find_kernel_files(tree)
    if moddir is not None:
        progress(f"{label}: depmod")
        run_depmod(moddir, release)
    final.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(final, ignore_errors=True)
    tree.rename(final)
    shutil.rmtree(staging, ignore_errors=True)

    def moved(p: Path | None) -> str | None:
        return str(final / p.relative_to(tree)) if p is not None else None

    kt = KernelTree(
        release=release,
        vmlinuz=moved(vmlinuz) or "",
        moddir=moved(moddir),
        config=moved(config),
        package=resolved.image_package,
        version=resolved.version,
        source="debian",
        packages=[{"name": d.name, "version": d.version, "size_bytes": d.size_bytes,
                   "suite": d.suite} for d in resolved.debs],
        root=str(final),
    )
    (final / MANIFEST).write_text(json.dumps(kt.to_json(), indent=2) + "\n")
    return kt


def _cached_for(spec: str, root: Path) -> KernelTree | None:
    """The newest cached tree matching a spec; used when the index is unreachable."""
    kind = classify(spec)
    cached = list_cached(root)
    if kind == "line":
        cached = [k for k in cached if version_matches_line(k.version, spec)]
    elif kind == "version":
        cached = [k for k in cached if k.version == spec]
    elif kind == "package":
        cached = [k for k in cached if k.package == spec]
    else:
        return None
    return max(cached, key=lambda k: debver.sort_key(k.version), default=None)


def release_of_bzimage(path: Path) -> str | None:
    """The kernel release from a bzImage's setup header (x86 boot protocol >= 2.00)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(0x4000)
            if head[0x202:0x206] != b"HdrS":
                return None
            offset = int.from_bytes(head[0x20E:0x210], "little") + 0x200
            fh.seek(offset)
            text = fh.read(256).split(b"\0", 1)[0].decode("ascii", "replace")
    except OSError:
        return None
    return text.split()[0] if text else None


def local_tree(spec: str, root: Path | None = None) -> KernelTree:
    """A user-built kernel: ``VMLINUZ`` or ``VMLINUZ:MODDIR``."""
    image_s, _, moddir_s = spec.partition(":")
    image = Path(image_s).expanduser().resolve()
    if not image.is_file():
        raise KernelError(f"kernel image {image} does not exist")
    release = release_of_bzimage(image)
    if release is None:
        raise KernelError(f"{image}: no bzImage setup header, cannot tell its release")
    moddir = Path(moddir_s).expanduser().resolve() if moddir_s else None
    # virtme-ng finds modules next to the image (ROOT/lib/modules/RELEASE); build
    # such a layout out of symlinks so user trees stay where they are.
    digest = hashlib.sha256(f"{image}:{moddir}".encode()).hexdigest()[:12]
    tree = (root or cache_root()) / "local" / digest
    shutil.rmtree(tree, ignore_errors=True)
    (tree / "boot").mkdir(parents=True)
    (tree / "boot" / f"vmlinuz-{release}").symlink_to(image)
    linked_moddir = None
    if moddir is not None:
        if not moddir.is_dir():
            raise KernelError(f"modules directory {moddir} does not exist")
        (tree / "lib" / "modules").mkdir(parents=True)
        linked_moddir = tree / "lib" / "modules" / release
        linked_moddir.symlink_to(moddir)
        run_depmod(linked_moddir, release)
    return KernelTree(
        release=release, vmlinuz=str(tree / "boot" / f"vmlinuz-{release}"),
        moddir=str(linked_moddir) if linked_moddir else None, config=None,
        package=str(image), version=release, source="local", root=str(tree),
    )


def fetch(spec: str, *, progress: Progress = _no_progress, root: Path | None = None,
          refresh_index: bool = False) -> KernelTree:
    """Resolve a spec and make sure its kernel is unpacked in the cache."""
    root = root or cache_root()
    kind = classify(spec)
    if kind == "host":
        raise KernelError("host runs without a VM: nothing to fetch")
    if kind == "path":
        return local_tree(spec, root)
    with _locked(root):
        state = apt_state(root)
        try:
            if state.update(force=refresh_index, log=root / "apt-update.log"):
                progress(f"{spec}: downloaded the package indexes")
            resolved = resolve(spec, Index(state))
        except (AptError, subprocess.TimeoutExpired) as exc:
            cached = _cached_for(spec, root)
            if cached is None:
                raise KernelError(f"{spec}: {exc}") from exc
            progress(f"{spec}: index unavailable ({exc}); using cached {cached.package}")
            return cached
        existing = read_manifest(root / "trees" / resolved.tree_name)
        if existing is not None and Path(existing.vmlinuz).is_file():
            return existing
        start = time.monotonic()
        kt = _unpack(resolved, root, progress, spec)
        progress(f"{spec}: fetched {kt.package} {kt.version} in {time.monotonic() - start:.1f}s")
        return kt


def prune(*, root: Path | None = None, keep: set[str] | None = None,
          everything: bool = False) -> list[str]:
    """Remove cached trees except the newest per line (or all); returns what went."""
    root = root or cache_root()
    removed: list[str] = []
    with _locked(root):
        newest: dict[str, KernelTree] = {}
        for kt in list_cached(root):
            key = kt.line + ("-rc" if "~rc" in kt.version else "")
            if key not in newest or debver.compare(kt.version, newest[key].version) > 0:
                newest[key] = kt
        wanted = {k.root for k in newest.values()} if not everything else set()
        wanted |= keep or set()
        for kt in list_cached(root):
            if kt.root not in wanted:
                shutil.rmtree(kt.root, ignore_errors=True)
                removed.append(f"{kt.package} {kt.version}")
        for leftover in ("downloads", "local"):
            if (root / leftover).exists():
                shutil.rmtree(root / leftover, ignore_errors=True)
                removed.append(leftover + "/")
    return removed
