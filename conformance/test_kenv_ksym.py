"""kenv.ksym_address: the targeted /proc/kallsyms lookup agrees with the full parse."""

from __future__ import annotations

import random

from loader.kernel import kenv


def test_ksym_address_matches_the_full_parse():
    full = kenv.kallsyms()
    names = sorted(full)
    sample = random.Random(0).sample(names, min(300, len(names)))
    # Symbols listed more than once (first wins) and module symbols ("name\t[mod]").
    text = kenv._kallsyms_text()
    counts: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3:
            counts[parts[2]] = counts.get(parts[2], 0) + 1
    sample += [n for n, c in counts.items() if c > 1][:100]
    sample += [line.split()[2] for line in text.splitlines() if "\t[" in line][:100]
    sample += ["schedule", "bpf_prog_active"]
    for name in sample:
        assert kenv.ksym_address(name) == full.get(name), name
    # Names that are only substrings or suffixes of real symbols are absent.
    assert kenv.ksym_address("chedule") == full.get("chedule")
    assert kenv.ksym_address("bpfconform_no_such_symbol") is None
