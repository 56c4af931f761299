"""One fuzzing process: ``python -m fuzz.driver SELF TARGET MUTATOR [libFuzzer flags]``.

The runner never calls this directly but through a generated shell wrapper that
passes its own path as SELF.  libFuzzer re-executes ``argv[0]`` through ``system()``
for ``-minimize_crash``, ``-fork`` and ``-jobs``, so ``argv[0]`` must be a command that
restarts this very target; ``python`` plus a script path would not be.
"""

from __future__ import annotations

import os
import resource
import sys

from fuzz import targets

# Environment knobs set by the runner (and usable by hand).
ENV_AS_LIMIT_MB = "BPFCONFORM_FUZZ_AS_LIMIT_MB"


def _limit_address_space() -> None:
    # libFuzzer's -rss_limit_mb only samples RSS once a second and never sees an
    # allocation that is reserved but untouched; an address-space limit turns an
    # input that asks for gigabytes into an immediate MemoryError, which escapes the
    # target's LoaderError filter and is reported with a Python traceback.
    limit_mb = os.environ.get(ENV_AS_LIMIT_MB)
    if limit_mb:
        limit = int(limit_mb) * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def main(argv: list[str]) -> None:
    self_path, target, mutator, *flags = argv
    import atheris  # type: ignore[import-untyped]

    name = targets.module_name(target)
    with atheris.instrument_imports(include=["loader", name]):
        module = targets.load(target)
        extra = getattr(module, "INSTRUMENT", ())
    for package in extra:
        # Packages the target imports lazily (an oracle module) are instrumented here.
        with atheris.instrument_imports(include=[package]):
            __import__(package)
    kwargs = {}
    custom = getattr(module, "custom_mutator", None)
    if mutator == "structure" and custom is not None:
        kwargs["custom_mutator"] = custom
    _limit_address_space()
    atheris.Setup([self_path, *flags], module.TestOneInput, **kwargs)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv[1:])
