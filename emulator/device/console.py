"""The console log of a device, as structured records.

The device says what happened (an interface changed state, IPCP installed an
address...) as an event; ``DeviceLog`` stamps it with the device's uptime and
the ``service timestamps`` setting of its facility, and hands the record to a
``LogSink``, which renders it (the CLI layer's console does) and keeps the
lines a terminal shows. Messages that engines or the CLI already wrote as
text travel as ``Message``.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Callable, Iterable, Protocol

from emulator.config.model import DeviceConfig, TimestampService
from emulator.device.platform import Platform
from emulator.engines.nat import NatTrace
from emulator.engines.ppp import ControlTraced, LayerOpenTraced, PhaseTraced

__all__ = ["LinkChanged", "LinkAdminDown", "LineProtocolChanged", "IpcpAddressInstalled", "IpcpRouteInstalled",
           "PoolUndefined", "PoolExhausted", "PppTraced", "PppOptionTraced", "NatTranslated", "QuietModeOn",
           "QuietModeOff", "SystemRestarted", "Message", "LogEvent", "LogRecord", "LogSink", "DeviceLog"]


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


class DeviceLog:
    """Stamps a device's events and hands them to its sink."""

    def __init__(self, sink: LogSink, config: DeviceConfig, uptime: Callable[[], int]):
        self.sink = sink
        self.config = config
        self._uptime = uptime

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
            self.sink.emit(LogRecord(uptime, None, Message(line)))

    def _emit(self, facility: str, event: LogEvent) -> None:
        stamp = next((t for t in self.config.timestamps if t.facility == facility), None)
        self.sink.emit(LogRecord(self._uptime(), stamp, event))
