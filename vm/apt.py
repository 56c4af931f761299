"""A private apt state for fetching Debian kernel packages.

Everything apt reads or writes lives under one directory of our cache: its own
sources list, package lists, archive cache and an empty dpkg status, so the
machine's apt configuration and package state are never touched or consulted
(its apt.conf.d still applies, so a proxy configured there keeps working).
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
# The suites that carry the kernel lines we resolve (FACTS.md: buster and older
# are gone from the mirror).
SUITES: tuple[str, ...] = ("bullseye", "bookworm", "trixie", "sid", "experimental")
DEFAULT_MIRROR = "http://deb.debian.org/debian"
# Re-download the indexes when they are older than this; kernels move weekly at most.
INDEX_MAX_AGE_S = 24 * 3600


class AptError(RuntimeError):
    """apt-get/apt-cache failed; the message carries the command's stderr tail."""


def machine_mirror() -> str:
    """The Debian mirror URL the machine's own sources use (reused: it is reachable)."""
    candidates: list[Path] = [Path("/etc/apt/sources.list")]
    parts = Path("/etc/apt/sources.list.d")
    if parts.is_dir():
        candidates += sorted(parts.iterdir())
    pattern = re.compile(r"(https?://[^\s\]]+/debian)/?(?:\s|$)")
    for path in candidates:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for line in text.splitlines():
            if line.lstrip().startswith("#"):
                continue
            match = pattern.search(line)
            if match:
                return match.group(1)
    return DEFAULT_MIRROR


@dataclass(frozen=True)
class AptState:
    """Paths and options of one private apt state rooted at ``root``."""

    root: Path
    mirror: str = DEFAULT_MIRROR
    suites: tuple[str, ...] = SUITES

    @property
    def sources_list(self) -> Path:
        return self.root / "sources.list"

    @property
    def lists_dir(self) -> Path:
        return self.root / "lists"

    def options(self) -> list[str]:
        empty_parts = self.root / "empty.d"
        opts = {
            "Dir::Etc::sourcelist": str(self.sources_list),
            "Dir::Etc::sourceparts": str(empty_parts),
            "Dir::Etc::preferences": str(self.root / "preferences"),
            "Dir::Etc::preferencesparts": str(empty_parts),
            "Dir::State": str(self.root / "state"),
            "Dir::State::Lists": str(self.lists_dir),
            "Dir::State::status": str(self.root / "status"),
            "Dir::Cache": str(self.root / "cache"),
            # Docker images blank these (apt.conf.d/docker-clean), which makes every
            # apt-cache call rebuild the cache from all five suites (~2 s each).
            "Dir::Cache::pkgcache": "pkgcache.bin",
            "Dir::Cache::srcpkgcache": "srcpkgcache.bin",
            "APT::Architecture": "amd64",
            "APT::Architectures": "amd64",
            "Acquire::Languages": "none",
            # apt-file's config (if installed) would otherwise fetch huge Contents files.
            "Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled": "false",
            "Debug::NoLocking": "true",
            # Downloads go to our cache, which the unprivileged _apt user cannot write.
            "APT::Sandbox::User": "root",
        }
        return [arg for key, value in opts.items() for arg in ("-o", f"{key}={value}")]

    def prepare(self) -> None:
        for sub in ("lists/partial", "cache/archives/partial", "state", "empty.d"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        for name in ("status", "preferences"):
            (self.root / name).touch()
        lines = [
            f"deb [signed-by={KEYRING}] {self.mirror} {suite} main" for suite in self.suites
        ]
        text = "\n".join(lines) + "\n"
        if not self.sources_list.exists() or self.sources_list.read_text() != text:
            self.sources_list.write_text(text)
            # A changed source list makes the old indexes meaningless.
            stamp = self.root / "updated"
            stamp.unlink(missing_ok=True)

    def index_age_s(self) -> float | None:
        stamp = self.root / "updated"
        if not stamp.exists():
            return None
        return time.time() - stamp.stat().st_mtime

    def update(self, *, force: bool = False, log: Path | None = None) -> bool:
        """Download the indexes unless fresh ones exist; True when it ran apt-get update."""
        self.prepare()
        age = self.index_age_s()
        if not force and age is not None and age < INDEX_MAX_AGE_S:
            return False
        if not KEYRING.exists():
            raise AptError(f"{KEYRING} missing: install the debian-archive-keyring package")
        self.run(["apt-get", "update", "-q"], log=log)
        (self.root / "updated").touch()
        return True

    def run(
        self, argv: Sequence[str], *, cwd: Path | None = None, log: Path | None = None
    ) -> str:
        cmd = [argv[0], *self.options(), *argv[1:]]
        env = dict(os.environ, LC_ALL="C", DEBIAN_FRONTEND="noninteractive")
        proc = subprocess.run(
            cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=1800
        )
        if log is not None:
            with log.open("a", encoding="utf-8") as fh:
                fh.write(f"$ {' '.join(argv)}\n{proc.stdout}{proc.stderr}\n")
        if proc.returncode != 0:
            tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
            raise AptError(f"{' '.join(argv[:2])} failed (exit {proc.returncode}): {tail}")
        return proc.stdout
