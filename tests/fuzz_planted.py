"""A fuzz target with three planted bugs, to prove the fuzz machinery catches them.

Inputs starting with ``BPF`` reach a parser-like function that raises
``IndexError`` when the fourth byte is ``!``, ``ZeroDivisionError`` when it is
``?``, and loops forever when it is ``#``.  Everything else is rejected with a
``LoaderError`` (which must not count as a finding) or accepted.  The padding
rule (any byte after the fourth is ignored) gives -minimize_crash work to do.
"""

from __future__ import annotations

from loader.errors import ELFError, LoaderError


def _parse(data: bytes) -> int:
    if len(data) < 4 or data[:3] != b"BPF":
        raise ELFError(f"bad magic {data[:3]!r}")
    tag = data[3]
    if tag == ord("!"):
        return data[len(data) + 10]  # planted bug 1: IndexError
    if tag == ord("#"):
        while tag:  # planted bug 3: a hang
            tag = (tag * 7) % 253 or 1
    if tag == ord("?"):
        return 1 // (tag - ord("?"))  # planted bug 2: ZeroDivisionError
    return tag


def TestOneInput(data: bytes) -> None:
    try:
        _parse(data)
    except LoaderError:
        pass
