"""The console log of a device, as structured records.

The device says what happened (an interface changed state, IPCP installed an
address...) as an event; ``DeviceLog`` stamps it with the device's uptime and
the ``service timestamps`` setting of its facility, and hands the record to a
``LogSink``, which renders it (the CLI layer's console does) and keeps the
lines a terminal shows. Messages that engines or the CLI already wrote as
text travel as ``Message``.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Callable, Iterable, Protocol

from emulator.config.model import DeviceConfig, TimestampService
from emulator.device.platform import Platform
from emulator.engines.nat import NatTrace
from emulator.engines.ppp import ControlTraced, LayerOpenTraced, PhaseTraced

__all__ = ["LinkChanged", "LinkAdminDown", "LineProtocolChanged", "IpcpAddressInstalled", "IpcpRouteInstalled",
           "PoolUndefined", "PoolExhausted", "PppTraced", "PppOptionTraced", "NatTranslated", "QuietModeOn",
           "QuietModeOff", "SystemRestarted", "Message", "LogEvent", "LogRecord", "LogSink", "DeviceLog", "LogBuffer",
           "LEVELS"]


@dataclass(frozen=True, slots=True)
class LinkChanged:
    """The interface's link (carrier) went up or down."""

    interface: str
    up: bool


@dataclass(frozen=True, slots=True)
class LinkAdminDown:
    """The interface was shut down."""

    interface: str


@dataclass(frozen=True, slots=True)
class LineProtocolChanged:
    interface: str
    up: bool


@dataclass(frozen=True, slots=True)
class IpcpAddressInstalled:
    """IPCP gave the interface its address (``ip address negotiated``)."""

    interface: str
    address: IPv4Address


@dataclass(frozen=True, slots=True)
class IpcpRouteInstalled:
    """IPCP installed the host route to the peer (``peer neighbor-route``)."""

    interface: str
    peer: IPv4Address


@dataclass(frozen=True, slots=True)
class PoolUndefined:
    """``peer default ip address pool`` names a pool that is not configured."""

    interface: str
    pool: str


@dataclass(frozen=True, slots=True)
class PoolExhausted:
    interface: str
    pool: str


@dataclass(frozen=True, slots=True)
class PppTraced:
    """A PPP control packet or state change on an interface (``debug ppp negotiation``)."""

    interface: str
    trace: ControlTraced | LayerOpenTraced | PhaseTraced


@dataclass(frozen=True, slots=True)
class PppOptionTraced:
    """One option of a traced Configure-* packet: its own console line under the packet's."""

    interface: str
    layer: str
    protocol: int
    type: int
    value: bytes


@dataclass(frozen=True, slots=True)
class NatTranslated:
    """A packet NAT translated (``debug ip nat``); ``detail`` is the ``detailed`` line before it."""

    trace: NatTrace
    detail: bool = False


@dataclass(frozen=True, slots=True)
class QuietModeOn:
    """Too many failed logins (``login block-for``): logins are refused for a while."""

    watch_left: int          # seconds the watch window still had to run
    user: str
    source: str
    port: int


@dataclass(frozen=True, slots=True)
class QuietModeOff:
    """The quiet period of ``login block-for`` is over."""


@dataclass(frozen=True, slots=True)
class SystemRestarted:
    """The device finished booting after a reload (``%SYS-5-RESTART`` and the software's name)."""

    platform: Platform


@dataclass(frozen=True, slots=True)
class Message:
    """A message already written as IOS text (by an engine or by the CLI)."""

    text: str


LogEvent = (LinkChanged | LinkAdminDown | LineProtocolChanged | IpcpAddressInstalled | IpcpRouteInstalled
            | PoolUndefined | PoolExhausted | PppTraced | PppOptionTraced | NatTranslated | QuietModeOn
            | QuietModeOff | SystemRestarted | Message)


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One console line: the event, when it happened (device uptime, ns) and how to stamp it (None: no stamp)."""

    uptime: int
    stamp: TimestampService | None
    event: LogEvent


class LogSink(Protocol):
    """Where a device's records go; ``lines`` is the rendered console log, oldest first."""

    lines: list[str]

    def emit(self, record: LogRecord) -> None: ...


