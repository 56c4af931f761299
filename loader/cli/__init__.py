"""The ``bpfconform`` command line.

Each subcommand lives in its own module, which exposes ``register(subparsers)``
adding its parser and setting ``func`` (called with the parsed arguments, returns
the exit status).  Add new modules to ``_SUBCOMMANDS``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from loader.errors import LoaderError

# Module paths, each with a ``register(subparsers)`` function.
_SUBCOMMANDS: tuple[str, ...] = (
    "loader.cli.btf",
    "loader.cli.generate",
    "loader.cli.inspect",
    "loader.cli.load",
    "loader.cli.probe",
    "fuzz.cli",
    "vm.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bpfconform",
        description="Test, fuzz and conformance harness for eBPF object loading.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in _SUBCOMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.func(args)
    except LoaderError as exc:
        print(f"bpfconform: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # `bpfconform btf dump ... | head` must not print a traceback.
        sys.stderr.close()
        return 0
    except OSError as exc:
        # A missing or unreadable input, an unwritable --out: an ordinary user
        # error, named with its path, not a traceback.
        where = f"{exc.filename}: " if exc.filename is not None else ""
        print(f"bpfconform: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1
    return status


if __name__ == "__main__":
    sys.exit(main())
