"""Network benchmark: lab boot with IPCP up, echo round trips through two serial hops, bare simulator events.

    .venv/bin/python benchmarks/bench_network.py

Prints wall-clock numbers (medians of a few runs); no assertion.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emulator.cli.session import CliSession  # noqa: E402
from emulator.lab.labfile import Lab  # noqa: E402
from emulator.sim.clock import MS, Simulator  # noqa: E402

LAB = ROOT / "fixtures" / "doc14131" / "lab.yml"


def boot_ms() -> float:
    start = time.perf_counter()
    lab = Lab.from_file(LAB)
    elapsed = (time.perf_counter() - start) * 1000
    assert lab.device("dr_whoovie").interface_address("Serial0") is not None
    return elapsed


def echoes_per_second(count: int = 20000) -> float:
    lab = Lab.from_file(LAB)
    session = CliSession(lab.device("dr_whoovie"), privileged=True, line="vty0")
    session.execute("ping 99.99.99.1 repeat 10")  # warm up (ARP, caches)
    start = time.perf_counter()
    out = session.execute(f"ping 99.99.99.1 repeat {count} timeout 1")
    elapsed = time.perf_counter() - start
    assert f"({count}/{count})" in out, out[-200:]
    return count / elapsed


def events_per_second(n: int = 200_000) -> float:
    """The simulator's own cost: scheduling and running callbacks that do nothing."""
    sim = Simulator(0)
    noop = int
    start = time.perf_counter()
    for i in range(n):
        sim.call_at(i * MS, noop)
    sim.run_until_idle()
    elapsed = time.perf_counter() - start
    assert sim.events_run == n
    return n / elapsed


def main() -> None:
    Lab.from_file(LAB)  # imports and first-use costs out of the measurement
    boots = [boot_ms() for _ in range(5)]
    rates = [echoes_per_second() for _ in range(3)]
    print(f"lab boot with IPCP up: {statistics.median(boots):.1f} ms wall "
          f"(runs: {', '.join(f'{b:.1f}' for b in boots)})")
    print(f"echo round trips through two serial hops: {statistics.median(rates):,.0f} per second "
          f"(runs: {', '.join(f'{r:,.0f}' for r in rates)})")
    events = [events_per_second() for _ in range(3)]
    print(f"simulator events (schedule + run a no-op callback): {statistics.median(events):,.0f} per second "
          f"(runs: {', '.join(f'{r:,.0f}' for r in events)})")


if __name__ == "__main__":
    main()
