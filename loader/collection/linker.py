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
"""

from __future__ import annotations

from loader.asm.instruction import Instruction
from loader.collection.programs import Function
from loader.errors import RelocationError


def link(program: Function, functions: dict[str, Function],
         callees: dict[str, list[str]]) -> tuple[list[tuple[str, int]], list[Function]]:
    """The functions to append to ``program``: ``[(name, first index)], [Function]``."""
    if not program.callees:
        return [], []  # most programs call nothing: no walk
    seen = {program.name}
    order: list[Function] = []
    # An explicit stack of iterators rather than recursion: call chains in
    # fuzzed objects can be longer than Python's recursion limit.
    stack = [iter(callees_of(program, functions, callees))]
    while stack:
        name = next(stack[-1], None)
        if name is None:
            stack.pop()
            continue
        if name in seen:
            continue
        seen.add(name)
        fn = functions[name]
        order.append(fn)
        stack.append(iter(callees_of(fn, functions, callees)))
    placed = []
    index = program.count
    for fn in order:
        placed.append((fn.name, index))
        index += fn.count
    return placed, order


def callees_of(fn: Function, functions: dict[str, Function],
               cache: dict[str, list[str]]) -> list[str]:
    found = cache.get(fn.name)
    if found is None:
        # Collected at open from the relocations: no instruction is decoded.
        found = fn.callees
        for name in found:
            if name not in functions:
                raise RelocationError(
                    f"section {fn.section.name}: function {fn.name!r} calls {name!r}, "
                    f"which is not defined in this object"
                )
        cache[fn.name] = found
    return found


def copy_instructions(fn: Function) -> list[Instruction]:
    return [ins.copy() for ins in fn.instructions]
