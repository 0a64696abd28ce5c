"""Measure what a benefits extract costs: reading and joining it, and pricing with dated circumstances.

    MFR_PSEUDONYM_KEY=... .venv/bin/python tools/bench_benefits.py EXTRACT [--months 2026-01:2026-12]

EXTRACT is a folder written by `mfr generate --benefits` (the registry's tables and the benefits
tables side by side). Each variant runs in a fresh process (its own peak memory): pricing the
registry alone, and pricing it with the benefits extract; the load average is printed beside.
The nightly end to end is `mfr run` on a spec naming `benefits:` (see the final report).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time


def _variant(extract: str, months: tuple[str, str], with_benefits: bool) -> dict[str, float]:
    import engine
    from engine.benefits import read_benefits
    from engine.benefits import with_benefits as attach

    started = time.perf_counter()
    registry = engine.read_registry(extract)
    read = time.perf_counter()
    if with_benefits:
        registry = attach(registry, read_benefits(extract, registry, extract))
    joined = time.perf_counter()
    model = engine.load_funding_model("models/funding/baseline")
    ent = engine.compute_entitlements(registry, model, engine.load_territories(), months=months)
    done = time.perf_counter()
    return {
        "read_registry_s": read - started,
        "read_join_benefits_s": joined - read,
        "price_s": done - joined,
        "segments": ent.n_segments,
        "case_months": ent.case_months.height,
        "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
    }


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        extract, first, last, flag = sys.argv[2:6]
        print(json.dumps(_variant(extract, (first, last), flag == "1")))
        return
    extract = sys.argv[1]
    months = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--months" else "2026-01:2026-12"
    first, last = months.split(":")
    for flag, name in (
        ("0", "registry alone"),
        ("1", "with benefits"),
        ("0", "registry alone"),
        ("1", "with benefits"),
    ):
        load = os.getloadavg()[0]
        out = subprocess.run(
            [sys.executable, __file__, "--child", extract, first, last, flag],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        print(f"{name:15s} load {load:5.1f} {out.strip()}")


if __name__ == "__main__":
    main()
