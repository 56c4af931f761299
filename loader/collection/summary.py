"""A CollectionSpec as JSON-ready data: what ``bpfconform inspect --json`` prints
and what ``corpus/expected/NAME.json`` stores.

Independent of byte order on purpose (the big-endian twin of an object must
summarise identically), and with libbpf's names for types.
"""

from __future__ import annotations

import hashlib
from typing import Any

from loader.asm.instruction import slot_count
from loader.collection.spec import CollectionSpec, MapSpec, ProgramSpec
from loader.errors import UnsupportedError
from loader.uapi import attach_type_name, map_type_name, prog_type_name

# Contents longer than this are summarised by length and digest.
INLINE_BYTES = 64


def _name(fn: Any, value: int) -> str:
    try:
        name: str = fn(value)
    except UnsupportedError:
        return f"unknown({value})"
    return name


def _blob(data: bytes) -> str | dict[str, Any]:
    if len(data) <= INLINE_BYTES:
        return data.hex()
    return {"len": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def summarize_map(m: MapSpec) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": _name(map_type_name, m.type),
        "key_size": m.key_size,
        "value_size": m.value_size,
        "max_entries": m.max_entries,
        "flags": m.flags,
        "pinning": m.pinning,
        "map_extra": m.map_extra,
        "numa_node": m.numa_node,
        "section": m.section,
        "btf_key": m.key_type_id != 0,
        "btf_value": m.value_type_id != 0,
        "inner": summarize_map(m.inner) if m.inner is not None else None,
        "contents": [
            [kv.key, kv.value if isinstance(kv.value, str) else _blob(kv.value)]
            for kv in m.contents
        ],
        "freeze": m.freeze,
    }
    if m.struct_ops:
        out["struct_ops"] = {
            mem.member: {"index": mem.index, "offset": mem.offset, "program": mem.program}
            for mem in m.struct_ops
        }
    if m.legacy:
        out["legacy"] = True
        out["extra"] = m.extra.hex()
    return out


def summarize_program(p: ProgramSpec) -> dict[str, Any]:
    refs = sorted({i.reference for i in p.instructions if i.reference is not None})
    return {
        "section": p.section,
        "type": _name(prog_type_name, p.type),
        "attach_type": _name(attach_type_name, p.attach_type) if p.attach_type else None,
        "attach_to": p.attach_to,
        "flags": p.flags,
        "autoload": p.autoload,
        "insn_slots": p.insn_slots,
        "linked": list(p.linked),
        "linked_slots": slot_count(p.instructions),
        "references": refs,
        "func_infos": len(p.func_infos),
        "line_infos": len(p.line_infos),
        "core_relos": len(p.core_relos),
    }


def summarize(spec: CollectionSpec) -> dict[str, Any]:
    btf = spec.btf
    return {
        "license": spec.license,
        "kernel_version": spec.kernel_version,
        "programs": {n: summarize_program(spec.programs[n]) for n in sorted(spec.programs)},
        "functions": sorted(spec.functions),
        "maps": {n: summarize_map(spec.maps[n]) for n in sorted(spec.maps)},
        "variables": {
            n: {
                "section": v.section, "offset": v.offset, "size": v.size,
                "value": _blob(v.value), "btf": v.type_id != 0,
            }
            for n, v in sorted(spec.variables.items())
        },
        "externs": {
            n: {
                "kind": e.kind, "what": e.what, "weak": e.weak, "typed": e.typed,
                "offset": e.offset, "size": e.size,
            }
            for n, e in sorted(spec.externs.items())
        },
        "btf": {"types": len(btf)} if btf is not None else None,
    }
