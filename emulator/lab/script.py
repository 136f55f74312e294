"""Scripts of console input for an emulated lab, and the transcript they produce.

A script is lines of::

    DEVICE# COMMAND          an EXEC command on that device's console (or, while the device
                             asks a question, such as ping's dialog, the answer; empty for Enter)
    DEVICE(config)# LINE     a configuration line (configure terminal is entered as needed)
    wait SECONDS             let the lab clock run (a decimal number, exact to the nanosecond)
    step SECONDS             the lab time each following line takes (see below)
    # comment

DEVICE is a lab device name or a hostname.

Lab time. A command runs for as long as it takes in the lab (a ping waits for its echoes);
then, as a person reads the answer and types the next line, the lab runs on for the step
(DEFAULT_STEP, one second, unless ``run --step SECONDS`` or a ``step`` line says otherwise;
``step 0`` types the next line at once). The ``configure terminal`` and ``end`` the runner
types for itself take no time. So ``clear crypto sa`` on one router has reached the other by
the next line.

The transcript is what the consoles printed, in lab-time order. The prompt and the typed line
begin each command, then its output as it comes. Every device the script names has its console
watched from the start of the run: a message (log or debug line) appears when it is logged,
between the chunks of a running command's output where it falls (a debug line between
``Packet sent with a source address ...`` and the ``.!!!!`` of a ping). A message of the device
the script is typing at stands as that console prints it; a message of any other device is
printed with its hostname in brackets before each line::

    spoke#ping ip 172.16.0.10 source 172.16.1.1
    Type escape sequence to abort.
    Sending 5, 100-byte ICMP Echos to 172.16.0.10, timeout is 2 seconds:
    Packet sent with a source address of 172.16.1.1
    [hub] 00:05:12: ISAKMP (0:1): received packet from 198.51.100.2 (N) NEW SA
    ...
    .!!!!

A message always starts a line of its own: if the output stands in the middle of a line (the
``.`` of a ping), the line is ended first and the output goes on on the next line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from emulator.cli.session import CliSession
from emulator.device.router import Router
from emulator.lab.labfile import Lab
from emulator.sim.clock import SECOND, seconds
from emulator.sim.jobs import Wait

DEFAULT_STEP = SECOND   # lab time a script line takes after its output (reading it, typing the next)

_LINE = re.compile(r"^(?P<dev>[^\s#()]+)(?P<config>\(config[^)]*\))?#\s?(?P<text>.*)$")
_TIMED = re.compile(r"^(?P<kind>wait|step)\s+(?P<s>\S+)\s*$")


class ScriptError(Exception):
    def __init__(self, source: str, number: int, reason: str):
        super().__init__(f"{source}:{number}: {reason}")


@dataclass(frozen=True)
class Step:
    number: int
    kind: str            # exec | config | wait | step
    device: str = ""
    text: str = ""
    duration: int = 0    # wait: lab time to run; step: lab time each following line takes (ns)


def parse_seconds(typed: str, what: str) -> int:
    """A number of seconds >= 0 as ns; ValueError naming ``what`` otherwise."""
    try:
        duration = seconds(typed, allow_negative=True)
    except ValueError:
        raise ValueError(f"{what} needs a number of seconds, not {typed!r}") from None
    if duration < 0:
        raise ValueError(f"{what} needs a number of seconds >= 0")
    return duration


def parse_script(text: str, source: str = "<script>") -> list[Step]:
    steps = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        timed = _TIMED.match(line)
        if timed:
            kind = timed.group("kind")
            try:
                duration = parse_seconds(timed.group("s"), kind)
            except ValueError as err:
                raise ScriptError(source, number, str(err)) from None
            steps.append(Step(number, kind, duration=duration))
            continue
        m = _LINE.match(line)
        if not m:
            raise ScriptError(source, number, f"cannot read {line!r}: expected 'DEVICE# COMMAND', "
                                              "'DEVICE(config)# LINE', 'wait SECONDS', 'step SECONDS' "
                                              "or '# comment'")
        steps.append(Step(number, "config" if m.group("config") else "exec", m.group("dev"), m.group("text")))
    return steps


class ScriptRunner:
    """Runs scripts against a lab, one console session per device, and writes the transcript."""

    def __init__(self, lab: Lab, step: int = DEFAULT_STEP):
        self.lab = lab
        self.step = step
        self.sessions: dict[str, CliSession] = {}
        self._out: list[str] = []
        self._at_line_start = True
        self._driven: Router | None = None      # the device the script last typed at

    def _session(self, name: str) -> CliSession:
        router = self.lab.device(name)
        if router.name not in self.sessions:
            # The script is the lab's operator at each console, in privileged EXEC.
            self.sessions[router.name] = CliSession(router, privileged=True)
        return self.sessions[router.name]

    def check(self, steps: list[Step], source: str) -> None:
        for step in steps:
            if step.kind in ("exec", "config"):
                try:
                    self.lab.device(step.device)
                except KeyError:
                    raise ScriptError(source, step.number, f"unknown device {step.device!r} "
                                      f"(devices: {', '.join(self.lab.devices)})") from None

    def run(self, steps: list[Step], source: str = "<script>") -> str:
        self.check(steps, source)
        for step in steps:                      # every console the script names is watched from now on
            if step.kind in ("exec", "config"):
                self._session(step.device)
        for step in steps:
            if step.kind == "wait":
                self._run_for(step.duration)
                continue
            if step.kind == "step":
                self.step = step.duration
                continue
            session = self._session(step.device)
            self._driven = session.router
            if step.kind == "config" and session.config is None:
                self._type(session, "configure terminal")
            elif step.kind == "exec" and session.config is not None:
                self._type(session, "end")
            self._type(session, step.text)
            self._run_for(self.step)
        # A question nobody answered stays on the screen, as on a console.
        for session in self.sessions.values():
            if session.in_dialog:
                self._write(session.prompt)
        return "".join(self._out)

    # ------------------------------------------------------------ the lab clock, messages watched
    def _run_for(self, duration: int) -> None:
        self.lab.sim.run_while(self._no_news, duration)
        self._messages()

    def _no_news(self) -> bool:
        """Checked after every event while the clock runs: print what was logged meanwhile."""
        self._messages()
        return True

    def _run_wait(self, wait: Wait) -> None:
        """Run the lab as a job's wait asks, the messages printed as they are logged."""
        sim = self.lab.sim
        until = wait.until
        if until is None:
            sim.run_while(self._no_news, max(0, wait.deadline - sim.now))
        else:
            sim.run_while(lambda: self._no_news() and not until(), max(0, wait.deadline - sim.now))
        self._messages()

    def _messages(self) -> None:
        for session in self.sessions.values():
            log = session.router.log_buffer
            if session._log_seen >= len(log):
                continue
            lines = log[session._log_seen:]
            session._log_seen = len(log)
            if not session.monitor:
                continue
            router = session.router
            prefix = "" if router is self._driven else f"[{router.hostname}] "
            if not self._at_line_start:
                self._write("\n")
            self._write("".join(f"{prefix}{line}\n" for line in lines))

    # ------------------------------------------------------------ typing
    def _type(self, session: CliSession, text: str) -> None:
        self._messages()
        if not self._at_line_start:
            self._write("\n")
        self._write(f"{session.prompt}{text}\n")
        for item in session.start(text).steps():
            if isinstance(item, Wait):
                self._run_wait(item)
            elif item:
                self._write(item)
        self._messages()

    def _write(self, text: str) -> None:
        if text:
            self._out.append(text)
            self._at_line_start = text.endswith("\n")
