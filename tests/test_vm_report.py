"""The HTML page is well-formed and has every cell; the terminal table marks findings."""

from __future__ import annotations

from html.parser import HTMLParser

from vm import matrix, report

VOID = {"meta", "br", "hr", "img", "input", "link"}


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.cells: dict[str, list[tuple[str, str, str]]] = {}
        self.table: str | None = None
        self._cell: tuple[str, str] | None = None
        self._text = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self.table = a.get("id")
        if tag == "td" and "cell" in (a.get("class") or "") and self.table:
            self._cell = (a.get("class") or "", a.get("title") or "")
            self._text = ""
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:]}")
            return
        self.stack.pop()
        if tag == "td" and self._cell is not None and self.table:
            self.cells.setdefault(self.table, []).append((*self._cell, self._text))
            self._cell = None

    def handle_data(self, data):
        self._text += data


def _merged():
    def res(release, probes, status="ok"):
        return {"status": status, "failure": None if status == "ok" else "timed out",
                "console_tail": None if status == "ok" else "[ 0.1] <panic> & stuff",
                "kernel": {"release": release, "package": "linux-image-x"},
                "probes": probes, "timing": {"boot_s": 1.5, "total_s": 2.0},
                "objects": {"o1": {"loaded": True, "errno": None, "log_tail": None},
                            "o2": {"loaded": False, "errno": 22, "log_tail": "R1 <invalid>"}},
                "btf_cases": {"status": "not available in this build"}}

    results = {
        "5.10": res("5.10.0-32-amd64", {
            "btf_enum64": {"supported": False, "claimed_min": "6.0", "error": "EINVAL"},
            "bpf_link": {"supported": False, "claimed_min": "5.7", "error": "E<bad>"}}),
        "6.1": res("6.1.0-50-amd64", {
            "btf_enum64": {"supported": True, "claimed_min": "6.0", "error": None},
            "bpf_link": {"supported": None, "claimed_min": "5.7", "error": "EPERM"}}),
        "7.2": res("7.2.13+deb14-amd64", {}, status="failed"),
    }
    return matrix.merge(results, {}, accel="tcg", total_s=3.0)


def test_html_is_well_formed_and_has_every_cell():
    merged = _merged()
    page = report.html_page(merged)
    checker = _Checker()
    checker.feed(page)
    checker.close()
    assert checker.errors == []
    assert checker.stack == []
    probes = checker.cells["probes"]
    objects = checker.cells["objects"]
    # rows x kernels, every one present (the failed kernel shows "." cells)
    assert len(probes) == 2 * 3
    assert len(objects) == 2 * 3
    by_class = {cls.split()[1] for cls, _title, _text in probes}
    assert {"violation", "no", "yes", "unknown", "absent"} <= by_class
    violation = [c for c in probes if "violation" in c[0]]
    assert len(violation) == 1 and "E<bad>" in violation[0][1]  # hover shows the error
    assert "&lt;panic&gt;" in page and "<panic>" not in page
    assert "not available in this build" in page


def test_terminal_table_marks_violation_and_lists_difference():
    merged = _merged()
    text = report.terminal(merged)
    link_row = next(line for line in text.splitlines() if line.startswith("bpf_link "))
    assert link_row.split()[1:] == ["X", "?", "."]
    assert "btf_enum64: 5.10=False, 6.1=True" in text
    assert "[BLOCKING] claim_violation 5.10 bpf_link" in text
    assert "[BLOCKING] kernel_failed 7.2" in text


def _merged_with_bpftool():
    def obj(ours, theirs, err):
        return {"loaded": ours, "errno": None if ours else 22,
                "log_tail": None if ours else f"ours <{err}>",
                "bpftool": {"loaded": theirs, "rc": 0 if theirs else 255,
                            "error": None if theirs else f"libbpf <{err}>"}}

    res = {"status": "ok", "failure": None, "console_tail": None,
           "kernel": {"release": "6.1.0-50-amd64"}, "probes": {}, "btf_cases": {},
           "timing": {}, "objects": {"b": obj(False, True, "b"), "o": obj(True, False, "o"),
                                     "n": obj(False, False, "n")}}
    return matrix.merge({"6.1": res}, {}, accel="tcg", total_s=1.0)


def test_object_cells_show_both_verdicts_in_terminal_and_html():
    merged = _merged_with_bpftool()
    text = report.terminal(merged)
    rows = {line.split()[0]: line.split()[1:] for line in text.splitlines()
            if line.split()[:1] in (["b"], ["o"], ["n"])}
    assert rows == {"b": ["B"], "o": ["o"], "n": ["-"]}
    assert "[BLOCKING] object_disagreement 6.1 b" in text
    assert "6.1 o: we load, bpftool does not" in text
    assert merged["blocking"] == 1 and matrix.exit_status(merged) == 1
    checker = _Checker()
    checker.feed(report.html_page(merged))
    cells = {text: (cls.split()[1], title) for cls, title, text in checker.cells["objects"]}
    assert cells["B"][0] == "disagree" and cells["o"][0] == "info"
    # hover: both errors, ours and bpftool's
    assert "ours <n>" in cells["-"][1] and "libbpf <n>" in cells["-"][1]
    assert "ours <b>" in cells["B"][1] and "bpftool: loaded" in cells["B"][1]
