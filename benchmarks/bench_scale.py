"""Scale benchmark: generated hub-and-spoke labs of 1, 3 and 9 spokes: boot, every tunnel up, then
tunnelled echoes from every spoke.

    .venv/bin/python benchmarks/bench_scale.py

Prints wall-clock numbers; no assertion.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emulator.cli.session import CliSession  # noqa: E402
from emulator.lab.generate import Design, write_lab  # noqa: E402
from emulator.lab.labfile import Lab  # noqa: E402


def run(spokes: int, echoes: int = 100) -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        write_lab(Design(spokes=spokes), tmp)
        start = time.perf_counter()
        lab = Lab.from_file(Path(tmp) / "lab.yml")
        boot = time.perf_counter() - start
        sessions = [CliSession(lab.device(f"spoke{k}"), privileged=True, line="console")
                    for k in range(1, spokes + 1)]
        start = time.perf_counter()
        for k, session in enumerate(sessions, 1):
            session.execute(f"ping 172.16.0.1 source 172.16.{k}.1 repeat 5")       # IKE, then echoes
        tunnels = time.perf_counter() - start
        start = time.perf_counter()
        for k, session in enumerate(sessions, 1):
            out = session.execute(f"ping 172.16.0.1 source 172.16.{k}.1 repeat {echoes} timeout 1")
            assert f"({echoes}/{echoes})" in out, out[-200:]
        rate = spokes * echoes / (time.perf_counter() - start)
        lab.close()
    return boot, tunnels, rate


def main() -> None:
    print(f"{'spokes':>6} {'boot ms':>9} {'tunnels up ms':>14} {'echoes/s':>9}")
    for spokes in (1, 3, 9):
        boot, tunnels, rate = run(spokes)
        print(f"{spokes:>6} {boot * 1000:>9.1f} {tunnels * 1000:>14.1f} {rate:>9.0f}")


if __name__ == "__main__":
    main()
