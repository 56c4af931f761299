"""``bpfconform inspect OBJ [--json]``: what an eBPF object declares."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from loader import elf
from loader.collection import load_collection_spec
from loader.collection.summary import summarize


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "inspect", help="summarise an eBPF object: programs, maps, variables, externs, BTF"
    )
    p.add_argument("file", metavar="OBJ", help="eBPF ELF object")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_inspect)


def _inspect(args: argparse.Namespace) -> int:
    with open(args.file, "rb") as f:
        data = f.read()
    spec = load_collection_spec(data)
    summary = summarize(spec)
    if args.json:
        json.dump(summary, sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
        return 0
    sys.stdout.write(render(summary, spec.byte_order))
    sys.stdout.write(render_sizes(elf.ELFFile(data), len(data)))
    return 0


def _is_debug(name: str) -> bool:
    return name.startswith((".debug", ".rel.debug", ".rela.debug"))


def section_sizes(ef: elf.ELFFile) -> list[tuple[str, int]]:
    """(name, sh_size) of the sections a loader reads: everything but debug info,
    relocation, symbol and string tables (those are summed up separately)."""
    skip = (elf.SHT_NULL, elf.SHT_REL, elf.SHT_SYMTAB, elf.SHT_STRTAB)
    return [
        (sec.name, sec.size) for sec in ef.sections
        if sec.type not in skip and not _is_debug(sec.name)
    ]


def render_sizes(ef: elf.ELFFile, file_size: int) -> str:
    """The section size table of the text summary."""
    shown = section_sizes(ef)
    debug = [sec.size for sec in ef.sections if _is_debug(sec.name)]
    lines = ["", f"sections ({len(shown)} of {len(ef.sections)}, file {file_size} bytes):"]
    lines += [f"  {name:<40} {size:>8} bytes" for name, size in shown]
    lines.append(f"  {'debug info (' + str(len(debug)) + ' sections)':<40} {sum(debug):>8} bytes")
    return "\n".join(lines) + "\n"


def render(s: dict[str, Any], byte_order: str) -> str:
    """The human-readable form of a summary."""
    lines = [
        f"byte order: {'little' if byte_order == '<' else 'big'}-endian   "
        f"license: {s['license'] or '-'}   kernel version: {s['kernel_version']:#x}",
        f"BTF: {s['btf']['types']} types" if s["btf"] else "BTF: none",
        "",
        f"programs ({len(s['programs'])}):",
    ]
    for name, p in s["programs"].items():
        attach = f"/{p['attach_type']}" if p["attach_type"] else ""
        linked = f", +{len(p['linked'])} linked ({p['linked_slots']} slots)" if p["linked"] else ""
        off = "" if p["autoload"] else " (autoload off)"
        lines.append(
            f"  {name:<24} {p['type']}{attach:<24} sec {p['section']!r}: "
            f"{p['insn_slots']} slots{linked}{off}"
        )
    if s["functions"]:
        lines.append(f"  .text functions: {', '.join(s['functions'])}")
    lines += ["", f"maps ({len(s['maps'])}):"]
    for name, m in s["maps"].items():
        extra = []
        if m["flags"]:
            extra.append(f"flags {m['flags']:#x}")
        if m["pinning"]:
            extra.append("pinned")
        if m["inner"]:
            extra.append(f"inner {m['inner']['type']}")
        if m["contents"]:
            extra.append(f"{len(m['contents'])} initial")
        if m.get("struct_ops"):
            extra.append("ops " + " ".join(
                f"{member}={v['program']}" for member, v in m["struct_ops"].items()))
        if m.get("legacy"):
            extra.append("legacy bpf_map_def")
        lines.append(
            f"  {name:<24} {m['type']:<18} key {m['key_size']} value {m['value_size']} "
            f"max {m['max_entries']}" + (f"  ({', '.join(extra)})" if extra else "")
        )
    if s["variables"]:
        lines += ["", f"variables ({len(s['variables'])}):"]
        for name, v in s["variables"].items():
            lines.append(f"  {name:<24} {v['section']}+{v['offset']} ({v['size']} bytes)")
    if s["externs"]:
        lines += ["", f"externs ({len(s['externs'])}):"]
        for name, e in s["externs"].items():
            weak = " weak" if e["weak"] else ""
            lines.append(f"  {name:<24} {e['kind']} {e['what']}{weak}")
    return "\n".join(lines) + "\n"
