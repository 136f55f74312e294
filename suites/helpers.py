"""What the suites do on any target, built once on top of CLI text."""

from __future__ import annotations

import time

import pytest

from drivers.base import Capability, DeviceSession, Driver
from suites.parsing import parse


def requires(driver: Driver, capability: Capability, why: str) -> None:
    """Skip the test, naming the capability, when the driver lacks it."""
    if not driver.has(capability):
        pytest.skip(f"needs the '{capability.value}' capability ({why}); the {driver.name} driver does not offer it")


def wait(driver: Driver, seconds: float) -> None:
    """Let time pass: the emulated lab's clock, or the wall clock on real devices."""
    if driver.has(Capability.CLOCK):
        driver.advance_clock(seconds)
    else:
        time.sleep(seconds)


def show(session: DeviceSession, command: str) -> tuple[str, list[dict]]:
    """Run a show command and parse it with its TextFSM template."""
    text = session.send(command)
    return text, parse(command, text)


MANY_REMOTES = 9          # beyond one access server's lines, a hub's whole SA display is read per remote


def hub_sa_command(scenario, peer: str) -> str:
    """``show crypto ipsec sa`` as a test of one remote reads it on the hub: the whole display with a few
    remotes (as the document shows it), IOS's ``peer`` filter with many (the whole display, and the time
    to read, record and mask it, grows with their number)."""
    if len(scenario.remote_roles()) > MANY_REMOTES:
        return f"show crypto ipsec sa peer {peer}"
    return "show crypto ipsec sa"


def extended_ping(session: DeviceSession, target: str, source: str, count: int = 5, size: int = 100,
                  timeout: int = 2) -> tuple[str, dict]:
    """The document's extended ping dialog, answered as the document answers it."""
    answers = ["", target, str(count) if count != 5 else "", str(size) if size != 100 else "",
               str(timeout) if timeout != 2 else "", "y", source, "", "", "", "", "", ""]
    text = session.send("ping", answers=answers)
    records = parse("ping", text)
    assert records, f"{session.name}: no ping result in:\n{text}"
    return text, records[-1]


def ping(session: DeviceSession, target: str, source: str | None = None, count: int = 5) -> tuple[str, dict]:
    command = f"ping {target}" + (f" source {source}" if source else "") + (f" repeat {count}" if count != 5 else "")
    text = session.send(command)
    records = parse("ping", text)
    assert records, f"{session.name}: no ping result in:\n{text}"
    return text, records[-1]


def flows(records: list[dict]) -> list[dict]:
    """The flow records of a parsed ``show crypto ipsec sa``."""
    return [r for r in records if r["entry"] == "ident"]


def sas(records: list[dict], direction: str | None = None, protocol: str | None = None) -> list[dict]:
    return [r for r in records if r["entry"] == "spi"
            and (direction is None or r["sa_direction"] == direction)
            and (protocol is None or r["sa_protocol"] == protocol)]


def expect(title: str, expected: dict, observed: dict) -> None:
    """Compare named values; on a difference, fail with expected and observed side by side."""
    wrong = [k for k in expected if str(expected[k]) != str(observed.get(k, ""))]
    if not wrong:
        return
    width = max(len(k) for k in expected) + 2
    col = max([len("expected")] + [len(str(expected[k])) for k in expected]) + 2
    lines = [f"{title}:", f"  {'':<{width}}{'expected':<{col}}observed"]
    for k in expected:
        mark = "≠" if k in wrong else " "
        got = observed.get(k, "")
        lines.append(f"{mark} {k:<{width}}{str(expected[k]):<{col}}{got if got != '' else '(nothing)'}")
    raise AssertionError("\n".join(lines))
