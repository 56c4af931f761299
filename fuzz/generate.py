"""Seeds cut out of the corpus objects: .BTF, .BTF.ext and program sections.

corpus/btf holds hand-made blobs; real compiler output is the better start for
the BTF, .BTF.ext and instruction targets, and every corpus object carries it.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from loader.elf import ELFFile
from loader.errors import LoaderError

_OBJ = Path(__file__).resolve().parent.parent / "corpus" / "obj"


def _objects() -> Iterator[ELFFile]:
    for path in sorted(_OBJ.glob("*.o")):
        try:
            yield ELFFile(path.read_bytes())
        except LoaderError:
            continue


def btf_ext_input(order: str, strings: bytes, ext: bytes) -> bytes:
    """The btf_ext target's input layout: order byte, u16 string length, strings, ext."""
    return bytes([1 if order == "<" else 0]) + len(strings).to_bytes(2, "little") + strings + ext


def stripped_objects() -> Iterator[bytes]:
    """Corpus objects without .debug_* (BTF stays): seed-sized ELF inputs.

    The debug sections make up 90% of an object and no eBPF loader reads them;
    fuzzing 300 KB inputs would spend the time copying DWARF.
    """
    strip = shutil.which("llvm-strip") or shutil.which("llvm-strip-14")
    with tempfile.TemporaryDirectory() as tmp:
        for path in sorted(_OBJ.glob("*.o")):
            if strip is None:
                yield path.read_bytes()
                continue
            out = Path(tmp) / path.name
            done = subprocess.run([strip, "-g", "-o", str(out), str(path)],
                                  capture_output=True, check=False)
            yield out.read_bytes() if done.returncode == 0 else path.read_bytes()


def generated_btf(count: int = 16) -> Iterator[bytes]:
    """Valid and invalid-by-one-rule blobs from the hypothesis generators' seeded twins."""
    try:
        from conformance.generators import random_btf, random_invalid_btf
    except ImportError:
        return
    rng = random.Random(0)
    for i in range(count):
        yield random_btf(rng, max_types=20).encode("<" if i % 2 else ">")
        yield random_invalid_btf(rng).blob


def seeds(target: str) -> Iterator[bytes]:
    if target in ("elf", "elf_container", "libbpf_diff"):
        yield from stripped_objects()
        return
    if target == "btf_gen":
        # Choice sequences for hypothesis: any bytes are valid; byte 0 picks the property.
        rng = random.Random(0)
        for i in range(16):
            yield bytes([i & 1]) + rng.randbytes(256 * (1 + i % 4))
        return
    if target in ("btf", "btf_model"):
        yield from generated_btf()
    for elf in _objects():
        btf = elf.section_by_name(".BTF")
        if target in ("btf", "btf_model") and btf is not None:
            yield bytes(btf.data())
        elif target == "btf_ext" and btf is not None:
            ext = elf.section_by_name(".BTF.ext")
            if ext is None:
                continue
            raw = bytes(btf.data())
            order = elf.byte_order
            hdr_len, _to, _tl, str_off, str_len = (
                int.from_bytes(raw[i:i + 4], "little" if order == "<" else "big")
                for i in (4, 8, 12, 16, 20)
            )
            strings = raw[hdr_len + str_off:hdr_len + str_off + str_len]
            if len(strings) <= 0xFFFF:
                yield btf_ext_input(order, strings, bytes(ext.data()))
        elif target == "asm":
            for sec in elf.sections:
                if sec.is_executable and sec.size <= 4096:
                    yield bytes([1 if elf.byte_order == "<" else 0]) + bytes(sec.data())
