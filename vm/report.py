"""Rendering the merged matrix: a terminal table and a self-contained HTML page."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from vm import verdicts
from vm.verdicts import Cell

CellFn = Callable[[dict[str, Any], str], Cell]

LEGEND = ("+ supported/loaded   - unsupported below its claimed minimum / not loaded   "
          "X claim violation   a allowlisted   ? undecided   . not run   "
          "= model agrees   ! model disagrees   "
          "B bpftool loads, we do not   o we load, bpftool does not")

_COLOURS = {
    "yes": "#c8f0c8", "no": "#e8e8e8", "violation": "#ff8080", "allowed": "#ffe08a",
    "unknown": "#c8d8ff", "absent": "#ffffff", "agree": "#c8f0c8", "disagree": "#ff8080",
    "info": "#d0ecff",
}


def _sections(merged: dict[str, Any]) -> list[tuple[str, str, CellFn]]:
    allowlist = merged.get("allowlist", {})

    def probe(result: dict[str, Any], name: str) -> Cell:
        return verdicts.probe_cell(result, name, allowlist)

    def obj(result: dict[str, Any], name: str) -> Cell:
        return verdicts.object_cell(result, name, allowlist)

    return [
        ("probes", "Feature probes", probe),
        ("objects", "Corpus objects: ours vs bpftool prog loadall", obj),
        ("btf_cases", "BTF cases: kernel model vs BTF_LOAD", verdicts.btf_case_cell),
    ]


def _unavailable_note(results: dict[str, dict[str, Any]], section: str) -> str:
    notes = {str(r.get(section, {}).get("status")) for r in results.values()
             if r.get("status") == "ok" and isinstance(r.get(section), dict)
             and "status" in r[section]}
    return "; ".join(sorted(notes))


def terminal(merged: dict[str, Any]) -> str:
    results: dict[str, dict[str, Any]] = merged["results"]
    labels = list(results)
    width = max([len(label) for label in labels] + [4])
    lines: list[str] = []
    head = "kernel".ljust(34) + " ".join(label.rjust(width) for label in labels)
    for key, title, cell_fn in _sections(merged):
        rows = verdicts.row_names(results, key)
        lines.append(f"== {title}")
        if not rows:
            note = _unavailable_note(results, key) or "no results"
            lines.append(f"   ({note})")
            continue
        lines.append(head)
        for row in rows:
            cells = [cell_fn(results[label], row).text.rjust(width) for label in labels]
            lines.append(row[:33].ljust(34) + " ".join(cells))
    lines.append(LEGEND)
    lines.append("")
    lines.append("== Kernels")
    for label, result in results.items():
        k = result.get("kernel") or {}
        t = result.get("timing") or {}
        pkg = f"{k.get('package', '')} {k.get('package_version', '')}".strip() or "-"
        times = " ".join(f"{name}={t[name + '_s']:.1f}s" for name in ("fetch", "boot", "agent",
                                                                        "total")
                         if isinstance(t.get(name + "_s"), int | float))
        status = result.get("status")
        lines.append(f"{label:>8}  {status:6}  {k.get('release', '?'):28} {pkg:50} {times}")
        if status != "ok":
            lines.append(f"          failure: {result.get('failure')}")
            tail = (result.get("console_tail") or "").splitlines()[-8:]
            lines.extend(f"          | {t_line}" for t_line in tail)
    diff = merged.get("differing_probes", {})
    lines.append("")
    lines.append(f"== Probes whose support differs between kernels: {len(diff)}")
    for probe, answers in diff.items():
        lines.append(f"   {probe}: " + ", ".join(f"{k}={v}" for k, v in answers.items()))
    found = merged.get("findings", [])
    lines.append("")
    lines.append(f"== Findings: {len(found)} ({sum(1 for f in found if not f['allowlisted'])}"
                 " blocking)")
    for f in found:
        mark = "allowlisted" if f["allowlisted"] else "BLOCKING"
        lines.append(f"   [{mark}] {f['kind']} {f['kernel']} {f['subject']}: {f['detail']}")
    info = verdicts.object_info(merged["results"])
    lines.append("")
    lines.append(f"== Objects we load and bpftool does not (informational): {len(info)}")
    for i in info:
        lines.append(f"   {i['kernel']} {i['subject']}: {i['detail']}")
    return "\n".join(lines)


_CSS = """
body { font-family: sans-serif; font-size: 13px; margin: 1em 2em; }
table { border-collapse: collapse; margin-bottom: 1.5em; }
th, td { border: 1px solid #bbb; padding: 2px 6px; }
td.cell { text-align: center; font-family: monospace; min-width: 3em; }
th.row { text-align: left; font-weight: normal; font-family: monospace; }
pre { background: #f4f4f4; padding: 0.5em; max-height: 20em; overflow: auto; }
""" + "".join(f"td.{name} {{ background: {colour}; }}\n" for name, colour in _COLOURS.items())


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def html_page(merged: dict[str, Any]) -> str:
    results: dict[str, dict[str, Any]] = merged["results"]
    labels = list(results)
    out: list[str] = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        "<title>bpfconform kernel matrix</title>", f"<style>{_CSS}</style>", "</head>",
        "<body>", "<h1>bpfconform kernel matrix</h1>",
        f"<p>generated {_e(merged.get('generated_at', ''))}, accelerator "
        f"{_e(merged.get('accel', ''))}, total {_e(merged.get('total_s', ''))} s</p>",
        f"<p>{_e(LEGEND)}</p>",
    ]
    out.append("<h2>Kernels</h2>")
    out.append("<table><tr><th>kernel</th><th>status</th><th>release</th><th>package</th>"
               "<th>fetch s</th><th>boot s</th><th>agent s</th><th>total s</th></tr>")
    for label, result in results.items():
        k = result.get("kernel") or {}
        t = result.get("timing") or {}
        css = "yes" if result.get("status") == "ok" else "violation"
        out.append(
            f"<tr><th class=\"row\">{_e(label)}</th>"
            f"<td class=\"cell {css}\" title=\"{_e(result.get('failure') or 'ok')}\">"
            f"{_e(result.get('status'))}</td><td>{_e(k.get('release', ''))}</td>"
            f"<td>{_e(k.get('package', ''))} {_e(k.get('package_version', ''))}</td>"
            + "".join(f"<td>{_e(t.get(n + '_s', ''))}</td>"
                      for n in ("fetch", "boot", "agent", "total"))
            + "</tr>"
        )
    out.append("</table>")
    for key, title, cell_fn in _sections(merged):
        out.append(f"<h2>{_e(title)}</h2>")
        rows = verdicts.row_names(results, key)
        if not rows:
            out.append(f"<p>{_e(_unavailable_note(results, key) or 'no results')}</p>")
            continue
        out.append(f'<table id="{_e(key)}"><tr><th>{_e(key)}</th>'
                   + "".join(f"<th>{_e(label)}</th>" for label in labels) + "</tr>")
        for row in rows:
            cells = []
            for label in labels:
                cell = cell_fn(results[label], row)
                cells.append(f'<td class="cell {cell.css}" title="{_e(cell.title)}">'
                             f"{_e(cell.text)}</td>")
            out.append(f'<tr><th class="row">{_e(row)}</th>{"".join(cells)}</tr>')
        out.append("</table>")
    found = merged.get("findings", [])
    out.append(f"<h2>Findings ({len(found)})</h2><ul>")
    for f in found:
        mark = "allowlisted: " + f["allowlisted"] if f["allowlisted"] else "BLOCKING"
        out.append(f"<li>[{_e(mark)}] {_e(f['kind'])} {_e(f['kernel'])} {_e(f['subject'])}: "
                   f"{_e(f['detail'])}</li>")
    out.append("</ul>")
    info = verdicts.object_info(results)
    out.append(f"<h2>Objects we load and bpftool does not, informational ({len(info)})</h2><ul>")
    out.extend(f"<li>{_e(i['kernel'])} {_e(i['subject'])}: {_e(i['detail'])}</li>"
               for i in info)
    out.append("</ul>")
    for label, result in results.items():
        if result.get("status") != "ok":
            out.append(f"<h3>{_e(label)}: {_e(result.get('failure'))}</h3>"
                       f"<pre>{_e(result.get('console_tail') or '')}</pre>")
    out += ["</body>", "</html>", ""]
    return "\n".join(out)
