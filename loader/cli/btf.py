"""``bpfconform btf dump FILE [--base FILE] [--json]``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from loader.btf.dump import dump_json, dump_raw_bytes
from loader.btf.elf import parse_elf
from loader.btf.spec import Spec, open_raw
from loader.cli.btf_check import register_check
from loader.errors import LoaderError

_ELF_MAGIC = b"\x7fELF"


def load_btf(path: str, base: Spec | None = None) -> Spec:
    """A raw BTF file or the .BTF of an ELF object, as stored (no DATASEC fix-up)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise LoaderError(f"{path}: {exc.strerror}") from None
    if data[:4] == _ELF_MAGIC:
        return parse_elf(data, fixup=False, base=base)
    return open_raw(data, base)


def _dump(args: argparse.Namespace) -> int:
    base = load_btf(args.base) if args.base else None
    spec = load_btf(args.file, base)
    if args.json:
        sys.stdout.write(json.dumps(dump_json(spec)) + "\n")
    else:
        sys.stdout.flush()
        sys.stdout.buffer.write(dump_raw_bytes(spec))
        sys.stdout.buffer.flush()
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    btf = subparsers.add_parser("btf", help="inspect BTF (raw blobs or ELF objects)")
    sub = btf.add_subparsers(dest="btf_command", metavar="ACTION", required=True)
    dump = sub.add_parser(
        "dump", help="print BTF like `bpftool btf dump file FILE` (bpftool 7.1 raw format)"
    )
    dump.add_argument("file", metavar="FILE", help="raw BTF (e.g. /sys/kernel/btf/vmlinux) or ELF")
    dump.add_argument("--base", metavar="FILE", help="base BTF for split BTF (kernel modules)")
    dump.add_argument("--json", action="store_true", help="structured output")
    dump.set_defaults(func=_dump)
    register_check(sub)
