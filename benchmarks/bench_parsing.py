"""Parsing benchmark: how long the suites' TextFSM parsing of CLI text takes.

    .venv/bin/python benchmarks/bench_parsing.py

Parses the largest stored sample (a 15.x ``show crypto ipsec sa``) and the
document's own outputs with the project's templates. Prints numbers.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from suites.parsing import parse  # noqa: E402

SAMPLES = ROOT / "tests" / "samples"
CASES = [
    ("show crypto ipsec sa", "genie_show_crypto_ipsec_sa_15.x.txt"),
    ("show crypto ipsec sa", "doc14131_show_crypto_ipsec_sa_hub.txt"),
    ("show crypto isakmp sa", "ref_1.1_isakmp_sa_12.4_two_peers.txt"),
    ("show interfaces", "doc14131_show_interface_serial0_after_ipcp.txt"),
]


def main() -> None:
    for command, name in CASES:
        path = SAMPLES / name
        text = path.read_text()
        runs = []
        for _ in range(3):
            n = 50
            start = time.perf_counter()
            for _ in range(n):
                records = parse(command, text)
            runs.append((time.perf_counter() - start) / n * 1e3)
        print(f"{command} ({name}, {len(text):,} chars, {len(records)} records): "
              f"{statistics.median(runs):.2f} ms per parse (runs: {', '.join(f'{r:.2f}' for r in runs)})")


if __name__ == "__main__":
    main()
