"""``bpfconform btf check FILE --kernel V|host [--json]``: the BTF_LOAD model's verdict."""

from __future__ import annotations

import argparse
import errno
import json
import sys
from pathlib import Path

from loader.btf.validate import ENOTSUPP, check
from loader.btf.validate_facts import parse_kernel
from loader.errors import LoaderError


def _errno_name(err: int) -> str:
    if err == ENOTSUPP:
        return "ENOTSUPP"
    return errno.errorcode.get(err, str(err))


def _check(args: argparse.Namespace) -> int:
    try:
        blob = Path(args.file).read_bytes()
    except OSError as exc:
        raise LoaderError(f"{args.file}: {exc.strerror}") from None
    try:
        version = parse_kernel(args.kernel)
    except ValueError as exc:
        raise LoaderError(str(exc)) from None
    verdict = check(blob, version)
    if args.json:
        sys.stdout.write(json.dumps(verdict.as_dict()) + "\n")
    elif verdict.accepted:
        print(f"accepted (kernel {version[0]}.{version[1]})")
    else:
        assert verdict.errno is not None
        print(f"rejected: {_errno_name(verdict.errno)} ({verdict.errno}): {verdict.reason} "
              f"(kernel {version[0]}.{version[1]})")
    return 0 if verdict.accepted else 1


def register_check(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``check`` under ``bpfconform btf``."""
    p = subparsers.add_parser(
        "check", help="predict BPF_BTF_LOAD's verdict for a raw BTF blob on a kernel version"
    )
    p.add_argument("file", metavar="FILE", help="raw BTF blob")
    p.add_argument("--kernel", required=True, metavar="V",
                   help='kernel version ("6.1", "5.10.0-32-amd64") or "host"')
    p.add_argument("--json", action="store_true",
                   help='print {"accepted": bool, "errno": int|null, "reason": str}')
    p.set_defaults(func=_check)
