"""Configuration loading benchmark: load time against the number of access-list lines.

    .venv/bin/python benchmarks/bench_config.py

Loads configurations of 1,000, 8,000 and 50,000 extended access-list lines
(distinct entries, one list) and prints the best of three loads (wall and CPU
time) with the time per line, which stays flat when loading is linear.
Asserts nothing but that every line was loaded.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emulator.config.loader import load_config  # noqa: E402

SIZES = (1_000, 8_000, 50_000, 100_000)
RUNS = 3


def config_text(lines: int) -> str:
    body = [f"access-list 101 permit tcp host 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255} any eq {i % 1000 + 1}"
            for i in range(lines)]
    return "\n".join(["hostname bench", *body, "end"])


def main() -> None:
    for lines in SIZES:
        text = config_text(lines)
        wall, cpu = [], []
        for _ in range(RUNS):
            start_wall, start_cpu = time.perf_counter(), time.process_time()
            cfg, errors = load_config(text, "bench.cfg", ["Ethernet0", "Serial0"])
            wall.append(time.perf_counter() - start_wall)
            cpu.append(time.process_time() - start_cpu)
            assert not errors and len(cfg.access_lists["101"].entries) == lines
        print(f"{lines:>6,} access-list lines: {min(wall):.3f} s wall, {min(cpu):.3f} s CPU "
              f"({min(cpu) / lines * 1e6:.1f} us per line; best of {RUNS})")


if __name__ == "__main__":
    main()
