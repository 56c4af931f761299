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

from loader.asm.instruction import Instruction
from loader.collection.spec import FunctionCode, ProgramSpec
from loader.errors import RelocationError


def link(program: ProgramSpec, functions: dict[str, ProgramSpec],
         callees: dict[str, list[ProgramSpec]]) -> list[ProgramSpec]:
    """The functions to append to ``program``, in order.  Each starts at the
    index that the code before it adds up to (the program's own instructions,
    then each appended function's)."""
    if not program._callees:
        return []  # most programs call nothing: no walk
    first = callees_of(program, functions, callees)
    for fn in first:
        if fn._callees:
            break
    else:
        # The usual graph: what the program calls calls nothing.  The list
        # has no repeats; only a call to itself is left out.
        return [fn for fn in first if fn is not program]
    # By name (unique among the functions; a ProgramSpec is unhashable).
    seen = {program.name}
    order: list[ProgramSpec] = []
    # An explicit stack of iterators rather than recursion: call chains in
    # fuzzed objects can be longer than Python's recursion limit.  Each loop
    # resumes the innermost walk where it stopped.
    stack: list[Iterator[ProgramSpec]] = [iter(first)]
    while stack:
        for fn in stack[-1]:
            name = fn.name
            if name not in seen:
                seen.add(name)
                order.append(fn)
                if fn._callees:
                    stack.append(iter(callees_of(fn, functions, callees)))
                    break
        else:
            stack.pop()
    return order


def callees_of(fn: ProgramSpec, functions: dict[str, ProgramSpec],
               cache: dict[str, list[ProgramSpec]]) -> list[ProgramSpec]:
    """The functions ``fn`` references, each once, in order of first reference
    (a repeat is already seen when the walk meets it again)."""
    found = cache.get(fn.name)
    if found is None:
        # Collected at open from the relocations: no instruction is decoded.
        found = []
        for name in dict.fromkeys(fn._callees):
            callee = functions.get(name)
            if callee is None:
                raise RelocationError(
                    f"section {fn.section}: function {fn.name!r} calls {name!r}, "
                    f"which is not defined in this object"
                )
            found.append(callee)
        cache[fn.name] = found
    return found


def copy_instructions(code: FunctionCode, index: int) -> list[Instruction]:
    """Copies of the instructions of function ``index`` of ``code``."""
    return [ins.copy() for ins in code.instructions_of(index)]
