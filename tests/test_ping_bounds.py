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
    real = ping_module.encode_echo_request         # what the ping encodes each echo request with

    def recorded(identifier, sequence, data):
        sequences.append(sequence)
        return real(identifier, sequence, data)

    monkeypatch.setattr(ping_module, "encode_echo_request", recorded)
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


def test_the_extended_pings_sweep_of_sizes_as_ios_asks_and_prints_it():
    """tests/samples/pub_ping_sweep_df.txt: the three sweep questions with their defaults, then the
    count (repeat x sizes) and the range in place of the size; here the sizes over the 1500-byte
    Ethernet MTU come back ``M`` with DF set (the rate-limited unreachables give ``.`` between)."""
    sample = (ROOT / "tests" / "samples" / "pub_ping_sweep_df.txt").read_text().splitlines()
    lab = Lab.from_file(LAB)
    remote = CliSession(lab.device("dr_whoovie"), privileged=True)
    remote.execute("ping 10.1.1.10")                    # ARP resolved before the sweep
    answers = ["", "10.1.1.10", "1", "", "", "y", "", "", "y", "", "", "", "y", "1495", "1505", ""]
    transcript = [remote.prompt + "ping"]
    out = remote.execute("ping")
    for answer in answers:
        transcript.append(remote.prompt + answer)
        out = remote.execute(answer)
    questions = [line.split(":")[0] for line in transcript[1:]]
    assert questions[-4:] == [line.split(":")[0] for line in sample[14:18]]
    assert [q for q in transcript if q.startswith("Sweep")] == [
        "Sweep range of sizes [n]: y", "Sweep min size [36]: 1495", "Sweep max size [18024]: 1505",
        "Sweep interval [1]: "]
    lines = out.splitlines()
    assert lines[:3] == ["Type escape sequence to abort.",
                         "Sending 11, [1495..1505]-byte ICMP Echos to 10.1.1.10, timeout is 2 seconds:",
                         "Packet sent with the DF bit set"]
    assert sample[19] == "Sending 11, [1495..1505]-byte ICMP Echos to 192.168.12.1, timeout is 2 seconds:"
    assert re.fullmatch(r"!!!!!![M.]{5}", lines[3]), lines[3]
    assert lines[3].count("M") >= 3
    assert lines[4].startswith("Success rate is 54 percent (6/11), round-trip min/avg/max = ")
    assert "emulator" not in out


@pytest.mark.parametrize("answers, error", [
    (["35"], "% A decimal number between 36 and 18024.\n"),
    (["100", "99"], "% A decimal number between 100 and 18024.\n"),
])
def test_sweep_bounds(answers, error):
    lab = Lab.from_file(LAB)
    remote = CliSession(lab.device("dr_whoovie"), privileged=True)
    remote.execute("ping")
    for answer in ["", "10.1.1.10", "", "", "", "n", "y"]:
        remote.execute(answer)
    out = ""
    for answer in answers:
        out = remote.execute(answer)
    assert out == error
    assert not remote.in_dialog


def test_ip_options_are_refused_without_naming_the_emulator():
    lab = Lab.from_file(LAB)
    remote = CliSession(lab.device("dr_whoovie"), privileged=True)
    remote.execute("ping")
    for answer in ["", "10.1.1.10", "", "", "", "y", "", "", "", "", ""]:
        remote.execute(answer)
    assert remote.prompt == "Loose, Strict, Record, Timestamp, Verbose[none]: "
    out = remote.execute("r")
    assert out == "% r: Loose, Strict, Record, Timestamp and Verbose cannot be sent from this device\n"
    assert "emulator" not in out and not remote.in_dialog
