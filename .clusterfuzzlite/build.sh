#!/bin/bash -eu
# Build every bpfconform fuzz target for ClusterFuzzLite / OSS-Fuzz (libFuzzer +
# atheris).  Runs inside the base-builder-python image, where $SRC, $OUT and
# compile_python_fuzzer (PyInstaller packaging of one fuzzer script) are given.
#
# Per target NAME it writes $OUT/NAME (via compile_python_fuzzer),
# $OUT/NAME_seed_corpus.zip (corpus/ and seeds cut from the corpus objects) and
# $OUT/NAME.options (max_len, per-input timeout, rss limit).
cd "$SRC/bpfconform"
pip3 install .

# libbpf_diff needs libbpf.so.1 at run time, which the runner image lacks.
SKIP=" libbpf_diff "
gen="$(mktemp -d)"
python3 - "$gen" "$SKIP" <<'PY'
import sys, zipfile
from pathlib import Path

from fuzz import seeds, targets

out, skip = Path(sys.argv[1]), sys.argv[2].split()
for name, info in targets.TARGETS.items():
    if name in skip:
        continue
    try:
        targets.load(name)
    except targets.TargetUnavailable as exc:
        print(f"skipping {name}: {exc}")
        continue
    # PyInstaller follows static imports only, so the entry imports the target
    # module by name; instrument_imports gives the loader coverage feedback.
    (out / f"{name}.py").write_text(
        "import sys\n\nimport atheris\n\n"
        "with atheris.instrument_imports(include=['loader', 'fuzz.targets']):\n"
        f"    from fuzz.targets import {name} as target\n\n\n"
        "def main() -> None:\n"
        "    mutator = getattr(target, 'custom_mutator', None)\n"
        "    kwargs = {'custom_mutator': mutator} if mutator else {}\n"
        "    atheris.Setup(sys.argv, target.TestOneInput, **kwargs)\n"
        "    atheris.Fuzz()\n\n\n"
        "if __name__ == '__main__':\n"
        "    main()\n"
    )
    with zipfile.ZipFile(out / f"{name}_seed_corpus.zip", "w") as zf:
        for i, blob in enumerate(seeds.seeds_for(name)):
            zf.writestr(f"seed-{i:04d}", blob)
    (out / f"{name}.options").write_text(
        f"[libfuzzer]\nmax_len = {info.max_len}\ntimeout = 10\nrss_limit_mb = 2560\n")
    print(f"generated {name}")
PY

for entry in "$gen"/*.py; do
    name="$(basename "$entry" .py)"
    compile_python_fuzzer "$entry"
    cp "$gen/${name}_seed_corpus.zip" "$gen/${name}.options" "$OUT/"
done
