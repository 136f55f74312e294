"""Ping's bounds as IOS has them: repeat 1..2147483647, the 16-bit sequence number wrapping at 65535."""

from __future__ import annotations

import re

import pytest

import emulator.device.ping as ping_module
from emulator.cli.session import CliSession
from emulator.lab.labfile import Lab
from emulator.labtime import SECOND
from support import ROOT

LAB = ROOT / "fixtures" / "doc14131" / "lab.yml"


@pytest.fixture(scope="module")
def hub():
    lab = Lab.from_file(LAB)
    lab.sim.run_until(lab.sim.now + 30 * SECOND)          # the serial lines come up
    try:
        yield CliSession(lab.device("sam-i-am"), privileged=True)
    finally:
        lab.close()


def test_a_ping_of_70000_echoes_runs_to_its_end_and_its_sequence_number_wraps(hub, monkeypatch):
    sequences = []
    real = ping_module.ICMPMessage.echo_request

    def recorded(identifier, sequence, data):
        sequences.append(sequence)
        return real(identifier, sequence, data)

    monkeypatch.setattr(ping_module.ICMPMessage, "echo_request", staticmethod(recorded))
    hub.execute("ping 99.99.99.2")                        # the neighbour's ARP-free serial end answers
    sequences.clear()
    out = hub.execute("ping 99.99.99.2 repeat 70000")
    assert out.startswith("Type escape sequence to abort.\n"
                          "Sending 70000, 100-byte ICMP Echos to 99.99.99.2, timeout is 2 seconds:\n")
    assert re.search(r"\nSuccess rate is 100 percent \(70000/70000\), round-trip min/avg/max = \d+/\d+/\d+ ms\n$",
                     out)
    assert len(sequences) == 70000
    assert sequences[65535] == 65535 and sequences[65536] == 0 and sequences[-1] == 70000 - 65537
    echoes = [line for line in out.splitlines() if set(line) == {"!"}]
    assert sum(map(len, echoes)) == 70000 and max(map(len, echoes)) == 70


@pytest.mark.parametrize("repeat, accepted", [("0", False), ("1", True), ("2147483647", True),
                                              ("2147483648", False), ("99999999999999999999", False)])
def test_repeat_takes_what_ios_takes(hub, repeat, accepted):
    line = f"ping 99.99.99.2 repeat {repeat}"
    job = hub.start(line)
    first = job.step()
    if accepted:
        assert first.startswith(f"Type escape sequence to abort.\nSending {repeat}, 100-byte ICMP Echos")
        assert job.interrupt().endswith(")\n")         # broken off: the summary of what ended
    else:
        caret = " " * (len(hub.prompt) + line.rindex(" ") + 1) + "^\n"
        assert first == caret + "% Invalid input detected at '^' marker.\n\n"
