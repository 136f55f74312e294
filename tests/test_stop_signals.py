"""SIGINT and SIGTERM stop ``python -m emulator serve`` within 2 s, whatever the simulator is doing."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from test_server import RawTelnet

from drivers.inventory import load_inventory
from support import ROOT

# ``serve`` with one more event in the lab, a second after the server starts: a step that never ends
# (a pure-Python loop: it holds the lab lock, and the interpreter, as a runaway engine would).
STUCK = textwrap.dedent("""\
    import sys
    from emulator.__main__ import main
    from emulator.frontends.server import LabServer
    from emulator.sim.clock import SECOND

    _start = LabServer.start

    def start(self):
        def forever():
            while True:
                pass
        self.lab.sim.call_later(SECOND, forever)
        return _start(self)

    LabServer.start = start
    sys.exit(main(sys.argv[1:]))
    """)


def _serve(tmp_path: Path, *command: str) -> tuple[subprocess.Popen, Path]:
    inventory = tmp_path / "inventory.yml"
    proc = subprocess.Popen([*command, "serve", "--write-inventory", str(inventory), "--inventory-transport", "telnet"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    timer = threading.Timer(30, proc.kill)
    timer.start()
    first = proc.stdout.readline()
    timer.cancel()
    assert first.startswith("sam-i-am ssh 127.0.0.1:"), first + (proc.stderr.read() if proc.poll() else "")
    return proc, inventory


def _stopped_within(proc: subprocess.Popen, sig: int, limit: float) -> tuple[int, float]:
    start = time.monotonic()
    proc.send_signal(sig)
    try:
        code = proc.wait(timeout=limit + 5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    return code, time.monotonic() - start


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_stops_within_2_s_while_a_long_ping_runs(tmp_path, sig):
    proc, inventory = _serve(tmp_path, sys.executable, "-m", "emulator")
    hub = load_inventory(inventory).device_for_role("hub")
    t = RawTelnet(hub.port)
    try:
        t.read_until(r"Password: $")
        t.send("ww\r\n")
        t.read_until(r"sam-i-am>$")
        t.send("ping 10.2.2.10 repeat 1000000 timeout 0\r\n")   # the simulator as busy as it gets
        t.read_until(r"[.!]{3}")
        code, took = _stopped_within(proc, sig, 2.0)
    finally:
        t.close()
    assert code == 0 and took < 2.0, took
    print(f"stopped in {took:.2f} s")


def test_serve_stops_within_2_s_with_the_simulator_stuck_in_a_step(tmp_path):
    script = tmp_path / "stuck_serve.py"
    script.write_text(STUCK)
    proc, inventory = _serve(tmp_path, sys.executable, str(script))
    hub = load_inventory(inventory).device_for_role("hub")
    time.sleep(1.5)                                    # the runaway step has begun
    t = RawTelnet(hub.port)                            # a client that gets no answer from the lab
    try:
        code, took = _stopped_within(proc, signal.SIGTERM, 2.0)
    finally:
        t.close()
    assert code == 0 and took < 2.0, took
    print(f"stopped in {took:.2f} s")
