"""Kernel spec resolution, Debian version order, and the real private apt index.

The pure parts run in the default suite. The index tests download the Debian
package lists once into the user's cache (network, ~40 MB) and are marked vm/slow.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from vm import debver, kernels
from vm.apt import AptState

# Versions in the shapes Debian kernels use, incl. ~rc/~exp and +debN suffixes.
VERSIONS = [
    "5.10.223-1", "5.10.226-1", "5.10.9-1", "6.1.176-1", "6.1.176-1+deb12u1", "6.1.76-1",
    "6.12.117-1", "6.12.12-1~bpo12+1", "7.2.13-1", "7.2-1~exp1", "7.3~rc7-1~exp1",
    "7.3~rc10-1~exp1", "7.3-1", "1:6.1-1", "6.1.0-1", "6.1.0.0-1", "6.1a-1", "6.1+b1-1",
]


@pytest.mark.skipif(shutil.which("dpkg") is None, reason="dpkg not installed")
def test_debian_version_order_matches_dpkg():
    mismatches = []
    for a, b in itertools.combinations(VERSIONS, 2):
        ours = debver.compare(a, b)
        lt = subprocess.run(["dpkg", "--compare-versions", a, "lt", b]).returncode == 0
        eq = subprocess.run(["dpkg", "--compare-versions", a, "eq", b]).returncode == 0
        want = -1 if lt else (0 if eq else 1)
        got = (ours > 0) - (ours < 0)
        if got != want:
            mismatches.append((a, b, got, want))
    assert mismatches == []


@pytest.mark.parametrize(("spec", "kind"), [
    ("host", "host"), ("6.1", "line"), ("7.3-rc", "line"), ("6.1.176-1", "version"),
    ("7.3~rc7-1~exp1", "version"), ("linux-image-6.1.0-50-amd64", "package"),
    ("/boot/vmlinuz-6.1.0-50-amd64", "path"), ("./bzImage:./mods", "path"),
])
def test_classify(spec, kind):
    assert kernels.classify(spec) == kind


def test_classify_rejects_garbage_with_the_value():
    with pytest.raises(kernels.KernelError, match="'six'"):
        kernels.classify("six")


@pytest.mark.parametrize(("version", "line", "match"), [
    ("6.1.176-1", "6.1", True),
    ("6.12.117-1", "6.1", False),  # 6.1 is not a prefix match of 6.12
    ("6.12.117-1", "6.12", True),
    ("7.2-1~exp1", "7.2", True),
    ("7.3~rc7-1~exp1", "7.3", False),  # an rc is only picked by the -rc line
    ("7.3~rc7-1~exp1", "7.3-rc", True),
    ("7.3-1", "7.3-rc", False),
])
def test_version_matches_line(version, line, match):
    assert kernels.version_matches_line(version, line) is match


def test_parse_stanzas_folds_continuations():
    text = "Package: a\nVersion: 1\nDescription: x\n more\n\nPackage: b\nVersion: 2\n"
    assert kernels.parse_stanzas(text) == [
        {"Package": "a", "Version": "1", "Description": "x\nmore"},
        {"Package": "b", "Version": "2"},
    ]


def test_release_of_bzimage_rejects_non_kernels(tmp_path):
    junk = tmp_path / "junk"
    junk.write_bytes(b"\0" * 0x1000)
    assert kernels.release_of_bzimage(junk) is None


# --- against the real Debian index ---------------------------------------------------


def _machine_apt_snapshot() -> dict[str, float]:
    out = {}
    for d in ("/var/lib/apt/lists", "/etc/apt", "/var/cache/apt"):
        for p in Path(d).rglob("*") if Path(d).exists() else []:
            try:
                out[str(p)] = p.stat().st_mtime
            except OSError:
                pass
    return out


@pytest.fixture(scope="module")
def index():
    before = _machine_apt_snapshot()
    state = kernels.apt_state()
    state.update()
    idx = kernels.Index(state)
    idx.stanzas()
    # The private state must leave the machine's apt lists and config untouched.
    assert _machine_apt_snapshot() == before
    return idx


@pytest.mark.vm
@pytest.mark.slow
@pytest.mark.parametrize("line", ["5.10", "6.1", "6.12", "7.2", "7.3-rc"])
def test_lines_resolve_to_the_newest_generic_image(index, line):
    resolved = kernels.resolve(line, index)
    assert kernels.version_matches_line(resolved.version, line)
    assert resolved.image_package.startswith("linux-image-")
    assert not resolved.image_package.endswith(("-cloud-amd64", "-rt-amd64"))
    # newest among every generic image of that line, by dpkg's own ordering
    for stanza in index.stanzas():
        if kernels.version_matches_line(stanza["Version"], line):
            newer = subprocess.run(["dpkg", "--compare-versions", stanza["Version"], "gt",
                                    resolved.version]).returncode == 0
            assert not newer, stanza["Version"]
    names = {d.name for d in resolved.debs}
    assert all(d.size_bytes > 1_000_000 or d.name.startswith("linux-base") for d in
               resolved.debs)
    if any(n.startswith("linux-binary-") for n in names):
        # the split packaging of 7.x: vmlinuz, modules and base (config) together
        assert {n.split("-")[1] for n in names} == {"binary", "modules", "base"}
    else:
        assert names == {resolved.image_package}


@pytest.mark.vm
@pytest.mark.slow
def test_exact_version_and_package_resolve(index):
    newest = kernels.resolve("6.1", index)
    assert kernels.resolve(newest.version, index).image_package == newest.image_package
    assert kernels.resolve(newest.image_package, index).version == newest.version
    with pytest.raises(kernels.KernelError, match="no Debian generic"):
        kernels.resolve("4.19", index)


@pytest.mark.vm
@pytest.mark.slow
def test_fetched_tree_is_complete_and_release_matches_file():
    kt = kernels.fetch("6.1", progress=print)
    assert Path(kt.vmlinuz).is_file()
    assert kt.moddir and (Path(kt.moddir) / "modules.dep").is_file()
    assert kt.config and Path(kt.config).is_file()
    # our bzImage header reader vs file(1)
    out = subprocess.run(["file", "-L", kt.vmlinuz], capture_output=True, text=True).stdout
    assert f"version {kt.release} " in out
    assert kernels.release_of_bzimage(Path(kt.vmlinuz)) == kt.release
    assert any(k.root == kt.root for k in kernels.list_cached())
    # a second fetch is a cache hit: same tree, nothing downloaded
    mtime = os.stat(kt.root).st_mtime
    assert kernels.fetch("6.1").root == kt.root
    assert os.stat(kt.root).st_mtime == mtime


@pytest.mark.vm
@pytest.mark.slow
def test_local_kernel_spec_uses_the_users_files(tmp_path):
    kt = kernels.fetch("6.1")
    assert kt.moddir is not None
    local = kernels.local_tree(f"{kt.vmlinuz}:{kt.moddir}", root=tmp_path)
    assert local.release == kt.release and local.source == "local"
    assert Path(local.vmlinuz).resolve() == Path(kt.vmlinuz).resolve()
    assert (Path(local.moddir or "") / "modules.dep").is_file()


def test_private_state_options_point_inside_its_root(tmp_path):
    state = AptState(tmp_path)
    opts = state.options()
    dirs = [o.split("=", 1)[1] for o in opts if o.startswith("Dir::")]
    # absolute paths inside our root; the rest are file names relative to Dir::Cache
    assert dirs and all(d.startswith(str(tmp_path)) or "/" not in d for d in dirs)
    state.prepare()
    assert "deb.debian.org" in state.sources_list.read_text()


def _fake_tree(root: Path, name: str, release: str, version: str) -> Path:
    tree = root / "trees" / name
    tree.mkdir(parents=True)
    kt = kernels.KernelTree(release=release, vmlinuz=str(tree / "vmlinuz"), moddir=None,
                            config=None, package=name.split("_")[0], version=version,
                            source="debian", root=str(tree))
    (tree / kernels.MANIFEST).write_text(json.dumps(kt.to_json()))
    return tree


def test_prune_keeps_the_newest_of_each_line(tmp_path):
    old = _fake_tree(tmp_path, "linux-image-6.1.0-47-amd64_6.1.170-1", "6.1.0-47-amd64",
                     "6.1.170-1")
    new = _fake_tree(tmp_path, "linux-image-6.1.0-50-amd64_6.1.176-1", "6.1.0-50-amd64",
                     "6.1.176-1")
    rc = _fake_tree(tmp_path, "linux-image-7.3-amd64_7.3~rc7-1~exp1", "7.3-amd64",
                    "7.3~rc7-1~exp1")
    assert {k.version for k in kernels.list_cached(tmp_path)} == {
        "6.1.170-1", "6.1.176-1", "7.3~rc7-1~exp1"}
    removed = kernels.prune(root=tmp_path)
    assert removed == ["linux-image-6.1.0-47-amd64 6.1.170-1"]
    assert not old.exists() and new.exists() and rc.exists()
    assert kernels.prune(root=tmp_path) == []
    kernels.prune(root=tmp_path, everything=True)
    assert kernels.list_cached(tmp_path) == []
