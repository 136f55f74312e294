"""Scripts of console input for an emulated lab, and the transcript they produce.

A script is lines of::

    DEVICE# COMMAND          an EXEC command on that device's console (or, while the device
                             asks a question, such as ping's dialog, the answer; empty for Enter)
    DEVICE(config)# LINE     a configuration line (configure terminal is entered as needed)
    wait SECONDS             let the lab clock run (a decimal number, exact to the nanosecond)
    # comment

DEVICE is a lab device name or a hostname.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from emulator.cli.session import CliSession
from emulator.lab.labfile import Lab
from emulator.sim.clock import seconds

_LINE = re.compile(r"^(?P<dev>[^\s#()]+)(?P<config>\(config[^)]*\))?#\s?(?P<text>.*)$")
_WAIT = re.compile(r"^wait\s+(?P<s>\S+)\s*$")


class ScriptError(Exception):
    def __init__(self, source: str, number: int, reason: str):
        super().__init__(f"{source}:{number}: {reason}")


@dataclass(frozen=True)
class Step:
    number: int
    kind: str            # exec | config | wait
    device: str = ""
    text: str = ""
    duration: int = 0    # wait: lab time, ns


def parse_script(text: str, source: str = "<script>") -> list[Step]:
    steps = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        wait = _WAIT.match(line)
        if wait:
            typed = wait.group("s")
            try:
                duration = seconds(typed, allow_negative=True)
            except ValueError:
                raise ScriptError(source, number, f"wait needs a number of seconds, not {typed!r}") from None
            if duration < 0:
                raise ScriptError(source, number, "wait needs a number of seconds >= 0")
            steps.append(Step(number, "wait", duration=duration))
            continue
        m = _LINE.match(line)
        if not m:
            raise ScriptError(source, number, f"cannot read {line!r}: expected 'DEVICE# COMMAND', "
                                              "'DEVICE(config)# LINE', 'wait SECONDS' or '# comment'")
        steps.append(Step(number, "config" if m.group("config") else "exec", m.group("dev"), m.group("text")))
    return steps


class ScriptRunner:
    """Runs scripts against a lab, one console session per device."""

    def __init__(self, lab: Lab):
        self.lab = lab
        self.sessions: dict[str, CliSession] = {}

    def _session(self, name: str) -> CliSession:
        router = self.lab.device(name)
        if router.name not in self.sessions:
            # The script is the lab's operator at each console, in privileged EXEC.
            self.sessions[router.name] = CliSession(router, privileged=True)
        return self.sessions[router.name]

    def check(self, steps: list[Step], source: str) -> None:
        for step in steps:
            if step.kind != "wait":
                try:
                    self.lab.device(step.device)
                except KeyError:
                    raise ScriptError(source, step.number, f"unknown device {step.device!r} "
                                      f"(devices: {', '.join(self.lab.devices)})") from None

    def run(self, steps: list[Step], source: str = "<script>") -> str:
        self.check(steps, source)
        out: list[str] = []
        for step in steps:
            if step.kind == "wait":
                self.lab.advance(step.duration)
                continue
            session = self._session(step.device)
            if step.kind == "config" and session.config is None:
                out.append(self._type(session, "configure terminal"))
            elif step.kind == "exec" and session.config is not None:
                out.append(self._type(session, "end"))
            out.append(self._type(session, step.text))
        # A question nobody answered stays on the screen, as on a console.
        out += [session.prompt for session in self.sessions.values() if session.in_dialog]
        return "".join(out)

    @staticmethod
    def _type(session: CliSession, text: str) -> str:
        prompt = session.prompt
        return f"{prompt}{text}\n{session.execute(text)}"
