"""Subprogram linking: each program gets the code of every function it reaches.

The kernel loads one instruction stream per program, so bpf2bpf callees and
callbacks (ld_imm64 function pointers) are appended after the program's own
code, each once, and transitively.  The order is libbpf's (its
bpf_object__reloc_code): walking a function's instructions, the first
reference to a function not yet appended appends it and walks it at once,
before the rest of the caller, i.e. depth first in call-site order.  The
order matters beyond taste: the kernel's program tag hashes the submitted
instructions, so only the same order gives the same tag as a libbpf load.
Appended instructions are copies: programs never share an Instruction
object, so fixing call offsets in one cannot disturb another.

The functions are the loader's unlinked ProgramSpecs (one per function, see
``ProgramSpec.function``): their ``_callees`` were collected at open.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NoReturn

from loader.asm.instruction import Instruction
from loader.collection.spec import FunctionCode, ProgramSpec
from loader.errors import RelocationError


def link(program: ProgramSpec, functions: dict[str, ProgramSpec]) -> list[ProgramSpec]:
    """The functions to append to ``program``, in order.  Each starts at the
    index that the code before it adds up to (the program's own instructions,
    then each appended function's)."""
    refs = program._callees
    if not refs:
        return []  # most programs call nothing: no walk
    # By name (unique among the functions; a ProgramSpec is unhashable).  The
    # walk reads the callee lists as collected, repeats and all: a repeat (or
    # a call to the program itself) is already seen when the walk meets it, so
    # no deduplicated copy of each list is built.
    seen = {program.name}
    add = seen.add
    order: list[ProgramSpec] = []
    append = order.append
    # An explicit stack of iterators rather than recursion: call chains in
    # fuzzed objects can be longer than Python's recursion limit.  Each loop
    # resumes the innermost walk where it stopped.
    stack: list[Iterator[str]] = [iter(refs)]
    while stack:
        for name in stack[-1]:
            if name not in seen:
                add(name)
                fn = functions.get(name)
                if fn is None:
                    _undefined(program, functions)
                append(fn)
                refs = fn._callees
                if refs:
                    stack.append(iter(refs))
                    break
        else:
            stack.pop()
    return order


def _undefined(program: ProgramSpec, functions: dict[str, ProgramSpec]) -> NoReturn:
    """Raise the error for a program that reaches a call to a function no one
    defines: the walk that builds each function's deduplicated callee list
    before walking it, and raises for the first undefined name of a list as
    it is built, names the one to report."""
    seen = {program.name}
    stack = [iter(_callees_of(program, functions))]
    while stack:
        for fn in stack[-1]:
            if fn.name not in seen:
                seen.add(fn.name)
                if fn._callees:
                    stack.append(iter(_callees_of(fn, functions)))
                    break
        else:
            stack.pop()
    raise AssertionError("a call to an undefined function, yet every callee is defined")


def _callees_of(fn: ProgramSpec, functions: dict[str, ProgramSpec]) -> list[ProgramSpec]:
    """The functions ``fn`` references, each once, in order of first reference."""
    found = []
    for name in dict.fromkeys(fn._callees):
        callee = functions.get(name)
        if callee is None:
            raise RelocationError(
                f"section {fn.section}: function {fn.name!r} calls {name!r}, "
                f"which is not defined in this object"
            )
        found.append(callee)
    return found


def copy_instructions(code: FunctionCode, index: int) -> list[Instruction]:
    """Copies of the instructions of function ``index`` of ``code``."""
    return [ins.copy() for ins in code.instructions_of(index)]
