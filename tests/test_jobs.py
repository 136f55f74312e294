"""Long commands as resumable jobs: the same output in process and step by step, and breaking off."""

from __future__ import annotations

import re

import pytest

from emulator.cli.session import CliSession
from emulator.lab.labfile import Lab
from emulator.sim.clock import MS, SECOND, Simulator
from emulator.sim.jobs import Interrupted, Job, Wait
from support import ROOT

LAB = ROOT / "fixtures" / "doc14131" / "lab.yml"


def _stepwise(job: Job, sim) -> tuple[list[str], int]:
    """Run a job as a real-time runner does, event by event: its chunks, and the lab time it ended."""
    chunks = []
    while not job.done:
        if job.ready(sim):
            chunks.append(job.step())
            continue
        nxt = sim.next_event_time()
        wait = job.waiting
        if nxt is not None and nxt <= wait.deadline:
            sim.step()
        else:
            sim.run_until(wait.deadline)
    return chunks, sim.now


def test_a_wait_ends_on_its_predicate_or_at_its_deadline_with_nothing_left_before_it():
    sim = Simulator()
    flag = []
    sim.call_at(5 * MS, flag.append, 1)
    sim.call_at(10 * MS, lambda: sim.call_soon(lambda: None))    # an event at 10 ms that makes another

    def steps():
        yield "a"
        yield Wait(20 * MS, lambda: bool(flag))
        yield f"b{sim.now}"
        yield Wait(10 * MS)                    # no predicate: the deadline, events at it included
        yield f"c{sim.now}"

    job = Job(steps())
    assert job.step() == "a" and not job.ready(sim)
    sim.step()
    assert sim.now == 5 * MS and job.ready(sim)
    assert job.step() == f"b{5 * MS}"
    sim.run_until(10 * MS - 1)
    assert not job.ready(sim)
    sim.step()                                 # at the deadline, with one more event there to run
    assert sim.now == 10 * MS and sim.next_event_time() == 10 * MS and not job.ready(sim)
    sim.step()
    assert job.ready(sim) and job.step() == f"c{10 * MS}" and job.done


def test_in_process_run_is_run_until_with_the_timeout():
    sim = Simulator()
    sim.call_at(3 * SECOND, lambda: None)

    def steps():
        yield "x"
        yield Wait(sim.now + 2 * SECOND, lambda: False)
        yield f" {sim.now}"

    assert Job(steps()).run(sim) == f"x {2 * SECOND}"


def test_interrupt_lets_the_job_print_its_end_and_close_runs_its_finally():
    closed = []

    def steps():
        try:
            yield "head\n"
            while True:
                try:
                    yield Wait(10 ** 12)
                except Interrupted:
                    yield "summary\n"
                    return
        finally:
            closed.append(True)

    job = Job(steps())
    job.step()
    assert job.interrupt() == "summary\n" and job.done and closed == [True]
    other = Job(steps())
    other.step()
    other.close()
    assert other.done and closed == [True, True]


@pytest.mark.parametrize("device, command", [
    ("sam-i-am", "ping 10.99.99.99 repeat 7"),
    ("dr_whoovie", "ping 10.2.2.3 source 10.1.1.1 repeat 75"),
    ("remote-host", "ping 192.0.2.10 repeat 3 timeout 0"),
    ("sam-i-am", "ping 99.99.99.1 repeat 3"),
])
def test_a_ping_stepped_event_by_event_prints_what_it_prints_in_process(device, command):
    ran = Lab.from_file(LAB)
    expected = CliSession(ran.device(device), privileged=True).execute(command)
    expected_end = ran.sim.now
    stepped = Lab.from_file(LAB)
    chunks, end = _stepwise(CliSession(stepped.device(device), privileged=True).start(command), stepped.sim)
    assert "".join(chunks) == expected and end == expected_end
    count = int(command.split("repeat ")[1].split()[0])
    assert len(chunks) >= count + 1                       # the header, then one chunk per echo (and the end)


def test_a_broken_off_ping_ends_its_line_and_prints_the_summary_of_the_echoes_that_ended():
    lab = Lab.from_file(LAB)
    session = CliSession(lab.device("sam-i-am"), privileged=True)
    job = session.start("ping 10.99.99.99 repeat 1000")
    out = job.step()
    for _ in range(3):
        while not job.ready(lab.sim):
            lab.sim.step()
        out += job.step()
    out += job.interrupt()
    assert out.endswith("\nSuccess rate is 0 percent (0/3)\n")
    assert out.splitlines()[2] in ("U.U", ".U.")
    assert not lab.device("sam-i-am").echo_listeners         # the echo listener went with the job


def test_a_filtered_ping_is_still_a_job():
    lab = Lab.from_file(LAB)
    session = CliSession(lab.device("dr_whoovie"), privileged=True)
    session.execute("ping 10.2.2.3 source 10.1.1.1 repeat 2")        # the tunnel comes up
    # (Each ping's round trips vary with the routers' processors: the filtered line has the same form.)
    assert re.fullmatch(r"Success rate is 100 percent \(3/3\), round-trip min/avg/max = \d+/\d+/\d+ ms\n",
                        session.execute("ping 10.2.2.3 source 10.1.1.1 repeat 3 | include Success"))
    assert session.execute("ping 10.2.2.3 source 10.1.1.1 repeat 3").splitlines()[-1].startswith(
        "Success rate is 100 percent (3/3), round-trip min/avg/max = ")
    job = session.start("ping 10.2.2.3 source 10.1.1.1 repeat 1000 | include Success")
    assert job.step() == ""                                  # nothing shows before the end
    while not job.ready(lab.sim):
        lab.sim.step()
    job.step()
    assert re.fullmatch(r"Success rate is 100 percent \(1/1\), round-trip min/avg/max = (\d+)/\1/\1 ms\n",
                        job.interrupt())


def test_the_extended_ping_dialog_ends_in_a_job():
    lab = Lab.from_file(LAB)
    session = CliSession(lab.device("sam-i-am"), privileged=True)
    for answer in ("ping", "", "10.99.99.99", "1000", "", "1", ""):
        assert session.start(answer).step() == ""
    job = session.start("")                               # Sweep range of sizes [n]:
    assert job.step() == ("Type escape sequence to abort.\n"
                          "Sending 1000, 100-byte ICMP Echos to 10.99.99.99, timeout is 1 seconds:\n")
    assert not session.in_dialog and not job.done
    job.close()
