"""Instructions per echo round trip through the document's lab, counted by valgrind (callgrind).

Wall-clock rates (bench_network.py, bench_crypto.py) move with whatever else
the machine runs; an instruction count does not. Each workload runs twice
under callgrind, with a few and with many echoes; the difference divided by
the extra echoes is the cost of one round trip, start-up excluded.

    .venv/bin/python benchmarks/bench_instructions.py [EXTRA_ECHOES]

Workloads: a plain echo from the remote router to the internet host (two
serial hops, NAT), and a tunnelled echo between the two LANs (ESP both ways).
Needs valgrind; prints why when it is missing.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAB = ROOT / "fixtures" / "doc14131" / "lab.yml"

WORKLOADS = {
    "plain echo (remote router to the internet host)": ("dr_whoovie", "ping 99.99.99.1 repeat {n} timeout 1"),
    "tunnelled echo (remote LAN to hub LAN, ESP)": ("dr_whoovie", "ping 10.2.2.3 source 10.1.1.1 repeat {n} timeout 1"),
}

# Run inside callgrind: boot the lab, warm up, then the echoes.
PROGRAM = """
import sys
from emulator.cli.session import CliSession
from emulator.lab.labfile import Lab
lab = Lab.from_file(sys.argv[1])
s = CliSession(lab.device(sys.argv[2]), privileged=True, line="vty0")
s.execute(sys.argv[3].format(n=2))
n = int(sys.argv[4])
out = s.execute(sys.argv[3].format(n=n))
assert f"({n}/{n})" in out, out[-200:]
"""


def instructions(device: str, command: str, echoes: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/cg.out", sys.executable, "-c", PROGRAM,
             str(LAB), device, command, str(echoes)],
            cwd=ROOT, capture_output=True, text=True, check=True)
    m = re.search(r"Collected : (\d+)", out.stderr)
    if m is None:
        raise RuntimeError(f"no instruction count in callgrind's output:\n{out.stderr[-500:]}")
    return int(m.group(1))


def main() -> None:
    extra = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: no instruction counts (apt-get install valgrind)")
        return
    for name, (device, command) in WORKLOADS.items():
        few = instructions(device, command, 50)
        many = instructions(device, command, 50 + extra)
        print(f"{name}: {(many - few) // extra:,} instructions per round trip ({extra} echoes counted)")


if __name__ == "__main__":
    main()