# Syslog severities, most severe first (``logging buffered LEVEL`` takes its level and those above).
LEVELS = ("emergencies", "alerts", "critical", "errors", "warnings", "notifications", "informational", "debugging")
_SEVERITY = re.compile(r"%[A-Z0-9_]+-([0-7])-")
DEBUG_SEVERITY = 7


class LogBuffer:
    """The buffer of ``logging buffered``: the newest messages, as many as fit in ``size`` bytes.

    IOS keeps the log buffer as a ring of text: a message that does not fit pushes out the oldest
    ones. Each message is kept whole (its lines and their newlines count against the size).
    """

    def __init__(self, size: int):
        self.size = size
        self.messages: deque[str] = deque()
        self.used = 0

    def add(self, text: str) -> None:
        cost = len(text.encode()) + 1
        if cost > self.size:
            text = text.encode()[:self.size - 1].decode(errors="ignore")
            cost = len(text.encode()) + 1
        self.messages.append(text)
        self.used += cost
        while self.used > self.size:
            self.used -= len(self.messages.popleft().encode()) + 1

    def clear(self) -> None:
        self.messages.clear()
        self.used = 0

    def text(self) -> str:
        return "".join(m + "\n" for m in self.messages)


class DeviceLog:
    """Stamps a device's events and hands them to its sink; keeps the counts and buffer of ``show logging``."""

    def __init__(self, sink: LogSink, config: DeviceConfig, uptime: Callable[[], int]):
        self.sink = sink
        self.config = config
        self._uptime = uptime
        self.console_logged = 0     # messages the console took (level debugging: all of them)
        self.monitor_logged = 0     # messages that went to terminals monitoring (``terminal monitor`` on a vty)
        self.buffer_logged = 0
        self.trap_lines = 0         # message lines at informational or above (the trap level)
        self.buffer: LogBuffer | None = None
        self.monitoring: Callable[[], bool] = lambda: False   # whether a vty line monitors; the router sets it

    def log(self, event: LogEvent) -> None:
        """A console message, stamped as ``service timestamps log`` says."""
        self._emit("log", event)

    def debug(self, event: LogEvent) -> None:
        """A debug message, stamped as ``service timestamps debug`` says."""
        self._emit("debug", event)

    def extend(self, lines: Iterable[str]) -> None:
        """Lines that continue the previous message, unstamped."""
        uptime = self._uptime()
        for line in lines:
            self._emit_record(LogRecord(uptime, None, Message(line)), DEBUG_SEVERITY, continued=True)

    def _emit(self, facility: str, event: LogEvent) -> None:
        stamp = next((t for t in self.config.timestamps if t.facility == facility), None)
        severity = DEBUG_SEVERITY
        if isinstance(event, Message):
            found = _SEVERITY.search(event.text)
            severity = int(found.group(1)) if found else DEBUG_SEVERITY
        elif facility == "log":
            severity = 5    # link and line protocol changes, restarts: notifications (LINK-3 is worded apart)
            if isinstance(event, LinkChanged):
                severity = 3
        self._emit_record(LogRecord(self._uptime(), stamp, event), severity)

    def _emit_record(self, record: LogRecord, severity: int, continued: bool = False) -> None:
        """Hand a record to the sink, and count it and buffer its rendered text as ``show logging`` shows."""
        lines = self.sink.lines
        before = len(lines)
        self.sink.emit(record)
        if not continued:
            self.console_logged += 1
            if self.monitoring():
                self.monitor_logged += 1
            if severity <= 6:
                self.trap_lines += 1
        buffered = self.config.logging_buffered
        if buffered is None:
            self.buffer = None
            return
        size, level = buffered
        if self.buffer is None or self.buffer.size != size:
            self.buffer = LogBuffer(size)      # resizing the buffer empties it, as on IOS
        if severity <= LEVELS.index(level):
            if not continued:
                self.buffer_logged += 1
            for line in lines[before:]:
                self.buffer.add(line)
