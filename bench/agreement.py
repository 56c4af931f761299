"""``python -m bench.agreement [N]``: model vs host kernel BTF_LOAD over N generated
blobs (half valid, half invalid, as ``bpfconform generate btf`` makes them), and
generation speed in blobs per second."""

from __future__ import annotations

import random
import sys
import time
from collections import Counter


def main(argv: list[str] | None = None) -> int:
    from conformance import generators as g
    from loader.btf.validate import check
    from loader.errors import KernelError
    from loader.kernel import bpf

    n = int((argv or sys.argv[1:] or ["10000"])[0])
    blobs: list[bytes] = []
    t0 = time.perf_counter()
    for i in range(n):
        rng = random.Random(f"0:{i}")
        if rng.random() < 0.5:
            blobs.append(g.random_invalid_btf(rng, kernel="host").blob)
        else:
            blobs.append(g.random_btf(rng, kernel="host").encode("<"))
    gen_s = time.perf_counter() - t0
    agree = 0
    disagreements: Counter[str] = Counter()
    for blob in blobs:
        model = check(blob, "host")
        try:
            bpf.btf_load(blob).close()
            kernel: tuple[bool, int | None] = (True, None)
        except KernelError as exc:
            kernel = (False, exc.errno)
        if (model.accepted, model.errno) == kernel:
            agree += 1
        else:
            disagreements[f"model {model.errno} ({model.reason}) kernel {kernel[1]}"] += 1
    print(f"blobs: {n}")
    print(f"agreement model vs kernel BTF_LOAD: {agree}/{n} = {100.0 * agree / n:.2f}%")
    print(f"generation: {n / gen_s:.0f} blobs/s ({gen_s:.2f} s)")
    for what, count in disagreements.most_common(10):
        print(f"  disagreement x{count}: {what}")
    return 0 if agree == n else 1


if __name__ == "__main__":
    sys.exit(main())
